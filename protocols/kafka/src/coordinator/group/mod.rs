//! The classic consumer-group coordinator (JoinGroup / SyncGroup / Heartbeat / LeaveGroup and committed
//! offsets). On a single node this broker coordinates every group.
//!
//! Module map:
//! - [`state`]: one group's data and bookkeeping; [`member`]: members and the results parked requests get;
//!   [`protocol`]: protocol negotiation; [`subscription`]: the topics consumer groups subscribe to.
//! - [`rebalance`]: the shared transitions (start a rebalance, complete the join phase, distribute
//!   assignments).
//! - [`join`], [`sync`], [`heartbeat`], [`leave`]: one request kind each; [`static_member`]: KIP-345
//!   restarts of static members.
//! - [`timers`]: session, join-phase and sync deadlines, driven by one task per group.
//! - [`offsets`]: committed offsets, durable in the metadata store; [`commit`]: OffsetCommit validation;
//!   [`admin`]: list, describe, delete groups and offsets.
//!
//! Concurrency: the registry maps group ids to cells; each cell holds its group behind a `std` mutex that is
//! only held for synchronous state changes, never across an await. JoinGroup and SyncGroup park by handing a
//! oneshot sender to the member and awaiting the receiver outside the lock. Lock order is registry, then
//! group. Group metadata is in memory only (lost on restart, as the brief allows); offsets are durable.

pub mod admin;
pub mod commit;
pub mod config;
pub mod error;
pub mod heartbeat;
pub mod join;
pub mod leave;
pub mod member;
pub mod offsets;
pub mod offsets_api;
pub mod protocol;
pub mod rebalance;
pub mod state;
pub mod static_member;
pub mod subscription;
pub mod sync;
pub mod timers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strait_engine::Engine;
use tokio::sync::Notify;

pub use config::GroupConfig;
pub use member::{JoinParams, JoinResult, JoinedMember, Protocol, SyncResult};
pub use state::GroupState;

use state::Group;

pub(crate) use super::lock;

/// Group ids are free-form in Kafka, but the offset store separates key parts with NUL bytes.
pub(crate) fn valid_group_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('\0')
}

/// A group and the signal that wakes its timer task when a deadline moved earlier.
pub(crate) struct GroupCell {
    pub group: Mutex<Group>,
    pub wake: Notify,
}

pub(crate) struct Inner {
    pub engine: Engine,
    pub cfg: GroupConfig,
    pub groups: Mutex<HashMap<String, Arc<GroupCell>>>,
    /// KIP-848 consumer-protocol groups, sharing group ids and the offset store with classic groups.
    pub consumer: crate::coordinator::consumer_group::ConsumerGroups,
}

impl Drop for Inner {
    /// Stops the timer tasks with the coordinator; parked requests are answered COORDINATOR_NOT_AVAILABLE
    /// when their senders drop.
    fn drop(&mut self) {
        let groups = std::mem::take(&mut *lock(&self.groups));
        for cell in groups.values() {
            let mut g = lock(&cell.group);
            g.transition_to(GroupState::Dead);
            g.members.clear();
            cell.wake.notify_one();
        }
    }
}

/// The coordinator shared by all connections; cheap to clone.
#[derive(Clone)]
pub struct GroupCoordinator {
    pub(crate) inner: Arc<Inner>,
}

impl GroupCoordinator {
    pub fn new(engine: Engine, cfg: GroupConfig) -> GroupCoordinator {
        GroupCoordinator {
            inner: Arc::new(Inner {
                engine,
                cfg,
                groups: Mutex::new(HashMap::new()),
                consumer: Default::default(),
            }),
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.inner.cfg
    }

    /// The consumer-protocol (KIP-848) groups.
    pub fn consumer(&self) -> &crate::coordinator::consumer_group::ConsumerGroups {
        &self.inner.consumer
    }

    /// Whether `id` is a classic group with members (KIP-848 heartbeats are refused for it then).
    pub fn classic_has_members(&self, id: &str) -> bool {
        self.with_group(id, false, |g| !g.members.is_empty())
            .unwrap_or(false)
    }

    pub(crate) fn lookup(&self, id: &str) -> Option<Arc<GroupCell>> {
        lock(&self.inner.groups).get(id).cloned()
    }

    fn get_or_create(&self, id: &str) -> Arc<GroupCell> {
        let mut groups = lock(&self.inner.groups);
        if let Some(cell) = groups.get(id) {
            return cell.clone();
        }
        let cell = Arc::new(GroupCell {
            group: Mutex::new(Group::new(id.to_string(), self.inner.cfg)),
            wake: Notify::new(),
        });
        groups.insert(id.to_string(), cell.clone());
        timers::spawn(Arc::downgrade(&self.inner), cell.clone());
        cell
    }

    /// Runs `f` on the live group `id` (created first when `create`), or returns `None` if there is none.
    /// A group found Dead was removed concurrently; the lookup is retried so callers never act on it.
    pub(crate) fn with_group<R>(
        &self,
        id: &str,
        create: bool,
        mut f: impl FnMut(&mut Group) -> R,
    ) -> Option<R> {
        loop {
            let cell = if create {
                self.get_or_create(id)
            } else {
                self.lookup(id)?
            };
            let mut g = lock(&cell.group);
            if g.is(GroupState::Dead) {
                continue;
            }
            let r = f(&mut g);
            if timers::needs_wake(&g) {
                cell.wake.notify_one();
            }
            return Some(r);
        }
    }

    /// Ids of the groups held in memory, with a snapshot of each taken under its lock.
    pub(crate) fn snapshot<R>(&self, mut f: impl FnMut(&Group) -> R) -> Vec<R> {
        let cells: Vec<Arc<GroupCell>> = lock(&self.inner.groups).values().cloned().collect();
        cells
            .iter()
            .filter_map(|c| {
                let g = lock(&c.group);
                (!g.is(GroupState::Dead)).then(|| f(&g))
            })
            .collect()
    }

    /// Removes group `id` from memory if `cond` holds for it, marking it Dead for anyone still holding it.
    pub(crate) fn remove_if(&self, id: &str, cond: impl FnOnce(&Group) -> bool) -> bool {
        let mut groups = lock(&self.inner.groups);
        let Some(cell) = groups.get(id).cloned() else {
            return false;
        };
        let mut g = lock(&cell.group);
        if !cond(&g) {
            return false;
        }
        g.transition_to(GroupState::Dead);
        groups.remove(id);
        cell.wake.notify_one();
        true
    }
}
