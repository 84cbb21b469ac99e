//! Watches of committed metadata changes: how every in-memory cache follows the metadata store.
//!
//! A cache (Kinesis streams, DynamoDB tables, group, producer and transaction state, ...) never updates itself in
//! a request handler. It registers a [`MetaWatcher`] for its tables, is fed the tables' current contents once
//! (as `Put`s), and then every committed batch that touches them, in commit order, on the metadata writer thread,
//! before the committing caller's `commit` returns. So a handler that commits and then reads its cache sees its
//! own write, and anything else that produces the same committed changes (a restart replaying the store, a
//! follower applying a replicated log) builds the same cache.
//!
//! Watchers run on the writer thread: they must only update memory (no I/O, no blocking, no commits).

use std::sync::Arc;

use super::MetaOp;

/// A consumer of committed metadata changes.
pub trait MetaWatcher: Send + Sync {
    /// One committed batch's changes to the watched tables, in order (never empty). Batches arrive in commit
    /// order; the initial contents arrive as one batch of `Put`s per table.
    fn apply(&self, ops: &[MetaOp]);
}

impl<F: Fn(&[MetaOp]) + Send + Sync> MetaWatcher for F {
    fn apply(&self, ops: &[MetaOp]) {
        self(ops)
    }
}

/// The first row a watcher could not decode. Watchers cannot fail (they run on the writer thread after the
/// commit), so a cache records the damage here and its owner refuses to open over it.
#[derive(Debug, Default)]
pub struct FirstCorruptRow(std::sync::Mutex<Option<String>>);

impl FirstCorruptRow {
    /// Logs and keeps (if it is the first) "`what` metadata `key` is corrupt: `error`".
    pub fn record(&self, what: &str, key: &[u8], error: &dyn std::fmt::Display) {
        let message = format!(
            "{what} metadata {} is corrupt: {error}",
            String::from_utf8_lossy(key)
        );
        tracing::error!("{message}");
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(message);
    }

    /// The first corruption recorded, if any.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Which tables a watcher follows.
#[derive(Debug, Clone)]
pub enum Tables {
    /// Every table: a change-stream tap (tests feed it to a second store to prove caches rebuild identically).
    All,
    Named(Vec<String>),
}

impl Tables {
    pub fn named<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Tables {
        Tables::Named(names.into_iter().map(Into::into).collect())
    }

    /// Every cluster-state table of the registry ([`super::tables`]): what a replicated metadata log carries.
    pub fn cluster() -> Tables {
        Tables::named(super::tables::cluster_tables())
    }

    pub(crate) fn contains(&self, table: &str) -> bool {
        match self {
            Tables::All => true,
            Tables::Named(names) => names.iter().any(|n| n == table),
        }
    }
}

pub(crate) struct Watch {
    pub(crate) tables: Tables,
    pub(crate) watcher: Arc<dyn MetaWatcher>,
}

impl Watch {
    /// Feeds this watcher the ops of `batch` that touch its tables, if any.
    pub(crate) fn notify(&self, batch: &[MetaOp]) {
        let mine: Vec<MetaOp> = batch
            .iter()
            .filter(|op| self.tables.contains(op.table()))
            .cloned()
            .collect();
        if !mine.is_empty() {
            self.watcher.apply(&mine);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::meta::MetaStore;

    /// A cache of one table built only from watched changes.
    #[derive(Default)]
    struct Mirror(Mutex<BTreeMap<Vec<u8>, Vec<u8>>>);

    impl Mirror {
        fn snapshot(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
            self.0.lock().expect("lock").clone()
        }
    }

    impl MetaWatcher for Mirror {
        fn apply(&self, ops: &[MetaOp]) {
            let mut m = self.0.lock().expect("lock");
            for op in ops {
                match op {
                    MetaOp::Put { key, value, .. } => {
                        m.insert(key.clone(), value.clone());
                    }
                    MetaOp::Delete { key, .. } => {
                        m.remove(key);
                    }
                    MetaOp::DeletePrefix { prefix, .. } => m.retain(|k, _| !k.starts_with(prefix)),
                }
            }
        }
    }

    #[tokio::test]
    async fn watchers_see_contents_then_every_commit_before_it_returns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = MetaStore::open(&dir.path().join("meta.redb"), 1 << 20).expect("open");
        m.put("t", b"a", b"1".to_vec()).await.expect("put");
        m.put("other", b"x", b"y".to_vec()).await.expect("put");
        let mirror = Arc::new(Mirror::default());
        m.watch(Tables::named(["t"]), mirror.clone())
            .expect("watch");
        assert_eq!(mirror.snapshot().len(), 1, "fed the current contents");
        m.put("t", b"b", b"2".to_vec()).await.expect("put");
        assert_eq!(
            mirror.snapshot().get(&b"b"[..]),
            Some(&b"2".to_vec()),
            "seen before commit returned"
        );
        m.put("other", b"z", b"w".to_vec()).await.expect("put");
        m.commit(vec![MetaOp::DeletePrefix {
            table: "t".into(),
            prefix: b"a".to_vec(),
        }])
        .await
        .expect("delete");
        let want: BTreeMap<Vec<u8>, Vec<u8>> =
            m.scan_prefix("t", b"").expect("scan").into_iter().collect();
        assert_eq!(mirror.snapshot(), want);
        m.close().await;
    }

    #[tokio::test]
    async fn a_second_store_fed_the_change_stream_builds_the_same_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = MetaStore::open(&dir.path().join("a.redb"), 1 << 20).expect("open a");
        let b = MetaStore::open(&dir.path().join("b.redb"), 1 << 20).expect("open b");
        let stream: Arc<Mutex<Vec<Vec<MetaOp>>>> = Arc::default();
        let tap = stream.clone();
        a.watch(
            Tables::All,
            Arc::new(move |ops: &[MetaOp]| tap.lock().expect("lock").push(ops.to_vec())),
        )
        .expect("tap");
        let on_a = Arc::new(Mirror::default());
        a.watch(Tables::named(["t"]), on_a.clone())
            .expect("watch a");
        for i in 0..20u8 {
            a.put("t", &[i % 7], vec![i]).await.expect("put");
        }
        a.commit(vec![MetaOp::Delete {
            table: "t".into(),
            key: vec![3],
        }])
        .await
        .expect("delete");
        let on_b = Arc::new(Mirror::default());
        b.watch(Tables::named(["t"]), on_b.clone())
            .expect("watch b");
        let batches = stream.lock().expect("lock").clone();
        for ops in batches {
            b.commit(ops).await.expect("replay");
        }
        assert_eq!(on_a.snapshot(), on_b.snapshot());
        a.close().await;
        b.close().await;
        drop((a, b));
        // A restart replays the store itself into a fresh cache.
        let a = MetaStore::open(&dir.path().join("a.redb"), 1 << 20).expect("reopen a");
        let restarted = Arc::new(Mirror::default());
        a.watch(Tables::named(["t"]), restarted.clone())
            .expect("watch");
        assert_eq!(restarted.snapshot(), on_b.snapshot());
    }
}
