//! The replicated metadata store: [`RaftMeta`], a [`MetaBackend`] whose cluster-scope tables are replicated
//! through the controller Raft group (group id [`CONTROLLER_GROUP`]) and applied to every node's local redb.
//!
//! - **Writes.** A batch of node-scope ops only (recovery points, seals, Raft vote state) goes straight to the
//!   local [`RedbStore`]. A batch with any cluster-scope op becomes one controller entry (`entry`: one record
//!   batch, tagged with the origin node) proposed to the controller group, directly on the leader or forwarded
//!   to it ([`MetaForward`]). Every replica applies it (`apply`): the cluster ops on every node, the node ops
//!   only on the origin, in one local transaction, so a mixed batch stays atomic where it matters and watchers
//!   on every node see the same cluster changes in log order. `commit` returns once the origin's own replica has
//!   applied the entry: read-your-writes on the node that wrote. `commit_in_background` batches are committed
//!   in submission order by one task, and a later `commit` waits for those queued before it (the local store's
//!   single writer queue gives callers the same order).
//! - **No leader.** The commit is retried with backoff for [`MetaRetry::no_leader_for`], then fails with
//!   [`EngineError::NotLeader`] naming the controller topic (front ends map it to retriable errors:
//!   `NOT_LEADER_OR_FOLLOWER` / `NOT_COORDINATOR` on Kafka, `InternalFailure` on the AWS APIs). A commit that
//!   fails this way may still apply later (its outcome was unknown when it gave up), like a Kafka produce that
//!   timed out.
//! - **Reads** (`get`, `scan_prefix`, `watch`) are local, as a Kafka broker serves metadata from its cache. A
//!   node's view lags the leader's by the time it takes to hear and apply a commit (one heartbeat in the normal
//!   case, unbounded while the node is cut off); on the node that committed, a write is visible when `commit`
//!   returns.
//! - **Catch-up.** A node with an empty local store replays the controller log from its start. There are no
//!   snapshots of the controller state yet, so the log is never purged.

mod apply;
mod entry;
mod forward;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use strait_engine::meta::tables::{Scope, scope_of};
use strait_engine::{
    Absent, EngineError, MetaBackend, MetaFuture, MetaOp, MetaStore, MetaWatcher, Partition,
    RedbStore, Tables,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{GroupError, ProposeError, RpcFailure};
use crate::group::{DataGroup, GroupArgs, Timing};
use crate::network::{GroupId, RaftRpc};
use crate::types::RaftNodeId;

use self::apply::{Applier, Outcome};
use self::entry::{Entry, Origin};
use self::forward::Answer;
pub use self::forward::MetaForward;

/// The controller group's id on the wire.
pub const CONTROLLER_GROUP: GroupId = 0;
/// The engine topic (one partition) whose log is the controller's Raft log.
pub const CONTROLLER_TOPIC: &str = "__strait_controller";

/// How long a commit keeps trying, and how long the origin waits for its own replica to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaRetry {
    /// Total time a commit retries while no leader takes it (elections take one election timeout or two).
    pub no_leader_for: Duration,
    /// First pause between attempts; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long the origin waits, after the leader committed an entry, for its own replica to apply it (it
    /// only lags when it is cut off from the leader).
    pub apply_wait: Duration,
}

impl Default for MetaRetry {
    fn default() -> Self {
        MetaRetry {
            no_leader_for: Duration::from_secs(5),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(500),
            apply_wait: Duration::from_secs(10),
        }
    }
}

/// What opening the replicated store needs.
pub struct MetaArgs {
    pub node: RaftNodeId,
    /// The controller log: partition 0 of [`CONTROLLER_TOPIC`], opened with `CommitPolicy::External`.
    pub log: Arc<Partition>,
    /// The node's own metadata file: holds the applied state and the controller replica's Raft state.
    pub local: RedbStore,
    pub rpc: Arc<dyn RaftRpc>,
    pub forward: Arc<dyn MetaForward>,
    pub timing: Timing,
    pub retry: MetaRetry,
}

