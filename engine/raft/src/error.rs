//! The crate's errors. openraft's storage traits speak `io::Error`; [`GroupError`] converts at that edge.

use std::io;

use strait_engine::EngineError;
use strait_engine::batch::BatchError;

use crate::control::ControlError;
use crate::types::RaftNodeId;

/// A failure of a group's storage or state.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("raft state row {row} is unreadable: {reason}")]
    CorruptState { row: String, reason: String },
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("raft log of {group}: {reason}")]
    Inconsistent { group: String, reason: String },
    #[error("raft: {0}")]
    Raft(String),
}

impl From<GroupError> for io::Error {
    fn from(e: GroupError) -> io::Error {
        io::Error::other(e)
    }
}

/// Why a proposal was not appended.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// This replica does not lead the partition; `leader` is the one it knows of, if any.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<RaftNodeId> },
    /// Leadership changed after the entry was appended: it may or may not commit. A retry must be
    /// deduplicated (idempotent producers are; others may write twice, as on Kafka after a timeout).
    #[error("leadership changed while the write was in flight; its outcome is unknown")]
    Indeterminate,
    /// The batch would not be accepted by the log.
    #[error(transparent)]
    Invalid(#[from] BatchError),
    #[error("the group has stopped: {0}")]
    Stopped(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A failed inter-node call, as the transport reports it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcFailure {
    #[error("peer {0} unreachable: {1}")]
    Unreachable(RaftNodeId, String),
    #[error("call timed out")]
    Timeout,
    #[error("bad rpc body: {0}")]
    Codec(String),
    #[error("unknown raft group {0}")]
    UnknownGroup(u64),
    #[error("unknown raft method {0}")]
    UnknownMethod(u16),
    #[error("remote: {0}")]
    Remote(String),
}
