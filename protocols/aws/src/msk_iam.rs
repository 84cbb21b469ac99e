//! AWS identities on Kafka: SASL `AWS_MSK_IAM` (the JSON payload of `aws-msk-iam-auth`) and the token of the MSK
//! IAM signer libraries (sent inside OAUTHBEARER), both verified against the same access keys as the AWS port.
//!
//! Both forms are a SigV4 presigned `GET /?Action=kafka-cluster%3AConnect` for the credential scope's service
//! `kafka-cluster`, signed over the `host` header and the empty body. Rather than a second verifier, each is
//! rebuilt into the presigned request it stands for and checked by [`crate::sigv4::verify`] (canonical query
//! rebuilt and re-encoded, key derivation with aws-sigv4's primitives, constant-time compare, skew, the
//! `X-Amz-Expires` expiry, the session token), so one access key is one principal on both protocols.
//!
//! - `AWS_MSK_IAM` (`AWS4SignedPayloadGenerator.java`, `AuthenticationRequestParams.java`): JSON with `version`
//!   `2020_10_22`, `host` (the broker host the client dialled), `user-agent`, `action` and the lower-cased
//!   presign parameters (`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signedheaders`,
//!   `x-amz-expires`, optional `x-amz-security-token`, `x-amz-signature`). The canonical query uses the
//!   parameters' original casing (`Action`, `X-Amz-…`).
//! - The signer token (`aws-msk-iam-sasl-signer` and its Python, Go and JS siblings): base64url, unpadded, of
//!   `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-…&User-Agent=…`, where
//!   `User-Agent` is appended after signing and so is left out of the check.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use strait_access::{AwsIdentityError, AwsIdentityVerifier, Principal};

use crate::clock::Clock;
use crate::sigv4::canonical::{query_params, uri_encode};
use crate::sigv4::{self, AccessKey, Scope, SigV4Error, SignedRequest};

/// The payload version `aws-msk-iam-auth` sends and the server echoes.
pub const VERSION: &str = "2020_10_22";
/// The one action a Kafka connection asks for.
pub const CONNECT_ACTION: &str = "kafka-cluster:Connect";
/// MSK IAM's SigV4 signing name.
pub const SIGNING_NAME: &str = "kafka-cluster";

/// Why a Kafka client's AWS credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MskIamError {
    /// Not the form the client libraries send (bad JSON or base64, a missing field, another version or action).
    #[error("{0}")]
    Malformed(String),
    /// Well-formed, but the signature, its time, scope or key does not verify.
    #[error("{0}")]
    Signature(#[from] SigV4Error),
}

/// The `AWS_MSK_IAM` JSON payload, verified against `keys` for a credential scoped to `region`/`kafka-cluster`.
pub fn verify_payload(
    payload: &[u8],
    keys: &[AccessKey],
    region: &str,
    now_ms: i64,
) -> Result<Principal, MskIamError> {
    let doc: serde_json::Map<String, Value> = serde_json::from_slice(payload)
        .map_err(|e| MskIamError::Malformed(format!("Invalid AWS_MSK_IAM payload: {e}")))?;
    let field = |name: &str| match doc.get(name) {
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        None => Ok(None),
        Some(_) => Err(MskIamError::Malformed(format!(
            "Invalid AWS_MSK_IAM payload: '{name}' must be a string"
        ))),
    };
    let required = |name: &str| {
        field(name)?.ok_or_else(|| {
            MskIamError::Malformed(format!("Invalid AWS_MSK_IAM payload: '{name}' is missing"))
        })
    };
    let version = required("version")?;
    if version != VERSION {
        return Err(MskIamError::Malformed(format!(
            "Unsupported AWS_MSK_IAM payload version '{version}' (expected {VERSION})"
        )));
    }
    let action = required("action")?;
    if action != CONNECT_ACTION {
        return Err(MskIamError::Malformed(format!(
            "Unsupported action '{action}' (expected {CONNECT_ACTION})"
        )));
    }
    let host = required("host")?;
    // Original casing of each parameter, as the client's signer put them in the canonical query.
    let mut params = vec![("Action", action)];
    for (json, query) in [
        ("x-amz-algorithm", "X-Amz-Algorithm"),
        ("x-amz-credential", "X-Amz-Credential"),
        ("x-amz-date", "X-Amz-Date"),
        ("x-amz-signedheaders", "X-Amz-SignedHeaders"),
        ("x-amz-expires", "X-Amz-Expires"),
        ("x-amz-signature", "X-Amz-Signature"),
    ] {
        params.push((query, required(json)?));
    }
    if let Some(token) = field("x-amz-security-token")? {
        params.push(("X-Amz-Security-Token", token));
    }
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", uri_encode(v.as_bytes(), false)))
        .collect::<Vec<_>>()
        .join("&");
    verify_presigned(host, &query, keys, region, now_ms)
}

