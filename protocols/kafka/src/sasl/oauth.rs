//! SASL/OAUTHBEARER (RFC 7628, Kafka's KIP-255/KIP-768): the client's single message carries a JWT, which the
//! broker validates against public keys from a JWKS file, the expected issuer and audience, and `exp` / `nbf`.
//! The principal is a configurable claim (`sub` by default), as Kafka's `sasl.oauthbearer.sub.claim.name`.
//!
//! Only asymmetric signatures (RS*, PS*, ES*, EdDSA) are accepted: a JWKS holds public keys, and accepting HS*
//! would let a token be "signed" with a public key. The key is the JWKS entry named by the token's `kid`, or the
//! only key when the token names none.
//!
//! A refused token is answered as RFC 7628 §3.2.2 says: a server challenge with a JSON error
//! (`{"status":"invalid_token"}`); the client then sends `%x01` and gets SASL_AUTHENTICATION_FAILED (as Kafka's
//! `OAuthBearerSaslServer` does).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

/// Settings of the OAUTHBEARER mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    pub jwks_file: PathBuf,
    /// Accepted `iss` values; the claim is required.
    pub issuer: String,
    /// Accepted `aud` values (any one of them); the claim is required.
    pub audience: Vec<String>,
    /// Claim naming the principal. Default `sub`.
    pub principal_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub clock_skew: Duration,
}

/// Why the validator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OAuthSetupError {
    #[error("cannot read the JWKS file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not a JSON Web Key Set: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the JWKS file {0} holds no keys")]
    Empty(PathBuf),
}

/// A ready validator: the settings and the parsed keys.
pub struct OAuthValidator {
    settings: OAuthSettings,
    keys: JwkSet,
}

impl std::fmt::Debug for OAuthValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthValidator")
            .field("settings", &self.settings)
            .field("keys", &self.keys.keys.len())
            .finish()
    }
}

impl PartialEq for OAuthValidator {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

/// A validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub principal: String,
    pub expires: SystemTime,
}

const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl OAuthValidator {
    /// Reads and parses the JWKS file (once, at start).
    pub fn load(settings: OAuthSettings) -> Result<OAuthValidator, OAuthSetupError> {
        let path = settings.jwks_file.clone();
        let text = std::fs::read(&path).map_err(|source| OAuthSetupError::Read {
            path: path.clone(),
            source,
        })?;
        let keys: JwkSet =
            serde_json::from_slice(&text).map_err(|source| OAuthSetupError::Parse {
                path: path.clone(),
                source,
            })?;
        if keys.keys.is_empty() {
            return Err(OAuthSetupError::Empty(path));
        }
        Ok(OAuthValidator { settings, keys })
    }

    /// Checks the client's initial response; the error is the reason for the log and the client.
    pub fn validate_message(&self, msg: &[u8]) -> Result<Validated, String> {
        let (authzid, token) = parse_initial_response(msg)?;
        let v = self.validate_token(token)?;
        if authzid.is_some_and(|a| a != v.principal) {
            return Err("the authorization id differs from the token's principal".into());
        }
        Ok(v)
    }

    fn validate_token(&self, token: &str) -> Result<Validated, String> {
        let header = decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or("no key in the JWKS matches the token's kid")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWKS key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&self.settings.audience);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.settings.clock_skew.as_secs();
        let data = decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| format!("invalid token: {e}"))?;
        let principal = data
            .claims
            .get(&self.settings.principal_claim)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("the token has no {:?} claim", self.settings.principal_claim))?;
        let exp = data
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_f64)
            .ok_or("the token has no numeric exp claim")?;
        Ok(Validated {
            principal: principal.to_string(),
            expires: SystemTime::UNIX_EPOCH + Duration::from_secs_f64(exp.max(0.0)),
        })
    }
}

/// RFC 7628 §3.1: `gs2-header kvsep *(key "=" value kvsep) kvsep`, with `auth=Bearer <token>` required. Returns
/// the authzid (if any) and the token. Other keys (Kafka's SASL extensions) are ignored.
pub fn parse_initial_response(msg: &[u8]) -> Result<(Option<String>, &str), String> {
    let msg = std::str::from_utf8(msg).map_err(|_| "the message is not UTF-8".to_string())?;
    let bad = || "malformed OAUTHBEARER client message".to_string();
    let (gs2, rest) = msg.split_once('\x01').ok_or_else(bad)?;
    let authzid = match gs2 {
        "n,," => None,
        _ => {
            let a = gs2
                .strip_prefix("n,a=")
                .and_then(|a| a.strip_suffix(','))
                .ok_or_else(bad)?;
            Some(a.to_string())
        }
    };
    let body = rest.strip_suffix("\x01\x01").ok_or_else(bad)?;
    let mut token = None;
    for kv in body.split('\x01') {
        let (k, v) = kv.split_once('=').ok_or_else(bad)?;
        if k == "auth" {
            let t = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(bad)?;
            token = Some(t.trim());
        }
    }
    let token = token.filter(|t| !t.is_empty()).ok_or_else(bad)?;
    Ok((authzid, token))
}

/// RFC 7628 §3.2.2's error challenge.
pub fn error_challenge() -> Vec<u8> {
    br#"{"status":"invalid_token"}"#.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_response_shapes() {
        assert_eq!(
            parse_initial_response(b"n,,\x01auth=Bearer abc.def.ghi\x01\x01"),
            Ok((None, "abc.def.ghi"))
        );
        assert_eq!(
            parse_initial_response(b"n,a=bob,\x01host=x\x01auth=Bearer t\x01ext=1\x01\x01"),
            Ok((Some("bob".into()), "t"))
        );
        for bad in [
            &b""[..],
            b"n,,\x01auth=Bearer t\x01",
            b"n,,\x01host=x\x01\x01",
            b"y,,\x01auth=Bearer t\x01\x01",
            b"n,,\x01auth=Basic t\x01\x01",
            b"n,,\x01auth=Bearer \x01\x01",
        ] {
            assert!(parse_initial_response(bad).is_err(), "{bad:?}");
        }
    }
}
