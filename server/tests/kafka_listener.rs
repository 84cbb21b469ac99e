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
