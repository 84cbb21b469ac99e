//! The receiving side's contract: what a node does with an incoming request.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;

use crate::error::RemoteError;
use crate::wire::codes;
use crate::{GroupId, Method, NodeId};

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Bytes, RemoteError>> + Send>>;

/// Handles incoming requests. Requests sent on the ordered lane by one node for one group are handled strictly
/// in arrival order, one at a time (Raft appends must be applied in order); everything else (other groups,
/// other senders, the concurrent lane) runs concurrently.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request; the result travels back to the caller (an `Err` as [`crate::CallError::Remote`]).
    fn handle(&self, from: NodeId, group: GroupId, method: Method, payload: Bytes)
    -> HandlerFuture;
}

/// A [`Handler`] from a closure, for tests and simple services.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(NodeId, GroupId, Method, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Bytes, RemoteError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(NodeId, GroupId, Method, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Bytes, RemoteError>> + Send + 'static,
{
    fn handle(
        &self,
        from: NodeId,
        group: GroupId,
        method: Method,
        payload: Bytes,
    ) -> HandlerFuture {
        Box::pin((self.0)(from, group, method, payload))
    }
}

/// Runs the handler for one request, turning a panic (while creating or polling its future) into an error
/// response, so a buggy handler costs one request, not the lane or the caller's timeout.
pub(crate) async fn run_guarded(
    handler: &dyn Handler,
    from: NodeId,
    group: GroupId,
    method: Method,
    payload: Bytes,
) -> Result<Bytes, RemoteError> {
    let panicked = || RemoteError {
        code: codes::HANDLER_PANICKED,
        message: "the request handler panicked".into(),
    };
    let mut fut = match std::panic::catch_unwind(AssertUnwindSafe(|| {
        handler.handle(from, group, method, payload)
    })) {
        Ok(f) => f,
        Err(_) => return Err(panicked()),
    };
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(_) => Poll::Ready(Err(panicked())),
        }
    })
    .await
}
