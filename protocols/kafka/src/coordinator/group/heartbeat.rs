//! Heartbeat: keeps a member's session alive and tells it when to rejoin (REBALANCE_IN_PROGRESS).

use kafka_protocol::error::ResponseError;

use super::state::{Group, GroupState};
use super::{GroupCoordinator, valid_group_id};

impl GroupCoordinator {
    /// Returns the error to answer with, `None` for success.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Option<ResponseError> {
        if !valid_group_id(group_id) {
            return Some(ResponseError::InvalidGroupId);
        }
        self.with_group(group_id, false, |g| {
            g.heartbeat(member_id, instance_id, generation_id)
        })
        .unwrap_or(Some(ResponseError::UnknownMemberId))
    }
}

impl Group {
    fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Option<ResponseError> {
        if self.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(e) = self.validate_member(member_id, instance_id) {
            return Some(e);
        }
        if generation_id != self.generation {
            return Some(ResponseError::IllegalGeneration);
        }
        match self.state() {
            GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                self.reschedule_session(member_id);
                Some(ResponseError::RebalanceInProgress)
            }
            // Clients heartbeat while waiting for SyncGroup too; that is a normal heartbeat.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.reschedule_session(member_id);
                None
            }
        }
    }
}
