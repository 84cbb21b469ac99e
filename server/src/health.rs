//! The node's readiness, shared between the startup/shutdown sequence and `/healthz`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Where the node is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Listeners are bound but the engine is still opening (recovery can take a while after a crash).
    Starting,
    /// All listeners serve requests.
    Ready,
    /// A termination signal arrived; in-flight requests are draining.
    ShuttingDown,
}

/// Cheaply cloneable handle to the current [`Phase`].
#[derive(Debug, Clone)]
pub struct Health(Arc<AtomicU8>);

impl Default for Health {
    fn default() -> Self {
        Health(Arc::new(AtomicU8::new(Phase::Starting as u8)))
    }
}

impl Health {
    pub fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Release);
        metrics::gauge!("strait_node_ready").set(if phase == Phase::Ready { 1.0 } else { 0.0 });
    }

    pub fn phase(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            x if x == Phase::Ready as u8 => Phase::Ready,
            x if x == Phase::ShuttingDown as u8 => Phase::ShuttingDown,
            _ => Phase::Starting,
        }
    }
}

/// One sample of this node's view of the cluster, taken once a second by the replication refresh loop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterHealth {
    pub node: u64,
    /// The controller group's leader as this node knows it; `None` while this node reaches no quorum.
    pub controller_leader: Option<u64>,
    pub controller_term: u64,
    /// Set when this node leads the controller but no quorum has acknowledged it for this long (more than twice
    /// the election timeout): it is cut off, and the others have elected a leader or cannot.
    pub controller_cut_off_ms: Option<u64>,
    /// Set when the leader this node names has sent it nothing for longer than that: with Raft's pre-vote, a
    /// follower that cannot reach a quorum keeps naming the last leader it knew, so the name alone proves nothing.
    pub controller_leader_unreachable: bool,
    /// Partition replicas on this node by role; `leaderless` ones take no writes until an election succeeds.
    pub leading: u64,
    pub following: u64,
    pub leaderless: u64,
    /// Entries the partitions this node leads have appended but not yet committed.
    pub commit_lag: u64,
}

/// The latest [`ClusterHealth`], shared by the replication loop (writer) and `/healthz` (reader). Empty on a
/// single node and until the first sample.
#[derive(Debug, Clone, Default)]
pub struct ClusterStatus(Arc<RwLock<Option<ClusterHealth>>>);

impl ClusterStatus {
    pub fn set(&self, h: ClusterHealth) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(h);
    }

    pub fn get(&self) -> Option<ClusterHealth> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip() {
        let h = Health::default();
        assert_eq!(h.phase(), Phase::Starting);
        for p in [Phase::Ready, Phase::ShuttingDown, Phase::Starting] {
            h.clone().set(p);
            assert_eq!(h.phase(), p);
        }
    }
}
