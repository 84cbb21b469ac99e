//! Static membership (KIP-345): a restarted static member takes over its previous member id's place and
//! assignment under a new id, fencing the old id, and a Stable group does not rebalance for it.

use kafka_protocol::error::ResponseError;

use super::join::Joined;
use super::member::{JoinParams, JoinResult, SyncResult};
use super::state::{Group, GroupState};

impl Group {
    /// KIP-345: a static member restarted (it joins without a member id but with a known instance id). It
    /// takes over the old member's place and assignment under a new id; the old id is fenced. A Stable group
    /// does not rebalance unless the change alters the group's protocol.
    pub(super) fn replace_static_member_and_rejoin(
        &mut self,
        p: &JoinParams,
        old_id: &str,
        new_id: String,
    ) -> Joined {
        let current_leader = self.leader_or_empty();
        self.replace_static_member(old_id, &new_id);
        self.reschedule_session(&new_id);
        let rx = self.update_member(&new_id, p);
        tracing::info!(group = %self.id, instance = ?p.instance_id, old = %old_id, new = %new_id, state = self.state().name(), "static member rejoined");
        match self.state() {
            GroupState::Stable => {
                if self.protocol_name == self.select_protocol() {
                    let result = if p.version >= 9 {
                        // KIP-814: a returning leader learns it leads but keeps the current assignment.
                        let mut r = self.current_join_result(&new_id);
                        r.skip_assignment = self.is_leader(&new_id);
                        r
                    } else {
                        // Older clients would reassign if told they lead; a stable group would not
                        // broadcast that, so report the previous leader id, which is not theirs.
                        let mut r = self.current_join_result(&new_id);
                        r.members = Vec::new();
                        r.leader = current_leader;
                        r
                    };
                    self.complete_join(&new_id, result);
                } else {
                    self.maybe_prepare_rebalance_or_complete_join(
                        "static member rejoined with a protocol change",
                    );
                }
            }
            // The leader may already be assigning to the old id; the new id would get nothing.
            GroupState::CompletingRebalance => {
                self.prepare_rebalance("static member rejoined during CompletingRebalance")
            }
            GroupState::PreparingRebalance => self.maybe_complete_join_phase(),
            GroupState::Empty | GroupState::Dead => {
                tracing::error!(group = %self.id, state = self.state().name(), "static member in a group without members");
                self.complete_join(
                    &new_id,
                    JoinResult::error(ResponseError::CoordinatorNotAvailable, ""),
                );
            }
        }
        Joined::Parked(rx)
    }

    fn replace_static_member(&mut self, old_id: &str, new_id: &str) {
        let Some(mut old) = self.members.shift_remove(old_id) else {
            return;
        };
        // Whoever still waits under the old id is a zombie of the previous incarnation.
        if let Some(tx) = old.join_waiter.take() {
            let _ = tx.send(JoinResult::error(ResponseError::FencedInstanceId, old_id));
        }
        if let Some(tx) = old.sync_waiter.take() {
            let _ = tx.send(SyncResult::error(ResponseError::FencedInstanceId));
        }
        old.id = new_id.to_string();
        old.heartbeat_deadline = None;
        if let Some(instance) = &old.instance_id {
            self.static_members
                .insert(instance.clone(), new_id.to_string());
        }
        self.members.insert(new_id.to_string(), old);
        if self.is_leader(old_id) {
            self.leader = Some(new_id.to_string());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.to_string());
        }
    }
}
