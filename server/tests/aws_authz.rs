//! A node started with `security.authorizer = "deny-all"`: every Kinesis, DynamoDB and CloudWatch operation, over
//! HTTP, answers its service's access-denied error (the crates' own tests prove that nothing changes).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{http1, wait_healthy};
use strait::config::{AuthorizerKind, Config};
use strait::node::{Listeners, run};
use tokio::net::TcpListener;

/// Runs a node configured from `toml` on ephemeral ports while `check` runs against its AWS address, then stops
/// it. The node runs in this task (its future need not be `Send`).
async fn with_node<F: std::future::Future<Output = ()>>(
    toml: &str,
    check: impl FnOnce(SocketAddr) -> F,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg: Config = toml::from_str(toml).expect("config");
    assert_ne!(cfg.security.authorizer, AuthorizerKind::AllowAll);
    cfg.engine.data_dir = dir.path().to_path_buf();
    let bind = || TcpListener::bind("127.0.0.1:0");
    let listeners = Listeners {
        kafka: bind().await.expect("bind"),
        aws: bind().await.expect("bind"),
        admin: bind().await.expect("bind"),
    };
    let aws = listeners.aws.local_addr().expect("addr");
    let admin = listeners.admin.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let kafka = cfg.kafka.clone();
    let node = run(
        cfg,
        listeners,
        move |engine: &strait_engine::Engine, bound: SocketAddr, _cluster, authorizer| {
            std::sync::Arc::new(strait_kafka::Broker::new(
                engine.clone(),
                strait_kafka::BrokerConfig {
                    node_id: kafka.node_id,
                    advertised_host: bound.ip().to_string(),
                    advertised_port: i32::from(bound.port()),
                    authorizer,
                    ..Default::default()
                },
            ))
        },
        async move {
            let _ = stopped.await;
        },
    );
    let test = async move {
        assert!(
            wait_healthy(admin, Duration::from_secs(30)).await,
            "node did not start"
        );
        check(aws).await;
        let _ = stop.send(());
    };
    let (ran, ()) = tokio::join!(node, test);
    ran.expect("node ran and stopped cleanly");
}

/// The headers of a request with a well-formed signature (`aws.auth = "none"` checks only the form).
fn headers<'a>(content_type: &'a str, target: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("Content-Type", content_type),
        ("X-Amz-Date", "20260101T000000Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef",
        ),
    ];
    if let Some(t) = target {
        h.push(("X-Amz-Target", t));
    }
    h
}

#[tokio::test]
async fn deny_all_refuses_every_aws_operation() {
    with_node(
        "[security]\nauthorizer = \"deny-all\"\n",
        check_every_operation,
    )
    .await;
}

#[tokio::test]
async fn acls_without_a_binding_refuse_every_aws_operation() {
    // `aws.auth = "none"`: every request is User:ANONYMOUS, whom no ACL allows anything.
    with_node(
        "[security]\nauthorizer = \"acl\"\nallow_everyone_if_no_acl_found = false\n",
        check_every_operation,
    )
    .await;
}

async fn check_every_operation(aws: SocketAddr) {
    for op in strait_kinesis::Operation::ALL {
        let target = op.target();
        let r = http1(
            aws,
            "POST",
            "/",
            &headers("application/x-amz-json-1.1", Some(&target)),
            br#"{"StreamName":"orders","ConsumerName":"c"}"#,
        )
        .await
        .expect("kinesis");
        if *op == strait_kinesis::Operation::ListStreams {
            // A listing is filtered, not refused (as Kafka's Metadata): it shows nothing.
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(r.text().contains(r#""StreamNames":[]"#), "{}", r.text());
            continue;
        }
        assert_eq!(r.status, 400, "{op}: {}", r.text());
        assert_eq!(
            r.header("x-amzn-ErrorType"),
            Some("AccessDeniedException"),
            "{op}"
        );
        assert!(
            r.text()
                .contains(&format!("not authorized to perform: kinesis:{op}")),
            "{}",
            r.text()
        );
    }

    for op in strait_dynamodb::Operation::ALL {
        let target = format!("{}{}", strait_dynamodb::TARGET_PREFIX, op.name());
        let r = http1(
            aws,
            "POST",
            "/",
            &headers("application/x-amz-json-1.0", Some(&target)),
            br#"{"TableName":"leases"}"#,
        )
        .await
        .expect("dynamodb");
        assert_eq!(r.status, 400, "{op:?}: {}", r.text());
        assert_eq!(
            r.header("x-amzn-ErrorType"),
            Some("AccessDeniedException"),
            "{op:?}"
        );
        assert!(
            r.text().contains(&format!(
                "not authorized to perform: dynamodb:{}",
                op.name()
            )),
            "{}",
            r.text()
        );
    }

    for op in strait_cloudwatch::Operation::ALL {
        let json_target = format!("{}.{}", strait_cloudwatch::SERVICE, op.name());
        let query = format!("Action={}&Version=2010-08-01&Namespace=App", op.name());
        for (ct, target, body) in [
            (
                "application/x-amz-json-1.0",
                Some(json_target.as_str()),
                br#"{"Namespace":"App"}"#.to_vec(),
            ),
            (
                "application/x-www-form-urlencoded",
                None,
                query.into_bytes(),
            ),
        ] {
            let r = http1(aws, "POST", "/", &headers(ct, target), &body)
                .await
                .expect("cloudwatch");
            assert_eq!(r.status, 403, "{op:?} {ct}: {}", r.text());
            assert!(
                r.text().contains("AccessDenied")
                    && r.text().contains(&format!(
                        "not authorized to perform: cloudwatch:{}",
                        op.name()
                    )),
                "{ct}: {}",
                r.text()
            );
        }
    }
}
