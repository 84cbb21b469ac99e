//! The transaction coordinator (KIP-98): transactional ids, their producer ids and epochs, the partitions and
//! groups of the running transaction, and the per-partition state behind the last stable offset.
//!
//! Module map:
//! - [`state`]: one transactional id's durable metadata; [`partition`]: open and aborted transactions per data
//!   partition (LSO, aborted ranges for READ_COMMITTED fetches);
//! - [`init`]: InitProducerId for transactional ids; [`add`]: AddPartitionsToTxn, AddOffsetsToTxn,
//!   TxnOffsetCommit; [`end`]: EndTxn, and completing transactions (markers, offsets) for every path that ends
//!   one (EndTxn, a re-initialising producer, the timeout, recovery after a restart); [`markers`]: COMMIT/ABORT
//!   control batches; [`describe`]: snapshots for DescribeTransactions / ListTransactions.
//!
//! Concurrency: each transactional id has an async mutex, held for a whole operation (EndTxn holds it while
//! markers are written). Produce never takes it: it checks a synchronous per-producer snapshot
//! ([`TxnCoordinator::verify_produce`]) under the partition's producer lock, which marker writes also take, so a
//! transactional batch is either before its transaction's marker or refused.
//!
//! Durability: every state change is written to the meta store before it is answered. After a restart,
//! transactions whose outcome was decided (PrepareCommit/PrepareAbort) are completed by the first timer tick, and
//! ongoing ones run on until their producer ends them or their timeout aborts them.

pub mod add;
pub mod describe;
pub mod end;
pub mod init;
pub mod markers;
pub mod partition;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use strait_engine::{MetaOp, MetaStore};

use crate::error::ApiError;
use crate::group::error::store_error_code;
use crate::group::lock;
use partition::{Aborted, PartitionTxns};
use state::{TxnMetadata, TxnState};

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

/// What Produce needs to know about a transactional producer, kept in step with its metadata.
#[derive(Debug, Clone)]
struct ProducerView {
    epoch: i16,
    /// The transaction is Ongoing (Prepare*/Complete*/Empty refuse transactional data).
    ongoing: bool,
    partitions: HashSet<(String, i32)>,
    /// (group, topic, partition) of offsets committed in the transaction, not yet applied.
    pending: HashSet<(String, String, i32)>,
}

type TxnCell = Arc<tokio::sync::Mutex<TxnMetadata>>;

pub struct TxnCoordinator {
    meta: MetaStore,
    cfg: TxnConfig,
    txns: Mutex<HashMap<String, TxnCell>>,
    producers: Mutex<HashMap<i64, ProducerView>>,
    partitions: Mutex<HashMap<(uuid::Uuid, u32), PartitionTxns>>,
    /// False while no partition has ever held transactional data: then every partition's LSO is its high
    /// watermark and Fetch skips the lock and the lazy load (the hot path of brokers that never see a
    /// transaction).
    any_txn_data: AtomicBool,
}

/// Storage failures reach transactional clients as COORDINATOR_NOT_AVAILABLE (retriable), as for groups.
pub(crate) fn store_error(e: &strait_engine::EngineError) -> ResponseError {
    store_error_code(e)
}

