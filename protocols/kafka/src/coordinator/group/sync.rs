//! SyncGroup: the leader hands in the assignment of the new generation and every member receives its part.
//! Followers that sync first park until the leader's assignment arrives.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::member::SyncResult;
use super::state::{Group, GroupState};
use super::{GroupCoordinator, valid_group_id};

/// A SyncGroup request in domain terms.
#[derive(Debug, Clone)]
pub struct SyncParams {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    /// v5+: must match the group's (checked when present).
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// Sent by the leader only.
    pub assignments: Vec<(String, Bytes)>,
}

enum Synced {
    Done(SyncResult),
    Parked(oneshot::Receiver<SyncResult>),
}

impl GroupCoordinator {
    pub async fn sync(&self, p: SyncParams) -> SyncResult {
        if !valid_group_id(&p.group_id) {
            return SyncResult::error(ResponseError::InvalidGroupId);
        }
        match self.with_group(&p.group_id, false, |g| g.sync(&p)) {
            None => SyncResult::error(ResponseError::UnknownMemberId),
            Some(Synced::Done(r)) => r,
            // Unanswered only if the member or group went away meanwhile.
            Some(Synced::Parked(rx)) => rx
                .await
                .unwrap_or_else(|_| SyncResult::error(ResponseError::CoordinatorNotAvailable)),
        }
    }
}

/// A protocol type or name in the request conflicts with the group's (both must be known to conflict).
fn inconsistent(requested: Option<&str>, group: Option<&str>) -> bool {
    matches!((requested, group), (Some(r), Some(g)) if r != g)
}

impl Group {
    fn validate_sync(&self, p: &SyncParams) -> Result<(), ResponseError> {
        if self.is(GroupState::Dead) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        self.validate_member(&p.member_id, p.instance_id.as_deref())?;
        if p.generation_id != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        if inconsistent(p.protocol_type.as_deref(), self.protocol_type.as_deref())
            || inconsistent(p.protocol_name.as_deref(), self.protocol_name.as_deref())
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        Ok(())
    }

    fn sync(&mut self, p: &SyncParams) -> Synced {
        if self.is(GroupState::Empty) {
            return Synced::Done(SyncResult::error(ResponseError::UnknownMemberId));
        }
        if let Err(e) = self.validate_sync(p) {
            return Synced::Done(SyncResult::error(e));
        }
        match self.state() {
            GroupState::PreparingRebalance => {
                Synced::Done(SyncResult::error(ResponseError::RebalanceInProgress))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(&p.member_id) {
                    m.sync_waiter = Some(tx);
                }
                self.mark_synced(&p.member_id);
                if self.is_leader(&p.member_id) {
                    tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), "assignment received from the leader");
                    let assignment: HashMap<String, Bytes> =
                        p.assignments.iter().cloned().collect();
                    self.set_and_propagate_assignment(assignment);
                    self.transition_to(GroupState::Stable);
                }
                Synced::Parked(rx)
            }
            GroupState::Stable => {
                // Already assigned (a follower syncing after the leader, or a repeated sync).
                self.mark_synced(&p.member_id);
                let assignment = self
                    .members
                    .get(&p.member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                Synced::Done(SyncResult {
                    error: None,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: self.protocol_name.clone(),
                    assignment,
                })
            }
            // Excluded above; kept explicit so a new state must be considered here.
            GroupState::Empty | GroupState::Dead => {
                Synced::Done(SyncResult::error(ResponseError::UnknownMemberId))
            }
        }
    }

    /// The member is no longer expected to sync; the sync deadline is dropped once nobody is.
    fn mark_synced(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_timer = None;
        }
    }
}
