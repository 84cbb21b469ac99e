//! A bounded cache of open segment files, so that file handles do not grow with the number of partitions.
//!
//! Every segment log file (sealed or active) is reached through a [`FileSlot`]: the slot opens the file on first
//! use and the engine-wide [`FdCache`] closes the least recently used ones once more than its budget are open.
//! Eviction is a CLOCK sweep (an LRU approximation): a hit only sets the slot's `referenced` bit, so the read path
//! never takes the cache-wide lock; only opening a file (a miss) does.
//!
//! Two kinds of slot are never evicted, so the budget is soft:
//! - a file with writes not yet fsynced (`dirty`): its fsync goes through the handle that wrote;
//! - a file whose paths were unlinked by retention or truncation (`deleted`): readers that still hold the
//!   segment keep reading the unlinked file through this handle, as before the cache, instead of failing to
//!   reopen a path that is gone. The handle closes when the last reader drops the segment.
//!
//! Handles are `Arc<File>`: an evicted slot only drops its own reference, so a read or write in flight keeps
//! its handle until it is done (briefly one more descriptor than the budget).
// #[PerformanceCriticalPath]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError, Weak};

use crate::util::{FILE_MODE, lock};

/// Opens a segment file read-write (creating it owner-only when `create`).
pub(crate) fn open_rw(path: &Path, create: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create {
        o.create(true).truncate(true).mode(FILE_MODE);
    }
    o.open(path)
}

/// The engine-wide budget of open segment files.
pub(crate) struct FdCache {
    budget: usize,
    clock: Mutex<Clock>,
    opens: AtomicU64,
    evictions: AtomicU64,
}

#[derive(Default)]
struct Clock {
    /// Slots that were open when registered (some may have been closed or dropped since: purged by the sweep).
    slots: Vec<Weak<FileSlot>>,
    hand: usize,
}

impl std::fmt::Debug for FdCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdCache")
            .field("budget", &self.budget)
            .field("registered", &lock(&self.clock).slots.len())
            .finish()
    }
}

impl FdCache {
    pub(crate) fn new(budget: usize) -> Arc<FdCache> {
        Arc::new(FdCache {
            budget: budget.max(1),
            clock: Mutex::new(Clock::default()),
            opens: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        })
    }

    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Segment files currently held open by the cache (pinned ones included).
    pub(crate) fn open_count(&self) -> usize {
        // Slots are locked only after the clock lock is released (see `admit` for the lock order).
        let slots: Vec<Arc<FileSlot>> = lock(&self.clock)
            .slots
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        slots.iter().filter(|s| s.is_open()).count()
    }

    /// Files opened and evicted since start.
    #[cfg(test)]
    pub(crate) fn counters(&self) -> (u64, u64) {
        (
            self.opens.load(Ordering::Relaxed),
            self.evictions.load(Ordering::Relaxed),
        )
    }

    /// A slot for `path`, already holding `file` if given (a file just created).
    pub(crate) fn slot(self: &Arc<Self>, path: PathBuf, file: Option<File>) -> Arc<FileSlot> {
        let has_file = file.is_some();
        let slot = Arc::new(FileSlot {
            path,
            cache: self.clone(),
            file: Mutex::new(file.map(Arc::new)),
            referenced: AtomicBool::new(true),
            dirty: AtomicBool::new(false),
            deleted: AtomicBool::new(false),
        });
        if has_file {
            self.opens.fetch_add(1, Ordering::Relaxed);
            self.admit(Some(&slot), 0);
        }
        slot
    }

