//! AWS identities over SASL: the AWS_MSK_IAM mechanism and MSK-signer tokens in OAUTHBEARER reach the broker's
//! `AwsIdentityVerifier` (the server's access-key table; a stand-in here, since this crate may not depend on
//! strait-aws: the real verifier's oracle tests are in protocols/aws/tests/msk_iam.rs), and their outcome decides
//! the connection.

mod common;

use std::sync::Arc;

use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use strait_access::{AuthMechanism, AwsIdentityError, AwsIdentityVerifier, Principal};
use strait_kafka::BrokerConfig;

/// Accepts the payload `good` and the token `good-token`, as `User:aws-app`.
#[derive(Debug)]
struct Stand;

impl AwsIdentityVerifier for Stand {
    fn verify_msk_iam(&self, payload: &[u8]) -> Result<Principal, AwsIdentityError> {
        if payload == b"good" {
            Ok(Principal::user("aws-app", AuthMechanism::AwsSigV4))
        } else {
            Err(AwsIdentityError {
                message: "The request signature we calculated does not match".into(),
            })
        }
    }
    fn verify_msk_signer_token(&self, token: &str) -> Result<Principal, AwsIdentityError> {
        self.verify_msk_iam(token.replace("-token", "").as_bytes())
    }
}

async fn broker() -> TestBroker {
    let cfg = BrokerConfig {
        aws_identity: Some(Arc::new(Stand)),
        ..BrokerConfig::default()
    };
    TestBroker::with_config(cfg).await
}

fn handshake(m: &'static str) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(m))
}

fn auth(bytes: &[u8]) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default().with_auth_bytes(bytes.to_vec().into())
}

fn metadata() -> MetadataRequest {
    MetadataRequest::default().with_topics(None)
}

#[tokio::test]
async fn aws_msk_iam_succeeds_with_the_librarys_reply() {
    let mut t = broker().await;
    assert!(
        t.try_call(12, &metadata()).await.is_err(),
        "authentication is required"
    );
    t.shutdown().await;
    let mut t = broker().await;
    let h = t.call(1, &handshake("AWS_MSK_IAM")).await;
    assert_eq!(h.error_code, 0);
    let offered: Vec<String> = h.mechanisms.iter().map(|m| m.to_string()).collect();
    // SCRAM is always offered where SASL is on (users may be created at any time).
    assert_eq!(
        offered,
        [
            "SCRAM-SHA-256",
            "SCRAM-SHA-512",
            "AWS_MSK_IAM",
            "OAUTHBEARER"
        ]
    );
    let a = t.call(2, &auth(b"good")).await;
    assert_eq!(a.error_code, 0, "{:?}", a.error_message);
    let reply: serde_json::Value = serde_json::from_slice(&a.auth_bytes).expect("JSON reply");
    assert_eq!(reply["version"], "2020_10_22");
    assert_eq!(
        reply["request-id"].as_str().map(|id| id.len()),
        Some(36),
        "{reply}"
    );
    assert_eq!(t.call(12, &metadata()).await.brokers.len(), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn aws_msk_iam_refusal_closes_the_door() {
    let mut t = broker().await;
    assert_eq!(t.call(1, &handshake("AWS_MSK_IAM")).await.error_code, 0);
    let a = t.call(2, &auth(b"tampered")).await;
    assert_eq!(a.error_code, ResponseError::SaslAuthenticationFailed.code());
    assert!(
        a.error_message
            .as_deref()
            .is_some_and(|m| m.starts_with("Authentication failed: The request signature")),
        "{:?}",
        a.error_message
    );
    assert!(t.try_call(12, &metadata()).await.is_err());
    t.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_carries_msk_signer_tokens() {
    let mut t = broker().await;
    assert_eq!(t.call(1, &handshake("OAUTHBEARER")).await.error_code, 0);
    let a = t
        .call(2, &auth(b"n,,\x01auth=Bearer good-token\x01\x01"))
        .await;
    assert_eq!(a.error_code, 0, "{:?}", a.error_message);
    assert_eq!(t.call(12, &metadata()).await.brokers.len(), 1);
    t.shutdown().await;

    for bad in [
        &b"n,,\x01auth=Bearer bad-token\x01\x01"[..],
        b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.\x01\x01",
        b"n,,\x01host=x\x01\x01",
        b"\x01",
        b"\xff",
    ] {
        let mut t = broker().await;
        assert_eq!(t.call(1, &handshake("OAUTHBEARER")).await.error_code, 0);
        let a = t.call(2, &auth(bad)).await;
        assert_eq!(
            a.error_code,
            ResponseError::SaslAuthenticationFailed.code(),
            "{bad:?}"
        );
        assert!(t.try_call(12, &metadata()).await.is_err(), "{bad:?}");
        t.shutdown().await;
    }
}

#[tokio::test]
async fn without_a_verifier_aws_mechanisms_are_not_offered() {
    let mut t = TestBroker::new().await;
    let h = t.call(1, &handshake("AWS_MSK_IAM")).await;
    assert_eq!(h.error_code, ResponseError::UnsupportedSaslMechanism.code());
    t.shutdown().await;
}
