//! The AWS-API listener with `aws.auth = "sigv4"`: requests signed by the AWS SDKs' signer are served, unsigned,
//! tampered, unknown-key and stale ones get AWS's errors.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use common::http1;
use strait_aws::sigv4::AccessKey;
use tokio::net::TcpListener;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

async fn start() -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = strait_engine::Engine::open(strait_engine::EngineConfig {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    })
    .await
    .expect("engine");
    let clock: Arc<dyn strait_kinesis::Clock> = Arc::new(strait_kinesis::SystemClock);
    let dynamodb = strait_dynamodb::DynamoDb::open(
        engine.clone(),
        strait_dynamodb::DynamoConfig::default(),
        Arc::new(strait_dynamodb::SystemClock),
    )
    .expect("dynamodb");
    let kinesis = strait_kinesis::Kinesis::open(engine, Default::default(), clock.clone())
        .await
        .expect("kinesis");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let keys = vec![AccessKey::new("AKIDSTRAIT", SECRET)];
    tokio::spawn(strait::aws::serve(
        listener,
        kinesis,
        dynamodb,
        strait::aws::Auth::Verify(keys, Default::default()),
        strait_cloudwatch::CloudWatchConfig::default(),
        clock,
        strait::aws::Guards::default(),
        Duration::from_secs(1),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, dir)
}

/// The headers of a ListStreams request to `addr` signed by aws-sigv4 (without Host, which `http1` sends).
fn signed(
    addr: SocketAddr,
    akid: &str,
    secret: &str,
    at: SystemTime,
    body: &[u8],
) -> Vec<(String, String)> {
    let identity = Credentials::new(akid, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kinesis")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let host = addr.to_string();
    let base = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "Kinesis_20131202.ListStreams"),
    ];
    let uri = format!("http://{addr}/");
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        base.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let (extra, _) = instructions.into_parts();
    base.iter()
        .filter(|(k, _)| *k != "host")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(
            extra
                .iter()
                .map(|h| (h.name().to_string(), h.value().to_string())),
        )
        .collect()
}

async fn send(addr: SocketAddr, headers: &[(String, String)], body: &[u8]) -> common::Reply {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http1(addr, "POST", "/", &h, body).await.expect("reply")
}

#[tokio::test]
async fn sigv4_is_verified() {
    let (addr, _stop, _dir) = start().await;
    let now = SystemTime::now();
    let ok = send(addr, &signed(addr, "AKIDSTRAIT", SECRET, now, b"{}"), b"{}").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let v: serde_json::Value = serde_json::from_slice(&ok.body).expect("json");
    assert_eq!(v["StreamNames"], serde_json::json!([]));

    let cases = [
        (
            signed(addr, "AKIDSTRAIT", "wrong", now, b"{}"),
            "InvalidSignatureException",
        ),
        (
            signed(addr, "AKIDOTHER", SECRET, now, b"{}"),
            "UnrecognizedClientException",
        ),
        (
            signed(
                addr,
                "AKIDSTRAIT",
                SECRET,
                now - Duration::from_secs(3600),
                b"{}",
            ),
            "InvalidSignatureException",
        ),
        // Signed for another body than the one sent.
        (
            signed(addr, "AKIDSTRAIT", SECRET, now, b"{\"Limit\":1}"),
            "InvalidSignatureException",
        ),
    ];
    for (headers, want) in cases {
        let r = send(addr, &headers, b"{}").await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.header("x-amzn-errortype"), Some(want), "{}", r.text());
    }
    let unsigned = vec![
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            "Kinesis_20131202.ListStreams".to_string(),
        ),
    ];
    let r = send(addr, &unsigned, b"{}").await;
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["message"], "Missing Authentication Token");
}
