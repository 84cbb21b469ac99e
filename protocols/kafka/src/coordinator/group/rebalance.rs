//! The rebalance protocol's transitions, shared by every request and timer: starting a rebalance, completing
//! the join phase into a new generation, and distributing (or cancelling) assignments. A port of Kafka's
//! `GroupMetadataManager` classic-group logic, minus the log writes: group metadata here lives in memory only.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::time::Instant;

use super::member::{JoinResult, SyncResult};
use super::state::{Group, GroupState, JoinTimer, JoinTimerKind, SyncTimer};
use super::subscription;

impl Group {
    /// Starts a rebalance if the state allows one; otherwise (already preparing) tries to finish the join.
    pub(crate) fn maybe_prepare_rebalance_or_complete_join(&mut self, reason: &str) {
        if self.can_rebalance() {
            self.prepare_rebalance(reason);
        } else {
            self.maybe_complete_join_phase();
        }
    }

    pub(crate) fn prepare_rebalance(&mut self, reason: &str) {
        // Members waiting for an assignment of a generation that will not happen must rejoin.
        if self.is(GroupState::CompletingRebalance) {
            self.reset_and_propagate_error(ResponseError::RebalanceInProgress);
        }
        self.pending_sync.clear();
        self.sync_timer = None;

        let initial = self.is(GroupState::Empty);
        if initial {
            // A fresh group gives other members time to arrive before the first generation forms.
            let delay = self.cfg.initial_rebalance_delay;
            let remaining = self.rebalance_timeout().saturating_sub(delay);
            self.join_timer = Some(JoinTimer {
                at: Instant::now() + delay,
                kind: JoinTimerKind::InitialDelay { delay, remaining },
            });
        }
        self.transition_to(GroupState::PreparingRebalance);
        tracing::info!(group = %self.id, generation = self.generation, reason, "preparing to rebalance");
        if !initial {
            self.maybe_complete_join_else_schedule();
        }
    }

    fn maybe_complete_join_else_schedule(&mut self) {
        if self.has_all_members_joined() {
            self.complete_join_phase();
        } else {
            self.join_timer = Some(JoinTimer {
                at: Instant::now() + self.rebalance_timeout(),
                kind: JoinTimerKind::Rebalance,
            });
        }
    }

    /// Completes the join phase once everyone expected has rejoined, except during the initial delay, which
    /// always runs to its timer so late starters make the first generation.
    pub(crate) fn maybe_complete_join_phase(&mut self) {
        if self.is(GroupState::PreparingRebalance)
            && self.previous_state() != GroupState::Empty
            && self.has_all_members_joined()
        {
            self.complete_join_phase();
        }
    }

    /// Ends the join phase: drops dynamic members that did not rejoin, forms the next generation and answers
    /// every parked JoinGroup (the leader gets everyone's metadata, followers an empty list).
    pub(crate) fn complete_join_phase(&mut self) {
        self.join_timer = None;
        // Static members keep their place without rejoining: their session timeout decides their fate.
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_awaiting_join() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in &gone {
            self.remove(id);
        }
        if !gone.is_empty() {
            tracing::info!(group = %self.id, members = ?gone, "removed members that did not rejoin in time");
        }
        if self.is(GroupState::Dead) {
            return;
        }
        if !self.maybe_elect_new_joined_leader() && !self.members.is_empty() {
            // Nobody rejoined: wait another rebalance timeout for sessions to expire the silent members.
            tracing::warn!(group = %self.id, "no member rejoined; postponing the rebalance");
            self.join_timer = Some(JoinTimer {
                at: Instant::now() + self.rebalance_timeout(),
                kind: JoinTimerKind::Rebalance,
            });
            return;
        }
        self.init_next_generation();
        if self.is(GroupState::Empty) {
            tracing::info!(group = %self.id, generation = self.generation, "group is now empty");
            return;
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(),
            protocol = ?self.protocol_name, "stabilized group");
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let leader = self.is_leader(&id);
            let result = JoinResult {
                error: None,
                member_id: id.clone(),
                generation_id: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol_name.clone(),
                leader: self.leader_or_empty(),
                skip_assignment: false,
                members: if leader {
                    self.joined_members()
                } else {
                    Vec::new()
                },
            };
            self.complete_join(&id, result);
            self.reschedule_session(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.is_new = false;
            }
            self.pending_sync.insert(id);
        }
        self.sync_timer = Some(SyncTimer {
            at: Instant::now() + self.rebalance_timeout(),
            generation: self.generation,
        });
    }

    /// Keeps the leader if it rejoined, else promotes the first member that did. False if nobody rejoined.
    fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.clone() else {
            return false;
        };
        if self
            .members
            .get(&leader)
            .is_some_and(|m| m.is_awaiting_join())
        {
            return true;
        }
        match self.members.values().find(|m| m.is_awaiting_join()) {
            Some(m) => {
                tracing::info!(group = %self.id, old = %leader, new = %m.id, "leader did not rejoin; elected a new one");
                self.leader = Some(m.id.clone());
                true
            }
            None => false,
        }
    }

    fn init_next_generation(&mut self) {
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = subscription::topics(self);
            self.transition_to(GroupState::Empty);
        } else {
            self.protocol_name = self.select_protocol();
            self.subscribed_topics = subscription::topics(self);
            self.transition_to(GroupState::CompletingRebalance);
        }
        self.pending_sync.clear();
    }

    /// Cancels the assignment of this generation: every parked SyncGroup gets `error`.
    pub(crate) fn reset_and_propagate_error(&mut self, error: ResponseError) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
        }
        self.propagate_assignment(Some(error));
    }

    /// Stores the leader's assignment (empty for members it left out) and answers every parked SyncGroup.
    pub(crate) fn set_and_propagate_assignment(&mut self, mut assignment: HashMap<String, Bytes>) {
        for m in self.members.values_mut() {
            m.assignment = assignment.remove(&m.id).unwrap_or_default();
        }
        self.propagate_assignment(None);
    }

    fn propagate_assignment(&mut self, error: Option<ResponseError>) {
        let (protocol_type, protocol_name) = match error {
            None => (self.protocol_type.clone(), self.protocol_name.clone()),
            Some(_) => (None, None),
        };
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let assignment = self.members[&id].assignment.clone();
            let answered = self.complete_sync(
                &id,
                SyncResult {
                    error,
                    protocol_type: protocol_type.clone(),
                    protocol_name: protocol_name.clone(),
                    assignment,
                },
            );
            // A session that expired while the member waited was ignored; it starts afresh now.
            if answered {
                self.reschedule_session(&id);
            }
        }
    }

    /// Removes a member (answering a parked JoinGroup with UNKNOWN_MEMBER_ID so a live client rejoins) and
    /// moves the group on: a rebalance if it was settled, or the end of a join phase now complete.
    pub(crate) fn remove_member_and_update(&mut self, member_id: &str, reason: &str) {
        self.complete_join(
            member_id,
            JoinResult::error(ResponseError::UnknownMemberId, ""),
        );
        self.remove(member_id);
        match self.state() {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance_or_complete_join(reason)
            }
            GroupState::PreparingRebalance if self.has_all_members_joined() => {
                self.complete_join_phase()
            }
            GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {}
        }
    }
}
