//! Who holds a (consumer, shard) subscription: AWS's takeover rule.
//!
//! A second SubscribeToShard for the same consumer and shard within 5 seconds of a successful one is refused with
//! ResourceInUseException; at 5 seconds or later it takes the subscription over and the older stream ends. Each
//! live subscription holds a [`Lease`]; dropping it (stream ended, client gone) frees the slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Identifies one shard of one life of one consumer: the consumer ARN carries its creation time, the stream its
/// incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LeaseKey {
    pub(crate) consumer_arn: String,
    pub(crate) incarnation: u32,
    pub(crate) shard: u32,
}

struct Holder {
    id: u64,
    started_ms: i64,
    /// Set to true to tell the holder it was taken over.
    revoke: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    holders: HashMap<LeaseKey, Holder>,
}

/// The registry of live subscriptions.
#[derive(Clone, Default)]
pub(crate) struct Leases {
    state: Arc<Mutex<State>>,
}

/// Held by a live subscription.
pub(crate) struct Lease {
    leases: Leases,
    key: LeaseKey,
    id: u64,
    /// Becomes true when a newer subscription takes over.
    pub(crate) revoked: watch::Receiver<bool>,
}

/// Why a lease was not granted: another subscription started `age_ms` ago, within the takeover window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

impl Leases {
    /// Grants the lease for `key` at `now_ms`, taking it over from a holder that started at least `window_ms`
    /// ago, or refuses it.
    pub(crate) fn acquire(
        &self,
        key: LeaseKey,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Lease, Busy> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = st.holders.get(&key) {
            if now_ms < h.started_ms.saturating_add(window_ms) {
                return Err(Busy);
            }
            // Tell the older stream to end; it removes nothing on drop because the id no longer matches.
            h.revoke.send_replace(true);
        }
        st.next_id += 1;
        let id = st.next_id;
        let (revoke, revoked) = watch::channel(false);
        st.holders.insert(
            key.clone(),
            Holder {
                id,
                started_ms: now_ms,
                revoke,
            },
        );
        Ok(Lease {
            leases: self.clone(),
            key,
            id,
            revoked,
        })
    }

    /// Live subscriptions (tests, metrics).
    pub(crate) fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .holders
            .len()
    }
}

impl Lease {
    pub(crate) fn is_revoked(&self) -> bool {
        *self.revoked.borrow()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut st = self.leases.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.holders.get(&self.key).is_some_and(|h| h.id == self.id) {
            st.holders.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LeaseKey {
        LeaseKey {
            consumer_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1".into(),
            incarnation: 7,
            shard: 0,
        }
    }

    #[test]
    fn second_call_within_the_window_is_refused_later_one_takes_over() {
        let leases = Leases::default();
        let first = leases.acquire(key(), 1_000, 5_000).expect("free");
        assert_eq!(leases.acquire(key(), 5_999, 5_000).err(), Some(Busy));
        assert!(!first.is_revoked());
        let second = leases.acquire(key(), 6_000, 5_000).expect("takeover");
        assert!(first.is_revoked());
        assert!(!second.is_revoked());
        // The old holder going away must not free the new holder's slot.
        drop(first);
        assert_eq!(leases.len(), 1);
        assert_eq!(leases.acquire(key(), 6_001, 5_000).err(), Some(Busy));
        drop(second);
        assert_eq!(leases.len(), 0);
        let other_shard = LeaseKey { shard: 1, ..key() };
        let _a = leases.acquire(key(), 6_002, 5_000).expect("free again");
        let _b = leases
            .acquire(other_shard, 6_002, 5_000)
            .expect("another shard is independent");
    }
}
