//! Raft replication of Strait's partition logs on openraft (issue 15).
//!
//! One openraft group per partition whose Raft log **is** the partition log: an entry is one stored Kafka v2
//! batch, Raft's own entries are control batches, the leader epoch is the Raft term, and the state machine only
//! moves the log's committed point (no second copy of the data). The crate owns no sockets: RPCs travel through a
//! [`RaftRpc`] the node provides (its inter-node transport; tests use a simulated network).
//!
//! Modules: `types` (type configuration), `control` (Raft entries as control batches), `index` (Raft index ↔
//! offset), `state` (vote, commit hint, log start, applied point per replica), `store` (the log storage and
//! reader), `machine` (the state machine), `network` (RPC encoding and dispatch), `group` (one replica), `meta` (the replicated metadata
//! store over the controller group).

mod control;
mod error;
mod group;
mod index;
mod log;
mod machine;
mod meta;
mod network;
mod state;
mod store;
mod types;

pub use control::{ControlError, KRAFT_VOTERS, LEADER_CHANGE};
pub use error::{GroupError, ProposeError, RpcFailure};
pub use group::{DataGroup, GroupArgs, Progress, Timing};
pub use log::{AppendForward, ReplicatedLog};
pub use machine::ApplyHook;
pub use meta::{CONTROLLER_GROUP, CONTROLLER_TOPIC, MetaArgs, MetaForward, MetaRetry, RaftMeta};
pub use network::{GroupId, Method, RaftRpc, RpcFuture};
pub use openraft::BasicNode;
pub use types::{Appended, Batch, DataConfig, RaftNodeId};