    /// Registers a newly opened slot (if any), first closing unpinned, unreferenced files until fewer than the
    /// budget (minus `spare`) are registered. Lock order: a slot, then the clock; so the sweep only ever
    /// try-locks slots, and a busy one counts as in use.
    fn admit(&self, new: Option<&Arc<FileSlot>>, spare: usize) {
        let mut closed: Vec<Arc<File>> = Vec::new();
        {
            let mut c = lock(&self.clock);
            let target = self.budget.saturating_sub(spare + 1);
            // Two full turns: the first may only clear `referenced` bits.
            let mut steps = 2 * c.slots.len() + 1;
            while c.slots.len() > target && steps > 0 && !c.slots.is_empty() {
                steps -= 1;
                if c.hand >= c.slots.len() {
                    c.hand = 0;
                }
                let i = c.hand;
                let Some(s) = c.slots[i].upgrade() else {
                    c.slots.swap_remove(i);
                    continue;
                };
                if s.pinned() || s.referenced.swap(false, Ordering::AcqRel) {
                    c.hand += 1;
                    continue;
                }
                match s.file.try_lock() {
                    Ok(mut g) => {
                        if let Some(f) = g.take() {
                            closed.push(f);
                            self.evictions.fetch_add(1, Ordering::Relaxed);
                            metrics::counter!("strait_segment_files_evicted_total").increment(1);
                        }
                        c.slots.swap_remove(i);
                    }
                    Err(TryLockError::Poisoned(p)) => {
                        if let Some(f) = p.into_inner().take() {
                            closed.push(f);
                        }
                        c.slots.swap_remove(i);
                    }
                    Err(TryLockError::WouldBlock) => c.hand += 1,
                }
            }
            if let Some(new) = new {
                c.slots.push(Arc::downgrade(new));
            }
        }
        // Closing happens outside the lock (close(2) of a file with dirty pages can take a while on some
        // filesystems; ours are clean, but the lock stays short either way).
        drop(closed);
    }
}

/// One segment file's place in the cache: the open handle, if any, and how to reopen it.
pub(crate) struct FileSlot {
    path: PathBuf,
    cache: Arc<FdCache>,
    file: Mutex<Option<Arc<File>>>,
    /// Used since the last sweep passed it.
    referenced: AtomicBool,
    /// Written since the last fsync began: not evicted until synced.
    dirty: AtomicBool,
    /// The file's paths are unlinked: the handle is all that is left, so it is never evicted.
    deleted: AtomicBool,
}

impl std::fmt::Debug for FileSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSlot")
            .field("path", &self.path)
            .field("open", &self.is_open())
            .finish()
    }
}

