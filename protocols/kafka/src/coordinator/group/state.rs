//! The data of one classic group: its state, generation, members and timers, with the bookkeeping operations
//! every request handler shares (adding and removing members, leader election, protocol selection, member
//! validation). The transitions themselves live in [`super::rebalance`] and the per-request modules.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use indexmap::IndexMap;
use kafka_protocol::error::ResponseError;
use tokio::time::Instant;

use super::config::GroupConfig;
use super::member::{JoinResult, Member, SyncResult};

/// Group states, named as Kafka prints them (DescribeGroups, ListGroups, `kafka-consumer-groups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members; committed offsets may remain.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    Stable,
    /// Removed; requests that still hold the group see this and retry against a fresh one.
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Kafka's allowed transitions (`ClassicGroupState.validPreviousStates`).
    fn may_follow(self, previous: GroupState) -> bool {
        use GroupState::*;
        match self {
            Empty => previous == PreparingRebalance,
            PreparingRebalance => matches!(previous, Stable | CompletingRebalance | Empty),
            CompletingRebalance => previous == PreparingRebalance,
            Stable => previous == CompletingRebalance,
            Dead => true,
        }
    }
}

/// What the pending join-phase timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinTimerKind {
    /// The initial-rebalance delay: extended while new members keep arriving and time remains.
    InitialDelay {
        delay: Duration,
        remaining: Duration,
    },
    /// The rebalance timeout: members that have not rejoined by then are dropped.
    Rebalance,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct JoinTimer {
    pub at: Instant,
    pub kind: JoinTimerKind,
}

/// Deadline for every member to send SyncGroup after a join phase completed in `generation`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncTimer {
    pub at: Instant,
    pub generation: i32,
}

pub(crate) struct Group {
    pub(crate) id: String,
    pub(crate) cfg: GroupConfig,
    state: GroupState,
    previous_state: GroupState,
    state_since: Instant,
    pub(crate) generation: i32,
    /// Set by the first member to join an empty group; kept while the group is Empty, as Kafka does.
    pub(crate) protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: Option<String>,
    /// In join order, so leader re-election and responses are deterministic.
    pub(crate) members: IndexMap<String, Member>,
    /// group.instance.id → member id of static members.
    pub(crate) static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet, with their expiry.
    pub(crate) pending_members: HashMap<String, Instant>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pub(crate) pending_sync: HashSet<String>,
    /// A member joined during the initial rebalance delay, which extends it.
    pub(crate) new_member_added: bool,
    pub(crate) join_timer: Option<JoinTimer>,
    pub(crate) sync_timer: Option<SyncTimer>,
    /// Topics the members subscribe to (consumer protocol only), computed per generation for OffsetDelete.
    pub(crate) subscribed_topics: Option<HashSet<String>>,
    /// The deadline the group's timer task is sleeping until, to know when it must be woken early.
    pub(crate) armed: Option<Instant>,
}

impl Group {
    pub(crate) fn new(id: String, cfg: GroupConfig) -> Group {
        Group {
            id,
            cfg,
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_since: Instant::now(),
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync: HashSet::new(),
            new_member_added: false,
            join_timer: None,
            sync_timer: None,
            subscribed_topics: None,
            armed: None,
        }
    }

    pub(crate) fn state(&self) -> GroupState {
        self.state
    }

    pub(crate) fn previous_state(&self) -> GroupState {
        self.previous_state
    }

    pub(crate) fn state_since(&self) -> Instant {
        self.state_since
    }

    pub(crate) fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub(crate) fn transition_to(&mut self, state: GroupState) {
        debug_assert!(
            state.may_follow(self.state),
            "group {}: illegal transition {:?} -> {:?}",
            self.id,
            self.state,
            state
        );
        tracing::debug!(group = %self.id, from = self.state.name(), to = state.name(), "group state change");
        self.previous_state = self.state;
        self.state = state;
        self.state_since = Instant::now();
    }

    /// States from which a new rebalance may start.
    pub(crate) fn can_rebalance(&self) -> bool {
        GroupState::PreparingRebalance.may_follow(self.state)
    }

    pub(crate) fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    pub(crate) fn leader_or_empty(&self) -> String {
        self.leader.clone().unwrap_or_default()
    }

    pub(crate) fn add(&mut self, member: Member) {
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        self.pending_members.remove(&member.id);
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member without answering its parked requests (callers answer first where Kafka does).
    pub(crate) fn remove(&mut self, member_id: &str) {
        if let Some(m) = self.members.shift_remove(member_id)
            && let Some(instance) = &m.instance_id
        {
            self.static_members.remove(instance);
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_members.remove(member_id);
        self.pending_sync.remove(member_id);
    }

    pub(crate) fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(Member::is_awaiting_join)
    }

    /// The group's rebalance timeout: the largest of its members'.
    pub(crate) fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Checks that `member_id` belongs to the group and, for static members, that it is the instance's
    /// current member id (an older one is a zombie: FENCED_INSTANCE_ID).
    pub(crate) fn validate_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        if let Some(instance) = instance_id {
            match self.static_members.get(instance) {
                None => return Err(ResponseError::UnknownMemberId),
                Some(current) if current != member_id => {
                    tracing::info!(group = %self.id, instance, member_id, current = %current, "fenced a stale static member");
                    return Err(ResponseError::FencedInstanceId);
                }
                Some(_) => {}
            }
        }
        if self.members.contains_key(member_id) {
            Ok(())
        } else {
            Err(ResponseError::UnknownMemberId)
        }
    }

    /// Answers a member's parked JoinGroup, if it has one.
    pub(crate) fn complete_join(&mut self, member_id: &str, result: JoinResult) -> bool {
        match self
            .members
            .get_mut(member_id)
            .and_then(|m| m.join_waiter.take())
        {
            // The client may have disconnected meanwhile; nothing to do then.
            Some(tx) => {
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }

    /// Answers a member's parked SyncGroup, if it has one.
    pub(crate) fn complete_sync(&mut self, member_id: &str, result: SyncResult) -> bool {
        match self
            .members
            .get_mut(member_id)
            .and_then(|m| m.sync_waiter.take())
        {
            Some(tx) => {
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }

    /// Restarts a member's session: it is removed unless it heartbeats (or rejoins) within `timeout`.
    pub(crate) fn reschedule_heartbeat(&mut self, member_id: &str, timeout: Duration) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.heartbeat_deadline = Some(Instant::now() + timeout);
        }
    }

    pub(crate) fn reschedule_session(&mut self, member_id: &str) {
        if let Some(timeout) = self.members.get(member_id).map(|m| m.session_timeout) {
            self.reschedule_heartbeat(member_id, timeout);
        }
    }
}
