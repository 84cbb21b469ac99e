//! The writer coalesces: frames queued together leave in fewer writes than frames. Writes are counted by a
//! stream wrapper installed through the connector seam.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod common;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use strait_cluster::io::{BoxFuture, BoxStream, Connector, TcpAcceptor, TcpConnector};
use strait_cluster::{Lane, Transport};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Default)]
struct Counts {
    connects: AtomicUsize,
    writes: AtomicUsize,
}

struct CountingStream {
    inner: BoxStream,
    counts: Arc<Counts>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(_)) = r {
            self.counts.writes.fetch_add(1, Ordering::SeqCst);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(_)) = r {
            self.counts.writes.fetch_add(1, Ordering::SeqCst);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct CountingConnector {
    tcp: TcpConnector,
    counts: Arc<Counts>,
}

impl Connector for CountingConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(async move {
            let inner = self.tcp.connect(addr).await?;
            self.counts.connects.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(CountingStream {
                inner,
                counts: Arc::clone(&self.counts),
            }) as BoxStream)
        })
    }
}

async fn counting_node(window: Duration, threshold: usize) -> (Transport, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let mut cfg = config(1, "c");
    cfg.coalesce_window = window;
    cfg.flush_threshold = threshold;
    let connector = Arc::new(CountingConnector {
        tcp: TcpConnector::default(),
        counts: Arc::clone(&counts),
    });
    let t = Transport::start_with(cfg, basic_handler(), connector, Arc::new(TcpAcceptor))
        .await
        .unwrap();
    (t, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_within_the_window_leave_in_few_writes() {
    let (a, counts) = counting_node(Duration::from_millis(20), 64 << 10).await;
    let b = start(2, "c").await;
    mesh(&[&a, &b]);
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    let before = counts.writes.load(Ordering::SeqCst);
    const N: usize = 200;
    let mut pending = Vec::new();
    for i in 0..N {
        let payload = Bytes::from(format!("small request {i}"));
        pending.push(
            a.send(2, (i % 10) as u64, ECHO, payload, Lane::Concurrent)
                .await
                .unwrap(),
        );
    }
    for p in pending {
        p.response(T).await.unwrap();
    }
    let writes = counts.writes.load(Ordering::SeqCst) - before;
    assert!(
        (1..=N / 20).contains(&writes),
        "{N} requests took {writes} writes"
    );
    // The transport's own counters agree: every frame counted, one counted write per batch (a batch may need
    // more than one writev).
    let stats = a.stats();
    assert!(stats.frames_sent > N as u64, "{stats:?}");
    assert!(
        stats.writes as usize <= counts.writes.load(Ordering::SeqCst),
        "{stats:?}"
    );
    assert_eq!(stats.connections_dialled, 1);
    assert_eq!(
        counts.connects.load(Ordering::SeqCst),
        1,
        "one connection per peer"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_window_frames_queued_together_still_share_writes() {
    // The default: no linger. Frames queued while the writer is busy (or before it runs) share a write.
    let (a, counts) = counting_node(Duration::ZERO, 64 << 10).await;
    let b = start(2, "c").await;
    mesh(&[&a, &b]);
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    let before = counts.writes.load(Ordering::SeqCst);
    const N: usize = 500;
    let mut pending = Vec::new();
    for i in 0..N {
        let payload = Bytes::from(format!("small request {i}"));
        pending.push(a.send(2, 1, ECHO, payload, Lane::Concurrent).await.unwrap());
    }
    for p in pending {
        p.response(T).await.unwrap();
    }
    let writes = counts.writes.load(Ordering::SeqCst) - before;
    assert!(writes < N / 2, "{N} requests took {writes} writes");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flush_threshold_writes_before_the_window_ends() {
    // A 10 s window: only the threshold can make these calls finish in time.
    let (a, counts) = counting_node(Duration::from_secs(10), 1024).await;
    let b = start(2, "c").await;
    mesh(&[&a, &b]);
    let started = Instant::now();
    let mut pending = Vec::new();
    for _ in 0..10 {
        pending.push(
            a.send(2, 1, ECHO, Bytes::from(vec![1u8; 600]), Lane::Concurrent)
                .await
                .unwrap(),
        );
    }
    for p in pending {
        assert_eq!(p.response(T).await.unwrap().len(), 600);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        counts.writes.load(Ordering::SeqCst) >= 5,
        "two 621-byte frames per write at most"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_are_written_whole() {
    // Payloads above the copy limit go out as their own I/O slices; they must arrive intact, interleaved with
    // small frames.
    let (a, _counts) = counting_node(Duration::from_millis(1), 64 << 10).await;
    let b = start(2, "c").await;
    mesh(&[&a, &b]);
    let mut pending = Vec::new();
    for i in 0..40u8 {
        let len = if i % 2 == 0 {
            300_000 + usize::from(i)
        } else {
            usize::from(i)
        };
        pending.push((
            len,
            i,
            a.send(2, 1, ECHO, Bytes::from(vec![i; len]), Lane::Concurrent)
                .await
                .unwrap(),
        ));
    }
    for (len, i, p) in pending {
        let got = p.response(T).await.unwrap();
        assert_eq!(got.len(), len);
        assert!(got.iter().all(|b| *b == i));
    }
    a.shutdown().await;
    b.shutdown().await;
}
