//! The accept loop shared by the HTTP listeners: HTTP/1.1 and prior-knowledge HTTP/2 on one port, and a graceful
//! shutdown that lets in-flight requests finish for at most a grace period.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

/// A response whose body is small and fully built before sending (the default handler body).
pub type HttpResponse = Response<Full<Bytes>>;

/// A body that may be streamed (SubscribeToShard's event stream) or fully built; boxed so one handler can answer
/// with either. Not `Sync`, so channel- or stream-backed bodies fit.
pub type BoxedBody = UnsyncBoxBody<Bytes, Infallible>;

/// Boxes a fully built body.
pub fn full(bytes: impl Into<Bytes>) -> BoxedBody {
    Full::new(bytes.into()).boxed_unsync()
}

/// A request handler usable by [`serve`], answering with body type `B`.
pub trait Handler<B = Full<Bytes>>: Clone + Send + Sync + 'static {
    fn call(&self, req: Request<Incoming>) -> impl Future<Output = Response<B>> + Send;
}

/// A slow client must not hold a connection open forever before it has even sent its headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Detects dead HTTP/2 peers (long-lived SubscribeToShard streams will rely on it).
const H2_KEEPALIVE: Duration = Duration::from_secs(30);
/// Backoff after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `handler` on `listener` until `shutdown` resolves, then stops accepting and waits up to `grace` for
/// open connections to finish their in-flight requests; connections still open after that are dropped.
pub async fn serve<B, H>(
    name: &'static str,
    listener: TcpListener,
    handler: H,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) where
    H: Handler<B>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEPALIVE);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let h = handler.clone();
                    let svc = hyper::service::service_fn(move |req| {
                        let h = h.clone();
                        async move { Ok::<_, Infallible>(h.call(req).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            debug!(listener = name, %peer, error = %e, "HTTP connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => info!(listener = name, "HTTP listener stopped"),
        Err(_) => warn!(
            listener = name,
            ?grace,
            "HTTP connections still open after the grace period; dropped"
        ),
    }
}
