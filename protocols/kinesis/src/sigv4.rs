//! AWS Signature Version 4 verification, with AWS's error types and messages.
//!
//! Verification rebuilds the canonical request from exactly the headers the client listed in `SignedHeaders`
//! (never re-signing with an SDK signer, which drops or rewrites some headers: see the shared notes, crates §4),
//! derives the signing key from the configured secret, and compares signatures in constant time. The request
//! time must be within 15 minutes of the server's clock.
//!
//! As on AWS, a signature only counts for what it names: its credential scope must be the configured region and
//! the signing name of the endpoint's service ([`Scope`]), ending in `aws4_request`, dated the day of
//! `X-Amz-Date`; and `host` (or `:authority`) and, when the request has one, `X-Amz-Target` must be among the
//! signed headers. Without these a request captured on its way to another region or service, or replayed with
//! another `X-Amz-Target` and the same body, would pass. `aws.auth = "none"` only [`parse`]s the header (any
//! region, service and signed headers, as AWS emulators accept).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::KinesisError;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Allowed clock skew between client and server, as on AWS.
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// One configured key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
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

/// The credential scope's terminator.
const TERMINATOR: &str = "aws4_request";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
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
}

/// Parses the request's authentication without checking the signature: what `auth = "none"` requires (a
/// well-formed header), and the first step of [`verify`].
pub fn parse(req: &SignedRequest<'_>) -> Result<Authorization, KinesisError> {
    let header = req.header("authorization");
    match (header, req.has_query_auth()) {
        (None, false) => return Err(KinesisError::MissingAuthenticationToken),
        (Some(_), true) => {
            return Err(KinesisError::InvalidSignature(
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
                    .into(),
            ));
        }
        (None, true) => {
            return Err(KinesisError::IncompleteSignature(
                "Presigned (query-string) authentication is not supported by this endpoint; sign the \
                 Authorization header."
                    .into(),
            ));
        }
        (Some(_), false) => {}
    }
    let header = header.unwrap_or_default();
    let Some(params) = header
        .strip_prefix(ALGORITHM)
        .filter(|p| p.starts_with(' '))
    else {
        return Err(KinesisError::IncompleteSignature(format!(
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
        return Err(KinesisError::IncompleteSignature(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    }
    let credential = credential.unwrap_or_default();
    let scope: Vec<&str> = credential.split('/').collect();
    // AWS's wording; the terminator is checked with the rest of the scope (see `check_scope`).
    let [akid, date, region, service, terminator] = scope[..] else {
        return Err(KinesisError::IncompleteSignature(format!(
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
            .unwrap_or_default()
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        signature: signature.unwrap_or_default().to_ascii_lowercase(),
        amz_date: amz_date.unwrap_or_default().to_string(),
    })
}

/// Verifies the request's signature against `keys` at `now_ms`, for a credential scoped to `scope`.
///
/// The checks run in AWS's order (as recorded from AWS by dynalite and scratchstack): header completeness, date
/// format and skew, required signed headers, credential scope, access key, signature.
pub fn verify(
    req: &SignedRequest<'_>,
    keys: &[AccessKey],
    scope: Scope<'_>,
    now_ms: i64,
) -> Result<(), KinesisError> {
    let auth = parse(req)?;
    let Some(t) = parse_amz_date(&auth.amz_date) else {
        return Err(KinesisError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See \
             http://en.wikipedia.org/wiki/ISO_8601",
            auth.amz_date
        )));
    };
    if t < now_ms - MAX_SKEW_MS {
        return Err(KinesisError::InvalidSignature(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            auth.amz_date,
            format_amz_date(now_ms - MAX_SKEW_MS),
            format_amz_date(now_ms)
        )));
    }
    if t > now_ms + MAX_SKEW_MS {
        return Err(KinesisError::InvalidSignature(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            auth.amz_date,
            format_amz_date(now_ms + MAX_SKEW_MS),
            format_amz_date(now_ms)
        )));
    }
    check_signed_headers(req, &auth)?;
    check_scope(&auth, scope)?;
    let Some(key) = keys.iter().find(|k| k.access_key_id == auth.access_key_id) else {
        return Err(KinesisError::UnrecognizedClient);
    };
    let body_hash = hex::encode(Sha256::digest(req.body));
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_string(),
        Some(h) if !h.eq_ignore_ascii_case(&body_hash) => {
            return Err(KinesisError::InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into(),
            ));
        }
        Some(h) => h.to_ascii_lowercase(),
        None => body_hash,
    };
    let canonical = canonical_request(req, &auth.signed_headers, &payload_hash);
    let credential_scope = format!(
        "{}/{}/{}/{TERMINATOR}",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{credential_scope}\n{}",
        auth.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signing_key = signing_key(
        &key.secret_access_key,
        &auth.date,
        &auth.region,
        &auth.service,
    );
    let expected = hex::encode(hmac(&signing_key, string_to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(KinesisError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details."
                .into(),
        ))
    }
}

/// The headers a signature must cover. `host` (or, over HTTP/2, `:authority`, which the JS SDK v3 signs by that
/// name) binds the request to this endpoint. `X-Amz-Target` names the operation in the JSON and CBOR protocols:
/// unsigned, a captured request could be replayed as another operation with the same body. Every AWS SDK signs
/// both; AWS refuses an unsigned host with the first message, and the second follows its pattern.
fn check_signed_headers(req: &SignedRequest<'_>, auth: &Authorization) -> Result<(), KinesisError> {
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if !signed("host") && !signed(":authority") {
        return Err(KinesisError::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    if req.header("x-amz-target").is_some() && !signed("x-amz-target") {
        return Err(KinesisError::InvalidSignature(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(())
}

/// The credential scope must be `<X-Amz-Date's day>/<region>/<service>/aws4_request`. Like AWS, every mismatch is
/// reported in one message, in AWS's words (each sentence ends in ". ", as AWS's do).
fn check_scope(auth: &Authorization, scope: Scope<'_>) -> Result<(), KinesisError> {
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
        Err(KinesisError::InvalidSignature(message))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Derived signing keys by (secret, date, region, service): a key is valid for a whole day, so deriving it (four
/// HMACs) once per day per key instead of once per request keeps verification to two hashes and one HMAC.
type KeyCache = HashMap<(String, String, String, String), Vec<u8>>;
static SIGNING_KEYS: LazyLock<Mutex<KeyCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// Bound on cached keys; the cache is simply emptied when it is reached (a day's keys are few).
const MAX_CACHED_KEYS: usize = 1024;

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let id = (
        secret.to_string(),
        date.to_string(),
        region.to_string(),
        service.to_string(),
    );
    if let Some(k) = SIGNING_KEYS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
    {
        return k.clone();
    }
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let key = hmac(&k_service, b"aws4_request");
    let mut cache = SIGNING_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_CACHED_KEYS {
        cache.clear();
    }
    cache.insert(id, key.clone());
    key
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper case), as SigV4 requires.
fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn canonical_request(req: &SignedRequest<'_>, signed: &[String], payload_hash: &str) -> String {
    // Non-S3 services encode each path segment of the (already encoded) path once more.
    let path = if req.path.is_empty() { "/" } else { req.path };
    let uri = uri_encode(path.as_bytes(), true);
    let mut params: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    params.sort();
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed {
        let values: Vec<String> = req
            .header_values(name)
            .iter()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{payload_hash}",
        req.method,
        signed.join(";")
    )
}

/// `20240101T000000Z` to Unix ms.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec) * 1000)
}

/// Unix ms to `20240101T000000Z`.
pub fn format_amz_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = crate::time::civil(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let t = parse_amz_date("20150830T123600Z").expect("date");
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
    }

    #[test]
    fn missing_and_incomplete_headers() {
        let req = |headers: &'static [(&'static str, &'static str)]| SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body: b"{}",
        };
        assert_eq!(
            parse(&req(&[])),
            Err(KinesisError::MissingAuthenticationToken)
        );
        let e = parse(&req(&[(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request",
        )]))
        .expect_err("incomplete");
        let KinesisError::IncompleteSignature(m) = e else {
            panic!("wrong error {e:?}")
        };
        assert!(m.starts_with("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"), "{m}");
    }

    /// The example of AWS's SigV4 documentation ("GET /?Action=ListUsers&Version=2010-05-08" to IAM).
    #[test]
    fn aws_documentation_example() {
        let headers = [
            ("Host", "iam.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            ),
        ];
        let req = SignedRequest {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        let keys = [AccessKey {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }];
        let now = parse_amz_date("20150830T123600Z").expect("date");
        let iam = Scope {
            region: "us-east-1",
            service: "iam",
        };
        assert_eq!(verify(&req, &keys, iam, now), Ok(()));
        assert!(matches!(
            verify(&req, &keys, iam, now + MAX_SKEW_MS + 1000),
            Err(KinesisError::InvalidSignature(m)) if m.starts_with("Signature expired: 20150830T123600Z is now earlier than")
        ));
        let other = [AccessKey {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wrong".into(),
        }];
        assert!(matches!(
            verify(&req, &other, iam, now),
            Err(KinesisError::InvalidSignature(_))
        ));
        assert_eq!(
            verify(&req, &[], iam, now),
            Err(KinesisError::UnrecognizedClient)
        );
        // The same signature for a node in another region, or presented to another service, is refused before
        // the key is even looked up, with every mismatch in one message as AWS words it.
        let kinesis_eu = Scope {
            region: "eu-west-1",
            service: "kinesis",
        };
        assert_eq!(
            verify(&req, &[], kinesis_eu, now),
            Err(KinesisError::InvalidSignature(
                "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be scoped to \
                 correct service: 'kinesis'. "
                    .into()
            ))
        );
    }

    /// A header signed the way the documentation example is, with its credential and signed headers replaced.
    fn with_authorization(credential: &str, signed_headers: &str) -> Result<(), KinesisError> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, Signature=00"
        );
        let headers = [
            ("Host", "kinesis.us-east-1.amazonaws.com"),
            ("X-Amz-Target", "Kinesis_20131202.ListStreams"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization.as_str()),
        ];
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: b"{}",
        };
        let scope = Scope {
            region: "us-east-1",
            service: "kinesis",
        };
        verify(
            &req,
            &[],
            scope,
            parse_amz_date("20150830T123600Z").expect("date"),
        )
    }

    /// `aws.auth = "none"` only parses: any region, service and terminator, and unsigned headers, as emulators
    /// accept (a client configured for any region works against `strait dev`).
    #[test]
    fn parse_alone_is_lenient_about_scope() {
        let headers = [
            ("Host", "127.0.0.1:4566"),
            ("X-Amz-Target", "Kinesis_20131202.ListStreams"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/s3/aws4_request, \
                 SignedHeaders=x-amz-date, Signature=00",
            ),
        ];
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: b"{}",
        };
        let auth = parse(&req).expect("well-formed");
        assert_eq!(
            (auth.region.as_str(), auth.service.as_str()),
            ("eu-west-1", "s3")
        );
        assert_eq!(auth.signed_headers, vec!["x-amz-date".to_string()]);
    }

    #[test]
    fn scope_and_signed_headers() {
        let all = "host;x-amz-date;x-amz-target";
        // Right scope, all headers: only the (absent) key is left to fail.
        assert_eq!(
            with_authorization("AKID/20150830/us-east-1/kinesis/aws4_request", all),
            Err(KinesisError::UnrecognizedClient)
        );
        assert_eq!(
            with_authorization("AKID/20150831/us-east-1/kinesis/aws4_request", all),
            Err(KinesisError::InvalidSignature(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '20150831' != '20150830', from '20150830T123600Z'."
                    .into()
            ))
        );
        assert_eq!(
            with_authorization("AKID/20150830/us-east-1/s3/aws4_request", all),
            Err(KinesisError::InvalidSignature(
                "Credential should be scoped to correct service: 'kinesis'. ".into()
            ))
        );
        assert_eq!(
            with_authorization("AKID/20150830/us-east-1/kinesis/aws5_request", all),
            Err(KinesisError::InvalidSignature(
                "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
                    .into()
            ))
        );
        assert!(matches!(
            with_authorization("AKID/20150830/us-east-1/kinesis", all),
            Err(KinesisError::IncompleteSignature(m)) if m.starts_with("Credential must have exactly 5 slash-delimited elements")
        ));
        assert_eq!(
            with_authorization(
                "AKID/20150830/us-east-1/kinesis/aws4_request",
                "x-amz-date;x-amz-target"
            ),
            Err(KinesisError::InvalidSignature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
            ))
        );
        // HTTP/2 clients may sign `:authority` instead of `host`.
        assert_eq!(
            with_authorization(
                "AKID/20150830/us-east-1/kinesis/aws4_request",
                ":authority;x-amz-date;x-amz-target"
            ),
            Err(KinesisError::UnrecognizedClient)
        );
        assert_eq!(
            with_authorization(
                "AKID/20150830/us-east-1/kinesis/aws4_request",
                "host;x-amz-date"
            ),
            Err(KinesisError::InvalidSignature(
                "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into()
            ))
        );
    }
}
