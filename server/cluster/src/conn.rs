//! One established connection: a reader task (decodes frames, completes calls, dispatches requests), a writer
//! task ([`crate::writer`]), and the table of this node's calls in flight on it.
// #[PerformanceCriticalPath]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::dispatch::{Dispatcher, Job, Responder};
use crate::error::{CallError, RemoteError};
use crate::io::BoxStream;
use crate::stats::{Counters, add};
use crate::wire::{self, FLAG_ORDERED, HEADER_LEN, Header, Kind};
use crate::writer::{self, OutFrame, WriterConfig};
use crate::{GroupId, Method, NodeId};

type Slot = oneshot::Sender<Result<Bytes, CallError>>;

/// What every connection of a transport shares.
pub(crate) struct ConnCtx {
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) writer: WriterConfig,
    pub(crate) max_frame: usize,
    pub(crate) queue_depth: usize,
    pub(crate) counters: Arc<Counters>,
}

/// Parameters of one connection fixed by the Hello exchange.
pub(crate) struct Established {
    pub(crate) stream: BoxStream,
    pub(crate) peer: NodeId,
    pub(crate) peer_max_frame: usize,
    /// Cancelled when the transport shuts down (the connection's own token is a child of it).
    pub(crate) parent: CancellationToken,
    /// Held by the connection's tasks; the transport's shutdown waits until every clone is dropped.
    pub(crate) alive: mpsc::Sender<()>,
}

/// A live (or just closed) connection to one peer.
pub(crate) struct Conn {
    peer: NodeId,
    /// The smaller of both nodes' frame limits: nothing larger is sent.
    max_frame: usize,
    tx: mpsc::Sender<OutFrame>,
    /// Calls awaiting a response; `None` once the connection closed (late inserts fail at once).
    pending: Mutex<Option<HashMap<u64, Slot>>>,
    next_correlation: AtomicU64,
    close: CancellationToken,
    counters: Arc<Counters>,
}

impl Conn {
    /// Starts the reader and writer tasks of an established connection.
    pub(crate) fn spawn(est: Established, ctx: &Arc<ConnCtx>) -> Arc<Conn> {
        let (tx, rx) = mpsc::channel(ctx.queue_depth);
        let close = est.parent.child_token();
        let conn = Arc::new(Conn {
            peer: est.peer,
            max_frame: ctx.max_frame.min(est.peer_max_frame),
            tx,
            pending: Mutex::new(Some(HashMap::new())),
            next_correlation: AtomicU64::new(1),
            close: close.clone(),
            counters: Arc::clone(&ctx.counters),
        });
        let (r, w) = tokio::io::split(est.stream);
        let wcfg = ctx.writer;
        let alive = est.alive.clone();
        let peer = est.peer;
        let counters = Arc::clone(&ctx.counters);
        tokio::spawn(async move {
            if let Err(e) = writer::run(w, rx, wcfg, close.clone(), &counters).await {
                debug!(peer, error = %e, "inter-node connection write failed");
            }
            close.cancel();
            drop(alive);
        });
        let reader = Arc::clone(&conn);
        let ctx = Arc::clone(ctx);
        let alive = est.alive;
        tokio::spawn(async move {
            reader.read_loop(r, &ctx).await;
            reader.close.cancel();
            reader.fail_all(CallError::Unreachable(reader.peer));
            drop(alive);
        });
        conn
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.close.is_cancelled()
    }

    /// Closes the connection; its in-flight calls fail with `err`.
    pub(crate) fn close(&self, err: CallError) {
        self.fail_all(err);
        self.close.cancel();
    }

    pub(crate) fn max_frame(&self) -> usize {
        self.max_frame
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.pending().as_ref().map_or(0, HashMap::len)
    }

