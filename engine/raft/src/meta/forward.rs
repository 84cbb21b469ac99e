//! Forwarding a commit from a node that does not lead the controller group to the one that does.
//!
//! Kept apart from the Raft RPCs ([`crate::Method`]) so the Raft network stays exactly openraft's: the node's
//! transport carries one more kind of call, routed to [`RaftMeta::serve_forward`](super::RaftMeta::serve_forward)
//! on the receiving node. The request body is the controller entry's record batch as the origin encoded it; the
//! answer is a small postcard-encoded [`Answer`].

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{ProposeError, RpcFailure};
use crate::network::RpcFuture;
use crate::types::RaftNodeId;

/// Carries a forwarded controller entry to node `to` and its answer back (the node's inter-node transport; a
/// simulated network in tests).
pub trait MetaForward: Send + Sync + 'static {
    fn forward(&self, to: RaftNodeId, body: Bytes) -> RpcFuture;
}

/// What the receiving node did with a forwarded entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Answer {
    /// Committed by a majority and applied on the receiver (the leader).
    Committed,
    /// The receiver does not lead; `leader` is who it thinks does. Nothing was appended.
    NotLeader { leader: Option<RaftNodeId> },
    /// Appended, then leadership changed: it may or may not commit.
    Indeterminate,
    /// The receiver refused the bytes (a different entry format, or damage in transit).
    Rejected(String),
    /// The receiver's controller replica has stopped.
    Stopped(String),
}

impl Answer {
    pub(crate) fn of(r: Result<(), ProposeError>) -> Answer {
        match r {
            Ok(()) => Answer::Committed,
            Err(ProposeError::NotLeader { leader }) => Answer::NotLeader { leader },
            Err(ProposeError::Indeterminate) => Answer::Indeterminate,
            Err(ProposeError::Invalid(e)) => Answer::Rejected(e.to_string()),
            Err(ProposeError::Stopped(s)) => Answer::Stopped(s),
            Err(ProposeError::Engine(e)) => Answer::Stopped(e.to_string()),
        }
    }

    pub(crate) fn encode(&self) -> Result<Bytes, RpcFailure> {
        postcard::to_stdvec(self)
            .map(Bytes::from)
            .map_err(|e| RpcFailure::Codec(e.to_string()))
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Answer, RpcFailure> {
        postcard::from_bytes(b).map_err(|e| RpcFailure::Codec(e.to_string()))
    }
}
