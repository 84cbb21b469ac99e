//! Requests signed by AWS's own signer (aws-sigv4, the Rust SDK's) and checked by Strait's verifier: shared by the
//! integration tests, which vary the credentials, the signature's location and the scope.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use strait_access::Principal;
use strait_aws::sigv4::{AccessKey, Scope, SigV4Error, SignedRequest, verify};

/// The body every signed request carries.
pub(crate) const BODY: &[u8] = br#"{"StreamName":"orders"}"#;

/// The node's scope: its region, and Kinesis's signing name.
pub(crate) const SCOPE: Scope<'static> = Scope {
    region: "us-east-1",
    service: "kinesis",
};

/// How to sign a DescribeStream request.
pub(crate) struct Signing<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) token: Option<&'a str>,
    pub(crate) location: SignatureLocation,
    /// The presigned form's lifetime.
    pub(crate) expires: Option<Duration>,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    /// Headers sent but left out of the signature.
    pub(crate) unsigned: &'a [&'static str],
}

impl<'a> Signing<'a> {
    /// An `Authorization`-header signature by `key_id`/`secret` for Kinesis in us-east-1.
    pub(crate) fn new(key_id: &'a str, secret: &'a str) -> Signing<'a> {
        Signing {
            key_id,
            secret,
            token: None,
            location: SignatureLocation::Headers,
            expires: None,
            region: "us-east-1",
            service: "kinesis",
            unsigned: &[],
        }
    }

    /// (query, headers) of the request signed at `at`.
    pub(crate) fn sign(&self, at: SystemTime) -> (String, Vec<(String, String)>) {
        let identity = Credentials::new(
            self.key_id,
            self.secret,
            self.token.map(str::to_string),
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.signature_location = self.location;
        settings.expires_in = self.expires;
        if let Some(excluded) = settings.excluded_headers.as_mut() {
            excluded.extend(self.unsigned.iter().map(|h| std::borrow::Cow::Borrowed(*h)));
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(at)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let mut req = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:4566/")
            .header("host", "127.0.0.1:4566")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "Kinesis_20131202.DescribeStream")
            .body(BODY.to_vec())
            .expect("request");
        let headers = pairs(&req);
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:4566/",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(BODY),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        instructions.apply_to_request_http1x(&mut req);
        let query = req.uri().query().unwrap_or_default().to_string();
        (query, pairs(&req))
    }
}

fn pairs(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
        .collect()
}

/// Strait's verdict on a request with `query`, `headers` and `body` at `now`, against `keys`, for `scope`.
pub(crate) fn verify_at(
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    keys: &[AccessKey],
    scope: Scope<'_>,
    now: SystemTime,
) -> Result<Principal, SigV4Error> {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query,
        headers: &h,
        body,
    };
    let ms = now.duration_since(UNIX_EPOCH).expect("time").as_millis() as i64;
    verify(&req, keys, scope, ms)
}
