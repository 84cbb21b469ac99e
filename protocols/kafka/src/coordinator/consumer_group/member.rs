//! A member of a consumer-protocol group and the group itself (Kafka's `ConsumerGroupMember`, `ConsumerGroup`).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::assignor::Assignment;

/// Where a member is in reconciling towards its target assignment (Kafka's `MemberState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Owns its target assignment at the current assignment epoch (or has nothing more it can take yet).
    Stable,
    /// Must revoke `pending_revocation` and acknowledge it before it gets a new epoch.
    UnrevokedPartitions,
    /// Got the new epoch, but some target partitions are still owned by members that have to revoke them.
    UnreleasedPartitions,
}

impl MemberState {
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "stable",
            MemberState::UnrevokedPartitions => "unrevoked_partitions",
            MemberState::UnreleasedPartitions => "unreleased_partitions",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_names: Vec<String>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    pub last_heartbeat: Instant,
    /// Set while the member must revoke partitions: it is fenced if it has not acknowledged by then.
    pub revocation_deadline: Option<Instant>,
    /// A static member that left with epoch -2: it keeps its partitions until its instance id rejoins or the
    /// session times out.
    pub left_static: bool,
}

impl Member {
    pub fn new(id: String, now: Instant) -> Member {
        Member {
            id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: 0,
            subscribed_names: Vec::new(),
            subscribed_regex: None,
            server_assignor: None,
            epoch: 0,
            previous_epoch: -1,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            last_heartbeat: now,
            revocation_deadline: None,
            left_static: false,
        }
    }
}

/// A consumer-protocol group.
#[derive(Debug, Default)]
pub struct ConsumerGroup {
    pub id: String,
    /// Bumped on every change of membership, subscriptions or subscribed topics' metadata.
    pub group_epoch: i32,
    /// The group epoch the target assignment was computed at.
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: BTreeMap<String, Member>,
    pub target: BTreeMap<String, Assignment>,
    /// Who holds each partition (assigned or still to be revoked): a partition is given to a new owner only once
    /// the old one has released it.
    pub owners: HashMap<(uuid::Uuid, i32), String>,
    /// The subscribed topics (name → id and partition count) the target was computed from.
    pub topics: BTreeMap<String, (uuid::Uuid, u32)>,
}

impl ConsumerGroup {
    pub fn new(id: String) -> ConsumerGroup {
        ConsumerGroup {
            id,
            assignor: super::assignor::UNIFORM.to_string(),
            ..Default::default()
        }
    }

    /// Kafka's consumer group states: Empty, Assigning (target not computed for the latest epoch), Reconciling
    /// (members moving towards the target), Stable.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.assignment_epoch < self.group_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// Drops a member and gives up everything it held.
    pub fn remove_member(&mut self, id: &str) {
        self.members.remove(id);
        self.target.remove(id);
        self.owners.retain(|_, owner| owner != id);
        self.group_epoch += 1;
    }
}
