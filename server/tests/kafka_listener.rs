//! The Kafka listener in-process, on port 0: framing, ordering, limits, idle timeout and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strait::kafka::{self, KafkaHandler, Limits, NotImplementedHandler, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// Answers `"<n>"` with `"re:<n>"` after sleeping n milliseconds; `"quiet"` gets no response.
struct Echo {
    started: Notify,
}

#[derive(Debug, thiserror::Error)]
#[error("bad frame")]
struct BadFrame;

impl KafkaHandler for Echo {
    type Error = BadFrame;
    type Session = ();
    type Later = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<Bytes>, BadFrame>> + Send>,
    >;

    fn open_session(&self, _peer: std::net::SocketAddr) {}

    async fn handle(
        &self,
        _session: &mut (),
        frame: Bytes,
    ) -> Result<Reply<Self::Later>, BadFrame> {
        self.started.notify_one();
        if &frame[..] == b"quiet" {
            return Ok(Reply::Now(None));
        }
        let text = std::str::from_utf8(&frame)
            .map_err(|_| BadFrame)?
            .to_string();
        // "later:N": answered after N ms without holding up the next request (like an acks=-1 Produce)
        if let Some(ms) = text.strip_prefix("later:") {
            let delay: u64 = ms.parse().map_err(|_| BadFrame)?;
            return Ok(Reply::Later(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                Ok(Some(Bytes::from(format!("re:{text}"))))
            })));
        }
        let delay: u64 = text.parse().map_err(|_| BadFrame)?;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        Ok(Reply::Now(Some(Bytes::from(format!("re:{text}")).into())))
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start<H: KafkaHandler>(handler: Arc<H>, limits: Limits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(kafka::serve(
        listener,
        handler,
        limits,
        kafka::Guards::default(),
        Duration::from_secs(5),
        shutdown,
    ));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

fn limits() -> Limits {
    Limits {
        max_request_bytes: 1024,
        idle_timeout: Duration::from_secs(30),
        ..Limits::default()
    }
}

fn echo() -> Arc<Echo> {
    Arc::new(Echo {
        started: Notify::new(),
    })
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

async fn read_response(s: &mut TcpStream) -> String {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.expect("length");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.expect("body");
    String::from_utf8(body).expect("utf-8")
}

/// True when the server closed the connection within a few seconds.
async fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = start(echo(), limits()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    // All at once, slowest first: a server answering out of order would send "re:0" first.
    let mut batch = Vec::new();
    for p in [&b"60"[..], b"quiet", b"0", b"30", b"5"] {
        batch.extend(frame(p));
    }
    s.write_all(&batch).await.expect("write");
    for want in ["re:60", "re:0", "re:30", "re:5"] {
        assert_eq!(read_response(&mut s).await, want);
    }
}

#[tokio::test]
async fn deferred_responses_overlap_but_are_written_in_request_order() {
    let server = start(echo(), limits()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    // The second deferred reply completes first and a plain request follows; the order on the wire must still be
    // the request order.
    for payload in [&b"later:300"[..], b"later:10", b"5", b"later:1"] {
        s.write_all(&frame(payload)).await.expect("write");
    }
    for want in ["re:later:300", "re:later:10", "re:5", "re:later:1"] {
        assert_eq!(read_response(&mut s).await, want);
    }
}

#[tokio::test]
async fn oversized_and_negative_frames_close_the_connection() {
    let server = start(echo(), limits()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&1025i32.to_be_bytes()).await.expect("write");
    assert!(closed(&mut s).await);
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&(-1i32).to_be_bytes()).await.expect("write");
    assert!(closed(&mut s).await);
    // A frame of exactly the limit is accepted ("000…0" asks for no delay).
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&frame(&[b'0'; 1024])).await.expect("write");
    assert_eq!(
        read_response(&mut s).await,
        format!("re:{}", "0".repeat(1024))
    );
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start(
        echo(),
        Limits {
            idle_timeout: Duration::from_millis(100),
            ..limits()
        },
    )
    .await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn the_placeholder_handler_closes_on_every_frame() {
    let server = start(Arc::new(NotImplementedHandler), limits()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&frame(&[0, 18, 0, 3])).await.expect("write");
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let handler = echo();
    let mut server = start(handler.clone(), limits()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&frame(b"300")).await.expect("write");
    handler.started.notified().await;
    let _ = server.stop.take().map(|tx| tx.send(()));
    assert_eq!(read_response(&mut s).await, "re:300");
    assert!(closed(&mut s).await);
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("serve returns")
        .expect("no panic");
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "still accepting after shutdown"
    );
}

/// Requires a "login" frame before anything else; "bad-login" fails authentication (like a wrong SASL password).
struct Gate;

#[derive(Default)]
struct GateSession {
    authenticated: bool,
    failed: bool,
}

impl KafkaHandler for Gate {
    type Error = BadFrame;
    type Session = GateSession;
    type Later = std::future::Ready<Result<Option<Bytes>, BadFrame>>;

    fn open_session(&self, _peer: SocketAddr) -> GateSession {
        GateSession::default()
    }

    async fn handle(
        &self,
        session: &mut GateSession,
        frame: Bytes,
    ) -> Result<Reply<Self::Later>, BadFrame> {
        match &frame[..] {
            b"login" => session.authenticated = true,
            b"bad-login" => session.failed = true,
            _ => {}
        }
        Ok(Reply::Now(Some(
            Bytes::from(format!("len:{}", frame.len())).into(),
        )))
    }

    fn authenticated(&self, session: &GateSession) -> bool {
        session.authenticated
    }

    fn auth_failed(&self, session: &GateSession) -> bool {
        session.failed
    }
}

fn gated_limits() -> Limits {
    Limits {
        max_request_bytes: 4096,
        pre_auth_max_request_bytes: 512,
        ..limits()
    }
}

#[tokio::test]
async fn frames_above_the_pre_auth_limit_close_unauthenticated_connections() {
    let server = start(Arc::new(Gate), gated_limits()).await;
    // Before authentication: 512 bytes are fine, 513 close the connection (announcing is enough).
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&frame(&[b'x'; 512])).await.expect("write");
    assert_eq!(read_response(&mut s).await, "len:512");
    s.write_all(&513i32.to_be_bytes()).await.expect("write");
    assert!(closed(&mut s).await);
    // After it, frames up to max_request_bytes are served.
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(&frame(b"login")).await.expect("write");
    assert_eq!(read_response(&mut s).await, "len:5");
    s.write_all(&frame(&[b'x'; 4096])).await.expect("write");
    assert_eq!(read_response(&mut s).await, "len:4096");
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_and_the_listener_goes_on() {
    let server = start(
        echo(),
        Limits {
            max_connections: 2,
            ..limits()
        },
    )
    .await;
    let mut a = TcpStream::connect(server.addr).await.expect("connect");
    let _b = TcpStream::connect(server.addr).await.expect("connect");
    a.write_all(&frame(b"0")).await.expect("write");
    assert_eq!(read_response(&mut a).await, "re:0");
    let mut c = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed(&mut c).await, "a third connection is over the cap");
    drop(a);
    // The freed slot is usable again (the reap may take a moment).
    let mut ok = false;
    for _ in 0..50 {
        let mut d = TcpStream::connect(server.addr).await.expect("connect");
        if d.write_all(&frame(b"0")).await.is_ok()
            && let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(200), d.read(&mut [0u8; 8])).await
            && n > 0
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a slot freed by a closed connection was not reused");
}