impl TxnCoordinator {
    /// Loads every transactional id from the meta store.
    pub fn new(meta: MetaStore, cfg: TxnConfig) -> TxnCoordinator {
        let c = TxnCoordinator {
            meta,
            cfg,
            txns: Mutex::new(HashMap::new()),
            producers: Mutex::new(HashMap::new()),
            partitions: Mutex::new(HashMap::new()),
            any_txn_data: AtomicBool::new(false),
        };
        // Any row in either table means transactional data exists (a read error: assume it does). One scan at
        // start; the tables hold a row per open transaction and per aborted transaction and partition.
        let seen = [partition::ONGOING, partition::ABORTED].iter().any(|t| {
            c.meta
                .scan_prefix(t, b"")
                .map_or(true, |rows| !rows.is_empty())
        });
        c.any_txn_data.store(seen, Ordering::Release);
        match c.meta.scan_prefix(state::TABLE, b"") {
            Ok(rows) => {
                for (k, v) in rows {
                    match serde_json::from_slice::<TxnMetadata>(&v) {
                        Ok(m) => {
                            c.publish(&m);
                            lock(&c.txns)
                                .insert(m.txn_id.clone(), Arc::new(tokio::sync::Mutex::new(m)));
                        }
                        Err(e) => tracing::error!(
                            txn = %String::from_utf8_lossy(&k),
                            error = %e,
                            "unreadable transaction state skipped"
                        ),
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "could not load transaction states"),
        }
        c
    }

    pub fn config(&self) -> &TxnConfig {
        &self.cfg
    }

    pub(crate) fn cell(&self, txn_id: &str) -> Option<TxnCell> {
        lock(&self.txns).get(txn_id).cloned()
    }

    pub(crate) fn cells(&self) -> Vec<TxnCell> {
        lock(&self.txns).values().cloned().collect()
    }

    pub(crate) fn insert(&self, m: TxnMetadata) -> TxnCell {
        lock(&self.txns)
            .entry(m.txn_id.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(m)))
            .clone()
    }

    /// Writes `m` durably and makes it what Produce checks against.
    pub(crate) async fn save(&self, m: &mut TxnMetadata) -> Result<(), ResponseError> {
        m.update_ms = crate::producer::now_ms();
        let value = serde_json::to_vec(&*m).map_err(|_| ResponseError::UnknownServerError)?;
        self.meta
            .put(state::TABLE, m.txn_id.as_bytes(), value)
            .await
            .map_err(|e| store_error(&e))?;
        self.publish(m);
        Ok(())
    }

    /// Updates the producer view of `m` (call before writing markers too, so no new data slips in).
    pub(crate) fn publish(&self, m: &TxnMetadata) {
        let view = ProducerView {
            epoch: m.epoch,
            ongoing: m.state == TxnState::Ongoing,
            partitions: m.partitions.iter().cloned().collect(),
            pending: m
                .pending_offsets
                .iter()
                .map(|o| (o.group.clone(), o.topic.clone(), o.partition))
                .collect(),
        };
        lock(&self.producers).insert(m.producer_id, view);
    }

    pub(crate) fn forget_producer(&self, producer_id: i64) {
        lock(&self.producers).remove(&producer_id);
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
        let producers = lock(&self.producers);
        let Some(v) = producers.get(&producer_id) else {
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

    /// Runs `f` on a partition's transaction state, loading it from the meta store on first use.
    fn with_partition<R>(
        &self,
        topic_id: uuid::Uuid,
        index: u32,
        f: impl FnOnce(&mut PartitionTxns) -> R,
    ) -> Result<R, ResponseError> {
        let mut parts = lock(&self.partitions);
        if let Some(s) = parts.get_mut(&(topic_id, index)) {
            return Ok(f(s));
        }
        let prefix = partition::prefix(topic_id, index);
        let scan = |t| {
            self.meta
                .scan_prefix(t, &prefix)
                .map_err(|e| store_error(&e))
        };
        let loaded = PartitionTxns::from_rows(
            prefix.len(),
            scan(partition::ONGOING)?,
            scan(partition::ABORTED)?,
        );
        Ok(f(parts.entry((topic_id, index)).or_insert(loaded)))
    }

    /// Records that `producer_id` starts writing transactional data to the partition, at or after `log_end`,
    /// durably, unless it already has an open transaction there.
    pub async fn begin_partition(
        &self,
        topic_id: uuid::Uuid,
        index: u32,
        producer_id: i64,
        log_end: i64,
    ) -> Result<(), ApiError> {
        self.any_txn_data.store(true, Ordering::Release);
        let op = self
            .with_partition(topic_id, index, |s| {
                if s.ongoing.contains_key(&producer_id) {
                    return None;
                }
                s.ongoing.insert(producer_id, log_end);
                Some(partition::ongoing_op(
                    &partition::prefix(topic_id, index),
                    producer_id,
                    Some(log_end),
                ))
            })
            .map_err(|code| {
                ApiError::new(code, "transaction state of the partition is unreadable")
            })?;
        if let Some(op) = op {
            self.meta.commit(vec![op]).await.map_err(|e| {
                // Not durable: forget it again, the batch is refused.
                let _ = self.with_partition(topic_id, index, |s| s.ongoing.remove(&producer_id));
                ApiError::from(e)
            })?;
        }
        Ok(())
    }

    /// After the marker at `marker_offset`: the producer's transaction in the partition is over; an aborted one
    /// is remembered for READ_COMMITTED fetches. Returns the meta ops that make this durable.
    pub(crate) fn end_partition(
        &self,
        topic_id: uuid::Uuid,
        index: u32,
        producer_id: i64,
        commit: bool,
        marker_offset: i64,
    ) -> Result<Vec<MetaOp>, ResponseError> {
        let prefix = partition::prefix(topic_id, index);
        self.with_partition(topic_id, index, |s| {
            let Some(first) = s.ongoing.remove(&producer_id) else {
                return Vec::new();
            };
            let mut ops = vec![partition::ongoing_op(&prefix, producer_id, None)];
            if !commit {
                let a = Aborted {
                    producer_id,
                    first_offset: first,
                    last_offset: marker_offset,
                };
                let at = s
                    .aborted
                    .partition_point(|x| x.last_offset <= marker_offset);
                s.aborted.insert(at, a);
                ops.push(partition::aborted_op(&prefix, &a));
            }
            ops
        })
    }

    /// The last stable offset of a partition whose high watermark is `high_watermark`.
    pub fn last_stable_offset(
        &self,
        topic_id: uuid::Uuid,
        index: u32,
        high_watermark: i64,
    ) -> Result<i64, ResponseError> {
        if !self.any_txn_data.load(Ordering::Acquire) {
            return Ok(high_watermark);
        }
        let first = self.with_partition(topic_id, index, |s| s.first_unstable())?;
        Ok(first.map_or(high_watermark, |f| f.min(high_watermark)))
    }

    /// Aborted transactions overlapping `[from, to)`.
    pub fn aborted_between(
        &self,
        topic_id: uuid::Uuid,
        index: u32,
        from: i64,
        to: i64,
    ) -> Result<Vec<Aborted>, ResponseError> {
        if !self.any_txn_data.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        self.with_partition(topic_id, index, |s| s.aborted_between(from, to))
    }

    /// Forgets aborted ranges that end before their partition's log start (retention or DeleteRecords removed
    /// their data), and the state of partitions whose topic is gone. `log_start` maps a loaded partition to its
    /// log start, `None` when its topic no longer exists. Returns the meta ops that make this durable.
    pub(crate) fn prune(&self, log_start: impl Fn(uuid::Uuid, u32) -> Option<i64>) -> Vec<MetaOp> {
        let mut ops = Vec::new();
        let mut parts = lock(&self.partitions);
        parts.retain(|&(topic_id, index), s| {
            let prefix = partition::prefix(topic_id, index);
            let Some(start) = log_start(topic_id, index) else {
                for table in [partition::ONGOING, partition::ABORTED] {
                    ops.push(MetaOp::DeletePrefix {
                        table: table.into(),
                        prefix: prefix.clone(),
                    });
                }
                return false;
            };
            let keep = s.aborted.partition_point(|a| a.last_offset < start);
            for a in s.aborted.drain(..keep) {
                let mut key = prefix.clone();
                key.extend_from_slice(&a.last_offset.to_be_bytes());
                key.extend_from_slice(&a.producer_id.to_be_bytes());
                ops.push(MetaOp::Delete {
                    table: partition::ABORTED.into(),
                    key,
                });
            }
            true
        });
        ops
    }

    /// Whether a group has offsets waiting for a transaction to commit on this partition (OffsetFetch's
    /// `require_stable`).
    pub fn has_pending_offsets(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        lock(&self.producers)
            .values()
            .any(|v| v.pending.contains(&key))
    }
}
