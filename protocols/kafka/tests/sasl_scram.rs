//! SASL/SCRAM end to end through the wire encoding: bootstrap users, AlterUserScramCredentials /
//! DescribeUserScramCredentials and their per-user errors, and re-authentication (KIP-368).

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::TestBroker;
use hmac::{Hmac, Mac};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest, MetadataRequest,
    SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use sha2::{Digest, Sha256, Sha512};
use strait_kafka::sasl::credentials::BootstrapUser;
use strait_kafka::sasl::scram::ScramHash;
use strait_kafka::{BrokerConfig, Session};

const SHA256: i8 = 1;
const SHA512: i8 = 2;

fn hmac(hash: ScramHash, key: &[u8], data: &[u8]) -> Vec<u8> {
    match hash {
        ScramHash::Sha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).expect("key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        ScramHash::Sha512 => {
            let mut m = Hmac::<Sha512>::new_from_slice(key).expect("key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn h(hash: ScramHash, data: &[u8]) -> Vec<u8> {
    match hash {
        ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        ScramHash::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn broker_cfg(reauth_ms: u64) -> BrokerConfig {
    let mut cfg = BrokerConfig::default();
    cfg.sasl.scram_users.push(BootstrapUser {
        name: "admin".into(),
        mechanism: ScramHash::Sha256,
        password: "admin-pw".into(),
        iterations: 4096,
    });
    cfg.sasl.max_reauth_ms = reauth_ms;
    cfg
}

/// Runs a whole SCRAM login at SaslAuthenticate `version`; returns the final response's error code and lifetime.
async fn scram_login(
    t: &mut TestBroker,
    hash: ScramHash,
    user: &str,
    password: &str,
    version: i16,
) -> (i16, i64) {
    let hs = SaslHandshakeRequest::default()
        .with_mechanism(StrBytes::from_static_str(hash.mechanism_name()));
    let hs = t.call(1, &hs).await;
    if hs.error_code != 0 {
        return (hs.error_code, 0);
    }
    let bare = format!("n={user},r=clientnonce123");
    let first = SaslAuthenticateRequest::default()
        .with_auth_bytes(format!("n,,{bare}").into_bytes().into());
    let r1 = t.call(version, &first).await;
    if r1.error_code != 0 {
        return (r1.error_code, 0);
    }
    let server_first = String::from_utf8(r1.auth_bytes.to_vec()).expect("utf8");
    let attrs: Vec<&str> = server_first.split(',').collect();
    let nonce = attrs[0].strip_prefix("r=").expect("r");
    assert!(nonce.starts_with("clientnonce123"));
    let salt = B64
        .decode(attrs[1].strip_prefix("s=").expect("s"))
        .expect("b64");
    let iterations: u32 = attrs[2].strip_prefix("i=").expect("i").parse().expect("n");
    let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
    let client_key = hmac(hash, &salted, b"Client Key");
    let without_proof = format!("c=biws,r={nonce}");
    let auth = format!("{bare},{server_first},{without_proof}");
    let sig = hmac(hash, &h(hash, &client_key), auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let last = SaslAuthenticateRequest::default().with_auth_bytes(
        format!("{without_proof},p={}", B64.encode(proof))
            .into_bytes()
            .into(),
    );
    let r2 = t.call(version, &last).await;
    if r2.error_code == 0 {
        let expected = hmac(hash, &hmac(hash, &salted, b"Server Key"), auth.as_bytes());
        assert_eq!(
            r2.auth_bytes.to_vec(),
            format!("v={}", B64.encode(expected)).into_bytes(),
            "server signature proves the server knows the credential"
        );
    }
    (r2.error_code, r2.session_lifetime_ms)
}

async fn metadata_ok(t: &mut TestBroker) -> bool {
    t.try_call(12, &MetadataRequest::default().with_topics(None))
        .await
        .is_ok()
}

fn upsert(user: &str, mechanism: i8, iterations: i32, password: &str) -> ScramCredentialUpsertion {
    let hash = ScramHash::from_wire_type(mechanism).unwrap_or(ScramHash::Sha256);
    let salt = b"some-salt-bytes".to_vec();
    let salted = hash.salted_password(password.as_bytes(), &salt, iterations.max(1) as u32);
    ScramCredentialUpsertion::default()
        .with_name(StrBytes::from_string(user.into()))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(salt.into())
        .with_salted_password(salted.into())
}

fn delete(user: &str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion::default()
        .with_name(StrBytes::from_string(user.into()))
        .with_mechanism(mechanism)
}

#[tokio::test]
async fn bootstrap_user_logs_in_and_a_wrong_password_is_refused() {
    let mut t = TestBroker::with_config(broker_cfg(0)).await;
    assert!(!metadata_ok(&mut t).await, "SASL is required");
    t.session = Session::default();
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 2).await,
        (0, 0)
    );
    assert!(metadata_ok(&mut t).await);

    t.session = Session::default();
    let (code, _) = scram_login(&mut t, ScramHash::Sha256, "admin", "nope", 2).await;
    assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
    assert!(
        !metadata_ok(&mut t).await,
        "a failed login leaves the connection unusable"
    );

    t.session = Session::default();
    let (code, _) = scram_login(&mut t, ScramHash::Sha512, "admin", "admin-pw", 2).await;
    assert_eq!(
        code,
        ResponseError::SaslAuthenticationFailed.code(),
        "no SHA-512 credential"
    );
    t.session = Session::default();
    let (code, _) = scram_login(&mut t, ScramHash::Sha256, "nobody", "x", 2).await;
    assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
    t.shutdown().await;
}

#[tokio::test]
async fn alter_then_describe_then_login_and_survive_a_restart() {
    let mut t = TestBroker::with_config(broker_cfg(0)).await;
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 1)
            .await
            .0,
        0
    );
    let alter = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![
            upsert("bob", SHA512, 8192, "bob-pw"),
            upsert("bob", SHA256, 4096, "bob-pw"),
            upsert("carol", SHA256, 1024, "carol-pw"),
            upsert("dave", 7, 4096, "x"),
            upsert("erin", SHA256, 4096, "a"),
            upsert("erin", SHA256, 5000, "b"),
            upsert("", SHA256, 4096, "x"),
        ])
        .with_deletions(vec![delete("frank", SHA256)]);
    let r = t.call(0, &alter).await;
    let codes: Vec<(String, i16)> = r
        .results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("frank".into(), ResponseError::ResourceNotFound.code()),
            ("bob".into(), 0),
            ("carol".into(), ResponseError::UnacceptableCredential.code()),
            (
                "dave".into(),
                ResponseError::UnsupportedSaslMechanism.code()
            ),
            ("erin".into(), ResponseError::DuplicateResource.code()),
            ("".into(), ResponseError::UnacceptableCredential.code()),
        ]
    );
    let d = t
        .call(
            0,
            &DescribeUserScramCredentialsRequest::default().with_users(None),
        )
        .await;
    assert_eq!(d.error_code, 0);
    let listed: Vec<(String, Vec<(i8, i32)>)> = d
        .results
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.credential_infos
                    .iter()
                    .map(|c| (c.mechanism, c.iterations))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("admin".into(), vec![(SHA256, 4096)]),
            ("bob".into(), vec![(SHA256, 4096), (SHA512, 8192)]),
        ]
    );
    let named = DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
        UserName::default().with_name(StrBytes::from_static_str("carol")),
        UserName::default().with_name(StrBytes::from_static_str("bob")),
        UserName::default().with_name(StrBytes::from_static_str("x")),
        UserName::default().with_name(StrBytes::from_static_str("x")),
    ]));
    let d = t.call(0, &named).await;
    let codes: Vec<(String, i16)> = d
        .results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("carol".into(), ResponseError::ResourceNotFound.code()),
            ("bob".into(), 0),
            ("x".into(), ResponseError::DuplicateResource.code()),
        ]
    );

    t.session = Session::default();
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha512, "bob", "bob-pw", 2)
            .await
            .0,
        0
    );
    let mut t = t.restart().await;
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha512, "bob", "bob-pw", 2)
            .await
            .0,
        0,
        "stored"
    );

    // Deleting a stored credential; a configured-only one cannot be deleted through the API.
    let r = t
        .call(
            0,
            &AlterUserScramCredentialsRequest::default()
                .with_deletions(vec![delete("bob", SHA512), delete("admin", SHA256)]),
        )
        .await;
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, ResponseError::InvalidRequest.code()]);
    t.session = Session::default();
    let (code, _) = scram_login(&mut t, ScramHash::Sha512, "bob", "bob-pw", 2).await;
    assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
    t.shutdown().await;
}