impl FileSlot {
    /// The open handle, reopening the file if the cache closed it.
    pub(crate) fn get(self: &Arc<Self>) -> io::Result<Arc<File>> {
        let mut g = lock(&self.file);
        self.referenced.store(true, Ordering::Release);
        if let Some(f) = &*g {
            return Ok(f.clone());
        }
        if self.deleted.load(Ordering::Acquire) {
            // Deleted while closed (no reader held it then): there is nothing left to read.
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "segment was deleted",
            ));
        }
        let f = match open_rw(&self.path, false) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) => {
                // The process ran out of descriptors (sockets count too): give back a few of ours and retry once.
                tracing::warn!(path = %self.path.display(), budget = self.cache.budget,
                    "too many open files; closing cached segment files and retrying");
                self.cache.admit(None, self.cache.budget / 4 + 1);
                open_rw(&self.path, false)?
            }
            Err(e) => return Err(e),
        };
        let f = Arc::new(f);
        *g = Some(f.clone());
        self.cache.opens.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("strait_segment_files_reopened_total").increment(1);
        // Holding our own lock while sweeping is safe: the sweep only ever try-locks slots.
        self.cache.admit(Some(self), 0);
        Ok(f)
    }

    pub(crate) fn is_open(&self) -> bool {
        lock(&self.file).is_some()
    }

    fn pinned(&self) -> bool {
        self.dirty.load(Ordering::Acquire) || self.deleted.load(Ordering::Acquire)
    }

    /// Called before writing: keeps the handle open until the next fsync.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Called before an fsync starts (writes after this mark the file dirty again); returns the previous state,
    /// to restore with [`restore_dirty`](Self::restore_dirty) if the fsync fails.
    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn restore_dirty(&self, was: bool) {
        if was {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Called before the file's paths are unlinked: opens the file if it is closed and pins the handle, so
    /// readers that still hold the segment keep reading it.
    pub(crate) fn pin_for_delete(self: &Arc<Self>) {
        if let Err(e) = self.get() {
            tracing::debug!(path = %self.path.display(), error = %e, "segment already gone before deletion");
        }
        self.deleted.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let p = dir.join(format!("{i}.log"));
                std::fs::write(&p, format!("file {i}")).expect("write");
                p
            })
            .collect()
    }

    fn read_all(f: &File) -> String {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; 64];
        let n = f.read_at(&mut buf, 0).expect("read");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn stays_within_budget_and_reopens_evicted_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FdCache::new(4);
        let slots: Vec<_> = files(dir.path(), 20)
            .into_iter()
            .map(|p| cache.slot(p, None))
            .collect();
        for round in 0..3 {
            for (i, s) in slots.iter().enumerate() {
                let f = s.get().expect("open");
                assert_eq!(read_all(&f), format!("file {i}"), "round {round}");
                drop(f);
                assert!(cache.open_count() <= 4, "open {}", cache.open_count());
            }
        }
        let (opens, evictions) = cache.counters();
        assert_eq!(opens, 60, "every access after eviction reopened the file");
        assert!(evictions >= 56, "evictions {evictions}");
    }

    #[test]
    fn recently_used_files_stay_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FdCache::new(3);
        let slots: Vec<_> = files(dir.path(), 3)
            .into_iter()
            .map(|p| cache.slot(p, None))
            .collect();
        for s in &slots {
            s.get().expect("open");
        }
        let (opens, _) = cache.counters();
        // Repeated hits on open files do not reopen them.
        for _ in 0..10 {
            for s in &slots[..2] {
                s.get().expect("hit");
            }
        }
        assert_eq!(cache.counters().0, opens);
    }

    #[test]
    fn dirty_and_deleted_files_are_not_evicted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FdCache::new(2);
        let paths = files(dir.path(), 6);
        let dirty = cache.slot(paths[0].clone(), None);
        dirty.mark_dirty();
        dirty.get().expect("open");
        let gone = cache.slot(paths[1].clone(), None);
        gone.pin_for_delete();
        std::fs::remove_file(&paths[1]).expect("unlink");
        let others: Vec<_> = paths[2..]
            .iter()
            .map(|p| cache.slot(p.clone(), None))
            .collect();
        for _ in 0..3 {
            for s in &others {
                s.get().expect("open");
            }
        }
        assert!(dirty.is_open() && gone.is_open());
        assert_eq!(
            read_all(&gone.get().expect("still readable")),
            "file 1",
            "an unlinked segment stays readable through its pinned handle"
        );
        // Once synced, the dirty file can go.
        assert!(dirty.take_dirty());
        for _ in 0..3 {
            for s in &others {
                s.get().expect("open");
            }
        }
        assert!(!dirty.is_open());
        assert_eq!(read_all(&dirty.get().expect("reopen")), "file 0");
    }

    #[test]
    fn deleting_an_evicted_segment_reopens_and_pins_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FdCache::new(1);
        let paths = files(dir.path(), 3);
        let a = cache.slot(paths[0].clone(), None);
        let b = cache.slot(paths[1].clone(), None);
        let c = cache.slot(paths[2].clone(), None);
        a.get().expect("open a");
        b.get().expect("open b");
        assert!(!a.is_open(), "a budget of one closed a");
        // Retention: pin, then unlink. A reader still holding the segment reads on.
        a.pin_for_delete();
        std::fs::remove_file(&paths[0]).expect("unlink");
        for _ in 0..3 {
            b.get().expect("b");
            c.get().expect("c");
        }
        assert_eq!(read_all(&a.get().expect("pinned")), "file 0");
        // A segment whose file vanished before the pin reports NotFound, not a panic or a wrong file.
        std::fs::remove_file(&paths[1]).expect("unlink b");
        c.get().expect("c evicts b");
        b.pin_for_delete();
        assert_eq!(b.get().expect_err("gone").kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_handle_in_use_survives_eviction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FdCache::new(1);
        let paths = files(dir.path(), 2);
        let a = cache.slot(paths[0].clone(), None);
        let b = cache.slot(paths[1].clone(), None);
        let held = a.get().expect("open a");
        b.get().expect("open b");
        b.get().expect("hit b");
        std::fs::remove_file(&paths[0]).expect("unlink");
        // Even if the cache closed `a`, the reader's own handle still reads the (now unlinked) file.
        assert_eq!(read_all(&held), "file 0");
    }
}