/// A background batch and its number in the queue.
type Numbered = (u64, Vec<MetaOp>);

struct Inner {
    node: RaftNodeId,
    incarnation: u64,
    next_req: AtomicU64,
    local: RedbStore,
    group: Arc<DataGroup>,
    applier: Arc<Applier>,
    forward: Arc<dyn MetaForward>,
    retry: MetaRetry,
    /// Feeds the background committer, each batch numbered; taken on close.
    background: Mutex<Option<mpsc::UnboundedSender<Numbered>>>,
    /// Background batches queued so far (read and written under the `background` lock).
    queued: AtomicU64,
    /// The number of the last background batch committed (or given up on).
    settled: watch::Sender<u64>,
}

/// The replicated metadata store of one node. Cheap to clone; wrap it in [`MetaStore::from_backend`].
#[derive(Clone)]
pub struct RaftMeta {
    inner: Arc<Inner>,
}

/// Random enough to tell this process's request ids from an earlier one's (no RNG dependency needed).
fn incarnation() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let x = t ^ (u64::from(std::process::id()) << 32);
    // splitmix64 finaliser: nearby clocks give unrelated ids.
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The retriable error of a commit that found no leader to take it (or whose outcome is unknown).
fn no_leader(leader: Option<RaftNodeId>) -> EngineError {
    EngineError::NotLeader {
        topic: CONTROLLER_TOPIC.into(),
        partition: 0,
        leader: leader.and_then(|l| i32::try_from(l).ok()),
    }
}

/// One attempt's result.
enum Attempt {
    Sent,
    Retry(Option<RaftNodeId>),
    Fail(EngineError),
}

impl RaftMeta {
    /// Opens the node's controller replica over `log` and its local store; it rejoins the group (or waits to be
    /// initialized) on its own and applies what it has not applied yet.
    pub async fn open(a: MetaArgs) -> Result<RaftMeta, GroupError> {
        let key = format!("{}/0", a.log.topic());
        let incarnation = incarnation();
        let applier = Arc::new(Applier::open(
            a.node,
            incarnation,
            key.clone(),
            a.local.clone(),
        )?);
        let group = Arc::new(
            DataGroup::open(GroupArgs {
                node: a.node,
                group: CONTROLLER_GROUP,
                key,
                log: a.log,
                // The replica's own Raft state is node-scope: straight to redb, never through itself.
                meta: MetaStore::from_backend(Arc::new(a.local.clone())),
                rpc: a.rpc,
                timing: a.timing,
                hook: Some(applier.clone()),
            })
            .await?,
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            node: a.node,
            incarnation,
            next_req: AtomicU64::new(1),
            local: a.local,
            group,
            applier,
            forward: a.forward,
            retry: a.retry,
            background: Mutex::new(Some(tx)),
            queued: AtomicU64::new(0),
            settled: watch::Sender::new(0),
        });
        tokio::spawn(background(Arc::downgrade(&inner), rx));
        Ok(RaftMeta { inner })
    }

    /// Forms the controller group with `members` as voters, once (see [`DataGroup::initialize`]).
    pub async fn initialize(
        &self,
        members: BTreeMap<RaftNodeId, openraft::BasicNode>,
    ) -> Result<(), GroupError> {
        self.inner.group.initialize(members).await
    }

    /// The controller replica: the node routes the group's incoming Raft RPCs to its `handle`.
    pub fn group(&self) -> &Arc<DataGroup> {
        &self.inner.group
    }

    /// The last controller-log offset applied to the local store.
    pub fn applied(&self) -> Option<i64> {
        self.inner.applier.applied()
    }

    /// Serves a commit another node forwarded ([`MetaForward`]): proposes it if this node leads the group.
    pub async fn serve_forward(&self, body: &[u8]) -> Result<Bytes, RpcFailure> {
        let answer = match entry::decode(body) {
            Err(e) => Answer::Rejected(e.to_string()),
            Ok(_) => Answer::of(
                self.inner
                    .group
                    .propose(Bytes::copy_from_slice(body))
                    .await
                    .map(|_| ()),
            ),
        };
        answer.encode()
    }

    /// Stops the controller replica and the background committer (the log stays open; the caller closes it).
    pub async fn shutdown(&self) -> Result<(), GroupError> {
        self.inner.background_stop();
        self.inner.group.shutdown().await
    }
}

