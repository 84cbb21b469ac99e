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
pub mod state;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use strait_engine::MetaStore;

use crate::coordinator::group::error::store_error_code;
use crate::coordinator::lock;
use crate::error::ApiError;
use state::{TxnMetadata, TxnState};

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
        };
        // Earlier versions kept open and aborted transactions per partition in these tables; the engine derives
        // them from the log now, so leftover rows are dead weight.
        let stale: Vec<strait_engine::MetaOp> = ["kafka_txn_ongoing", "kafka_txn_aborted"]
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
        m.update_ms = crate::coordinator::producer::now_ms();
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

    /// Whether a group has offsets waiting for a transaction to commit on this partition (OffsetFetch's
    /// `require_stable`).
    pub fn has_pending_offsets(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        lock(&self.producers)
            .values()
            .any(|v| v.pending.contains(&key))
    }
}