/// A signer library's OAUTHBEARER token, verified like [`verify_payload`]. The URL's host must be the regional
/// MSK endpoint name the libraries sign for, `kafka.<region>.amazonaws.com`.
pub fn verify_signer_token(
    token: &str,
    keys: &[AccessKey],
    region: &str,
    now_ms: i64,
) -> Result<Principal, MskIamError> {
    const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let malformed = |why: &str| MskIamError::Malformed(format!("Invalid MSK IAM token: {why}"));
    let bytes = LENIENT_URL_SAFE
        .decode(token.trim())
        .map_err(|_| malformed("not base64url"))?;
    let url = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| malformed("not an https URL"))?;
    let (authority, path_query) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    if !(path.is_empty() || path == "/") {
        return Err(malformed("the path must be /"));
    }
    let expected_host = format!("kafka.{region}.amazonaws.com");
    if !authority.eq_ignore_ascii_case(&expected_host) {
        return Err(malformed(&format!(
            "signed for host '{authority}', expected '{expected_host}'"
        )));
    }
    let action = query_params(query)
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v);
    if action.as_deref() != Some(CONNECT_ACTION) {
        return Err(malformed(&format!("the Action must be {CONNECT_ACTION}")));
    }
    // Appended after signing (the libraries' own version string): not part of what was signed.
    let signed_query = query
        .split('&')
        .filter(|kv| kv.split('=').next() != Some("User-Agent"))
        .collect::<Vec<_>>()
        .join("&");
    verify_presigned(authority, &signed_query, keys, region, now_ms)
}

fn verify_presigned(
    host: &str,
    query: &str,
    keys: &[AccessKey],
    region: &str,
    now_ms: i64,
) -> Result<Principal, MskIamError> {
    let headers = [("host", host)];
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
        body: b"",
    };
    let scope = Scope {
        region,
        service: SIGNING_NAME,
    };
    Ok(sigv4::verify(&req, keys, scope, now_ms)?)
}

/// The node's access-key table as Kafka's [`AwsIdentityVerifier`]: what the server hands the Kafka front end.
#[derive(Clone)]
pub struct MskIamVerifier {
    keys: Arc<[AccessKey]>,
    region: String,
    clock: Arc<dyn Clock>,
}

impl MskIamVerifier {
    pub fn new(keys: Vec<AccessKey>, region: String, clock: Arc<dyn Clock>) -> MskIamVerifier {
        MskIamVerifier {
            keys: keys.into(),
            region,
            clock,
        }
    }
}

impl fmt::Debug for MskIamVerifier {
    // Names no secret: the key ids only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MskIamVerifier")
            .field(
                "access_key_ids",
                &self
                    .keys
                    .iter()
                    .map(|k| &k.access_key_id)
                    .collect::<Vec<_>>(),
            )
            .field("region", &self.region)
            .finish()
    }
}

fn to_identity_error(e: MskIamError) -> AwsIdentityError {
    AwsIdentityError {
        message: e.to_string(),
    }
}

impl AwsIdentityVerifier for MskIamVerifier {
    fn verify_msk_iam(&self, payload: &[u8]) -> Result<Principal, AwsIdentityError> {
        verify_payload(payload, &self.keys, &self.region, self.clock.now_ms())
            .map_err(to_identity_error)
    }

    fn verify_msk_signer_token(&self, token: &str) -> Result<Principal, AwsIdentityError> {
        verify_signer_token(token, &self.keys, &self.region, self.clock.now_ms())
            .map_err(to_identity_error)
    }
}