impl Inner {
    fn background_stop(&self) {
        self.background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }

    /// A caller's commit: after every background batch it queued before (the local store keeps that order too,
    /// as one writer queue serves both).
    async fn commit(&self, ops: Vec<MetaOp>) -> Result<(), EngineError> {
        self.commit_if_absent(Vec::new(), ops).await.map(|_| ())
    }

    /// [`commit`](Self::commit) with a precondition (see [`Absent`]): `Ok(false)` when a key was present.
    async fn commit_if_absent(
        &self,
        absent: Vec<Absent>,
        ops: Vec<MetaOp>,
    ) -> Result<bool, EngineError> {
        let before = {
            let _queue = self
                .background
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.queued.load(Ordering::Relaxed)
        };
        if before > *self.settled.borrow() {
            // Settled is sent for every batch the task takes, failed ones included, so this ends.
            let _ = self.settled.subscribe().wait_for(|&s| s >= before).await;
        }
        self.commit_now(absent, ops).await
    }

    async fn commit_now(&self, absent: Vec<Absent>, ops: Vec<MetaOp>) -> Result<bool, EngineError> {
        let node_scope = |table: &str| scope_of(table) == Scope::Node;
        if ops.iter().all(|op| node_scope(op.table()))
            && absent.iter().all(|a| node_scope(&a.table))
        {
            return self.local.commit_if_absent(absent, ops).await;
        }
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let e = Entry {
            origin: Origin {
                node: self.node,
                incarnation: self.incarnation,
                req,
            },
            absent,
            ops,
        };
        let bytes = entry::encode(&e, now_ms())?;
        let mut applied = self.applier.expect(req);
        let r = self.replicate(bytes, &mut applied).await;
        if r.is_err() {
            self.applier.forget(req);
        }
        r
    }

    /// Gets the entry committed (retrying the same request id: a copy that lands twice applies once), then waits
    /// for the local replica to apply it.
    async fn replicate(
        &self,
        bytes: Bytes,
        applied: &mut oneshot::Receiver<Outcome>,
    ) -> Result<bool, EngineError> {
        let deadline = tokio::time::Instant::now() + self.retry.no_leader_for;
        let mut backoff = self.retry.backoff_min;
        loop {
            let attempt = self.attempt(bytes.clone()).await;
            let leader = match attempt {
                Attempt::Sent => break,
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(leader) => leader,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(no_leader(leader));
            }
            // An earlier attempt whose answer was lost may still apply here meanwhile: that is success.
            tokio::select! {
                o = &mut *applied => return outcome(o, leader),
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.retry.backoff_max);
        }
        match tokio::time::timeout(self.retry.apply_wait, applied).await {
            Ok(o) => outcome(o, None),
            // Committed, but this replica is too far behind to show it: the caller may not read its write.
            Err(_) => Err(no_leader(self.group.leader().0)),
        }
    }

