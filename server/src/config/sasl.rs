//! `[kafka.sasl]`: SASL mechanisms beyond PLAIN (whose users stay in `kafka.sasl_plain_users`) and
//! re-authentication.
//!
//! SASL is required on the Kafka listener when any SASL user is configured: a PLAIN user, or a SCRAM bootstrap
//! user here. SCRAM users created later through AlterUserScramCredentials (`kafka-configs --alter --add-config
//! 'SCRAM-SHA-512=[password=...]'`) are stored in the cluster metadata and do not switch authentication on by
//! themselves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[kafka.sasl]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SaslConfig {
    /// SCRAM users known from start (bootstrap users): an operator can always log in with them. A credential
    /// stored through AlterUserScramCredentials for the same user and mechanism takes precedence. Passwords are
    /// redacted by `strait config show`. Default: none.
    pub scram_users: Vec<ScramUser>,
    /// Kafka's `connections.max.reauth.ms`: an authenticated session lasts at most this long; the client must
    /// re-authenticate (KIP-368) before it ends or its connection is closed on its next request. 0 (the default,
    /// as in Kafka): sessions do not expire.
    pub max_reauth_ms: u64,
    /// SASL/OAUTHBEARER with JWTs; absent (the default): not offered. When set, SASL is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauthbearer: Option<OAuthBearerConfig>,
}

/// `[kafka.sasl.oauthbearer]`: how tokens are validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthBearerConfig {
    /// A JSON Web Key Set file (`{"keys":[...]}`, as an identity provider's `jwks_uri` serves it), read at
    /// start. Tokens must be signed with one of its keys (RS*, PS*, ES*, EdDSA).
    pub jwks_file: PathBuf,
    /// The `iss` claim tokens must carry.
    pub issuer: String,
    /// Accepted `aud` values; a token must name one of them.
    pub audience: Vec<String>,
    /// The claim that names the principal (Kafka's `sasl.oauthbearer.sub.claim.name`). Default `sub`.
    #[serde(default = "default_principal_claim")]
    pub principal_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (Kafka's `sasl.oauthbearer.clock.skew.seconds`).
    /// Default 30.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_s: u64,
}

fn default_principal_claim() -> String {
    "sub".into()
}

fn default_clock_skew() -> u64 {
    30
}

impl OAuthBearerConfig {
    fn validator(&self) -> Result<strait_kafka::sasl::oauth::OAuthValidator, String> {
        if self.issuer.is_empty() || self.audience.iter().all(String::is_empty) {
            return Err("oauthbearer needs an issuer and at least one audience".into());
        }
        strait_kafka::sasl::oauth::OAuthValidator::load(strait_kafka::sasl::oauth::OAuthSettings {
            jwks_file: self.jwks_file.clone(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            principal_claim: self.principal_claim.clone(),
            clock_skew: Duration::from_secs(self.clock_skew_s),
        })
        .map_err(|e| e.to_string())
    }
}

/// One SCRAM bootstrap user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScramUser {
    pub name: String,
    pub password: String,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: ScramMechanism,
    /// PBKDF2 iterations, 4096 to 16384 (Kafka's bounds). Default 8192.
    #[serde(default = "default_iterations")]
    pub iterations: u32,
}

fn default_iterations() -> u32 {
    8192
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScramMechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslConfig {
    /// Why this section is invalid, if it is.
    pub fn check(&self) -> Result<(), String> {
        for (i, u) in self.scram_users.iter().enumerate() {
            if u.name.is_empty() || u.name.contains('\0') {
                return Err(format!(
                    "scram user #{} has an empty name or one with NUL",
                    i + 1
                ));
            }
            if u.password.is_empty() {
                return Err(format!("scram user {:?} has an empty password", u.name));
            }
            if !(4096..=16384).contains(&u.iterations) {
                return Err(format!(
                    "scram user {:?}: iterations must be between 4096 and 16384",
                    u.name
                ));
            }
            if self.scram_users[..i]
                .iter()
                .any(|o| o.name == u.name && o.mechanism == u.mechanism)
            {
                return Err(format!(
                    "scram user {:?} is listed twice for one mechanism",
                    u.name
                ));
            }
        }
        if let Some(o) = &self.oauthbearer {
            o.validator()?;
        }
        Ok(())
    }

    /// Whether this section makes SASL required (bootstrap SCRAM users or OAUTHBEARER).
    pub fn requires_auth(&self) -> bool {
        !self.scram_users.is_empty() || self.oauthbearer.is_some()
    }

    /// The Kafka front end's form (reads the JWKS file again: it may have been rotated since the check).
    pub fn to_broker(&self) -> Result<strait_kafka::sasl::SaslConfig, String> {
        use strait_kafka::sasl::scram::ScramHash;
        let oauthbearer = match &self.oauthbearer {
            Some(o) => Some(Arc::new(
                o.validator()
                    .map_err(|e| format!("kafka.sasl.oauthbearer: {e}"))?,
            )),
            None => None,
        };
        Ok(strait_kafka::sasl::SaslConfig {
            scram_users: self
                .scram_users
                .iter()
                .map(|u| strait_kafka::sasl::credentials::BootstrapUser {
                    name: u.name.clone(),
                    mechanism: match u.mechanism {
                        ScramMechanism::ScramSha256 => ScramHash::Sha256,
                        ScramMechanism::ScramSha512 => ScramHash::Sha512,
                    },
                    password: u.password.clone(),
                    iterations: u.iterations,
                })
                .collect(),
            max_reauth_ms: self.max_reauth_ms,
            oauthbearer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, iterations: u32) -> ScramUser {
        ScramUser {
            name: name.into(),
            password: "pw".into(),
            mechanism: ScramMechanism::ScramSha256,
            iterations,
        }
    }

    #[test]
    fn bad_sections_are_refused() {
        let with = |users: Vec<ScramUser>| SaslConfig {
            scram_users: users,
            ..Default::default()
        };
        assert!(
            with(vec![user("a", 4096), user("b", 16384)])
                .check()
                .is_ok()
        );
        for bad in [
            vec![user("a", 4095)],
            vec![user("a", 16385)],
            vec![user("", 4096)],
            vec![user("a", 4096), user("a", 8192)],
        ] {
            assert!(with(bad.clone()).check().is_err(), "{bad:?}");
        }
        let oauth = SaslConfig {
            oauthbearer: Some(OAuthBearerConfig {
                jwks_file: "/nonexistent/jwks.json".into(),
                issuer: "https://idp/".into(),
                audience: vec!["strait".into()],
                principal_claim: "sub".into(),
                clock_skew_s: 30,
            }),
            ..Default::default()
        };
        let err = oauth.check().expect_err("missing JWKS file");
        assert!(err.contains("/nonexistent/jwks.json"), "{err}");
        assert!(oauth.requires_auth());
    }
}
