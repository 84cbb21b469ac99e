//! Kafka's AWS identities against oracle signatures: the `AWS_MSK_IAM` JSON payload built, as
//! `aws-msk-iam-auth` builds it, from a presigned `kafka-cluster:Connect` that AWS's own signer (aws-sigv4)
//! produced; and the OAUTHBEARER token of the real MSK IAM signer crate (`aws-msk-iam-sasl-signer`) with static
//! credentials. Each must verify; tampered, expired, foreign-region or wrong-key variants must not.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use strait_access::{AuthMechanism, Principal};
use strait_aws::msk_iam::{MskIamError, verify_payload, verify_signer_token};
use strait_aws::sigv4::{AccessKey, SigV4Error};

const AKID: &str = "AKIDKAFKA";
const SECRET: &str = "a2Fma2Etc2VjcmV0LWtleQ";
const HOST: &str = "b-1.strait.local";

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).expect("time").as_millis() as i64
}

fn keys() -> Vec<AccessKey> {
    vec![AccessKey {
        principal: Some("kafka-app".into()),
        ..AccessKey::new(AKID, SECRET)
    }]
}

fn app() -> Principal {
    Principal::user("kafka-app", AuthMechanism::AwsSigV4)
}

/// The AWS_MSK_IAM payload of `aws-msk-iam-auth` for `host`, signed at `at` for `region` by aws-sigv4.
fn payload(
    at: SystemTime,
    region: &str,
    token: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let identity = Credentials::new(AKID, SECRET, token.map(str::to_string), None, "test").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(900));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kafka-cluster")
        .time(at)
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let url = format!("https://{HOST}/?Action=kafka-cluster%3AConnect");
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), "2020_10_22".into());
    doc.insert("host".into(), HOST.into());
    doc.insert("user-agent".into(), "aws-msk-iam-auth/2.4.0".into());
    doc.insert("action".into(), "kafka-cluster:Connect".into());
    for (name, value) in instructions.params() {
        doc.insert(name.to_ascii_lowercase(), value.to_string().into());
    }
    doc
}

fn verify_doc(
    doc: &serde_json::Map<String, serde_json::Value>,
    now: SystemTime,
) -> Result<Principal, MskIamError> {
    verify_payload(
        serde_json::to_string(doc).expect("json").as_bytes(),
        &keys(),
        "us-east-1",
        ms(now),
    )
}

#[test]
fn aws_msk_iam_payload_verifies_as_the_mapped_principal() {
    let now = SystemTime::now();
    let doc = payload(now, "us-east-1", None);
    for key in [
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signedheaders",
        "x-amz-expires",
        "x-amz-signature",
    ] {
        assert!(doc.contains_key(key), "{key} missing from {doc:?}");
    }
    assert_eq!(verify_doc(&doc, now), Ok(app()));
    // The signature lives 900 s (X-Amz-Expires); a clock 5 minutes behind the client is tolerated.
    assert_eq!(verify_doc(&doc, now + Duration::from_secs(890)), Ok(app()));
    assert_eq!(verify_doc(&doc, now - Duration::from_secs(290)), Ok(app()));
}

#[test]
fn aws_msk_iam_refuses_tampered_expired_and_foreign_payloads() {
    let now = SystemTime::now();
    let doc = payload(now, "us-east-1", None);
    let with = |key: &str, value: &str| {
        let mut d = doc.clone();
        d.insert(key.into(), value.into());
        d
    };
    let mismatch = |r: Result<Principal, MskIamError>| matches!(r, Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.starts_with("The request signature we calculated"));
    assert!(mismatch(verify_doc(&with("host", "b-2.strait.local"), now)));
    assert!(mismatch(verify_doc(&with("x-amz-expires", "901"), now)));
    let sig = doc["x-amz-signature"].as_str().expect("sig");
    let flipped = format!(
        "{}{}",
        &sig[..63],
        if sig.ends_with('0') { '1' } else { '0' }
    );
    assert!(mismatch(verify_doc(
        &with("x-amz-signature", &flipped),
        now
    )));
    assert!(matches!(
        verify_doc(&doc, now + Duration::from_secs(901)),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.starts_with("Signature expired")
    ));
    assert!(matches!(
        verify_doc(&doc, now - Duration::from_secs(301)),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.starts_with("Signature not yet current")
    ));
    // Signed for another region: refused by scope before any key is looked at.
    assert!(matches!(
        verify_doc(&payload(now, "eu-west-1", None), now),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.contains("valid region")
    ));
    // Unknown key, wrong secret.
    assert_eq!(
        verify_payload(
            serde_json::to_string(&doc).expect("json").as_bytes(),
            &[],
            "us-east-1",
            ms(now)
        ),
        Err(MskIamError::Signature(SigV4Error::UnrecognizedClient))
    );
    let wrong = [AccessKey::new(AKID, "not-the-secret")];
    assert!(mismatch(verify_payload(
        serde_json::to_string(&doc).expect("json").as_bytes(),
        &wrong,
        "us-east-1",
        ms(now)
    )));
    // Not the library's form.
    assert!(matches!(
        verify_doc(&with("version", "2019_01_01"), now),
        Err(MskIamError::Malformed(_))
    ));
    assert!(matches!(
        verify_doc(&with("action", "kafka-cluster:AlterCluster"), now),
        Err(MskIamError::Malformed(_))
    ));
    let mut no_sig = doc.clone();
    no_sig.remove("x-amz-signature");
    assert!(
        matches!(verify_doc(&no_sig, now), Err(MskIamError::Malformed(m)) if m.contains("x-amz-signature"))
    );
    for garbage in [&b"{"[..], b"[]", b"", b"\xff\xfe", br#"{"version":7}"#] {
        assert!(matches!(
            verify_payload(garbage, &keys(), "us-east-1", ms(now)),
            Err(MskIamError::Malformed(_))
        ));
    }
}