#[tokio::test]
async fn sessions_expire_and_reauthentication_extends_them() {
    let mut t = TestBroker::with_config(broker_cfg(300)).await;
    let alter = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![upsert("bob", SHA256, 4096, "bob-pw")]);
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 2).await,
        (0, 300)
    );
    assert_eq!(t.call(0, &alter).await.results[0].error_code, 0);
    // Re-authenticate before expiry: the session goes on past the first deadline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 2).await,
        (0, 300)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(metadata_ok(&mut t).await, "re-authenticated in time");
    // Re-authenticating as someone else is refused.
    let (code, _) = scram_login(&mut t, ScramHash::Sha256, "bob", "bob-pw", 2).await;
    assert_eq!(code, ResponseError::SaslAuthenticationFailed.code());
    assert!(!metadata_ok(&mut t).await);

    // Re-authenticating with another mechanism is refused too (Kafka keeps the mechanism of the first login).
    t.session = Session::default();
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 2)
            .await
            .0,
        0
    );
    let (code, _) = scram_login(&mut t, ScramHash::Sha512, "admin", "admin-pw", 2).await;
    assert_eq!(code, ResponseError::UnsupportedSaslMechanism.code());
    assert!(!metadata_ok(&mut t).await);

    // No re-authentication: the next request after the lifetime closes the connection.
    t.session = Session::default();
    assert_eq!(
        scram_login(&mut t, ScramHash::Sha256, "admin", "admin-pw", 2)
            .await
            .0,
        0
    );
    assert!(metadata_ok(&mut t).await);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let err = t
        .try_call(12, &MetadataRequest::default().with_topics(None))
        .await
        .expect_err("expired");
    assert!(err.to_string().contains("expired"), "{err}");
    t.shutdown().await;
}
