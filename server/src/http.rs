//! The accept loop shared by the HTTP listeners: HTTP/1.1 and prior-knowledge HTTP/2 on one port (or, with TLS,
//! HTTPS with ALPN `h2` and `http/1.1`), connection limits and timeouts, and a graceful shutdown that lets in-flight requests finish for at most a grace period.
//!
//! A client must not be able to hold a connection, or memory, for free: a listener has a connection cap
//! ([`ConnLimit`]); headers must arrive within `http.header_read_timeout_ms` (hyper's HTTP/1 timer); a connection
//! with no request in progress for `http.idle_timeout_ms` is closed (a silent new connection, an idle keep-alive
//! one, an HTTP/2 one kept open by pings alike); and handlers read bodies with [`read_body`], which bounds the
//! time and takes the bytes from the node's [`MemoryBudget`].

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::config::HttpConfig;
use crate::limits::{self, ConnLimit, MemoryBudget, Reservation};
use crate::tls::{MaybeTls, ServerTls};

/// A response whose body is small and fully built before sending (the default handler body).
pub type HttpResponse = Response<Full<Bytes>>;

/// A body that may be streamed (SubscribeToShard's event stream) or fully built; boxed so one handler can answer
/// with either. Not `Sync`, so channel- or stream-backed bodies fit.
pub type BoxedBody = UnsyncBoxBody<Bytes, Infallible>;

/// Boxes a fully built body.
pub fn full(bytes: impl Into<Bytes>) -> BoxedBody {
    Full::new(bytes.into()).boxed_unsync()
}

/// A request handler usable by [`serve`], answering with body type `B`. The request's extensions carry the
/// client's [`Peer`] address.
pub trait Handler<B = Full<Bytes>>: Clone + Send + Sync + 'static {
    fn call(&self, req: Request<Incoming>) -> impl Future<Output = Response<B>> + Send;
}

/// The client's address, in every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// One HTTP listener's limits, from `[http]` and the listener's `max_connections`.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub h2_keepalive_interval: Duration,
    pub max_connections: u32,
}

impl HttpLimits {
    pub fn new(http: &HttpConfig, max_connections: u32) -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_millis(http.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(http.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(http.idle_timeout_ms),
            h2_keepalive_interval: Duration::from_millis(http.h2_keepalive_interval_ms),
            max_connections,
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits::new(&HttpConfig::default(), 4096)
    }
}

/// How long an idle connection's graceful close (HTTP/2 GOAWAY) may take before it is simply dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves `handler` on `listener` until `shutdown` resolves, then stops accepting and waits up to `grace` for
/// open connections to finish their in-flight requests; connections still open after that are dropped.
pub async fn serve<B, H>(
    name: &'static str,
    listener: TcpListener,
    handler: H,
    limits: HttpLimits,
    tls: Option<ServerTls>,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) where
    H: Handler<B>,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.h2_keepalive_interval);
    let cap = ConnLimit::new(name, limits.max_connections);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (stream, peer) = limits::accept(&listener, name) => {
                // Over the cap: dropping the stream closes it at once, and the listener goes on.
                let Some(slot) = cap.admit() else { continue };
                let _ = stream.set_nodelay(true);
                let activity = Arc::new(Activity::new());
                let h = handler.clone();
                let act = activity.clone();
                let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    let h = h.clone();
                    let busy = act.begin();
                    req.extensions_mut().insert(Peer(peer));
                    async move {
                        let resp = h.call(req).await;
                        // The request counts as in progress until its response body has been sent.
                        Ok::<_, Infallible>(resp.map(|body| Tracked { body, _busy: busy }))
                    }
                });
                let mut stop = stop_rx.clone();
                let idle_timeout = limits.idle_timeout;
                let builder = builder.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    // HTTPS: the handshake runs in the connection's task, bounded by its own timeout.
                    let stream = match &tls {
                        None => MaybeTls::Plain(stream),
                        Some(tls) => match tls.accept(stream).await {
                            Ok(s) => MaybeTls::Tls(Box::new(s)),
                            Err(_) => return,
                        },
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    let idle = tokio::select! {
                        r = conn.as_mut() => {
                            if let Err(e) = r {
                                debug!(listener = name, %peer, error = %e, "HTTP connection ended with an error");
                            }
                            return;
                        }
                        () = activity.idle(idle_timeout) => true,
                        _ = stop.wait_for(|s| *s) => false,
                    };
                    conn.as_mut().graceful_shutdown();
                    if idle {
                        debug!(listener = name, %peer, "closing idle HTTP connection");
                        let _ = tokio::time::timeout(IDLE_CLOSE_GRACE, conn).await;
                    } else {
                        // In-flight requests finish; the listener's grace period bounds this.
                        let _ = conn.await;
                    }
                });
            },
            // Reap finished connections so the set does not grow with every connection ever accepted.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
    match drained {
        Ok(()) => info!(listener = name, "HTTP listener stopped"),
        Err(_) => {
            warn!(
                listener = name,
                ?grace,
                "HTTP connections still open after the grace period; dropped"
            );
            conns.abort_all();
        }
    }
}

