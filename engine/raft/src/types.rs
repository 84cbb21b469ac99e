//! The openraft type configuration of a partition's Raft group, and what its entries carry.
//!
//! One entry is one stored Kafka v2 record batch. Leader epoch = Raft term: `leader_id_std` allows at most one
//! leader per term, which is exactly Kafka's promise for a leader epoch, so the term is stamped into every batch
//! as its `partitionLeaderEpoch` and OffsetForLeaderEpoch keeps working across failovers.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A node id inside Raft. Kafka node ids are `i32`s >= 0; they widen losslessly.
pub type RaftNodeId = u64;

/// What a Normal entry carries: one record batch.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The batch as the producer sent it (on the leader, before it is stored) or as stored (everywhere else).
    pub bytes: Bytes,
    /// True once the leader stored it: base offset, epoch and any LogAppendTime are in the bytes, so replicas
    /// store it byte for byte (`append_replica`) instead of stamping it again with their own clock.
    pub stamped: bool,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Batch({} bytes, stamped={})",
            self.bytes.len(),
            self.stamped
        )
    }
}

impl fmt::Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where an applied entry landed in the partition log: what a Produce or PutRecords answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker timestamp on LogAppendTime topics, else -1.
    pub log_append_time: i64,
    /// The leader epoch (Raft term) the batch was stamped with.
    pub leader_epoch: i32,
}

impl fmt::Display for Appended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}..={}]@{}",
            self.base_offset, self.last_offset, self.leader_epoch
        )
    }
}

openraft::declare_raft_types!(
    /// The type configuration of one partition's Raft group.
    pub DataConfig:
        D = Batch,
        R = Appended,
        NodeId = RaftNodeId,
        Node = openraft::BasicNode,
        Term = u64,
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, RaftNodeId>,
);

/// A committed leader id: the term alone (standard Raft).
pub(crate) type Clid = openraft::vote::leader_id_std::CommittedLeaderId<u64>;
pub(crate) type LogId = openraft::LogId<Clid>;
pub(crate) type SnapshotMeta =
    openraft::storage::SnapshotMeta<Clid, RaftNodeId, openraft::BasicNode>;
/// Snapshots are metadata only ([`crate::machine`]); the bytes are whatever little the state machine writes.
pub(crate) type Snapshot = openraft::alias::SnapshotOf<DataConfig, std::io::Cursor<Vec<u8>>>;
pub(crate) type Entry = <DataConfig as openraft::RaftTypeConfig>::Entry;
pub(crate) type Vote = <DataConfig as openraft::RaftTypeConfig>::Vote;
pub(crate) type Membership = openraft::Membership<RaftNodeId, openraft::BasicNode>;
pub(crate) type StoredMembership =
    openraft::StoredMembership<Clid, RaftNodeId, openraft::BasicNode>;

/// A log id from a term and an index.
pub(crate) fn log_id(term: u64, index: u64) -> LogId {
    openraft::LogId::new(Clid::new(term), index)
}

/// The Kafka leader epoch of a term. Terms start at 0 and grow by one per election: the cast is lossless for any
/// realistic history, and saturates rather than wraps if one ever passed `i32::MAX`.
pub(crate) fn epoch_of(term: u64) -> i32 {
    i32::try_from(term).unwrap_or(i32::MAX)
}