#[tokio::test]
async fn a_failed_login_is_answered_after_the_throttle_delay() {
    let guards = kafka::Guards {
        throttle: Arc::new(strait::auth_throttle::AuthThrottle::new(
            Duration::from_millis(300),
            Duration::from_secs(1),
        )),
        ..kafka::Guards::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(kafka::serve(
        listener,
        Arc::new(Gate),
        gated_limits(),
        guards,
        Duration::from_secs(1),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let start = std::time::Instant::now();
    s.write_all(&frame(b"bad-login")).await.expect("write");
    assert_eq!(read_response(&mut s).await, "len:9");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    // The connection goes on (the protocol decides what a failed session may still do).
    s.write_all(&frame(b"ok")).await.expect("write");
    assert_eq!(read_response(&mut s).await, "len:2");
}

#[tokio::test]
async fn a_frame_waits_for_in_flight_budget_instead_of_allocating() {
    let budget = strait::limits::MemoryBudget::new(100_000);
    let guards = kafka::Guards {
        budget: budget.clone(),
        ..kafka::Guards::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(kafka::serve(
        listener,
        echo(),
        limits(),
        guards,
        Duration::from_secs(1),
        async move {
            let _ = stopped.await;
        },
    ));
    // Other requests (on any listener) hold the whole budget.
    let others = budget.reserve(100_000).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&frame(b"0000000000")).await.expect("write");
    let mut buf = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a frame was read and answered while the budget was exhausted"
    );
    drop(others);
    assert_eq!(read_response(&mut s).await, "re:0000000000");
}
