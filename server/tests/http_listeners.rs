//! The admin and AWS-API listeners in-process, on port 0.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{assert_no_streams, assert_unknown_operation, http1, list_streams_headers};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use strait::admin::{self, AdminState, StatsSource};
use strait::health::{Health, Phase};
use strait_engine::EngineStats;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct FixedStats;

impl StatsSource for FixedStats {
    fn engine_stats(&self) -> Option<EngineStats> {
        Some(EngineStats {
            topics: 3,
            partitions: 12,
            log_bytes: 4096,
        })
    }
}

/// Binds an ephemeral loopback port.
async fn bind() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    (l, addr)
}

/// A shutdown future and its trigger; dropping the trigger also fires it.
fn stop_signal() -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

#[tokio::test]
async fn healthz_follows_the_lifecycle_and_metrics_render() {
    let (listener, addr) = bind().await;
    let health = Health::default();
    let state = AdminState {
        health: health.clone(),
        prometheus: strait::telemetry::install_metrics().expect("recorder"),
        stats: Arc::new(FixedStats),
        cluster: Default::default(),
        console: strait::console::Console::new(Default::default(), Vec::new()),
    };
    let (_stop, stopped) = stop_signal();
    tokio::spawn(admin::serve(
        listener,
        state,
        strait::http::HttpLimits::default(),
        None,
        Duration::from_secs(1),
        stopped,
    ));

    let get = |path: &'static str| http1(addr, "GET", path, &[], b"");
    assert_eq!(get("/healthz").await.expect("starting").status, 503);
    health.set(Phase::Ready);
    let ok = get("/healthz").await.expect("ready");
    assert_eq!((ok.status, ok.text().as_str()), (200, "ok\n"));

    let metrics = get("/metrics").await.expect("metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for line in [
        "strait_engine_topics 3",
        "strait_engine_partitions 12",
        "strait_engine_log_bytes 4096",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("text/plain"))
    );

    assert_eq!(get("/other").await.expect("404").status, 404);
    assert_eq!(
        http1(addr, "POST", "/healthz", &[], b"")
            .await
            .expect("405")
            .status,
        405
    );
    // The console: its page, and JSON errors (no engine here) rather than panics.
    let page = get("/").await.expect("console page");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/console/app.js"));
    let topics = get("/api/topics").await.expect("no engine");
    assert_eq!(topics.status, 503);
    assert!(
        topics.text().contains("\"Unavailable\""),
        "{}",
        topics.text()
    );
    assert_eq!(get("/api/nothing").await.expect("404").status, 404);
    let overview = get("/api/overview").await.expect("overview");
    assert_eq!(overview.status, 200);
    assert!(
        overview.text().contains("\"ready\":true"),
        "{}",
        overview.text()
    );
    assert_eq!(
        http1(addr, "POST", "/api/topics", &[], b"")
            .await
            .expect("405")
            .status,
        405
    );
    health.set(Phase::ShuttingDown);
    assert_eq!(get("/healthz").await.expect("stopping").status, 503);
}

/// An AWS-API listener over a fresh engine; the engine's directory lives as long as the returned guard.
async fn start_aws() -> (SocketAddr, oneshot::Sender<()>, tempfile::TempDir) {
    start_aws_with(strait::aws::Guards::default()).await
}

async fn start_aws_with(
    guards: strait::aws::Guards,
) -> (SocketAddr, oneshot::Sender<()>, tempfile::TempDir) {
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
    let (listener, addr) = bind().await;
    let (stop, stopped) = stop_signal();
    tokio::spawn(strait::aws::serve(
        listener,
        kinesis,
        dynamodb,
        strait::aws::Auth::WellFormed,
        strait_cloudwatch::CloudWatchConfig::default(),
        clock,
        guards,
        Duration::from_secs(1),
        stopped,
    ));
    (addr, stop, dir)
}

#[tokio::test]
async fn aws_answers_like_aws_over_http1() {
    let (addr, _stop, _dir) = start_aws().await;
    let reply = http1(addr, "POST", "/", &list_streams_headers(), b"{}")
        .await
        .expect("request");
    assert_no_streams(&reply);

    let unsigned = &list_streams_headers()[..2];
    let reply = http1(addr, "POST", "/", unsigned, b"{}")
        .await
        .expect("request");
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );

    let no_target = [("Content-Type", "application/x-amz-json-1.1")];
    let reply = http1(addr, "POST", "/", &no_target, b"{}")
        .await
        .expect("request");
    assert_unknown_operation(&reply);

    let reply = http1(addr, "GET", "/", &[], b"").await.expect("request");
    assert_eq!(reply.status, 403);
    assert!(
        reply.text().starts_with("<AccessDeniedException>"),
        "{}",
        reply.text()
    );

    let big = vec![b' '; strait_kinesis::error::MAX_REQUEST_BYTES + 1];
    let reply = http1(addr, "POST", "/", &list_streams_headers(), &big)
        .await
        .expect("request");
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn aws_serves_prior_knowledge_http2_on_the_same_port() {
    let (addr, _stop, _dir) = start_aws().await;
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let mut req = hyper::Request::post(format!("http://{addr}/"));
    for (name, value) in list_streams_headers() {
        req = req.header(name, value);
    }
    let req = req
        .body(Full::new(Bytes::from_static(b"{}")))
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["StreamNames"], serde_json::json!([]));
}

fn short_timeouts() -> strait::http::HttpLimits {
    strait::http::HttpLimits {
        idle_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..Default::default()
    }
}

/// True when the server closes `s` within a few seconds.
async fn closed_by_server(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a response before the close
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn silent_connections_and_trickled_bodies_are_closed() {
    use tokio::io::AsyncWriteExt;
    let (addr, _stop, _dir) = start_aws_with(strait::aws::Guards {
        limits: short_timeouts(),
        ..Default::default()
    })
    .await;
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    assert!(
        closed_by_server(&mut silent).await,
        "a silent connection stayed open"
    );

    let mut trickle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    trickle
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        let _ = trickle.read_to_end(&mut raw).await;
    })
    .await;
    assert!(
        raw.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
}

#[tokio::test]
async fn a_body_waits_for_in_flight_budget() {
    let budget = strait::limits::MemoryBudget::new(1000);
    let (addr, _stop, _dir) = start_aws_with(strait::aws::Guards {
        budget: budget.clone(),
        ..Default::default()
    })
    .await;
    // Other requests (on any listener) hold the whole budget: this one is not read meanwhile.
    let others = budget.reserve(1000).await;
    let pending = tokio::spawn(async move {
        let headers = list_streams_headers();
        http1(addr, "POST", "/", &headers, b"{}").await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "answered while the budget was exhausted"
    );
    drop(others);
    let reply = pending.await.expect("joined").expect("request");
    assert_no_streams(&reply);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_its_request() {
    let (addr, _stop, _dir) = start_aws_with(strait::aws::Guards {
        limits: strait::http::HttpLimits {
            idle_timeout: Duration::from_millis(300),
            // Pings more often than the idle timeout must not keep an idle connection open.
            h2_keepalive_interval: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    let conn = tokio::spawn(conn);
    let mut req = hyper::Request::post(format!("http://{addr}/"));
    for (name, value) in list_streams_headers() {
        req = req.header(name, value);
    }
    let req = req
        .body(Full::new(Bytes::from_static(b"{}")))
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let _ = resp.into_body().collect().await.expect("body");
    // The server ends the connection (GOAWAY, then close) once it has been idle for the timeout.
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection stayed open");
}
