//! The metadata store: topics, configs, partition state, group offsets, producer and transaction state, Kinesis
//! streams and DynamoDB tables, as byte-keyed tables.
//!
//! [`MetaStore`] is the handle everything holds (cheap to clone, as before); behind it is a [`MetaBackend`]:
//! [`RedbStore`] (one local redb file behind a batching writer thread) today, and once replication lands a
//! backend that proposes cluster-table batches to the metadata Raft group and applies them (feeding the same
//! watchers) on every node. Keeping the handle a concrete type spares every caller a generic parameter or an
//! `Arc<dyn ...>` and keeps the method names front ends already use.
//!
//! Which tables replicate is declared in [`tables`]: node-local tables (recovery points, seal records, the
//! health probe) never leave the node; everything the front ends write is cluster state. Caches follow committed
//! changes through [`MetaStore::watch`] (see `watch`).

mod create;
mod redb;
pub mod tables;
mod watch;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Result;

pub use self::redb::RedbStore;
pub(crate) use self::redb::{RETRY_MAX, RETRY_MIN};
pub use watch::{FirstCorruptRow, MetaWatcher, Tables};

/// The future async [`MetaBackend`] methods return.
pub type MetaFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One change inside a [`MetaStore::commit`] batch.
#[derive(Debug, Clone)]
pub enum MetaOp {
    Put {
        table: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        table: String,
        key: Vec<u8>,
    },
    /// Deletes every key starting with `prefix`.
    DeletePrefix {
        table: String,
        prefix: Vec<u8>,
    },
}

/// A guarded commit's precondition: `key` must be absent from `table` when the batch applies.
///
/// Why a precondition rather than a read before the commit: on a cluster the batch applies on every node in log
/// order, possibly after another node's batch that wrote the same key (two nodes creating one topic at once);
/// only a check made where it applies sees that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    pub table: String,
    pub key: Vec<u8>,
}

impl MetaOp {
    /// The table this op changes.
    pub fn table(&self) -> &str {
        match self {
            MetaOp::Put { table, .. }
            | MetaOp::Delete { table, .. }
            | MetaOp::DeletePrefix { table, .. } => table,
        }
    }
}

/// A metadata store implementation. Semantics every backend keeps: a `commit` is atomic and durable when it
/// returns; watchers are fed committed batches in commit order before the committer's `commit` returns.
pub trait MetaBackend: Send + Sync {
    /// Applies `ops` atomically; resolves once they are durable.
    fn commit(&self, ops: Vec<MetaOp>) -> MetaFuture<'_, Result<()>>;
    /// Applies `ops` atomically if every key of `absent` is absent when they apply, resolving to `true` once they
    /// are durable; resolves to `false`, having changed nothing, if one is present.
    fn commit_if_absent(
        &self,
        absent: Vec<Absent>,
        ops: Vec<MetaOp>,
    ) -> MetaFuture<'_, Result<bool>>;
    /// Like `commit`, without waiting; errors are logged.
    fn commit_in_background(&self, ops: Vec<MetaOp>);
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Feeds `watcher` the tables' contents, then every committed batch touching them.
    fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<()>;
    /// Commits what is queued and stops; later writes fail with `EngineError::MetaClosed`.
    fn close(&self) -> MetaFuture<'_, ()>;
    /// `None` when the store takes writes; otherwise why not.
    fn fault(&self) -> Option<String>;
    /// Proves the node's data directory takes a largest batch again (fenced partitions' recovery). Blocking.
    fn probe_space(&self) -> std::result::Result<(), String>;
}

/// Handle to the metadata store; cheap to clone. Every clone shares the backend, which a cluster node replaces
/// once at start-up ([`MetaStore::replace_backend`]: the local store, then the replicated one over it).
#[derive(Clone)]
pub struct MetaStore {
    backend: Arc<std::sync::RwLock<Arc<dyn MetaBackend>>>,
}

