//! Incoming requests: ordered lanes (one task per (sender, group), handling in arrival order) and concurrent
//! requests (a task each). Lanes live at the transport, not the connection, so order holds across a reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::RemoteError;
use crate::handler::{Handler, run_guarded};
use crate::wire::{HEADER_LEN, Header, Kind, codes};
use crate::writer::{FrameTx, OutFrame};
use crate::{GroupId, Method, NodeId};

/// A lane with nothing to do for this long ends its task; the next ordered request starts a new one.
const LANE_IDLE: Duration = Duration::from_secs(30);

/// Where a request's result goes: back on the connection it arrived on.
pub(crate) struct Responder {
    pub(crate) tx: FrameTx,
    pub(crate) correlation: u64,
    /// The smaller of both nodes' frame limits.
    pub(crate) max_frame: usize,
}

impl Responder {
    async fn respond(self, result: Result<Bytes, RemoteError>) {
        let (kind, payload) = match result {
            Ok(p) if p.len() + HEADER_LEN <= self.max_frame => (Kind::Response, p),
            Ok(p) => {
                let e = RemoteError {
                    code: codes::RESPONSE_TOO_LARGE,
                    message: format!(
                        "response of {} bytes exceeds the frame limit of {}",
                        p.len(),
                        self.max_frame
                    ),
                };
                (Kind::Error, e.encode())
            }
            Err(e) => (Kind::Error, e.encode()),
        };
        let frame = OutFrame {
            header: Header::control(kind, self.correlation),
            payload,
        };
        // A closed connection drops the response: the caller already got `Unreachable`.
        let _ = self.tx.send(frame).await;
    }
}

/// One incoming request.
pub(crate) struct Job {
    pub(crate) from: NodeId,
    pub(crate) group: GroupId,
    pub(crate) method: Method,
    pub(crate) payload: Bytes,
    pub(crate) responder: Responder,
}

type LaneKey = (NodeId, GroupId);

struct Lane {
    id: u64,
    tx: mpsc::UnboundedSender<Job>,
}

#[derive(Default)]
struct Lanes {
    map: HashMap<LaneKey, Lane>,
    next_id: u64,
    closed: bool,
}

/// Routes incoming requests to the handler.
pub(crate) struct Dispatcher {
    handler: Arc<dyn Handler>,
    lanes: Mutex<Lanes>,
}

impl Dispatcher {
    pub(crate) fn new(handler: Arc<dyn Handler>) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            handler,
            lanes: Mutex::new(Lanes::default()),
        })
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        // A panic never happens while the lock is held (no user code runs under it); recover the data anyway.
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a request to its lane (ordered) or a task of its own.
    pub(crate) fn dispatch(self: &Arc<Self>, job: Job, ordered: bool) {
        if !ordered {
            let handler = Arc::clone(&self.handler);
            tokio::spawn(async move {
                let r = run_guarded(
                    handler.as_ref(),
                    job.from,
                    job.group,
                    job.method,
                    job.payload,
                )
                .await;
                job.responder.respond(r).await;
            });
            return;
        }
        let key = (job.from, job.group);
        let mut lanes = self.lanes();
        if lanes.closed {
            drop(lanes);
            let e = RemoteError {
                code: codes::SHUTTING_DOWN,
                message: "the node is shutting down".into(),
            };
            tokio::spawn(job.responder.respond(Err(e)));
            return;
        }
        let job = match lanes.map.get(&key) {
            Some(lane) => match lane.tx.send(job) {
                Ok(()) => return,
                // The lane task is gone (it only exits after removing itself, so this is a race with close).
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let id = lanes.next_id;
        lanes.next_id += 1;
        // Cannot fail: `rx` is alive.
        let _ = tx.send(job);
        lanes.map.insert(key, Lane { id, tx });
        drop(lanes);
        tokio::spawn(Arc::clone(self).run_lane(key, id, rx));
    }

    async fn run_lane(
        self: Arc<Self>,
        key: LaneKey,
        id: u64,
        mut rx: mpsc::UnboundedReceiver<Job>,
    ) {
        loop {
            let job = match tokio::time::timeout(LANE_IDLE, rx.recv()).await {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(_idle) => {
                    // Senders enqueue under the lock, so an empty queue seen under it stays empty once the entry
                    // is gone.
                    let mut lanes = self.lanes();
                    match rx.try_recv() {
                        Ok(job) => job,
                        Err(_) => {
                            if lanes.map.get(&key).is_some_and(|l| l.id == id) {
                                lanes.map.remove(&key);
                            }
                            return;
                        }
                    }
                }
            };
            let r = run_guarded(
                self.handler.as_ref(),
                job.from,
                job.group,
                job.method,
                job.payload,
            )
            .await;
            job.responder.respond(r).await;
        }
    }

    /// Stops accepting ordered requests; lane tasks finish the request in hand and end.
    pub(crate) fn close(&self) {
        let mut lanes = self.lanes();
        lanes.closed = true;
        lanes.map.clear();
    }
}
