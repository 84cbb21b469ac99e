//! The transaction coordinator (KIP-98): transactional ids, their producer ids and epochs, the partitions and
//! groups of the running transaction. The per-partition read state (open transactions, the last stable offset,
//! aborted ranges for READ_COMMITTED fetches) is the engine's: it derives it from the transactional batches and
//! the markers written here, so Kinesis readers see the same committed view (`Partition::last_stable_offset`).
//!
//! Module map:
//! - [`state`]: one transactional id's durable metadata;
//! - [`init`]: InitProducerId for transactional ids; [`add`]: AddPartitionsToTxn, AddOffsetsToTxn,
//!   TxnOffsetCommit; [`end`]: EndTxn, and completing transactions (markers, offsets) for every path that ends
//!   one (EndTxn, a re-initialising producer, the timeout, recovery after a restart); [`markers`]: COMMIT/ABORT
//!   control batches; [`describe`]: snapshots for DescribeTransactions / ListTransactions.
//!
//! State: [`cache`] holds every id's committed metadata and is changed only by committed writes to the table (a
//! `MetaWatcher`). An operation locks its transactional id, copies the committed metadata, changes the copy and
//! commits it ([`TxnCoordinator::save`]) as often as its steps need; each commit is in the cache when `save`
//! returns. A step that fails leaves the cache at the last committed state.
//!
//! Concurrency: each transactional id has an async mutex, held for a whole operation (EndTxn holds it while
//! markers are written). Produce never takes it: it checks the cache's per-producer view
//! ([`TxnCoordinator::verify_produce`]) under the partition's producer lock, which marker writes also take. The
//! decision (PrepareCommit/PrepareAbort) is committed, and so in that view, before any marker is written, so a
//! transactional batch is either before its transaction's marker or refused.
//!
//! Durability: every state change is written to the meta store before it is answered. After a restart,
//! transactions whose outcome was decided (PrepareCommit/PrepareAbort) are completed by the first timer tick, and
//! ongoing ones run on until their producer ends them or their timeout aborts them.

pub mod add;
pub mod cache;
pub mod describe;
pub mod end;
pub mod init;
pub mod markers;
pub mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use strait_engine::MetaStore;
use strait_engine::meta::tables;
use tokio::sync::OwnedMutexGuard;

use crate::coordinator::follow::Follow;
use crate::coordinator::group::error::store_error_code;
use crate::coordinator::lock;
use crate::error::ApiError;
use cache::TxnCache;
use state::TxnMetadata;

/// What the transaction coordinator works with besides its own state: the engine (markers), the group
/// coordinator (transactional offset commits) and producer state (marker ordering). The broker lends these per
/// call, so the coordinator needs nothing from the layer above it.
#[derive(Clone, Copy)]
pub struct TxnDeps<'a> {
    pub engine: &'a strait_engine::Engine,
    pub groups: &'a crate::coordinator::group::GroupCoordinator,
    pub producers: &'a crate::coordinator::producer::ProducerStates,
}

impl TxnDeps<'_> {
    pub fn engine(&self) -> &strait_engine::Engine {
        self.engine
    }

    pub fn groups(&self) -> &crate::coordinator::group::GroupCoordinator {
        self.groups
    }

    pub fn producers(&self) -> &crate::coordinator::producer::ProducerStates {
        self.producers
    }
}

/// Coordinator settings (Kafka's names and defaults).
#[derive(Debug, Clone, Copy)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: the longest transaction timeout a producer may ask for.
    pub max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
    pub abort_check_interval: Duration,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout_ms: 900_000,
            abort_check_interval: Duration::from_secs(10),
        }
    }
}

/// One transactional id's operation lock: held from reading its committed metadata to the last commit of the
/// operation ("check, commit"), so operations on one id run one at a time.
type TxnLock = Arc<tokio::sync::Mutex<()>>;

pub struct TxnCoordinator {
    meta: MetaStore,
    cfg: TxnConfig,
    /// Committed state: changed only by the watcher (see [`cache`]).
    cache: Arc<TxnCache>,
    follow: Follow,
    /// Operation locks by transactional id (volatile: nothing to recover, an id is unlocked after a restart).
    locks: Mutex<HashMap<String, TxnLock>>,
}

/// Storage failures reach transactional clients as COORDINATOR_NOT_AVAILABLE (retriable), as for groups.
pub(crate) fn store_error(e: &strait_engine::EngineError) -> ResponseError {
    store_error_code(e)
}