#[test]
fn aws_msk_iam_with_temporary_credentials() {
    let now = SystemTime::now();
    let doc = payload(now, "us-east-1", Some("FwoGZXIvYXdzEXAMPLE/token+=="));
    assert!(doc.contains_key("x-amz-security-token"), "{doc:?}");
    let temp = |token: &str| {
        vec![AccessKey {
            session_token: Some(token.into()),
            ..AccessKey::new(AKID, SECRET)
        }]
    };
    let body = serde_json::to_string(&doc).expect("json");
    assert_eq!(
        verify_payload(
            body.as_bytes(),
            &temp("FwoGZXIvYXdzEXAMPLE/token+=="),
            "us-east-1",
            ms(now)
        ),
        Ok(Principal::user(AKID, AuthMechanism::AwsSigV4))
    );
    assert_eq!(
        verify_payload(body.as_bytes(), &temp("another"), "us-east-1", ms(now)),
        Err(MskIamError::Signature(SigV4Error::UnrecognizedClient))
    );
}

/// A token from the real signer crate, with static credentials, signed now.
fn signer_token(region: &str, secret: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let provider = aws_types::sdk_config::SharedCredentialsProvider::new(Credentials::new(
        AKID, secret, None, None, "static",
    ));
    let (token, expiry_ms) = rt
        .block_on(
            aws_msk_iam_sasl_signer::generate_auth_token_from_credentials_provider(
                aws_types::region::Region::new(region.to_string()),
                provider,
            ),
        )
        .expect("signer");
    assert!(expiry_ms > ms(SystemTime::now()));
    token
}

#[test]
fn the_msk_signer_crates_token_verifies() {
    let now = SystemTime::now();
    let token = signer_token("us-east-1", SECRET);
    let url = String::from_utf8(BASE64_URL_SAFE_NO_PAD.decode(&token).expect("base64url"))
        .expect("utf-8");
    assert!(
        url.starts_with("https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"),
        "{url}"
    );
    assert!(url.contains("&User-Agent="), "{url}");
    assert_eq!(
        verify_signer_token(&token, &keys(), "us-east-1", ms(now)),
        Ok(app())
    );
    // Padded base64 is accepted too (some libraries keep the padding).
    let padded = base64::prelude::BASE64_URL_SAFE.encode(url.as_bytes());
    assert_eq!(
        verify_signer_token(&padded, &keys(), "us-east-1", ms(now)),
        Ok(app())
    );
    // The User-Agent is outside the signature: changing it changes nothing.
    let other_agent =
        url.split("&User-Agent=").next().expect("url").to_string() + "&User-Agent=other%2F1.0";
    assert_eq!(
        verify_signer_token(
            &BASE64_URL_SAFE_NO_PAD.encode(other_agent),
            &keys(),
            "us-east-1",
            ms(now)
        ),
        Ok(app())
    );
}

#[test]
fn tampered_expired_or_foreign_signer_tokens_are_refused() {
    let now = SystemTime::now();
    let token = signer_token("us-east-1", SECRET);
    let url = String::from_utf8(BASE64_URL_SAFE_NO_PAD.decode(&token).expect("base64url"))
        .expect("utf-8");
    let encode = |u: &str| BASE64_URL_SAFE_NO_PAD.encode(u.as_bytes());
    // Another expiry, another action, another host.
    let longer = encode(&url.replace("X-Amz-Expires=900", "X-Amz-Expires=901"));
    assert!(matches!(
        verify_signer_token(&longer, &keys(), "us-east-1", ms(now)),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.starts_with("The request signature we calculated")
    ));
    let action = encode(&url.replace("kafka-cluster%3AConnect", "kafka-cluster%3AAlterCluster"));
    assert!(matches!(
        verify_signer_token(&action, &keys(), "us-east-1", ms(now)),
        Err(MskIamError::Malformed(_))
    ));
    let host = encode(&url.replace(
        "kafka.us-east-1.amazonaws.com",
        "kafka.us-east-1.example.com",
    ));
    assert!(matches!(
        verify_signer_token(&host, &keys(), "us-east-1", ms(now)),
        Err(MskIamError::Malformed(_))
    ));
    // Past its 900 seconds.
    assert!(matches!(
        verify_signer_token(&token, &keys(), "us-east-1", ms(now + Duration::from_secs(960))),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(m))) if m.starts_with("Signature expired")
    ));
    // Signed with another secret, or for another region than the node's.
    assert!(matches!(
        verify_signer_token(
            &signer_token("us-east-1", "wrong"),
            &keys(),
            "us-east-1",
            ms(now)
        ),
        Err(MskIamError::Signature(SigV4Error::InvalidSignature(_)))
    ));
    assert!(matches!(
        verify_signer_token(
            &signer_token("eu-west-1", SECRET),
            &keys(),
            "us-east-1",
            ms(now)
        ),
        Err(MskIamError::Malformed(_))
    ));
    // Not a token at all (a JWT, garbage).
    for garbage in ["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "!!!", ""] {
        assert!(matches!(
            verify_signer_token(garbage, &keys(), "us-east-1", ms(now)),
            Err(MskIamError::Malformed(_))
        ));
    }
}
