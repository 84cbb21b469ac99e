//! AWS Signature Version 4 verification, with AWS's error types and messages.
//!
//! Verification rebuilds the canonical request from exactly the headers the client listed in `SignedHeaders`
//! (never re-signing with an SDK signer, which drops or rewrites some headers: see the shared notes, crates §4),
//! derives the signing key from the configured secret with aws-sigv4's primitives, and compares signatures in
//! constant time. The request time must be within the service's skew of the server's clock (5 minutes for Kinesis,
//! 15 for DynamoDB and CloudWatch, as AWS answers) or, for a presigned request, within its `X-Amz-Expires`. A
//! temporary key's session token (`X-Amz-Security-Token`, header or query) must match the configured one.
//!
//! Both forms are accepted: the `Authorization: AWS4-HMAC-SHA256 …` header and the presigned query string
//! (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`, `X-Amz-Signature`).
//!
//! As on AWS, a signature only counts for what it names: its credential scope must be the configured region and
//! the signing name of the endpoint's service ([`Scope`]), ending in `aws4_request`, dated the day of
//! `X-Amz-Date`; and `host` (or `:authority`) and, when the request has one, `X-Amz-Target` must be among the
//! signed headers. Without these a request captured on its way to another region or service, or replayed with
//! another `X-Amz-Target` and the same body, would pass. `aws.auth = "none"` only [`parse`]s the request (any
//! region, service and signed headers, as AWS emulators accept).

pub(crate) mod canonical;
mod error;
#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};
use strait_access::{AuthMechanism, Principal};
use subtle::ConstantTimeEq;

pub use error::{AuthFailure, DEV_MISSING_TOKEN_MESSAGE, Service, SigV4Error};

use crate::time::{format_amz_date, parse_amz_date};
use canonical::{canonical_request, query_params, signing_key};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Allowed clock skew between client and server for most AWS services (DynamoDB, CloudWatch).
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;
/// Kinesis allows only 5 minutes ("Signature expired: … (… - 5 min.)", as Kinesis and the KPL report it); so does
/// Strait for `kafka-cluster`, MSK IAM's signing name, whose tokens carry their own 15-minute expiry besides.
pub const KINESIS_MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// The clock skew allowed for a credential scoped to `service` (its signing name).
pub fn max_skew_ms(service: &str) -> i64 {
    match service {
        "kinesis" | "kafka-cluster" => KINESIS_MAX_SKEW_MS,
        _ => MAX_SKEW_MS,
    }
}
/// The credential scope's terminator.
const TERMINATOR: &str = "aws4_request";
/// The presigned form's signature parameter, left out of the canonical query.
const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// One configured key pair: the credential table both the AWS port and Kafka's AWS_MSK_IAM verify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A temporary key's session token: requests must carry exactly it (`X-Amz-Security-Token`). A key without
    /// one is a long-term key, and a request that carries a token with it is refused, as AWS refuses a token
    /// that does not belong to the key.
    pub session_token: Option<String>,
    /// The principal's name (`User:<name>`); the access key id when not given.
    pub principal: Option<String>,
}

impl AccessKey {
    /// A long-term key whose principal is its id.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> AccessKey {
        AccessKey {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            principal: None,
        }
    }

    /// The identity a request signed with this key acts as.
    pub fn principal(&self) -> Principal {
        Principal::user(
            self.principal.as_deref().unwrap_or(&self.access_key_id),
            AuthMechanism::AwsSigV4,
        )
    }
}

/// What verification needs of an HTTP request. Header names are matched case-insensitively; for HTTP/2 the
/// caller supplies `host` from the `:authority` pseudo-header.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as received (percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }
    fn has_query_auth(&self) -> bool {
        self.query
            .split('&')
            .any(|kv| kv.split('=').next() == Some("X-Amz-Algorithm"))
    }
}

/// What the credential scope of a request must name: the node's region and the signing name of the service the
/// request is for (`kinesis`, `dynamodb`, `monitoring` for CloudWatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// Where the signature travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// `Authorization: AWS4-HMAC-SHA256 …`.
    Header,
    /// A presigned URL's `X-Amz-*` query parameters.
    Query {
        /// `X-Amz-Expires`, in seconds, when given.
        expires_s: Option<i64>,
    },
}