    fn pending(&self) -> MutexGuard<'_, Option<HashMap<u64, Slot>>> {
        // No user code runs under this lock; recover from poisoning rather than propagate a panic.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fail_all(&self, err: CallError) {
        let slots = self.pending().take();
        for (_, slot) in slots.into_iter().flatten() {
            let _ = slot.send(Err(err.clone()));
        }
    }

    fn complete(&self, correlation: u64, result: Result<Bytes, CallError>) {
        let slot = self.pending().as_mut().and_then(|m| m.remove(&correlation));
        match slot {
            Some(slot) => {
                let _ = slot.send(result);
            }
            // A call that timed out or was dropped removed its slot: the late answer is discarded.
            None => debug!(
                peer = self.peer,
                correlation, "response for no pending call dropped"
            ),
        }
    }

    /// Queues a request; resolves once it is in the connection's queue, in call order.
    pub(crate) async fn send(
        self: &Arc<Self>,
        group: GroupId,
        method: Method,
        payload: Bytes,
        ordered: bool,
    ) -> Result<PendingCall, CallError> {
        let size = HEADER_LEN + payload.len();
        if size > self.max_frame {
            return Err(CallError::FrameTooLarge {
                size,
                max: self.max_frame,
            });
        }
        let correlation = self.next_correlation.fetch_add(1, Ordering::Relaxed);
        let (slot, rx) = oneshot::channel();
        match self.pending().as_mut() {
            Some(m) => m.insert(correlation, slot),
            None => return Err(CallError::Unreachable(self.peer)),
        };
        // From here on the guard removes the slot whatever happens (error, timeout, the caller dropping us).
        let pending = PendingCall {
            conn: Arc::clone(self),
            correlation,
            rx,
        };
        let flags = if ordered { FLAG_ORDERED } else { 0 };
        let header = Header {
            kind: Kind::Request,
            flags,
            correlation,
            group,
            method: method.0,
        };
        self.tx
            .send(OutFrame { header, payload })
            .await
            .map_err(|_| CallError::Unreachable(self.peer))?;
        Ok(pending)
    }

    async fn read_loop<R: AsyncRead + Unpin>(&self, mut r: R, ctx: &ConnCtx) {
        let mut buf = BytesMut::with_capacity(64 << 10);
        // Both sides ping when idle, so three silent keepalive intervals mean the peer or the path is gone.
        let dead_after: Duration = ctx.writer.keepalive.saturating_mul(3);
        loop {
            loop {
                match wire::decode(&mut buf, ctx.max_frame) {
                    Ok(Some(frame)) => {
                        add(&ctx.counters.frames_received, 1);
                        if !self.on_frame(frame.header, frame.payload, ctx) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        add(&ctx.counters.malformed_closes, 1);
                        warn!(peer = self.peer, error = %e, "closing inter-node connection: malformed frame");
                        return;
                    }
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 << 10);
            }
            let read = tokio::select! {
                _ = self.close.cancelled() => return,
                r = tokio::time::timeout(dead_after, r.read_buf(&mut buf)) => r,
            };
            match read {
                Ok(Ok(0)) => {
                    debug!(peer = self.peer, "inter-node connection closed by the peer");
                    return;
                }
                Ok(Ok(n)) => add(&ctx.counters.bytes_received, n as u64),
                Ok(Err(e)) => {
                    debug!(peer = self.peer, error = %e, "inter-node connection read failed");
                    return;
                }
                Err(_) => {
                    warn!(
                        peer = self.peer,
                        ?dead_after,
                        "closing inter-node connection: peer silent"
                    );
                    return;
                }
            }
        }
    }

    /// Handles one frame; `false` closes the connection.
    fn on_frame(&self, header: Header, payload: Bytes, ctx: &ConnCtx) -> bool {
        match header.kind {
            Kind::Request => {
                let responder = Responder {
                    tx: self.tx.clone(),
                    correlation: header.correlation,
                    max_frame: self.max_frame,
                };
                let job = Job {
                    from: self.peer,
                    group: header.group,
                    method: Method(header.method),
                    payload,
                    responder,
                };
                ctx.dispatcher.dispatch(job, header.ordered());
            }
            Kind::Response => self.complete(header.correlation, Ok(payload)),
            Kind::Error => match RemoteError::decode(&payload) {
                Ok(e) => self.complete(header.correlation, Err(CallError::Remote(e))),
                Err(e) => {
                    add(&ctx.counters.malformed_closes, 1);
                    warn!(peer = self.peer, error = %e, "closing inter-node connection: malformed error frame");
                    return false;
                }
            },
            Kind::Ping => {
                // Dropped when the queue is full: the queued traffic proves liveness just as well.
                let pong = OutFrame {
                    header: Header::control(Kind::Pong, header.correlation),
                    payload: Bytes::new(),
                };
                let _ = self.tx.try_send(pong);
            }
            Kind::Pong => {}
            Kind::Hello => {
                add(&ctx.counters.malformed_closes, 1);
                warn!(
                    peer = self.peer,
                    "closing inter-node connection: second Hello"
                );
                return false;
            }
        }
        true
    }
}

/// A request on its way: queued on the connection, waiting for the answer. Dropping it forgets the call (a late
/// response is discarded).
pub struct PendingCall {
    conn: Arc<Conn>,
    correlation: u64,
    rx: oneshot::Receiver<Result<Bytes, CallError>>,
}

impl PendingCall {
    /// Waits for the response, at most `timeout`.
    pub async fn response(self, timeout: Duration) -> Result<Bytes, CallError> {
        let counters = Arc::clone(&self.conn.counters);
        let r = tokio::time::timeout(timeout, self.wait()).await;
        r.unwrap_or_else(|_| {
            add(&counters.calls_timed_out, 1);
            Err(CallError::Timeout)
        })
    }

    /// Waits for the response without a bound of its own (the connection's keepalive still ends it if the peer
    /// goes silent).
    pub(crate) async fn wait(mut self) -> Result<Bytes, CallError> {
        (&mut self.rx)
            .await
            .unwrap_or(Err(CallError::Unreachable(self.conn.peer)))
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if let Some(m) = self.conn.pending().as_mut() {
            m.remove(&self.correlation);
        }
    }
}
