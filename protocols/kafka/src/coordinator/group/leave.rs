//! LeaveGroup: members leaving on shutdown (v0-2 one member, v3+ a batch, possibly by instance id only, as
//! `kafka-consumer-groups --delete-members` or an admin removing static members does).

use kafka_protocol::error::ResponseError;

use super::member::{JoinResult, SyncResult};
use super::state::{Group, GroupState};
use super::{GroupCoordinator, valid_group_id};

/// One member named in a LeaveGroup request.
#[derive(Debug, Clone)]
pub struct LeavingMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub reason: Option<String>,
}

impl GroupCoordinator {
    /// Returns one error (or `None`) per member, or a group-level error.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[LeavingMember],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        if !valid_group_id(group_id) {
            return Err(ResponseError::InvalidGroupId);
        }
        self.with_group(group_id, false, |g| g.leave(members))
            .unwrap_or(Err(ResponseError::UnknownMemberId))
    }
}

impl Group {
    fn leave(
        &mut self,
        leaving: &[LeavingMember],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        if self.is(GroupState::Dead) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let results: Vec<Option<ResponseError>> =
            leaving.iter().map(|m| self.leave_one(m)).collect();
        if results.iter().any(Option::is_none) {
            match self.state() {
                GroupState::Stable | GroupState::CompletingRebalance => {
                    self.maybe_prepare_rebalance_or_complete_join("members left the group")
                }
                GroupState::PreparingRebalance => self.maybe_complete_join_phase(),
                GroupState::Empty | GroupState::Dead => {}
            }
        }
        Ok(results)
    }

    fn leave_one(&mut self, m: &LeavingMember) -> Option<ResponseError> {
        let reason = m.reason.as_deref().unwrap_or("not provided");
        if m.member_id.is_empty() {
            // Administrative removal by instance id.
            let id = m
                .instance_id
                .as_ref()
                .and_then(|i| self.static_members.get(i).cloned());
            return match id {
                Some(id) => {
                    self.remove_leaving_member(&id, reason);
                    None
                }
                None => Some(ResponseError::UnknownMemberId),
            };
        }
        if self.pending_members.contains_key(&m.member_id) {
            self.remove(&m.member_id);
            return None;
        }
        if let Err(e) = self.validate_member(&m.member_id, m.instance_id.as_deref()) {
            return Some(e);
        }
        self.remove_leaving_member(&m.member_id, reason);
        None
    }

    /// Answers the member's parked requests with UNKNOWN_MEMBER_ID (a still-running client rejoins) and
    /// removes it; the caller moves the group on once all leavers are processed.
    fn remove_leaving_member(&mut self, id: &str, reason: &str) {
        tracing::info!(group = %self.id, member = %id, reason, "member left the group");
        self.complete_join(id, JoinResult::error(ResponseError::UnknownMemberId, ""));
        self.complete_sync(id, SyncResult::error(ResponseError::UnknownMemberId));
        self.remove(id);
    }
}
