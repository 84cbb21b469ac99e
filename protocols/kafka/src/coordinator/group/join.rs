//! JoinGroup: new members (KIP-394 member ids, static members of KIP-345) and rejoining members. A join that
//! starts or takes part in a rebalance parks until the join phase completes.

use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::member::{JoinParams, JoinResult, Member};
use super::state::{Group, GroupState};
use super::{GroupCoordinator, valid_group_id};

/// The outcome of a JoinGroup once the group lock is released.
pub(crate) enum Joined {
    Done(JoinResult),
    Parked(oneshot::Receiver<JoinResult>),
}

impl GroupCoordinator {
    /// Handles a JoinGroup, waiting (without holding any lock) while the member is parked in a rebalance.
    pub async fn join(&self, p: JoinParams) -> JoinResult {
        if !valid_group_id(&p.group_id) {
            return JoinResult::error(ResponseError::InvalidGroupId, p.member_id);
        }
        let cfg = self.config();
        if p.session_timeout < cfg.min_session_timeout
            || p.session_timeout > cfg.max_session_timeout
        {
            return JoinResult::error(ResponseError::InvalidSessionTimeout, p.member_id);
        }
        // A member with an id must find its group; only a first join may create one.
        let create = p.member_id.is_empty();
        match self.with_group(&p.group_id, create, |g| g.join(&p)) {
            None => JoinResult::error(ResponseError::UnknownMemberId, p.member_id),
            Some(Joined::Done(r)) => r,
            // The sender is dropped unanswered only when the member or group went away meanwhile (or a newer
            // JoinGroup of the same member replaced this one): let the client rediscover and rejoin.
            Some(Joined::Parked(rx)) => rx.await.unwrap_or_else(|_| {
                JoinResult::error(ResponseError::CoordinatorNotAvailable, p.member_id.clone())
            }),
        }
    }
}

impl Group {
    fn join(&mut self, p: &JoinParams) -> Joined {
        if !self.accept_joining_member(&p.member_id) {
            self.remove(&p.member_id);
            return Joined::Done(JoinResult::error(ResponseError::GroupMaxSizeReached, ""));
        }
        if p.member_id.is_empty() {
            self.join_new_member(p)
        } else {
            self.join_existing_member(p)
        }
    }

