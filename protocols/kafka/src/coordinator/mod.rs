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
//! them may use [`lock`], `crate::topics`, `crate::codec` and `crate::error`.

pub mod consumer_group;
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
