//! One replica of one partition's Raft group: opening it over a partition log, proposing batches as the leader,
//! serving the group's incoming RPCs, and who leads it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::async_runtime::WatchReceiver;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, SnapshotPolicy};
use strait_engine::batch::{BatchIter, validate_for_append};
use strait_engine::{MetaStore, Partition};

use crate::error::{GroupError, ProposeError, RpcFailure};
use crate::machine::{ApplyHook, DataMachine, Raft};
use crate::network::{GroupId, Method, NetworkFactory, RaftRpc, serve};
use crate::state::GroupState;
use crate::store::{LogStore, Shared};
use crate::types::{Appended, RaftNodeId};

/// See [`DataGroup::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub leader: Option<RaftNodeId>,
    pub term: u64,
    pub last_log: Option<u64>,
    pub applied: Option<u64>,
    /// On a leader: how long ago a quorum last acknowledged it. openraft leaders do not step down by themselves,
    /// so a leader cut off from its followers still names itself; this says it has lost them.
    pub millis_since_quorum_ack: Option<u64>,
}

/// Timing of a group. Data groups default to Redpanda-like values that keep thousands of idle groups cheap; the
/// constraint openraft documents (heartbeat + tick < election minimum) holds for the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat_ms: 250,
            election_min_ms: 1000,
            election_max_ms: 2000,
        }
    }
}

impl Timing {
    /// The openraft configuration of a data group.
    pub fn config(self, name: &str) -> Result<Arc<Config>, GroupError> {
        let c = Config {
            cluster_name: name.to_string(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            // Whole producer batches are entries (up to a MiB each): bound what one AppendEntries carries.
            max_payload_entries: 64,
            // The log is the state: never snapshot on a count, never drop log a replica may still need.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: u64::MAX,
            // Send to followers before the leader's own fsync finishes: latency = max(local, RTT + remote).
            broadcast_submitted_on_append: Some(true),
            // A replica cut off and back again must not depose a healthy leader by bumping the term.
            enable_pre_vote: Some(true),
            ..Default::default()
        };
        c.validate()
            .map(Arc::new)
            .map_err(|e| GroupError::Raft(e.to_string()))
    }
}

/// What opening a replica needs.
pub struct GroupArgs {
    pub node: RaftNodeId,
    pub group: GroupId,
    /// Stable name of the group in the node's state table, e.g. `topic/partition`.
    pub key: String,
    /// The partition log, opened with `CommitPolicy::External`.
    pub log: Arc<Partition>,
    pub meta: MetaStore,
    pub rpc: Arc<dyn RaftRpc>,
    pub timing: Timing,
    /// What else applying a committed entry does (the controller's metadata changes); `None` for data groups.
    pub hook: Option<Arc<dyn ApplyHook>>,
}

/// One replica of a partition's group.
pub struct DataGroup {
    node: RaftNodeId,
    timing: Timing,
    group: GroupId,
    raft: Raft,
    shared: Arc<Shared>,
}

impl DataGroup {
    /// Opens the replica over its log; it rejoins its group (or waits to be initialized) on its own.
    pub async fn open(a: GroupArgs) -> Result<DataGroup, GroupError> {
        let state = GroupState::new(a.meta, &a.key);
        let shared = Shared::open(a.key.clone(), a.log, state).await?;
        let store = LogStore {
            shared: shared.clone(),
        };
        let machine = DataMachine::open(shared.clone(), a.hook)?;
        let net = NetworkFactory::new(a.rpc, a.group);
        let raft = Raft::new(a.node, a.timing.config(&a.key)?, net, store, machine)
            .await
            .map_err(|e| GroupError::Raft(e.to_string()))?;
        Ok(DataGroup {
            node: a.node,
            timing: a.timing,
            group: a.group,
            raft,
            shared,
        })
    }

    /// Forms the group with `members` as voters, once: a group that has any state ignores it.
    pub async fn initialize(
        &self,
        members: BTreeMap<RaftNodeId, BasicNode>,
    ) -> Result<(), GroupError> {
        if self
            .raft
            .is_initialized()
            .await
            .map_err(|e| GroupError::Raft(e.to_string()))?
        {
            return Ok(());
        }
        match self.raft.initialize(members).await {
            Ok(()) => Ok(()),
            // Another replica initialized it first and this one already heard: fine.
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(GroupError::Raft(e.to_string())),
        }
    }

