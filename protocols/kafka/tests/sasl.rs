//! SASL/PLAIN: handshake, authentication, and refusal of unauthenticated requests when SASL is configured.

mod common;

use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use strait_kafka::BrokerConfig;

async fn sasl_broker() -> TestBroker {
    let mut cfg = BrokerConfig::default();
    cfg.sasl_plain_users.insert("alice".into(), "s3cret".into());
    TestBroker::with_config(cfg).await
}

fn handshake(m: &'static str) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(m))
}

fn token(user: &str, pass: &str) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default()
        .with_auth_bytes(format!("\0{user}\0{pass}").into_bytes().into())
}

#[tokio::test]
async fn plain_login_then_requests_are_served() {
    let mut t = sasl_broker().await;
    assert_eq!(
        t.call(3, &ApiVersionsRequest::default()).await.error_code,
        0,
        "ApiVersions is always open"
    );
    let h = t.call(1, &handshake("PLAIN")).await;
    assert_eq!(h.error_code, 0);
    assert_eq!(
        h.mechanisms
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>(),
        vec!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    );
    let a = t.call(2, &token("alice", "s3cret")).await;
    assert_eq!(a.error_code, 0, "{:?}", a.error_message);
    let md = t
        .call(12, &MetadataRequest::default().with_topics(None))
        .await;
    assert_eq!(md.brokers.len(), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn unauthenticated_requests_close_the_connection() {
    let mut t = sasl_broker().await;
    assert!(
        t.try_call(12, &MetadataRequest::default().with_topics(None))
            .await
            .is_err()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn wrong_password_fails_and_stays_failed() {
    let mut t = sasl_broker().await;
    assert_eq!(t.call(1, &handshake("PLAIN")).await.error_code, 0);
    let a = t.call(2, &token("alice", "wrong")).await;
    assert_eq!(a.error_code, ResponseError::SaslAuthenticationFailed.code());
    assert!(
        t.try_call(12, &MetadataRequest::default().with_topics(None))
            .await
            .is_err()
    );
    // no second attempt on the same connection
    let again = t.call(2, &token("alice", "s3cret")).await;
    assert_eq!(again.error_code, ResponseError::IllegalSaslState.code());
    t.shutdown().await;
}

#[tokio::test]
async fn unknown_mechanism_and_out_of_order_steps_are_refused() {
    let mut t = sasl_broker().await;
    let a = t.call(2, &token("alice", "s3cret")).await;
    assert_eq!(
        a.error_code,
        ResponseError::IllegalSaslState.code(),
        "authenticate before handshake"
    );
    let h = t.call(1, &handshake("GSSAPI")).await;
    assert_eq!(h.error_code, ResponseError::UnsupportedSaslMechanism.code());
    assert_eq!(
        h.mechanisms
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>(),
        vec!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
        "the enabled mechanisms are listed"
    );
    let impersonate =
        SaslAuthenticateRequest::default().with_auth_bytes(b"bob\0alice\0s3cret".to_vec().into());
    assert_eq!(t.call(1, &handshake("PLAIN")).await.error_code, 0);
    assert_eq!(
        t.call(2, &impersonate).await.error_code,
        ResponseError::SaslAuthenticationFailed.code()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn without_sasl_users_the_handshake_offers_nothing() {
    let mut t = TestBroker::new().await;
    let h = t.call(1, &handshake("PLAIN")).await;
    assert_eq!(h.error_code, ResponseError::UnsupportedSaslMechanism.code());
    assert!(h.mechanisms.is_empty());
    // and requests need no authentication
    assert_eq!(
        t.call(12, &MetadataRequest::default().with_topics(None))
            .await
            .brokers
            .len(),
        1
    );
    t.shutdown().await;
}
