//! [`RedbStore`]: the metadata store in one local redb database (the only [`MetaBackend`] today).
//!
//! redb allows one write transaction at a time and each commit costs an fsync, so every write goes through one
//! writer thread that drains whatever is queued into a single transaction: concurrent callers share a commit.
//! Reads use their own read transactions and never wait for the writer.
//!
//! After an I/O error (a full disk, say) redb refuses every later operation until the `Database` is re-opened.
//! The writer thread owns recovery: it marks the store faulty, re-opens the database (so reads work again as
//! soon as the file is readable), and retries with backoff until a probe file and a probe commit succeed. While
//! the store is faulty, commits fail at once with a storage error instead of poisoning the fresh instance again.
//!
//! Tables are byte-keyed and byte-valued; each owner encodes its own keys (see `Engine` for the topic tables).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use crate::error::{EngineError, Result};
use crate::util::{lock, read, write};

use super::watch::Watch;
use super::{Absent, MetaBackend, MetaFuture, MetaOp, MetaWatcher, Tables, tables};

/// First wait before retrying a failed store (and a fenced partition); doubles up to [`RETRY_MAX`].
pub(crate) const RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest wait between recovery attempts: bounds how long a node stays degraded after space is freed.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(2);
/// Bytes the metadata recovery probe writes: a commit rewrites a few pages, so this much free space is a sound
/// sign that the next commit fits.
const META_PROBE_BYTES: usize = 256 * 1024;
/// Bytes a fenced partition's recovery probe writes: a largest batch at the default `max.message.bytes`.
const PARTITION_PROBE_BYTES: usize = 1 << 20;
/// How long one partition probe's outcome stands for every other fenced partition: after a full disk, thousands
/// of partitions retry together, and one probe answers for all of them.
const PROBE_REUSE: Duration = Duration::from_millis(250);
/// Table the recovery probe commits to (one tiny key; node-local, see [`tables`]).
const HEALTH_TABLE: &str = tables::HEALTH;

struct Job {
    /// Keys that must be absent for `ops` to apply (see [`Absent`]); empty for a plain commit.
    absent: Vec<Absent>,
    ops: Vec<MetaOp>,
    /// `Ok(false)`: a key of `absent` was present and nothing was applied.
    done: oneshot::Sender<Result<bool>>,
}

enum Msg {
    Write(Job),
    /// A reader hit an I/O error: wake the writer so it starts recovery even when nothing is being written.
    Check,
    /// Stops the writer after everything queued before it is committed.
    Close(oneshot::Sender<()>),
}

/// Opens (or creates) the database; re-run after an I/O error. Tests swap in a failing backend.
type Opener = Box<dyn Fn() -> std::result::Result<Database, DatabaseError> + Send + Sync>;

struct Shared {
    path: PathBuf,
    open: Opener,
    /// The live instance; `None` only while a re-open has not succeeded yet.
    db: RwLock<Option<Arc<Database>>>,
    /// Why the store refuses writes (`None` when healthy).
    fault: Mutex<Option<String>>,
    /// The current instance saw an I/O error and must be replaced.
    poisoned: std::sync::atomic::AtomicBool,
    /// When the last partition probe ran and how it ended (see [`RedbStore::probe_space`]).
    probe: Mutex<Option<(Instant, std::result::Result<(), String>)>>,
    /// Caches following committed changes (see [`watch`]). The writer holds the read lock while it notifies, so a
    /// watcher being registered (and fed the current contents) never misses or reorders a commit.
    watches: RwLock<Vec<Watch>>,
}

/// The redb metadata store: one database file behind one batching writer thread. Cheap to clone.
#[derive(Clone)]
pub struct RedbStore {
    shared: Arc<Shared>,
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

/// True for errors after which redb must be re-opened (an I/O failure now or before).
fn is_io(e: &redb::Error) -> bool {
    matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo)
}

