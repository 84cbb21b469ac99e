//! Replication metrics, sampled from the groups' own Raft metrics once a second by the refresh loop: how many
//! replicas this node leads or follows (and how many have no known leader, i.e. are unavailable here), how far
//! the led groups' commit point trails their log, and how often leaders change.

use std::collections::HashMap;
use std::sync::Arc;

use strait_raft::{DataGroup, GroupId, RaftNodeId};

use crate::health::ClusterHealth;

/// What the previous sample saw, to count leader changes.
#[derive(Default)]
pub(super) struct Sampler {
    leaders: HashMap<GroupId, RaftNodeId>,
}

impl Sampler {
    /// Exports one sample of `groups` (the data groups this node hosts) and the controller group, and returns
    /// it for `/healthz`. `leader_silence`: how long ago the controller leader this node names last sent it an
    /// RPC; past `cut_off_after_ms` (or never) that leader counts as unreachable.
    pub(super) fn sample(
        &mut self,
        node: RaftNodeId,
        groups: &[Arc<DataGroup>],
        controller: &DataGroup,
        cut_off_after_ms: u64,
        leader_silence: Option<std::time::Duration>,
    ) -> ClusterHealth {
        let (mut leading, mut following, mut leaderless, mut lag) = (0u64, 0u64, 0u64, 0u64);
        let mut changes = 0u64;
        let mut seen = HashMap::with_capacity(groups.len());
        for g in groups {
            let p = g.progress();
            match p.leader {
                Some(l) if l == node => {
                    leading += 1;
                    lag += p
                        .last_log
                        .unwrap_or(0)
                        .saturating_sub(p.applied.unwrap_or(0));
                }
                Some(_) => following += 1,
                None => leaderless += 1,
            }
            if let Some(l) = p.leader {
                // A group seen for the first time (just opened) is not a change.
                if self
                    .leaders
                    .get(&g.group())
                    .is_some_and(|&before| before != l)
                {
                    changes += 1;
                }
                seen.insert(g.group(), l);
            } else if let Some(&before) = self.leaders.get(&g.group()) {
                seen.insert(g.group(), before);
            }
        }
        self.leaders = seen;
        metrics::gauge!("strait_raft_replicas", "role" => "leader").set(leading as f64);
        metrics::gauge!("strait_raft_replicas", "role" => "follower").set(following as f64);
        metrics::gauge!("strait_raft_replicas", "role" => "leaderless").set(leaderless as f64);
        metrics::gauge!("strait_raft_commit_lag_entries").set(lag as f64);
        metrics::counter!("strait_raft_leader_changes_total").increment(changes);
        let c = controller.progress();
        metrics::gauge!("strait_raft_controller_leader").set(c.leader.map_or(-1.0, |l| l as f64));
        metrics::gauge!("strait_raft_controller_term").set(c.term as f64);
        ClusterHealth {
            node,
            controller_leader: c.leader,
            controller_term: c.term,
            controller_cut_off_ms: c
                .millis_since_quorum_ack
                .filter(|ms| c.leader == Some(node) && *ms > cut_off_after_ms),
            controller_leader_unreachable: c.leader.is_some_and(|l| l != node)
                && leader_silence.is_none_or(|d| d.as_millis() > u128::from(cut_off_after_ms)),
            leading,
            following,
            leaderless,
            commit_lag: lag,
        }
    }
}