impl TxnCoordinator {
    /// A coordinator whose state follows `meta`'s transaction table, fed its current contents first.
    pub fn new(meta: MetaStore, cfg: TxnConfig) -> TxnCoordinator {
        let cache = Arc::new(TxnCache::default());
        let c = TxnCoordinator {
            follow: Follow::new(&meta, cache::TABLES, cache.clone()),
            meta,
            cfg,
            cache,
            locks: Mutex::new(HashMap::new()),
        };
        // Earlier versions kept open and aborted transactions per partition in these tables; the engine derives
        // them from the log now, so leftover rows are dead weight.
        let stale: Vec<strait_engine::MetaOp> =
            [tables::KAFKA_TXN_ONGOING, tables::KAFKA_TXN_ABORTED]
                .into_iter()
                .filter(|t| {
                    c.meta
                        .scan_prefix(t, b"")
                        .is_ok_and(|rows| !rows.is_empty())
                })
                .map(|table| strait_engine::MetaOp::DeletePrefix {
                    table: table.into(),
                    prefix: Vec::new(),
                })
                .collect();
        if !stale.is_empty() {
            c.meta.commit_in_background(stale);
        }
        c
    }

    pub fn config(&self) -> &TxnConfig {
        &self.cfg
    }

    /// The committed state (what tests compare across a restart and a replica).
    #[doc(hidden)]
    pub fn snapshot(&self) -> cache::TxnSnapshot {
        self.cache.snapshot()
    }

    fn lock_of(&self, txn_id: &str) -> TxnLock {
        lock(&self.locks)
            .entry(txn_id.to_string())
            .or_default()
            .clone()
    }

    /// Locks `txn_id` for one operation and returns a copy of its committed metadata, or `None` (no lock
    /// taken) if the id has none. The caller changes the copy and commits it with [`save`](Self::save).
    pub(crate) async fn begin(
        &self,
        txn_id: &str,
    ) -> Result<Option<(OwnedMutexGuard<()>, TxnMetadata)>, ResponseError> {
        self.follow.ensure().map_err(|e| store_error(&e))?;
        if !self.cache.contains(txn_id) {
            return Ok(None);
        }
        let guard = self.lock_of(txn_id).lock_owned().await;
        Ok(self.cache.get(txn_id).map(|m| (guard, m)))
    }

    /// Locks `txn_id` for one operation even if it has no metadata yet (InitProducerId creates it).
    pub(crate) async fn begin_or_create(
        &self,
        txn_id: &str,
    ) -> Result<(OwnedMutexGuard<()>, Option<TxnMetadata>), ResponseError> {
        self.follow.ensure().map_err(|e| store_error(&e))?;
        let guard = self.lock_of(txn_id).lock_owned().await;
        Ok((guard, self.cache.get(txn_id)))
    }

    /// Like [`begin`](Self::begin), but gives up at once if another operation holds the id (the timer).
    fn try_begin(&self, txn_id: &str) -> Option<(OwnedMutexGuard<()>, TxnMetadata)> {
        let guard = self.lock_of(txn_id).try_lock_owned().ok()?;
        self.cache.get(txn_id).map(|m| (guard, m))
    }

    /// Commits `m` (with a fresh update time); once this returns, the cache and what Produce checks are `m`.
    /// Call with `txn_id`'s operation lock held.
    pub(crate) async fn save(&self, m: &mut TxnMetadata) -> Result<(), ResponseError> {
        m.update_ms = crate::coordinator::producer::now_ms();
        let value = serde_json::to_vec(&*m).map_err(|_| ResponseError::UnknownServerError)?;
        self.meta
            .put(state::TABLE, m.txn_id.as_bytes(), value)
            .await
            .map_err(|e| store_error(&e))
    }

    /// KIP-890-style verification of a transactional batch: its producer must be in an ongoing transaction at
    /// this epoch that includes the partition (AddPartitionsToTxn first). Called under the partition's producer
    /// lock.
    pub fn verify_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), ApiError> {
        let views = self.cache.read();
        let Some(v) = views.producers.get(&producer_id) else {
            return Err(ApiError::new(
                ResponseError::InvalidProducerIdMapping,
                format!("producer {producer_id} has no transactional id on this coordinator"),
            ));
        };
        if epoch != v.epoch {
            return Err(ApiError::new(
                ResponseError::InvalidProducerEpoch,
                format!(
                    "producer {producer_id} epoch {epoch} is not the current transactional epoch {}",
                    v.epoch
                ),
            ));
        }
        if !v.ongoing || !v.partitions.contains(&(topic.to_string(), partition)) {
            return Err(ApiError::new(
                ResponseError::InvalidTxnState,
                format!(
                    "{topic}-{partition} is not part of an ongoing transaction of producer {producer_id}"
                ),
            ));
        }
        Ok(())
    }

    /// Whether a group has offsets waiting for a transaction to commit on this partition (OffsetFetch's
    /// `require_stable`).
    pub fn has_pending_offsets(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        self.cache
            .read()
            .producers
            .values()
            .any(|v| v.pending.contains(&key))
    }
}