/// A storage error for a caller, keeping the I/O error kind so protocols can say why.
fn unavailable(reason: &str) -> EngineError {
    EngineError::Meta(redb::Error::Io(std::io::Error::other(format!(
        "the metadata store is unavailable: {reason}"
    ))))
}

/// Writes `bytes` to the scratch file `dir/name`, fsyncs and removes it: proof that the file system takes writes
/// again. A file left by a crash mid-probe is overwritten and removed by the next probe.
fn probe_write(dir: &Path, name: &str, bytes: usize) -> std::io::Result<()> {
    let probe = dir.join(name);
    let res = (|| {
        let mut f = std::fs::File::create(&probe)?;
        let chunk = vec![0u8; bytes.min(64 * 1024)];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            f.write_all(&chunk[..n])?;
            left -= n;
        }
        f.sync_data()
    })();
    let removed = std::fs::remove_file(&probe);
    res.and(removed)
}

impl RedbStore {
    /// Opens (or creates) the database and starts its writer thread.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<RedbStore> {
        super::create::create_atomically(path, cache_bytes)?;
        let p = path.to_path_buf();
        let opener: Opener =
            Box::new(move || Database::builder().set_cache_size(cache_bytes).create(&p));
        Self::open_with(path, opener)
    }

    fn open_with(path: &Path, open: Opener) -> Result<RedbStore> {
        let db = open().map_err(redb::Error::from)?;
        metrics::gauge!("strait_metadata_store_healthy").set(1.0);
        let shared = Arc::new(Shared {
            path: path.to_path_buf(),
            open,
            db: RwLock::new(Some(Arc::new(db))),
            fault: Mutex::new(None),
            poisoned: std::sync::atomic::AtomicBool::new(false),
            probe: Mutex::new(None),
            watches: RwLock::new(Vec::new()),
        });
        let (tx, rx) = mpsc::channel::<Msg>();
        let ws = shared.clone();
        std::thread::Builder::new()
            .name("strait-meta-writer".into())
            .spawn(move || writer_loop(ws, &rx))
            .map_err(|source| EngineError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(RedbStore { shared, tx })
    }

    /// `None` when the store takes writes; otherwise why it does not (it recovers by itself once it can).
    pub fn fault(&self) -> Option<String> {
        lock(&self.shared.fault).clone()
    }

    /// Proves that the data directory takes a largest batch again (for fenced partitions' recovery). Concurrent
    /// and back-to-back callers share one probe, so many fenced partitions do not multiply the writes. Blocking.
    pub fn probe_space(&self) -> std::result::Result<(), String> {
        let mut last = lock(&self.shared.probe);
        if let Some((at, res)) = &*last
            && at.elapsed() < PROBE_REUSE
        {
            return res.clone();
        }
        let dir = self.shared.path.parent().unwrap_or(Path::new("."));
        let res = probe_write(dir, ".partition-probe.tmp", PARTITION_PROBE_BYTES)
            .map_err(|e| format!("probe write failed: {e}"));
        *last = Some((Instant::now(), res.clone()));
        res
    }

    /// Applies `ops` atomically; returns once they are durable. Concurrent calls share one transaction.
    pub async fn commit(&self, ops: Vec<MetaOp>) -> Result<()> {
        self.commit_if_absent(Vec::new(), ops).await.map(|_| ())
    }

    /// See [`MetaBackend::commit_if_absent`]: the check runs inside the transaction that applies `ops`.
    pub async fn commit_if_absent(&self, absent: Vec<Absent>, ops: Vec<MetaOp>) -> Result<bool> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Msg::Write(Job { absent, ops, done }))
            .map_err(|_| EngineError::MetaClosed)?;
        rx.await.map_err(|_| EngineError::MetaClosed)?
    }

    /// Like [`commit`](Self::commit), but does not wait; errors are logged by the writer.
    pub fn commit_in_background(&self, ops: Vec<MetaOp>) {
        let (done, _rx) = oneshot::channel();
        let job = Job {
            absent: Vec::new(),
            ops,
            done,
        };
        if self.tx.send(Msg::Write(job)).is_err() {
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

    /// Registers `watcher` for `tables`: it is fed their current contents (one batch of `Put`s per non-empty
    /// table) and from then on every committed batch touching them, before the committer's `commit` returns.
    pub fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<()> {
        let mut watches = write(&self.shared.watches);
        let names = match &tables {
            Tables::Named(names) => names.clone(),
            Tables::All => self.table_names()?,
        };
        for name in names {
            let rows = self.scan_prefix(&name, &[])?;
            if rows.is_empty() {
                continue;
            }
            let ops: Vec<MetaOp> = rows
                .into_iter()
                .map(|(key, value)| MetaOp::Put {
                    table: name.clone(),
                    key,
                    value,
                })
                .collect();
            watcher.apply(&ops);
        }
        watches.push(Watch { tables, watcher });
        Ok(())
    }

    /// Names of every table in the store (the recovery probe's excepted).
    fn table_names(&self) -> Result<Vec<String>> {
        use redb::TableHandle;
        let db = self.db()?;
        let rtx = db.begin_read().map_err(|e| self.read_error(e))?;
        let tables = rtx.list_tables().map_err(|e| self.read_error(e))?;
        Ok(tables
            .map(|t| t.name().to_string())
            .filter(|n| n != HEALTH_TABLE)
            .collect())
    }

    /// The live database for a read, or the reason there is none.
    fn db(&self) -> Result<Arc<Database>> {
        match read(&self.shared.db).clone() {
            Some(db) => Ok(db),
            None => Err(unavailable(
                self.fault().as_deref().unwrap_or("it is being re-opened"),
            )),
        }
    }

    /// Converts a read's redb error, starting recovery when it is an I/O error.
    fn read_error(&self, e: impl Into<redb::Error>) -> EngineError {
        let e = e.into();
        if is_io(&e) {
            mark_faulty(&self.shared, &e.to_string());
            let _ = self.tx.send(Msg::Check);
        }
        e.into()
    }

    pub fn get(&self, table_name: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.db()?;
        let rtx = db.begin_read().map_err(|e| self.read_error(e))?;
        let t = match rtx.open_table(table(table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.read_error(e)),
        };
        Ok(t.get(key)
            .map_err(|e| self.read_error(e))?
            .map(|v| v.value().to_vec()))
    }

    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, table_name: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let db = self.db()?;
        let rtx = db.begin_read().map_err(|e| self.read_error(e))?;
        let t = match rtx.open_table(table(table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.read_error(e)),
        };
        let end = prefix_end(prefix);
        let iter = match &end {
            Some(end) => t.range::<&[u8]>(prefix..end.as_slice()),
            None => t.range::<&[u8]>(prefix..),
        }
        .map_err(|e| self.read_error(e))?;
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(|e| self.read_error(e))?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// Records an I/O failure: the instance must be re-opened and writes are refused until recovery succeeds. Logs
/// and counts only the transition from healthy.
fn mark_faulty(shared: &Shared, reason: &str) {
    shared
        .poisoned
        .store(true, std::sync::atomic::Ordering::Release);
    let mut fault = lock(&shared.fault);
    if fault.is_none() {
        tracing::error!(path = %shared.path.display(), error = reason,
            "metadata store failed; refusing metadata writes until it recovers");
        metrics::counter!("strait_storage_errors_total", "component" => "metadata").increment(1);
        metrics::gauge!("strait_metadata_store_healthy").set(0.0);
    }
    *fault = Some(reason.to_string());
}

/// Backoff between recovery attempts.
struct Retry {
    next: Instant,
    delay: Duration,
}

impl Retry {
    fn new() -> Retry {
        Retry {
            next: Instant::now(),
            delay: RETRY_MIN,
        }
    }
    fn failed(&mut self) {
        self.next = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(RETRY_MAX);
    }
}

/// Replaces a poisoned instance. Readers hold clones only for the length of one read, so the old file handle
/// is gone after a short wait; `DatabaseAlreadyOpen` until then.
fn reopen(shared: &Shared) -> std::result::Result<(), String> {
    let old = write(&shared.db).take();
    drop(old);
    let mut waited = Duration::ZERO;
    loop {
        match (shared.open)() {
            Ok(db) => {
                *write(&shared.db) = Some(Arc::new(db));
                shared
                    .poisoned
                    .store(false, std::sync::atomic::Ordering::Release);
                return Ok(());
            }
            Err(DatabaseError::DatabaseAlreadyOpen) if waited < Duration::from_secs(1) => {
                std::thread::sleep(Duration::from_millis(5));
                waited += Duration::from_millis(5);
            }
            Err(e) => return Err(format!("re-opening failed: {e}")),
        }
    }
}

/// One recovery attempt: re-open if needed (reads work again from here), then prove that writes fit with a
/// scratch file and a real commit.
fn try_recover(shared: &Shared) -> std::result::Result<(), String> {
    if shared.poisoned.load(std::sync::atomic::Ordering::Acquire) {
        reopen(shared)?;
    }
    let dir = shared.path.parent().unwrap_or(Path::new("."));
    probe_write(dir, ".meta-probe.tmp", META_PROBE_BYTES)
        .map_err(|e| format!("probe write failed: {e}"))?;
    let db = read(&shared.db)
        .clone()
        .ok_or_else(|| "not open".to_string())?;
    let probe = Job {
        absent: Vec::new(),
        ops: vec![MetaOp::Put {
            table: HEALTH_TABLE.into(),
            key: b"probe".to_vec(),
            value: crate::util::now_ms().to_be_bytes().to_vec(),
        }],
        done: oneshot::channel().0,
    };
    if let Err(e) = apply(&db, std::slice::from_ref(&probe)) {
        if is_io(&e) {
            shared
                .poisoned
                .store(true, std::sync::atomic::Ordering::Release);
        }
        return Err(format!("probe commit failed: {e}"));
    }
    Ok(())
}

fn writer_loop(shared: Arc<Shared>, rx: &mpsc::Receiver<Msg>) {
    let mut closing = None;
    let mut retry = Retry::new();
    while closing.is_none() {
        let faulty = lock(&shared.fault).is_some();
        let mut jobs = Vec::new();
        let first = if faulty {
            match rx.recv_timeout(retry.next.saturating_duration_since(Instant::now())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            }
        };
        match first {
            Some(Msg::Write(j)) => jobs.push(j),
            Some(Msg::Close(done)) => closing = Some(done),
            Some(Msg::Check) | None => {}
        }
        // Group commit: take everything already queued (bounded so one huge burst cannot starve replies).
        while closing.is_none() && jobs.len() < 1024 {
            match rx.try_recv() {
                Ok(Msg::Write(j)) => jobs.push(j),
                Ok(Msg::Close(done)) => closing = Some(done),
                Ok(Msg::Check) => {}
                Err(_) => break,
            }
        }
        if lock(&shared.fault).is_some() && Instant::now() >= retry.next {
            match try_recover(&shared) {
                Ok(()) => {
                    if let Some(was) = lock(&shared.fault).take() {
                        tracing::warn!(path = %shared.path.display(), after = %was,
                            "metadata store recovered; metadata writes resume");
                    }
                    metrics::gauge!("strait_metadata_store_healthy").set(1.0);
                    retry = Retry::new();
                }
                Err(e) => {
                    tracing::debug!(error = %e, "metadata store still unavailable");
                    retry.failed();
                }
            }
        }
        if jobs.is_empty() {
            continue;
        }
        // Refused without touching the database: a write that fails again would poison a re-opened instance and
        // take reads down with it.
        if let Some(reason) = lock(&shared.fault).clone() {
            for j in jobs {
                let _ = j.done.send(Err(unavailable(&reason)));
            }
            continue;
        }
        let db = read(&shared.db).clone();
        let result = match &db {
            Some(db) => apply(db, &jobs),
            None => Err(redb::Error::PreviousIo),
        };
        drop(db);
        metrics::counter!("strait_meta_commits_total").increment(1);
        match &result {
            Ok(applied) => {
                let watches = read(&shared.watches);
                for (j, &applied) in jobs.into_iter().zip(applied) {
                    if applied {
                        for w in watches.iter() {
                            w.notify(&j.ops);
                        }
                    }
                    let _ = j.done.send(Ok(applied));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "metadata commit failed");
                if is_io(e) {
                    mark_faulty(&shared, &e.to_string());
                    retry = Retry::new();
                }
                for j in jobs {
                    let _ = j.done.send(Err(job_error(e)));
                }
            }
        }
    }
    // Release this thread's handle before confirming, so a caller that closes and drops its own handles can
    // reopen the file at once.
    drop(shared);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// The error each job of a failed commit gets (redb errors are not `Clone`); I/O errors keep their kind.
fn job_error(e: &redb::Error) -> EngineError {
    match e {
        redb::Error::Io(io) => EngineError::Meta(redb::Error::Io(std::io::Error::new(
            io.kind(),
            io.to_string(),
        ))),
        redb::Error::PreviousIo => unavailable("an earlier I/O error"),
        other => EngineError::Meta(redb::Error::Corrupted(format!(
            "metadata commit failed: {other}"
        ))),
    }
}

/// Applies the jobs in one transaction, in order; a job whose `absent` keys are not all absent (after the jobs
/// before it) is skipped. Returns which jobs applied.
fn apply(db: &Database, jobs: &[Job]) -> std::result::Result<Vec<bool>, redb::Error> {
    let wtx = db.begin_write()?;
    let mut applied = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut clear = true;
        for a in &job.absent {
            if wtx
                .open_table(table(&a.table))?
                .get(a.key.as_slice())?
                .is_some()
            {
                clear = false;
                break;
            }
        }
        applied.push(clear);
        if clear {
            apply_ops(&wtx, &job.ops)?;
        }
    }
    wtx.commit()?;
    Ok(applied)
}

fn apply_ops(wtx: &redb::WriteTransaction, ops: &[MetaOp]) -> std::result::Result<(), redb::Error> {
    for op in ops {
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
    Ok(())
}

impl RedbStore {
    /// [`commit`](Self::commit) as a boxed future, for wrappers implementing [`MetaBackend`].
    pub fn commit_boxed(&self, ops: Vec<MetaOp>) -> MetaFuture<'_, Result<()>> {
        Box::pin(self.commit(ops))
    }
}

impl MetaBackend for RedbStore {
    fn commit(&self, ops: Vec<MetaOp>) -> MetaFuture<'_, Result<()>> {
        self.commit_boxed(ops)
    }
    fn commit_if_absent(
        &self,
        absent: Vec<Absent>,
        ops: Vec<MetaOp>,
    ) -> MetaFuture<'_, Result<bool>> {
        Box::pin(RedbStore::commit_if_absent(self, absent, ops))
    }
    fn commit_in_background(&self, ops: Vec<MetaOp>) {
        RedbStore::commit_in_background(self, ops)
    }
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        RedbStore::get(self, table, key)
    }
    fn scan_prefix(&self, table: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        RedbStore::scan_prefix(self, table, prefix)
    }
    fn watch(&self, tables: Tables, watcher: Arc<dyn MetaWatcher>) -> Result<()> {
        RedbStore::watch(self, tables, watcher)
    }
    fn close(&self) -> MetaFuture<'_, ()> {
        Box::pin(RedbStore::close(self))
    }
    fn fault(&self) -> Option<String> {
        RedbStore::fault(self)
    }
    fn probe_space(&self) -> std::result::Result<(), String> {
        RedbStore::probe_space(self)
    }
}

#[cfg(test)]
#[path = "redb_tests.rs"]
mod tests;
