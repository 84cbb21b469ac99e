//! The per-connection writer task: it drains the connection's frame queue and coalesces what is queued (after
//! letting ready tasks run once, plus the optional linger window, up to the flush threshold) into one vectored
//! write and flush. Frames that queue while a write is in progress go out together in the next one.
// #[PerformanceCriticalPath]

use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::stats::{Counters, add};
use crate::wire::{HEADER_LEN, Header, Kind, LEN_PREFIX};

/// A frame waiting in a connection's queue.
#[derive(Debug)]
pub(crate) struct OutFrame {
    pub(crate) header: Header,
    pub(crate) payload: Bytes,
}

impl OutFrame {
    fn wire_len(&self) -> usize {
        LEN_PREFIX + HEADER_LEN + self.payload.len()
    }
}

/// The sending side of a connection's queue.
pub(crate) type FrameTx = mpsc::Sender<OutFrame>;

/// Payloads at least this long go out as their own I/O slice; shorter ones are copied next to their header,
/// which is cheaper than an extra iovec and keeps the slice count low.
const COPY_BELOW: usize = 2048;
/// Slices per `writev` call (well under every platform's IOV_MAX).
const MAX_SLICES: usize = 64;

/// The writer's knobs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriterConfig {
    pub(crate) window: Duration,
    pub(crate) threshold: usize,
    pub(crate) keepalive: Duration,
}

/// Runs until the queue closes, `close` fires, or a write fails.
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<OutFrame>,
    cfg: WriterConfig,
    close: CancellationToken,
    counters: &Counters,
) -> io::Result<()> {
    let mut batch: Vec<OutFrame> = Vec::new();
    let mut ping_seq = 0u64;
    loop {
        let first = tokio::select! {
            _ = close.cancelled() => return Ok(()),
            f = rx.recv() => match f {
                Some(f) => f,
                None => return Ok(()),
            },
            _ = sleep(cfg.keepalive) => {
                ping_seq += 1;
                OutFrame { header: Header::control(Kind::Ping, ping_seq), payload: Bytes::new() }
            }
        };
        let mut bytes = first.wire_len();
        batch.push(first);
        drain_ready(&mut rx, &mut batch, &mut bytes, cfg.threshold);
        if bytes < cfg.threshold {
            // Let tasks that are ready right now (other groups' senders, handlers finishing) queue their frames
            // first: they join this write at no latency cost. Measured on 127.0.0.1 with 32 concurrent callers:
            // 2 to 2.6 times the calls/s of writing straight away, same single-call round trip.
            tokio::task::yield_now().await;
            drain_ready(&mut rx, &mut batch, &mut bytes, cfg.threshold);
        }
        if bytes < cfg.threshold && !cfg.window.is_zero() {
            let deadline = Instant::now() + cfg.window;
            while bytes < cfg.threshold {
                tokio::select! {
                    biased;
                    f = rx.recv() => match f {
                        Some(f) => {
                            bytes += f.wire_len();
                            batch.push(f);
                            drain_ready(&mut rx, &mut batch, &mut bytes, cfg.threshold);
                        }
                        None => break,
                    },
                    _ = sleep_until(deadline) => break,
                }
            }
        }
        add(&counters.frames_sent, batch.len() as u64);
        add(&counters.bytes_sent, bytes as u64);
        let segments = encode_batch(&mut batch);
        tokio::select! {
            _ = close.cancelled() => return Ok(()),
            r = write_all_vectored(&mut w, &segments) => r?,
        }
        w.flush().await?;
        add(&counters.writes, 1);
    }
}

fn drain_ready(
    rx: &mut mpsc::Receiver<OutFrame>,
    batch: &mut Vec<OutFrame>,
    bytes: &mut usize,
    threshold: usize,
) {
    while *bytes < threshold {
        match rx.try_recv() {
            Ok(f) => {
                *bytes += f.wire_len();
                batch.push(f);
            }
            Err(_) => break,
        }
    }
}

/// Encodes the batch into as few segments as possible: headers and short payloads share buffers, long payloads
/// are referenced, not copied.
fn encode_batch(batch: &mut Vec<OutFrame>) -> Vec<Bytes> {
    let mut segments = Vec::new();
    let mut buf = BytesMut::new();
    for f in batch.drain(..) {
        f.header.encode(f.payload.len(), &mut buf);
        if f.payload.len() < COPY_BELOW {
            buf.extend_from_slice(&f.payload);
        } else {
            segments.push(buf.split().freeze());
            segments.push(f.payload);
        }
    }
    if !buf.is_empty() {
        segments.push(buf.freeze());
    }
    segments
}

/// `write_all` over several buffers with `writev`, resuming mid-buffer after short writes.
async fn write_all_vectored<W: AsyncWrite + Unpin>(
    w: &mut W,
    segments: &[Bytes],
) -> io::Result<()> {
    let mut idx = 0;
    let mut off = 0;
    while idx < segments.len() {
        let mut slices = Vec::with_capacity(MAX_SLICES.min(segments.len() - idx));
        slices.push(IoSlice::new(&segments[idx][off..]));
        slices.extend(
            segments[idx + 1..]
                .iter()
                .take(MAX_SLICES - 1)
                .map(|s| IoSlice::new(s)),
        );
        let mut n = w.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while n > 0 && idx < segments.len() {
            let rest = segments[idx].len() - off;
            if n >= rest {
                n -= rest;
                idx += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly
mod tests {
    use super::*;
    use crate::wire;

    #[tokio::test]
    async fn short_writes_resume_mid_segment() {
        // A duplex pipe with a 7-byte buffer forces many short writes.
        let (mut a, mut b) = tokio::io::duplex(7);
        let mut batch = vec![
            OutFrame {
                header: Header::control(Kind::Ping, 1),
                payload: Bytes::new(),
            },
            OutFrame {
                header: Header::control(Kind::Response, 2),
                payload: Bytes::from(vec![7u8; 5000]),
            },
            OutFrame {
                header: Header::control(Kind::Response, 3),
                payload: Bytes::from_static(b"xy"),
            },
        ];
        let segments = encode_batch(&mut batch);
        assert_eq!(
            segments.len(),
            3,
            "long payload referenced, the rest shares buffers"
        );
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut b, &mut all)
                .await
                .unwrap();
            all
        });
        write_all_vectored(&mut a, &segments).await.unwrap();
        drop(a);
        let mut buf = BytesMut::from(&reader.await.unwrap()[..]);
        let mut got = Vec::new();
        while let Some(f) = wire::decode(&mut buf, 1 << 20).unwrap() {
            got.push((f.header.correlation, f.payload.len()));
        }
        assert_eq!(got, vec![(1, 0), (2, 5000), (3, 2)]);
    }
}
