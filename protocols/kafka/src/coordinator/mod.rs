//! The coordinators and the state they keep, below the API handlers: they never import `api/` or the broker.
//! The handlers translate requests onto them.
//!
//! - [`group`]: the classic consumer-group coordinator and committed offsets (durable).
//! - [`consumer_group`]: KIP-848 consumer-protocol groups (held by [`group::GroupCoordinator`]).
//! - [`share`]: KIP-932 share groups: coordinator, sessions, share-partition record states.
//! - [`producer`]: idempotent-producer sequence state and producer-id allocation.
//! - [`txn`]: the transaction coordinator and its markers; it uses the group coordinator (transactional offset
//!   commits) and producer state (marker ordering), never the reverse.
//!
//! Dependency order inside this layer: `txn` → {`group`, `producer`}; `group` → `consumer_group`; every one of
//! them may use [`lock`], `follow`, `crate::topics`, `crate::codec` and `crate::error`.
//!
//! State that mirrors metadata rows (transaction coordinator state, the producer-id reservation, share-group
//! start offsets and group configs) is kept by a `MetaWatcher` on its tables and changes only when a commit
//! is applied: handlers build and commit `MetaOp`s and then read the result back. So a restart (fed the tables'
//! contents) and a second store fed the same committed changes build the same state (`tests/replay.rs`).
//! Live state that is not a mirror of rows (group membership, sessions, share-partition deliveries,
//! idempotent-producer state rebuilt from the logs) is kept by the coordinators themselves.

pub mod consumer_group;
mod follow;
pub mod group;
pub mod producer;
pub mod share;
pub mod txn;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex, recovering the data if a panicking thread poisoned it: coordinator state stays consistent at
/// every await-free step, so a panic elsewhere must not take the coordinator down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