/// Whether a connection has a request in progress, and since when it has had none.
#[derive(Debug)]
struct Activity {
    busy: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            busy: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// How long the connection has had no request in progress; `None` while it has one.
    fn idle_for(&self, now: Instant) -> Option<Duration> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(now.saturating_duration_since(since))
    }

    /// Resolves once the connection has had no request in progress for `timeout`.
    async fn idle(&self, timeout: Duration) {
        loop {
            let wait = match self.idle_for(Instant::now()) {
                Some(d) if d >= timeout => return,
                Some(d) => timeout - d,
                None => timeout,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// One request in progress; dropped with its response body.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in progress until hyper has sent (and dropped) it.
struct Tracked<B> {
    body: B,
    _busy: Busy,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("request body not received within {0:?}")]
    TimedOut(Duration),
    #[error("reading the request body failed: {0}")]
    Read(#[from] hyper::Error),
}

/// Reads a whole request body of at most `max` bytes within `timeout`, holding its bytes in `budget` as they
/// arrive. While the budget is short the body is not read (back-pressure on the client). The reservation is returned with the bytes; keep it while they are in use.
///
/// An oversized body is read on without being kept, up to twice `max`, so the client (still sending) gets to read
/// the `413` rather than a broken pipe; a larger one is answered at once.
pub async fn read_body(
    mut body: Incoming,
    max: usize,
    timeout: Duration,
    budget: &MemoryBudget,
) -> Result<(Bytes, Reservation), BodyError> {
    let declared = body.size_hint();
    let drain_limit = (max as u64).saturating_mul(2);
    if declared.lower() > drain_limit {
        return Err(BodyError::TooLarge(max));
    }
    let read = async {
        // Reserved as bytes arrive, not for the declared length: declaring costs a client nothing. Bodies that
        // each hold part of an exhausted budget and wait for more are ended by the body timeout.
        let mut held = Reservation::none();
        let mut buf = BytesMut::new();
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else {
                continue; // trailers carry nothing Strait reads
            };
            seen += data.len() as u64;
            if seen > max as u64 {
                // Over the limit: nothing more is kept, and the reservation goes back.
                buf = BytesMut::new();
                held = Reservation::none();
                if seen > drain_limit {
                    break;
                }
                continue;
            }
            let len = buf.len() + data.len();
            if len > held.bytes() {
                let more = budget.reserve_more(&held, len - held.bytes()).await;
                held.merge(more);
            }
            buf.extend_from_slice(&data);
        }
        if seen > max as u64 {
            return Err(BodyError::TooLarge(max));
        }
        Ok((buf.freeze(), held))
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| BodyError::TimedOut(timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_idle_only_without_a_request_in_progress() {
        let a = Arc::new(Activity::new());
        let start = Instant::now();
        assert!(a.idle_for(start).is_some());
        let busy = a.begin();
        assert_eq!(a.idle_for(start + Duration::from_secs(600)), None);
        let second = a.begin();
        drop(busy);
        assert_eq!(
            a.idle_for(Instant::now()),
            None,
            "one request is still in progress"
        );
        drop(second);
        let idle = a.idle_for(Instant::now() + Duration::from_secs(5));
        assert!(idle.is_some_and(|d| d >= Duration::from_secs(5)));
    }
}
