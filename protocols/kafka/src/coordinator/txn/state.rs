//! One transactional id's durable state (Kafka's `TransactionMetadata`), stored as JSON in the meta table
//! [`TABLE`] under the transactional id, written before any answer that depends on it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Meta table of transactional ids.
pub const TABLE: &str = strait_engine::meta::tables::KAFKA_TXN_STATE;

/// Kafka's transaction states (`TransactionState`), minus the ones only a multi-broker coordinator needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    /// A producer id and epoch, no transaction.
    Empty,
    /// Partitions or a group have been added; data may be in the logs.
    Ongoing,
    /// The outcome is decided and durable; markers are being written (redone after a restart).
    PrepareCommit,
    PrepareAbort,
    /// Markers written, offsets applied: the transaction is over.
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    /// The name DescribeTransactions and ListTransactions report (Kafka's `TransactionState.stateName`).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }

    pub fn is_preparing(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// An offset committed inside a transaction, applied to the group when the transaction commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffset {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMetadata {
    pub txn_id: String,
    pub producer_id: i64,
    pub epoch: i16,
    /// The epoch before the last InitProducerId bump: a retried InitProducerId (KIP-360) that still names it gets
    /// the current id back instead of being fenced.
    pub last_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// Data partitions in the transaction (topic, partition), in the order markers are written.
    pub partitions: BTreeSet<(String, i32)>,
    /// Groups added with AddOffsetsToTxn.
    pub groups: BTreeSet<String>,
    pub pending_offsets: Vec<PendingOffset>,
    /// Wall-clock start of the current transaction (first partition or group added), for the timeout.
    pub start_ms: i64,
    pub update_ms: i64,
}

impl TxnMetadata {
    pub fn new(txn_id: String, producer_id: i64, timeout_ms: i32, now_ms: i64) -> TxnMetadata {
        TxnMetadata {
            txn_id,
            producer_id,
            epoch: 0,
            last_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            pending_offsets: Vec::new(),
            start_ms: -1,
            update_ms: now_ms,
        }
    }

    /// Whether the transaction has run past its timeout at `now_ms`.
    pub fn timed_out(&self, now_ms: i64) -> bool {
        self.state == TxnState::Ongoing && now_ms > self.start_ms + i64::from(self.timeout_ms)
    }
}
