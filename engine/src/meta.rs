//! The metadata store: topics, configs, partition state and, later, group offsets, producer ids and Kinesis
//! stream state, in one redb database.
//!
//! redb allows one write transaction at a time and each commit costs an fsync, so every write goes through one
//! writer thread that drains whatever is queued into a single transaction: concurrent callers share a commit.
//! Reads use their own read transactions and never wait for the writer.
//!
//! Tables are byte-keyed and byte-valued; each owner encodes its own keys (see `Engine` for the topic tables).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use redb::{Database, ReadableDatabase, TableDefinition};
use tokio::sync::oneshot;

use crate::error::{EngineError, Result};

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

struct Job {
    ops: Vec<MetaOp>,
    done: oneshot::Sender<Result<()>>,
}

enum Msg {
    Write(Job),
    /// Stops the writer after everything queued before it is committed.
    Close(oneshot::Sender<()>),
}

/// Handle to the metadata database; cheap to clone.
#[derive(Clone)]
pub struct MetaStore {
    db: Arc<Database>,
    tx: mpsc::Sender<Msg>,
}

fn table(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

/// Upper bound of keys that start with `prefix` (exclusive), or `None` when every key above it qualifies.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl MetaStore {
    /// Opens (or creates) the database and starts its writer thread.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<MetaStore> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(redb::Error::from)?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel::<Msg>();
        let wdb = db.clone();
        std::thread::Builder::new()
            .name("strait-meta-writer".into())
            .spawn(move || writer_loop(wdb, &rx))
            .map_err(|source| EngineError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(MetaStore { db, tx })
    }

    /// Applies `ops` atomically; returns once they are durable. Concurrent calls share one transaction.
    pub async fn commit(&self, ops: Vec<MetaOp>) -> Result<()> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Msg::Write(Job { ops, done }))
            .map_err(|_| EngineError::MetaClosed)?;
        rx.await.map_err(|_| EngineError::MetaClosed)?
    }

    /// Like [`commit`](Self::commit), but does not wait; errors are logged by the writer.
    pub fn commit_in_background(&self, ops: Vec<MetaOp>) {
        let (done, _rx) = oneshot::channel();
        if self.tx.send(Msg::Write(Job { ops, done })).is_err() {
            tracing::warn!("metadata writer stopped; a background metadata update was dropped");
        }
    }

    /// Commits everything queued so far and stops the writer thread, releasing the database file once the
    /// last handle is dropped. Later writes fail with [`EngineError::MetaClosed`].
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn put(&self, table: &str, key: &[u8], value: Vec<u8>) -> Result<()> {
        self.commit(vec![MetaOp::Put {
            table: table.into(),
            key: key.to_vec(),
            value,
        }])
        .await
    }

    pub fn get(&self, table_name: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let rtx = self.db.begin_read().map_err(redb::Error::from)?;
        let t = match rtx.open_table(table(table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(redb::Error::from(e).into()),
        };
        Ok(t.get(key)
            .map_err(redb::Error::from)?
            .map(|v| v.value().to_vec()))
    }

    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, table_name: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let rtx = self.db.begin_read().map_err(redb::Error::from)?;
        let t = match rtx.open_table(table(table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(redb::Error::from(e).into()),
        };
        let end = prefix_end(prefix);
        let iter = match &end {
            Some(end) => t.range::<&[u8]>(prefix..end.as_slice()),
            None => t.range::<&[u8]>(prefix..),
        }
        .map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(redb::Error::from)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}

fn writer_loop(db: Arc<Database>, rx: &mpsc::Receiver<Msg>) {
    let mut closing = None;
    while closing.is_none() {
        let mut jobs = Vec::new();
        match rx.recv() {
            Ok(Msg::Write(j)) => jobs.push(j),
            Ok(Msg::Close(done)) => closing = Some(done),
            Err(_) => break,
        }
        // Group commit: take everything already queued (bounded so one huge burst cannot starve replies).
        while closing.is_none() && jobs.len() < 1024 {
            match rx.try_recv() {
                Ok(Msg::Write(j)) => jobs.push(j),
                Ok(Msg::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let result = apply(&db, &jobs);
        if let Err(e) = &result {
            tracing::error!(error = %e, jobs = jobs.len(), "metadata commit failed");
        }
        metrics::counter!("strait_meta_commits_total").increment(1);
        for j in jobs {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => {
                    Err(redb::Error::Corrupted(format!("metadata commit failed: {e}")).into())
                }
            };
            let _ = j.done.send(r);
        }
    }
    // Release this thread's handle before confirming, so a caller that closes and drops its own handles can
    // reopen the file at once.
    drop(db);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

fn apply(db: &Database, jobs: &[Job]) -> std::result::Result<(), redb::Error> {
    let wtx = db.begin_write()?;
    for op in jobs.iter().flat_map(|j| &j.ops) {
        match op {
            MetaOp::Put {
                table: name,
                key,
                value,
            } => {
                wtx.open_table(table(name))?
                    .insert(key.as_slice(), value.as_slice())?;
            }
            MetaOp::Delete { table: name, key } => {
                wtx.open_table(table(name))?.remove(key.as_slice())?;
            }
            MetaOp::DeletePrefix {
                table: name,
                prefix,
            } => {
                let mut t = wtx.open_table(table(name))?;
                let end = prefix_end(prefix);
                match &end {
                    Some(end) => {
                        t.retain_in::<&[u8], _>(prefix.as_slice()..end.as_slice(), |_, _| false)?
                    }
                    None => t.retain_in::<&[u8], _>(prefix.as_slice().., |_, _| false)?,
                }
            }
        }
    }
    wtx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_scan_delete_and_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.redb");
        {
            let m = MetaStore::open(&path, 1 << 20).expect("open");
            let mut handles = Vec::new();
            for i in 0..50u32 {
                let m = m.clone();
                handles.push(tokio::spawn(async move {
                    m.put("t", format!("a/{i:03}").as_bytes(), vec![i as u8])
                        .await
                }));
            }
            for h in handles {
                h.await.expect("join").expect("put");
            }
            m.put("t", b"b/1", b"x".to_vec()).await.expect("put");
            assert_eq!(m.get("t", b"a/007").expect("get"), Some(vec![7]));
            assert_eq!(m.scan_prefix("t", b"a/").expect("scan").len(), 50);
            m.commit(vec![MetaOp::DeletePrefix {
                table: "t".into(),
                prefix: b"a/".to_vec(),
            }])
            .await
            .expect("del");
            assert!(m.scan_prefix("t", b"a/").expect("scan").is_empty());
            assert_eq!(m.get("missing-table", b"k").expect("get"), None);
            m.close().await;
        }
        let m = MetaStore::open(&path, 1 << 20).expect("reopen");
        assert_eq!(m.get("t", b"b/1").expect("get"), Some(b"x".to_vec()));
    }
}
