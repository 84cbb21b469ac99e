//! SigV4 verification against requests signed by AWS's own signer (aws-sigv4, the Rust SDK's), and tampered
//! variants of them, with the exact messages the services answer.

mod support;

use std::time::{Duration, SystemTime};

use strait_aws::sigv4::{AccessKey, Scope, SigV4Error};
use support::{BODY, SCOPE, Signing, verify_at};

fn keys() -> Vec<AccessKey> {
    vec![AccessKey::new("AKIDSTRAIT", "c2VjcmV0LXNlY3JldC1zZWNyZXQ")]
}

/// Headers of a DescribeStream request signed at `at` with `secret`.
fn signed(at: SystemTime, secret: &str) -> Vec<(String, String)> {
    signed_as(at, secret, "us-east-1", "kinesis", &[])
}

/// Headers of a DescribeStream request signed for `region` and `service`, leaving `unsigned` headers out of the
/// signature (sent all the same).
fn signed_as(
    at: SystemTime,
    secret: &str,
    region: &str,
    service: &str,
    unsigned: &[&'static str],
) -> Vec<(String, String)> {
    Signing {
        region,
        service,
        unsigned,
        ..Signing::new("AKIDSTRAIT", secret)
    }
    .sign(at)
    .1
}

fn check(headers: &[(String, String)], body: &[u8], now: SystemTime) -> Result<(), SigV4Error> {
    verify_at("", headers, body, &keys(), SCOPE, now).map(|_| ())
}

#[test]
fn accepts_what_the_aws_signer_produces() {
    let now = SystemTime::now();
    let h = signed(now, "c2VjcmV0LXNlY3JldC1zZWNyZXQ");
    assert_eq!(check(&h, BODY, now), Ok(()));
    // Within Kinesis's 5 minutes of skew either way; past them, AWS's own words.
    assert_eq!(check(&h, BODY, now + Duration::from_secs(4 * 60)), Ok(()));
    assert_eq!(check(&h, BODY, now - Duration::from_secs(4 * 60)), Ok(()));
    assert!(matches!(
        check(&h, BODY, now + Duration::from_secs(6 * 60)),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature expired: ") && m.ends_with(" - 5 min.)")
    ));
    assert!(matches!(
        check(&h, BODY, now - Duration::from_secs(6 * 60)),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature not yet current: ") && m.ends_with(" + 5 min.)")
    ));
}

#[test]
fn refuses_tampered_requests() {
    let now = SystemTime::now();
    let h = signed(now, "c2VjcmV0LXNlY3JldC1zZWNyZXQ");
    assert!(matches!(
        check(&h, br#"{"StreamName":"other"}"#, now),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("The request signature we calculated does not match")
    ));
    let mut other_target = h.clone();
    for (k, v) in other_target.iter_mut() {
        if k == "x-amz-target" {
            *v = "Kinesis_20131202.DeleteStream".into();
        }
    }
    assert!(matches!(
        check(&other_target, BODY, now),
        Err(SigV4Error::InvalidSignature(_))
    ));
    let wrong_secret = signed(now, "not-the-secret");
    assert!(matches!(
        check(&wrong_secret, BODY, now),
        Err(SigV4Error::InvalidSignature(_))
    ));
    assert!(matches!(
        check(&h, BODY, now + Duration::from_secs(3600)),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature expired: ")
    ));
    assert!(matches!(
        check(&h, BODY, now - Duration::from_secs(3600)),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature not yet current: ")
    ));
    let mut unknown = h.clone();
    for (k, v) in unknown.iter_mut() {
        if k == "authorization" {
            *v = v.replace("AKIDSTRAIT", "AKIDOTHER");
        }
    }
    assert_eq!(
        check(&unknown, BODY, now),
        Err(SigV4Error::UnrecognizedClient)
    );
    let unsigned: Vec<(String, String)> = h
        .iter()
        .filter(|(k, _)| k != "authorization")
        .cloned()
        .collect();
    assert_eq!(
        check(&unsigned, BODY, now),
        Err(SigV4Error::MissingAuthenticationToken)
    );
}

#[test]
fn refuses_signatures_for_another_region_or_service() {
    let now = SystemTime::now();
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ";
    let eu = signed_as(now, secret, "eu-west-1", "kinesis", &[]);
    assert_eq!(
        check(&eu, BODY, now),
        Err(SigV4Error::InvalidSignature(
            "Credential should be scoped to a valid region, not 'eu-west-1'. ".into()
        ))
    );
    let s3 = signed_as(now, secret, "us-east-1", "s3", &[]);
    assert_eq!(
        check(&s3, BODY, now),
        Err(SigV4Error::InvalidSignature(
            "Credential should be scoped to correct service: 'kinesis'. ".into()
        ))
    );
    // The same valid DynamoDB signature is refused by Kinesis and accepted where it was meant to go.
    let dynamodb = signed_as(now, secret, "us-east-1", "dynamodb", &[]);
    assert!(check(&dynamodb, BODY, now).is_err());
    let dynamodb_scope = Scope {
        region: "us-east-1",
        service: "dynamodb",
    };
    assert!(verify_at("", &dynamodb, BODY, &keys(), dynamodb_scope, now).is_ok());
}

#[test]
fn refuses_an_unsigned_target_or_host() {
    let now = SystemTime::now();
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ";
    // Validly signed, but X-Amz-Target is outside the signature: it could be rewritten to any operation.
    let h = signed_as(now, secret, "us-east-1", "kinesis", &["x-amz-target"]);
    let authorization = &h
        .iter()
        .find(|(k, _)| k == "authorization")
        .expect("auth")
        .1;
    assert!(!authorization.contains("x-amz-target"), "{authorization}");
    assert_eq!(
        check(&h, BODY, now),
        Err(SigV4Error::InvalidSignature(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
    let h = signed_as(now, secret, "us-east-1", "kinesis", &["host"]);
    assert_eq!(
        check(&h, BODY, now),
        Err(SigV4Error::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
}