impl MetaStore {
    /// Opens (or creates) the local redb store at `path`.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<MetaStore> {
        Ok(Self::from_backend(Arc::new(RedbStore::open(
            path,
            cache_bytes,
        )?)))
    }

    /// A handle on any backend.
    pub fn from_backend(backend: Arc<dyn MetaBackend>) -> MetaStore {
        MetaStore {
            backend: Arc::new(std::sync::RwLock::new(backend)),
        }
    }

    /// Makes every clone of this handle use `backend` from now on; returns the previous one. A cluster node calls
    /// it once, before front ends start, to put the replicated store (which writes through to the local one) in
    /// front of the local store the engine opened with.
    pub fn replace_backend(&self, backend: Arc<dyn MetaBackend>) -> Arc<dyn MetaBackend> {
        let mut b = self
            .backend
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *b, backend)
    }

    fn backend(&self) -> Arc<dyn MetaBackend> {
        self.backend
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// `None` when the store takes writes; otherwise why it does not (it recovers by itself once it can).
    pub fn fault(&self) -> Option<String> {
        self.backend().fault()
    }

    pub(crate) fn probe_space(&self) -> std::result::Result<(), String> {
        self.backend().probe_space()
    }

    /// Applies `ops` atomically; returns once they are durable. Concurrent calls may share one transaction.
    pub async fn commit(&self, ops: Vec<MetaOp>) -> Result<()> {
        self.backend().commit(ops).await
    }

    /// Like [`commit`](Self::commit), but does not wait; errors are logged by the writer.
    /// See [`MetaBackend::commit_if_absent`].
    pub async fn commit_if_absent(&self, absent: Vec<Absent>, ops: Vec<MetaOp>) -> Result<bool> {
        self.backend().commit_if_absent(absent, ops).await
    }

    pub fn commit_in_background(&self, ops: Vec<MetaOp>) {
        self.backend().commit_in_background(ops)
    }

    /// Commits everything queued so far and stops the store. Later writes fail with
    /// [`EngineError::MetaClosed`](crate::EngineError::MetaClosed).
    pub async fn close(&self) {
        self.backend().close().await
    }

    pub async fn put(&self, table: &str, key: &[u8], value: Vec<u8>) -> Result<()> {
        self.commit(vec![MetaOp::Put {
            table: table.into(),
            key: key.to_vec(),
            value,
        }])
        .await
    }

    /// Registers `watcher` for `tables`: it is fed their current contents (one batch of `Put`s per non-empty
    /// table) and from then on every committed batch touching them, before the committer's `commit` returns.
    pub fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<()> {
        self.backend().watch(tables, watcher)
    }

    pub fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.backend().get(table, key)
    }

    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.backend().scan_prefix(table, prefix)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A backend that counts commits and forwards to redb: what a replicated backend looks like to callers.
    struct Counting {
        inner: RedbStore,
        commits: AtomicUsize,
    }

    impl MetaBackend for Counting {
        fn commit(&self, ops: Vec<MetaOp>) -> MetaFuture<'_, Result<()>> {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.inner.commit_boxed(ops)
        }
        fn commit_if_absent(
            &self,
            absent: Vec<Absent>,
            ops: Vec<MetaOp>,
        ) -> MetaFuture<'_, Result<bool>> {
            Box::pin(self.inner.commit_if_absent(absent, ops))
        }
        fn commit_in_background(&self, ops: Vec<MetaOp>) {
            self.inner.commit_in_background(ops)
        }
        fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.inner.get(table, key)
        }
        fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.scan_prefix(table, prefix)
        }
        fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<()> {
            self.inner.watch(tables, watcher)
        }
        fn close(&self) -> MetaFuture<'_, ()> {
            Box::pin(self.inner.close())
        }
        fn fault(&self) -> Option<String> {
            self.inner.fault()
        }
        fn probe_space(&self) -> std::result::Result<(), String> {
            self.inner.probe_space()
        }
    }

    #[tokio::test]
    async fn the_handle_works_over_any_backend() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = Arc::new(Counting {
            inner: RedbStore::open(&dir.path().join("m.redb"), 1 << 20).expect("open"),
            commits: AtomicUsize::new(0),
        });
        let store = MetaStore::from_backend(backend.clone());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        store
            .watch(
                Tables::cluster(),
                Arc::new(move |ops: &[MetaOp]| {
                    let mut v = s2.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    v.extend(ops.iter().map(|o| o.table().to_string()));
                }),
            )
            .expect("watch");
        store
            .put(tables::TOPICS, b"t", b"1".to_vec())
            .await
            .expect("put");
        // Node-local rows are not part of the cluster change stream.
        store
            .put(tables::PARTITIONS, b"t\0", b"2".to_vec())
            .await
            .expect("put");
        assert_eq!(
            store.get(tables::TOPICS, b"t").expect("get"),
            Some(b"1".to_vec())
        );
        assert_eq!(backend.commits.load(Ordering::Relaxed), 2);
        assert_eq!(
            *seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            [tables::TOPICS]
        );
        store.close().await;
    }
}