/// The parts of a request's SigV4 authentication, from either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    /// The scope's last element; only `aws4_request` verifies.
    pub terminator: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date` of the request.
    pub amz_date: String,
    pub location: Location,
}

/// Parses the request's authentication without checking the signature: what `auth = "none"` requires (a
/// well-formed header or query), and the first step of [`verify`].
pub fn parse(req: &SignedRequest<'_>) -> Result<Authorization, SigV4Error> {
    match (req.header("authorization"), req.has_query_auth()) {
        (None, false) => Err(SigV4Error::MissingAuthenticationToken),
        (Some(_), true) => Err(SigV4Error::InvalidSignature(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.".into(),
        )),
        (None, true) => parse_query(req),
        (Some(header), false) => parse_header(req, header),
    }
}

fn parse_header(req: &SignedRequest<'_>, header: &str) -> Result<Authorization, SigV4Error> {
    let Some(params) = header
        .strip_prefix(ALGORITHM)
        .filter(|p| p.starts_with(' '))
    else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Authorization header requires the '{ALGORITHM}' algorithm. Authorization={header}"
        )));
    };
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in params.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let amz_date = req.header("x-amz-date");
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if amz_date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    if !missing.is_empty() {
        return Err(SigV4Error::IncompleteSignature(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    }
    assemble(
        credential.unwrap_or_default(),
        signed.unwrap_or_default(),
        signature.unwrap_or_default(),
        amz_date.unwrap_or_default(),
        Location::Header,
    )
}

fn parse_query(req: &SignedRequest<'_>) -> Result<Authorization, SigV4Error> {
    let params = query_params(req.query);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let algorithm = get("X-Amz-Algorithm").unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(SigV4Error::IncompleteSignature(format!(
            "X-Amz-Algorithm only supports '{ALGORITHM}'. X-Amz-Algorithm={algorithm}"
        )));
    }
    let names = [
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ];
    let missing: Vec<String> = names
        .iter()
        .filter(|n| get(n).is_none())
        .map(|n| format!("AWS query-string parameters must include '{n}'."))
        .collect();
    if !missing.is_empty() {
        return Err(SigV4Error::IncompleteSignature(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    }
    let expires_s = match get("X-Amz-Expires") {
        None => None,
        Some(e) => match e.parse::<i64>() {
            // AWS caps a presigned URL's life at a week.
            Ok(s) if s > 604_800 => {
                return Err(SigV4Error::InvalidSignature(
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800".into(),
                ));
            }
            Ok(s) if s >= 0 => Some(s),
            _ => {
                return Err(SigV4Error::IncompleteSignature(format!(
                    "X-Amz-Expires must be a non-negative integer. X-Amz-Expires={e}"
                )));
            }
        },
    };
    assemble(
        get("X-Amz-Credential").unwrap_or_default(),
        get("X-Amz-SignedHeaders").unwrap_or_default(),
        get("X-Amz-Signature").unwrap_or_default(),
        get("X-Amz-Date").unwrap_or_default(),
        Location::Query { expires_s },
    )
}

fn assemble(
    credential: &str,
    signed: &str,
    signature: &str,
    amz_date: &str,
    location: Location,
) -> Result<Authorization, SigV4Error> {
    let scope: Vec<&str> = credential.split('/').collect();
    // AWS's wording; the terminator is checked with the rest of the scope (see `check_scope`).
    let [akid, date, region, service, terminator] = scope[..] else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got \
             '{credential}'"
        )));
    };
    Ok(Authorization {
        access_key_id: akid.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
        signed_headers: signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        signature: signature.to_ascii_lowercase(),
        amz_date: amz_date.to_string(),
        location,
    })
}

/// Verifies the request's signature against `keys` at `now_ms`, for a credential scoped to `scope`, and returns
/// the signer.
///
/// The checks run in AWS's order (as recorded from AWS by dynalite and scratchstack): header completeness, date
/// format and skew, required signed headers, credential scope, access key, signature.
pub fn verify(
    req: &SignedRequest<'_>,
    keys: &[AccessKey],
    scope: Scope<'_>,
    now_ms: i64,
) -> Result<Principal, SigV4Error> {
    let auth = parse(req)?;
    let Some(t) = parse_amz_date(&auth.amz_date) else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See \
             http://en.wikipedia.org/wiki/ISO_8601",
            auth.amz_date
        )));
    };
    check_time(&auth, t, now_ms, max_skew_ms(scope.service))?;
    check_signed_headers(req, &auth)?;
    check_scope(&auth, scope)?;
    let Some(key) = keys.iter().find(|k| k.access_key_id == auth.access_key_id) else {
        return Err(SigV4Error::UnrecognizedClient);
    };
    check_session_token(req, &auth, key)?;
    let body_hash = hex::encode(Sha256::digest(req.body));
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_string(),
        Some(h) if !h.eq_ignore_ascii_case(&body_hash) => {
            return Err(SigV4Error::InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into(),
            ));
        }
        Some(h) => h.to_ascii_lowercase(),
        None => body_hash,
    };
    let excluded = match auth.location {
        Location::Header => None,
        Location::Query { .. } => Some(SIGNATURE_PARAM),
    };
    let canonical = canonical_request(req, &auth.signed_headers, &payload_hash, excluded);
    let credential_scope = format!(
        "{}/{}/{}/{TERMINATOR}",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{credential_scope}\n{}",
        auth.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signing = signing_key(
        &key.secret_access_key,
        &auth.date,
        t,
        &auth.region,
        &auth.service,
    );
    let expected = aws_sigv4::sign::v4::calculate_signature(&signing, string_to_sign.as_bytes());
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(key.principal())
    } else {
        Err(SigV4Error::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details."
                .into(),
        ))
    }
}

/// The session token the request carries (header or presigned query) against the key's: a temporary key needs
/// its own, a long-term key none. AWS tells both mismatches as an invalid security token.
fn check_session_token(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    key: &AccessKey,
) -> Result<(), SigV4Error> {
    let sent = match auth.location {
        Location::Header => req.header("x-amz-security-token").map(str::to_string),
        Location::Query { .. } => query_params(req.query)
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Security-Token")
            .map(|(_, v)| v),
    };
    let ok = match (&key.session_token, &sent) {
        (None, None) => true,
        (Some(want), Some(got)) => bool::from(want.as_bytes().ct_eq(got.as_bytes())),
        (None, Some(_)) | (Some(_), None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(SigV4Error::UnrecognizedClient)
    }
}

/// The request time against the clock: ± the service's skew for a signed header; for a presigned request, no
/// more than the skew ahead and not past its `X-Amz-Expires`.
fn check_time(auth: &Authorization, t: i64, now_ms: i64, skew_ms: i64) -> Result<(), SigV4Error> {
    let minutes = skew_ms / 60_000;
    let expired = match auth.location {
        Location::Query { expires_s: Some(s) } => {
            (t.saturating_add(s.saturating_mul(1000)) < now_ms).then(|| {
                format!(
                    "Signature expired: {} is now earlier than {} ({} - {s} sec.)",
                    auth.amz_date,
                    format_amz_date(now_ms - s.saturating_mul(1000)),
                    format_amz_date(now_ms)
                )
            })
        }
        Location::Query { expires_s: None } | Location::Header => {
            (t < now_ms - skew_ms).then(|| {
                format!(
                    "Signature expired: {} is now earlier than {} ({} - {minutes} min.)",
                    auth.amz_date,
                    format_amz_date(now_ms - skew_ms),
                    format_amz_date(now_ms)
                )
            })
        }
    };
    if let Some(m) = expired {
        return Err(SigV4Error::InvalidSignature(m));
    }
    if t > now_ms + skew_ms {
        return Err(SigV4Error::InvalidSignature(format!(
            "Signature not yet current: {} is still later than {} ({} + {minutes} min.)",
            auth.amz_date,
            format_amz_date(now_ms + skew_ms),
            format_amz_date(now_ms)
        )));
    }
    Ok(())
}

/// The headers a signature must cover. `host` (or, over HTTP/2, `:authority`, which the JS SDK v3 signs by that
/// name) binds the request to this endpoint. `X-Amz-Target` names the operation in the JSON and CBOR protocols:
/// unsigned, a captured request could be replayed as another operation with the same body. Every AWS SDK signs
/// both; AWS refuses an unsigned host with the first message, and the second follows its pattern.
fn check_signed_headers(req: &SignedRequest<'_>, auth: &Authorization) -> Result<(), SigV4Error> {
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if !signed("host") && !signed(":authority") {
        return Err(SigV4Error::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    if req.header("x-amz-target").is_some() && !signed("x-amz-target") {
        return Err(SigV4Error::InvalidSignature(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(())
}

/// The credential scope against the node's: every mismatch in one message, as AWS words it.
fn check_scope(auth: &Authorization, scope: Scope<'_>) -> Result<(), SigV4Error> {
    let mut message = String::new();
    if auth.region != scope.region {
        message.push_str(&format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        ));
    }
    if auth.service != scope.service {
        message.push_str(&format!(
            "Credential should be scoped to correct service: '{}'. ",
            scope.service
        ));
    }
    if auth.terminator != TERMINATOR {
        message.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            auth.terminator
        ));
    }
    let day = auth.amz_date.get(..8).unwrap_or(&auth.amz_date);
    if auth.date != day {
        message.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != \
             '{day}', from '{}'.",
            auth.date, auth.amz_date
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(SigV4Error::InvalidSignature(message))
    }
}