    /// Appends `records` (one or more batches) as the leader; returns once a majority of the replicas has them
    /// on disk and they are readable (acks=all). Batches are validated first: a batch the log would refuse must
    /// never become a Raft entry.
    pub async fn propose(&self, records: Bytes) -> Result<Appended, ProposeError> {
        let max = self.shared.log.max_inflated_batch_bytes();
        let mut batches = Vec::new();
        for b in BatchIter::new(&records) {
            let (_, range) = b?;
            validate_for_append(&records[range.clone()], max)?;
            batches.push(records.slice(range));
        }
        let mut first: Option<Appended> = None;
        let mut last = None;
        for b in batches {
            let data = crate::types::Batch {
                bytes: b,
                stamped: false,
            };
            let r = self.write(data).await?;
            first.get_or_insert(r);
            last = Some(r);
        }
        match (first, last) {
            (Some(f), Some(l)) => Ok(Appended {
                last_offset: l.last_offset,
                ..f
            }),
            _ => Err(ProposeError::Invalid(
                strait_engine::batch::BatchError::Truncated {
                    needed: 61,
                    have: records.len(),
                },
            )),
        }
    }

    /// One entry through Raft. A leader fresh from its election has no lease until a quorum answers it; the
    /// write waits for that (up to an election timeout) rather than bouncing the client.
    async fn write(&self, data: crate::types::Batch) -> Result<Appended, ProposeError> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.timing.election_max_ms);
        loop {
            match self.raft.client_write(data.clone()).await {
                Ok(r) => return Ok(r.data),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                    let settling = f.leader_id.is_none() && self.is_leader();
                    if !settling || tokio::time::Instant::now() >= deadline {
                        return Err(ProposeError::NotLeader {
                            leader: f.leader_id,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(_))) => {
                    return Err(ProposeError::Indeterminate);
                }
                Err(other) => return Err(ProposeError::Stopped(other.to_string())),
            }
        }
    }

    /// Serves an RPC addressed to this group.
    pub async fn handle(&self, method: Method, body: &[u8]) -> Result<Bytes, RpcFailure> {
        serve(&self.raft, method, body).await
    }

    pub fn node(&self) -> RaftNodeId {
        self.node
    }

    pub fn group(&self) -> GroupId {
        self.group
    }

    pub fn log(&self) -> &Arc<Partition> {
        &self.shared.log
    }

    /// The leader this replica knows of and the current term.
    pub fn leader(&self) -> (Option<RaftNodeId>, u64) {
        let rx = self.raft.metrics();
        let m = rx.borrow_watched();
        (m.current_leader, m.current_term)
    }

    /// This replica's view for metrics: the leader it knows, its term, and the last entry in its log and the
    /// last it applied (applied = committed here: apply only moves the high watermark).
    pub fn progress(&self) -> Progress {
        let rx = self.raft.metrics();
        let m = rx.borrow_watched();
        Progress {
            leader: m.current_leader,
            term: m.current_term,
            last_log: m.last_log_index,
            applied: m.last_applied.as_ref().map(|l| l.index()),
            millis_since_quorum_ack: m.last_quorum_acked.as_ref().map(|at| {
                u64::try_from(openraft::Instant::elapsed(&**at).as_millis()).unwrap_or(u64::MAX)
            }),
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader().0 == Some(self.node)
    }

    /// Waits up to `timeout` for any leader to be known; returns it.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<RaftNodeId> {
        let mut rx = self.raft.metrics();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let known = rx.borrow_watched().current_leader;
            if let Some(l) = known {
                return Some(l);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Stops the replica (its log stays open; the caller closes it).
    pub async fn shutdown(&self) -> Result<(), GroupError> {
        self.raft
            .shutdown()
            .await
            .map_err(|e| GroupError::Raft(e.to_string()))
    }
}
