//! The verifier against AWS's documented example, hand-built headers, and the AWS signer's own output.
use super::*;
use crate::time::parse_amz_date;

fn check(r: Result<Principal, SigV4Error>) -> Result<(), SigV4Error> {
    r.map(|_| ())
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
        Err(SigV4Error::MissingAuthenticationToken)
    );
    let e = parse(&req(&[(
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request",
    )]))
    .expect_err("incomplete");
    let SigV4Error::IncompleteSignature(m) = e else {
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
    let keys = [AccessKey::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    )];
    let now = parse_amz_date("20150830T123600Z").expect("date");
    let iam = Scope {
        region: "us-east-1",
        service: "iam",
    };
    assert_eq!(
        verify(&req, &keys, iam, now),
        Ok(Principal::user("AKIDEXAMPLE", AuthMechanism::AwsSigV4))
    );
    assert!(matches!(
        verify(&req, &keys, iam, now + MAX_SKEW_MS + 1000),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature expired: 20150830T123600Z is now earlier than")
    ));
    let other = [AccessKey::new("AKIDEXAMPLE", "wrong")];
    assert!(matches!(
        verify(&req, &other, iam, now),
        Err(SigV4Error::InvalidSignature(_))
    ));
    assert_eq!(
        check(verify(&req, &[], iam, now)),
        Err(SigV4Error::UnrecognizedClient)
    );
    // The same signature for a node in another region, or presented to another service, is refused before
    // the key is even looked up, with every mismatch in one message as AWS words it.
    let kinesis_eu = Scope {
        region: "eu-west-1",
        service: "kinesis",
    };
    assert_eq!(
        check(verify(&req, &[], kinesis_eu, now)),
        Err(SigV4Error::InvalidSignature(
            "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be scoped to \
             correct service: 'kinesis'. "
                .into()
        ))
    );
}