    /// `group.max.size`: while preparing, parked members count (so the last rejoiners of a shrunk limit are
    /// the ones turned away); otherwise existing members are always accepted.
    fn accept_joining_member(&self, member_id: &str) -> bool {
        let max = self.cfg.max_size;
        let known = self.members.get(member_id);
        match self.state() {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                known.is_some_and(|m| m.is_awaiting_join())
                    || self
                        .members
                        .values()
                        .filter(|m| m.is_awaiting_join())
                        .count()
                        < max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                known.is_some() || self.members.len() < max
            }
        }
    }

    fn join_new_member(&mut self, p: &JoinParams) -> Joined {
        if self.is(GroupState::Dead) {
            return Joined::Done(JoinResult::error(
                ResponseError::CoordinatorNotAvailable,
                "",
            ));
        }
        if !self.supports_protocols(&p.protocol_type, &p.protocols) {
            return Joined::Done(JoinResult::error(
                ResponseError::InconsistentGroupProtocol,
                "",
            ));
        }
        let prefix = p.instance_id.as_deref().unwrap_or(&p.client_id);
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        if let Some(instance) = &p.instance_id {
            return match self.static_members.get(instance).cloned() {
                Some(old_id) => self.replace_static_member_and_rejoin(p, &old_id, new_id),
                None => self.add_member_and_rebalance(p, new_id),
            };
        }
        if p.version >= 4 {
            // KIP-394: hand out the id and make the client come back with it, so a client that times out and
            // retries reuses its id instead of piling up unknown members. The id is reserved for a session.
            tracing::debug!(group = %self.id, member = %new_id, "member id required");
            self.pending_members.insert(
                new_id.clone(),
                tokio::time::Instant::now() + p.session_timeout,
            );
            return Joined::Done(JoinResult::error(ResponseError::MemberIdRequired, new_id));
        }
        self.add_member_and_rebalance(p, new_id)
    }

    fn join_existing_member(&mut self, p: &JoinParams) -> Joined {
        let id = p.member_id.as_str();
        if self.is(GroupState::Dead) {
            return Joined::Done(JoinResult::error(
                ResponseError::CoordinatorNotAvailable,
                id,
            ));
        }
        if !self.supports_protocols(&p.protocol_type, &p.protocols) {
            return Joined::Done(JoinResult::error(
                ResponseError::InconsistentGroupProtocol,
                id,
            ));
        }
        if self.pending_members.contains_key(id) {
            // Ids handed out with MEMBER_ID_REQUIRED belong to dynamic members only.
            if p.instance_id.is_some() {
                return Joined::Done(JoinResult::error(ResponseError::UnknownMemberId, id));
            }
            return self.add_member_and_rebalance(p, id.to_string());
        }
        if let Err(e) = self.validate_member(id, p.instance_id.as_deref()) {
            return Joined::Done(JoinResult::error(e, id));
        }
        let matches = self
            .members
            .get(id)
            .is_some_and(|m| m.matches(&p.protocols));
        match self.state() {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(p, "member rejoined")
            }
            // Same metadata: the member probably missed our JoinGroup answer; repeat it.
            GroupState::CompletingRebalance if matches => {
                Joined::Done(self.current_join_result(id))
            }
            GroupState::CompletingRebalance => {
                self.update_member_and_rebalance(p, "member metadata changed")
            }
            // The leader rejoining asks for a new assignment (e.g. topic metadata changed).
            GroupState::Stable if self.is_leader(id) => {
                self.update_member_and_rebalance(p, "leader rejoined")
            }
            GroupState::Stable if !matches => {
                self.update_member_and_rebalance(p, "member metadata changed")
            }
            GroupState::Stable => Joined::Done(self.current_join_result(id)),
            GroupState::Empty | GroupState::Dead => {
                Joined::Done(JoinResult::error(ResponseError::UnknownMemberId, id))
            }
        }
    }

    /// The current generation as `member_id` sees it (the leader with everyone's metadata).
    pub(super) fn current_join_result(&self, member_id: &str) -> JoinResult {
        JoinResult {
            error: None,
            member_id: member_id.to_string(),
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_or_empty(),
            skip_assignment: false,
            members: if self.is_leader(member_id) {
                self.joined_members()
            } else {
                Vec::new()
            },
        }
    }

    pub(super) fn add_member_and_rebalance(&mut self, p: &JoinParams, id: String) -> Joined {
        let (tx, rx) = oneshot::channel();
        let mut member = Member::new(id.clone(), p);
        member.is_new = true;
        member.join_waiter = Some(tx);
        if self.is(GroupState::PreparingRebalance) && self.previous_state() == GroupState::Empty {
            self.new_member_added = true;
        }
        tracing::info!(group = %self.id, member = %id, instance = ?p.instance_id, reason = ?p.reason, "member joining");
        self.add(member);
        // New members cannot heartbeat and a vanished one must not stall rebalances forever.
        self.reschedule_heartbeat(&id, self.cfg.new_member_join_timeout);
        self.maybe_prepare_rebalance_or_complete_join("new member joined");
        Joined::Parked(rx)
    }

    /// Records the member's new protocols and timeouts and parks it in a (possibly new) rebalance.
    fn update_member_and_rebalance(&mut self, p: &JoinParams, reason: &str) -> Joined {
        let rx = self.update_member(&p.member_id, p);
        self.maybe_prepare_rebalance_or_complete_join(reason);
        Joined::Parked(rx)
    }

    pub(super) fn update_member(
        &mut self,
        id: &str,
        p: &JoinParams,
    ) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = self.members.get_mut(id) {
            m.protocols = p.protocols.clone();
            m.rebalance_timeout = p.rebalance_timeout;
            m.session_timeout = p.session_timeout;
            m.client_id = p.client_id.clone();
            m.client_host = p.client_host.clone();
            // A previous JoinGroup of the same member is superseded; dropping its sender answers it.
            m.join_waiter = Some(tx);
        }
        rx
    }
}
