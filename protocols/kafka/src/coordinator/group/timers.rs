//! Deadlines of a group, driven by one task per group: member sessions (and the longer join timeout of new
//! members), MEMBER_ID_REQUIRED reservations, the join phase (initial delay or rebalance timeout), the sync
//! phase, and the retention of an Empty group's in-memory state.
//!
//! The task sleeps until the earliest deadline. Requests that move a deadline earlier wake it through the
//! cell's `Notify` (whose stored permit means a wake-up between computing the deadline and sleeping is not
//! lost); deadlines that moved later just cause a harmless early wake-up.

use std::sync::{Arc, Weak};

use tokio::time::Instant;

use super::state::{Group, GroupState, JoinTimer, JoinTimerKind};
use super::{GroupCell, GroupCoordinator, Inner, lock};

pub(super) fn spawn(coordinator: Weak<Inner>, cell: Arc<GroupCell>) {
    tokio::spawn(run(coordinator, cell));
}

async fn run(coordinator: Weak<Inner>, cell: Arc<GroupCell>) {
    loop {
        let (next, idle, id) = {
            let mut g = lock(&cell.group);
            if g.is(GroupState::Dead) {
                return;
            }
            let now = Instant::now();
            g.fire_timers(now);
            let next = g.next_deadline();
            g.armed = next;
            (next, g.idle_expired(now), g.id.clone())
        };
        if idle {
            let Some(inner) = coordinator.upgrade() else {
                return;
            };
            let removed =
                GroupCoordinator { inner }.remove_if(&id, |g| g.idle_expired(Instant::now()));
            if removed {
                tracing::debug!(group = %id, "dropped the in-memory state of an idle empty group");
                return;
            }
            continue;
        }
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = cell.wake.notified() => {}
                }
            }
            None => cell.wake.notified().await,
        }
    }
}

/// Whether a change made the group's earliest deadline earlier than what its task sleeps until.
pub(super) fn needs_wake(g: &Group) -> bool {
    match (g.next_deadline(), g.armed) {
        (Some(next), Some(armed)) => next < armed,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl Group {
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let members = self.members.values().filter_map(|m| m.heartbeat_deadline);
        let pending = self.pending_members.values().copied();
        let phases = [
            self.join_timer.map(|t| t.at),
            self.sync_timer.map(|t| t.at),
            self.idle_deadline(),
        ];
        members
            .chain(pending)
            .chain(phases.into_iter().flatten())
            .min()
    }

    /// When an Empty group without members may be dropped from memory.
    fn idle_deadline(&self) -> Option<Instant> {
        (self.is(GroupState::Empty) && self.members.is_empty() && self.pending_members.is_empty())
            .then(|| self.state_since() + self.cfg.empty_group_retention)
    }

    pub(crate) fn idle_expired(&self, now: Instant) -> bool {
        self.idle_deadline().is_some_and(|at| at <= now)
    }

    /// Runs every deadline that has passed.
    pub(crate) fn fire_timers(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.heartbeat_deadline.is_some_and(|d| d <= now))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            self.expire_member(&id);
        }
        let expired: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "pending member expired before joining");
            self.remove(&id);
            if self.is(GroupState::PreparingRebalance) && self.has_all_members_joined() {
                self.complete_join_phase();
            }
        }
        if let Some(t) = self.join_timer.filter(|t| t.at <= now) {
            self.join_timer = None;
            self.fire_join_timer(t, now);
        }
        if let Some(t) = self.sync_timer.filter(|t| t.at <= now) {
            self.sync_timer = None;
            self.expire_pending_sync(t.generation);
        }
    }

    /// A session ended without a heartbeat. Members parked in a rebalance count as alive (they cannot
    /// heartbeat then), except new ones; their session restarts when the rebalance answers them.
    fn expire_member(&mut self, id: &str) {
        let Some(m) = self.members.get_mut(id) else {
            return;
        };
        m.heartbeat_deadline = None;
        if m.has_satisfied_heartbeat() {
            return;
        }
        tracing::info!(group = %self.id, member = %id, "member session expired");
        self.remove_member_and_update(id, "session timeout");
    }

    fn fire_join_timer(&mut self, t: JoinTimer, now: Instant) {
        if !self.is(GroupState::PreparingRebalance) {
            return;
        }
        match t.kind {
            // Kafka's tryCompleteInitialRebalanceElseSchedule: keep waiting while members keep arriving,
            // but never past the rebalance timeout.
            JoinTimerKind::InitialDelay { delay, remaining }
                if self.new_member_added && !remaining.is_zero() =>
            {
                self.new_member_added = false;
                let next_delay = self.cfg.initial_rebalance_delay.min(remaining);
                self.join_timer = Some(JoinTimer {
                    at: now + next_delay,
                    kind: JoinTimerKind::InitialDelay {
                        delay: next_delay,
                        remaining: remaining.saturating_sub(delay),
                    },
                });
            }
            JoinTimerKind::InitialDelay { .. } | JoinTimerKind::Rebalance => {
                self.complete_join_phase()
            }
        }
    }

    /// Members that got their JoinGroup answer but never synced are dropped, and the rest rebalance.
    fn expire_pending_sync(&mut self, generation: i32) {
        if generation != self.generation
            || !matches!(
                self.state(),
                GroupState::CompletingRebalance | GroupState::Stable
            )
            || self.pending_sync.is_empty()
        {
            return;
        }
        let gone: Vec<String> = self.pending_sync.iter().cloned().collect();
        for id in &gone {
            self.remove(id);
        }
        tracing::info!(group = %self.id, members = ?gone, "removed members that did not sync in time");
        self.prepare_rebalance("members did not sync before the rebalance timeout");
    }
}