/// A header signed the way the documentation example is, with its credential and signed headers replaced.
fn with_authorization(credential: &str, signed_headers: &str) -> Result<(), SigV4Error> {
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
    check(verify(
        &req,
        &[],
        scope,
        parse_amz_date("20150830T123600Z").expect("date"),
    ))
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
        Err(SigV4Error::UnrecognizedClient)
    );
    assert_eq!(
        with_authorization("AKID/20150831/us-east-1/kinesis/aws4_request", all),
        Err(SigV4Error::InvalidSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '20150831' != '20150830', from '20150830T123600Z'."
                .into()
        ))
    );
    assert_eq!(
        with_authorization("AKID/20150830/us-east-1/s3/aws4_request", all),
        Err(SigV4Error::InvalidSignature(
            "Credential should be scoped to correct service: 'kinesis'. ".into()
        ))
    );
    assert_eq!(
        with_authorization("AKID/20150830/us-east-1/kinesis/aws5_request", all),
        Err(SigV4Error::InvalidSignature(
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
                .into()
        ))
    );
    assert!(matches!(
        with_authorization("AKID/20150830/us-east-1/kinesis", all),
        Err(SigV4Error::IncompleteSignature(m)) if m.starts_with("Credential must have exactly 5 slash-delimited elements")
    ));
    assert_eq!(
        with_authorization(
            "AKID/20150830/us-east-1/kinesis/aws4_request",
            "x-amz-date;x-amz-target"
        ),
        Err(SigV4Error::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
    // HTTP/2 clients may sign `:authority` instead of `host`.
    assert_eq!(
        with_authorization(
            "AKID/20150830/us-east-1/kinesis/aws4_request",
            ":authority;x-amz-date;x-amz-target"
        ),
        Err(SigV4Error::UnrecognizedClient)
    );
    assert_eq!(
        with_authorization(
            "AKID/20150830/us-east-1/kinesis/aws4_request",
            "host;x-amz-date"
        ),
        Err(SigV4Error::InvalidSignature(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
}

/// Requests signed by AWS's own signer (aws-sigv4, the Rust SDK's), in both forms.
mod signer {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4;

    use super::*;

    const BODY: &[u8] = br#"{"StreamName":"orders"}"#;
    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQ";
    const SCOPE: Scope<'static> = Scope {
        region: "us-east-1",
        service: "kinesis",
    };

    fn keys() -> Vec<AccessKey> {
        vec![AccessKey::new("AKIDSTRAIT", SECRET)]
    }

    /// (path and query, headers) of a DescribeStream request signed at `at` in `location`.
    fn signed(
        at: SystemTime,
        location: SignatureLocation,
        expires: Option<Duration>,
    ) -> (String, Vec<(String, String)>) {
        let identity = Credentials::new("AKIDSTRAIT", SECRET, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = location;
        settings.expires_in = expires;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("kinesis")
            .time(at)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let mut req = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:4566/?a=b")
            .header("host", "127.0.0.1:4566")
            .header("x-amz-target", "Kinesis_20131202.DescribeStream")
            .body(BODY.to_vec())
            .expect("request");
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:4566/?a=b",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(BODY),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        instructions.apply_to_request_http1x(&mut req);
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
            .collect();
        let uri = req.uri().query().unwrap_or_default().to_string();
        (uri, headers)
    }

    fn check_at(
        query: &str,
        headers: &[(String, String)],
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
            body: BODY,
        };
        let ms = now.duration_since(UNIX_EPOCH).expect("time").as_millis() as i64;
        verify(&req, &keys(), SCOPE, ms)
    }

    #[test]
    fn header_form_yields_the_signer() {
        let now = SystemTime::now();
        let (query, headers) = signed(now, SignatureLocation::Headers, None);
        assert_eq!(
            check_at(&query, &headers, now),
            Ok(Principal::user("AKIDSTRAIT", AuthMechanism::AwsSigV4))
        );
    }

    #[test]
    fn presigned_query_form_verifies_and_expires() {
        let now = SystemTime::now();
        let (query, headers) = signed(
            now,
            SignatureLocation::QueryParams,
            Some(Duration::from_secs(60)),
        );
        assert!(query.contains("X-Amz-Signature="), "{query}");
        assert!(!headers.iter().any(|(k, _)| k == "authorization"));
        let parsed = parse(&SignedRequest {
            method: "POST",
            path: "/",
            query: &query,
            headers: &[],
            body: BODY,
        })
        .expect("parses");
        assert_eq!(
            parsed.location,
            Location::Query {
                expires_s: Some(60)
            }
        );
        assert_eq!(
            check_at(&query, &headers, now),
            Ok(Principal::user("AKIDSTRAIT", AuthMechanism::AwsSigV4))
        );
        assert!(matches!(
            check_at(&query, &headers, now + Duration::from_secs(120)),
            Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature expired: ")
        ));
        let tampered = query.replace("a=b", "a=c");
        assert!(matches!(
            check_at(&tampered, &headers, now),
            Err(SigV4Error::InvalidSignature(m)) if m.starts_with("The request signature we calculated")
        ));
    }

    #[test]
    fn both_forms_at_once_are_refused() {
        let now = SystemTime::now();
        let (query, _) = signed(
            now,
            SignatureLocation::QueryParams,
            Some(Duration::from_secs(60)),
        );
        let (_, headers) = signed(now, SignatureLocation::Headers, None);
        assert!(matches!(
            check_at(&query, &headers, now),
            Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Found both")
        ));
    }
}

#[test]
fn envelopes_follow_each_services_dialect() {
    let e = SigV4Error::InvalidSignature("bad".into());
    let k = e.to_envelope(Service::Kinesis, false);
    assert_eq!(
        (k.status, k.type_name, k.code),
        (
            400,
            "InvalidSignatureException",
            "InvalidSignatureException"
        )
    );
    let d = e.to_envelope(Service::DynamoDb, false);
    assert_eq!(
        d.type_name,
        "com.amazon.coral.service#InvalidSignatureException"
    );
    let c = e.to_envelope(Service::CloudWatch, false);
    assert_eq!((c.status, c.code), (403, "SignatureDoesNotMatch"));
    let m = SigV4Error::MissingAuthenticationToken;
    assert_eq!(
        m.to_envelope(Service::Kinesis, false).message,
        "Missing Authentication Token"
    );
    assert_eq!(
        m.to_envelope(Service::DynamoDb, true).message,
        DEV_MISSING_TOKEN_MESSAGE
    );
}