    async fn attempt(&self, bytes: Bytes) -> Attempt {
        let leader = self.group.leader().0;
        let Some(l) = leader else {
            return Attempt::Retry(None);
        };
        if l == self.node {
            return match self.group.propose(bytes).await {
                Ok(_) => Attempt::Sent,
                Err(ProposeError::NotLeader { leader }) => Attempt::Retry(leader),
                Err(ProposeError::Indeterminate) => Attempt::Retry(None),
                Err(ProposeError::Invalid(e)) => Attempt::Fail(EngineError::InvalidBatch(e)),
                Err(ProposeError::Engine(e)) => Attempt::Fail(e),
                Err(ProposeError::Stopped(s)) => {
                    tracing::error!("controller replica stopped: {s}");
                    Attempt::Fail(EngineError::MetaClosed)
                }
            };
        }
        match self.inner_forward(l, bytes).await {
            Ok(Answer::Committed) => Attempt::Sent,
            Ok(Answer::NotLeader { leader }) => Attempt::Retry(leader),
            Ok(Answer::Indeterminate) => Attempt::Retry(None),
            // The leader cannot read what this node writes (mixed versions): retrying cannot help.
            Ok(Answer::Rejected(why)) => {
                tracing::error!("controller leader {l} rejected a metadata entry: {why}");
                Attempt::Fail(EngineError::MetaClosed)
            }
            // The leader's replica stopped; another will be elected.
            Ok(Answer::Stopped(_)) => Attempt::Retry(None),
            // Lost on the way there or back: unknown outcome, retried under the same request id.
            Err(e) => {
                tracing::debug!("forwarding a metadata commit to {l}: {e}");
                Attempt::Retry(Some(l))
            }
        }
    }

    async fn inner_forward(&self, to: RaftNodeId, bytes: Bytes) -> Result<Answer, RpcFailure> {
        let body = self.forward.forward(to, bytes).await?;
        Answer::decode(&body)
    }
}

fn outcome(
    o: Result<Outcome, oneshot::error::RecvError>,
    leader: Option<RaftNodeId>,
) -> Result<bool, EngineError> {
    match o {
        Ok(Outcome::Applied) => Ok(true),
        Ok(Outcome::Present) => Ok(false),
        Ok(Outcome::Stale) => Err(no_leader(leader)),
        Ok(Outcome::Failed) | Err(_) => Err(EngineError::MetaClosed),
    }
}

/// Commits background batches in submission order; whatever queued up meanwhile goes as one batch.
async fn background(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Numbered>) {
    while let Some((mut last, mut ops)) = rx.recv().await {
        while let Ok((n, more)) = rx.try_recv() {
            last = n;
            ops.extend(more);
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Err(e) = inner.commit_now(Vec::new(), ops).await {
            tracing::warn!("background metadata commit failed: {e}");
        }
        inner.settled.send_replace(last);
    }
}

impl MetaBackend for RaftMeta {
    fn commit(&self, ops: Vec<MetaOp>) -> MetaFuture<'_, Result<(), EngineError>> {
        Box::pin(self.inner.commit(ops))
    }

    fn commit_if_absent(
        &self,
        absent: Vec<Absent>,
        ops: Vec<MetaOp>,
    ) -> MetaFuture<'_, Result<bool, EngineError>> {
        Box::pin(self.inner.commit_if_absent(absent, ops))
    }

    fn commit_in_background(&self, ops: Vec<MetaOp>) {
        let queue = self
            .inner
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.inner.queued.load(Ordering::Relaxed) + 1;
        match queue.as_ref().map(|tx| tx.send((n, ops))) {
            Some(Ok(())) => self.inner.queued.store(n, Ordering::Relaxed),
            Some(Err(_)) | None => {
                tracing::warn!("metadata store closed; a background metadata update was dropped");
            }
        }
    }

    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner.local.get(table, key)
    }

    fn scan_prefix(
        &self,
        table: &str,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, EngineError> {
        self.inner.local.scan_prefix(table, prefix)
    }

    fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<(), EngineError> {
        self.inner.local.watch(tables, watcher)
    }

    fn close(&self) -> MetaFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.shutdown().await {
                tracing::warn!("stopping the controller replica: {e}");
            }
            self.inner.local.close().await;
        })
    }

    fn fault(&self) -> Option<String> {
        self.inner.local.fault()
    }

    fn probe_space(&self) -> Result<(), String> {
        self.inner.local.probe_space()
    }
}
