//! The transaction coordinator's view of its table ([`TABLE`]): every transactional id's committed metadata,
//! and per producer id what Produce checks, maintained only by a [`MetaWatcher`] on the table.
//!
//! Operations never edit it: they work on a copy under the transactional id's lock, commit the copy, and the
//! watcher (run before the commit returns) publishes it. A restart and a second store fed the same committed
//! changes therefore hold the same view.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use strait_engine::{MetaOp, MetaWatcher};

use super::state::{TABLE, TxnMetadata, TxnState};

/// What Produce needs to know about a transactional producer, derived from its committed metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProducerView {
    pub(super) epoch: i16,
    /// The transaction is Ongoing (Prepare*/Complete*/Empty refuse transactional data).
    pub(super) ongoing: bool,
    pub(super) partitions: HashSet<(String, i32)>,
    /// (group, topic, partition) of offsets committed in the transaction, not yet applied.
    pub(super) pending: HashSet<(String, String, i32)>,
}

impl ProducerView {
    fn of(m: &TxnMetadata) -> ProducerView {
        ProducerView {
            epoch: m.epoch,
            ongoing: m.state == TxnState::Ongoing,
            partitions: m.partitions.iter().cloned().collect(),
            pending: m
                .pending_offsets
                .iter()
                .map(|o| (o.group.clone(), o.topic.clone(), o.partition))
                .collect(),
        }
    }
}

#[derive(Default)]
pub(super) struct Views {
    pub(super) txns: BTreeMap<String, TxnMetadata>,
    pub(super) producers: HashMap<i64, ProducerView>,
}

impl Views {
    fn put(&mut self, m: TxnMetadata) {
        if let Some(old) = self.txns.get(&m.txn_id)
            && old.producer_id != m.producer_id
        {
            // A fresh producer id once the epoch ran out: the old one is no longer this id's.
            self.producers.remove(&old.producer_id);
        }
        self.producers.insert(m.producer_id, ProducerView::of(&m));
        self.txns.insert(m.txn_id.clone(), m);
    }

    fn remove(&mut self, txn_id: &str) {
        if let Some(old) = self.txns.remove(txn_id) {
            self.producers.remove(&old.producer_id);
        }
    }
}

/// The committed transaction state (see the module docs).
#[derive(Default)]
pub struct TxnCache {
    views: RwLock<Views>,
}

impl TxnCache {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Views> {
        self.views.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Views> {
        self.views.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, txn_id: &str) -> Option<TxnMetadata> {
        self.read().txns.get(txn_id).cloned()
    }

    pub(super) fn contains(&self, txn_id: &str) -> bool {
        self.read().txns.contains_key(txn_id)
    }

    pub(super) fn ids(&self) -> Vec<String> {
        self.read().txns.keys().cloned().collect()
    }

    /// Every transactional id's committed metadata, and per producer id the epoch, whether a transaction is
    /// ongoing, its partitions and pending offsets in sorted order (what tests compare).
    pub fn snapshot(&self) -> TxnSnapshot {
        let v = self.read();
        TxnSnapshot {
            txns: v.txns.clone(),
            producers: v
                .producers
                .iter()
                .map(|(pid, p)| {
                    let mut partitions: Vec<_> = p.partitions.iter().cloned().collect();
                    partitions.sort();
                    let mut pending: Vec<_> = p.pending.iter().cloned().collect();
                    pending.sort();
                    let view = ProducerSnapshot {
                        epoch: p.epoch,
                        ongoing: p.ongoing,
                        partitions,
                        pending,
                    };
                    (*pid, view)
                })
                .collect(),
        }
    }
}

/// A comparable copy of a [`TxnCache`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnSnapshot {
    pub txns: BTreeMap<String, TxnMetadata>,
    pub producers: BTreeMap<i64, ProducerSnapshot>,
}

/// What Produce checks for one producer id, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSnapshot {
    pub epoch: i16,
    pub ongoing: bool,
    pub partitions: Vec<(String, i32)>,
    /// (group, topic, partition) of offsets pending in the transaction.
    pub pending: Vec<(String, String, i32)>,
}

impl MetaWatcher for TxnCache {
    fn apply(&self, ops: &[MetaOp]) {
        let mut v = self.write();
        for op in ops {
            match op {
                MetaOp::Put { key, value, .. } => {
                    match serde_json::from_slice::<TxnMetadata>(value) {
                        Ok(m) => v.put(m),
                        // Skipped, as loading at start always did: the id starts over with its next InitProducerId.
                        Err(e) => tracing::error!(
                            txn = %String::from_utf8_lossy(key),
                            error = %e,
                            "unreadable transaction state skipped"
                        ),
                    }
                }
                MetaOp::Delete { key, .. } => v.remove(&String::from_utf8_lossy(key)),
                MetaOp::DeletePrefix { prefix, .. } => {
                    let doomed: Vec<String> = v
                        .txns
                        .keys()
                        .filter(|id| id.as_bytes().starts_with(prefix))
                        .cloned()
                        .collect();
                    for id in doomed {
                        v.remove(&id);
                    }
                }
            }
        }
    }
}

/// The table the cache follows.
pub(super) const TABLES: &[&str] = &[TABLE];

#[cfg(test)]
mod tests {
    use super::*;

    fn put(m: &TxnMetadata) -> MetaOp {
        MetaOp::Put {
            table: TABLE.into(),
            key: m.txn_id.as_bytes().to_vec(),
            value: serde_json::to_vec(m).expect("encode"),
        }
    }

    #[test]
    fn the_producer_view_follows_the_committed_metadata() {
        let cache = TxnCache::default();
        let mut m = TxnMetadata::new("t".into(), 1, 60_000, 0);
        m.state = TxnState::Ongoing;
        m.partitions.insert(("topic".into(), 0));
        cache.apply(&[put(&m)]);
        assert!(cache.read().producers[&1].ongoing);
        // A fresh producer id (the epoch ran out): the old id is no longer this transactional id's.
        m.producer_id = 2;
        m.state = TxnState::Empty;
        m.partitions.clear();
        cache.apply(&[put(&m)]);
        let snap = cache.snapshot();
        assert_eq!(snap.producers.keys().collect::<Vec<_>>(), [&2]);
        assert!(!snap.producers[&2].ongoing);
        assert_eq!(snap.txns["t"], m);
        // A row that does not decode is skipped; a deleted one takes its producer view with it.
        cache.apply(&[MetaOp::Put {
            table: TABLE.into(),
            key: b"bad".to_vec(),
            value: b"{".to_vec(),
        }]);
        cache.apply(&[MetaOp::Delete {
            table: TABLE.into(),
            key: b"t".to_vec(),
        }]);
        assert_eq!(cache.snapshot(), TxnSnapshot::default());
    }
}
