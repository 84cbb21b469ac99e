//! One segment of a partition log: `<base offset>.log` plus its sparse indexes.
//!
//! A segment has a single writer (the partition's append lock) and any number of readers. Writers append with
//! positional writes and then publish the new size; readers only ever read below the published sizes, so they
//! never take the append lock.
// #[PerformanceCriticalPath]

use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::batch::{self, BatchHeader, HEADER_LEN};
use crate::error::{IoContext, Result};
use crate::fdcache::{self, FdCache, FileSlot};
use crate::index::{self, SegmentIndex};

pub(crate) fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

/// What a tail scan found: how much of the file is valid.
#[derive(Debug)]
pub(crate) struct ScanOutcome {
    pub(crate) valid_len: u64,
    pub(crate) file_len: u64,
    pub(crate) reason: Option<String>,
    /// The whole file was CRC-scanned (its index was not trusted or not usable).
    pub(crate) scanned: bool,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) path: PathBuf,
    /// The log file, opened on demand through the engine's bounded file cache (see [`crate::fdcache`]).
    file: Arc<FileSlot>,
    /// Size of the log when the index files were last written and synced (`u64::MAX`: not since open), so a
    /// clean shutdown skips partitions that did not change.
    index_persisted_at: AtomicU64,
    /// Bytes written (writer side).
    size: AtomicU64,
    /// Bytes readers may see: durable bytes under `fsync = always`, written bytes otherwise.
    visible: AtomicU64,
    /// Offset after the last written batch.
    next_offset: AtomicI64,
    /// Largest batch max-timestamp in the segment, and the base offset of that batch.
    max_ts: AtomicI64,
    max_ts_offset: AtomicI64,
    /// Wall-clock ms of the first append (for `segment.ms`) — file mtime for segments found on disk.
    pub(crate) created_ms: AtomicI64,
    pub(crate) index: RwLock<SegmentIndex>,
}

fn read_lock(l: &RwLock<SegmentIndex>) -> std::sync::RwLockReadGuard<'_, SegmentIndex> {
    // A panic while holding the lock cannot leave the index inconsistent (entries are pushed whole), so a
    // poisoned lock is still usable.
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn write_lock(l: &RwLock<SegmentIndex>) -> std::sync::RwLockWriteGuard<'_, SegmentIndex> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Segment {
    /// Creates a new empty segment file.
    pub(crate) fn create(
        files: &Arc<FdCache>,
        dir: &Path,
        base_offset: i64,
        now_ms: i64,
    ) -> Result<Arc<Segment>> {
        let path = dir.join(log_file_name(base_offset));
        let file = fdcache::open_rw(&path, true).at(&path)?;
        let slot = files.slot(path.clone(), Some(file));
        Ok(Arc::new(Segment::from_parts(
            base_offset,
            path,
            slot,
            0,
            base_offset,
            SegmentIndex::default(),
            now_ms,
        )))
    }

    fn from_parts(
        base: i64,
        path: PathBuf,
        file: Arc<FileSlot>,
        size: u64,
        next: i64,
        index: SegmentIndex,
        created: i64,
    ) -> Self {
        Segment {
            base_offset: base,
            path,
            file,
            index_persisted_at: AtomicU64::new(u64::MAX),
            size: AtomicU64::new(size),
            visible: AtomicU64::new(size),
            next_offset: AtomicI64::new(next),
            max_ts: AtomicI64::new(-1),
            max_ts_offset: AtomicI64::new(-1),
            created_ms: AtomicI64::new(created),
            index: RwLock::new(index),
        }
    }

    /// Opens an existing segment. With `trust_index`, a sane index file is used and only the stretch after its
    /// last entry is walked; otherwise (or if the index is missing or stale) the whole file is CRC-scanned and
    /// cut back to its valid prefix. Returns the segment and what the scan found.
    pub(crate) fn open(
        files: &Arc<FdCache>,
        path: PathBuf,
        base_offset: i64,
        trust_index: bool,
        interval: u32,
    ) -> Result<(Arc<Segment>, ScanOutcome)> {
        // The size and mtime come from the path: opening a partition with an index to trust need not hold a
        // descriptor at all until the segment is read.
        let meta = std::fs::metadata(&path).at(&path)?;
        let file_len = meta.len();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let slot = files.slot(path.clone(), None);
        let seg = Segment::from_parts(
            base_offset,
            path.clone(),
            slot,
            0,
            base_offset,
            SegmentIndex::default(),
            mtime,
        );
        if file_len == 0 {
            // Nothing to index or scan (a partition never written to has no index files).
            return Ok((
                Arc::new(seg),
                ScanOutcome {
                    valid_len: 0,
                    file_len: 0,
                    reason: None,
                    scanned: false,
                },
            ));
        }
        if trust_index && let Some(idx) = seg.load_index(file_len) {
            if let Some(outcome) = seg.walk_tail(idx, file_len)? {
                return Ok((Arc::new(seg), outcome));
            }
            tracing::warn!(segment = %path.display(), "index does not match the log; rebuilding it with a full scan");
        } else if trust_index {
            tracing::warn!(segment = %path.display(), "index missing or invalid; rebuilding it with a full scan");
        }
        let outcome = seg.full_scan(file_len, interval)?;
        Ok((Arc::new(seg), outcome))
    }

    fn load_index(&self, log_len: u64) -> Option<SegmentIndex> {
        let o = std::fs::read(index::offset_index_path(&self.path)).ok()?;
        let t = std::fs::read(index::time_index_path(&self.path)).ok()?;
        SegmentIndex::decode(&o, &t, log_len)
    }

    /// Walks batch headers from the last index entry to the end of the file (no CRC check: the segment was
    /// sealed and synced). Returns `None` when the headers do not line up with the index.
    fn walk_tail(&self, idx: SegmentIndex, file_len: u64) -> Result<Option<ScanOutcome>> {
        let (mut pos, mut next) = match idx.offsets.last() {
            Some(&(rel, pos)) => (pos as u64, self.base_offset + rel as i64),
            None => (0, self.base_offset),
        };
        let mut max_ts = idx.times.last().map_or(-1, |t| t.0);
        let mut max_ts_off = idx
            .times
            .last()
            .map_or(-1, |t| self.base_offset + t.1 as i64);
        let mut hdr = [0u8; HEADER_LEN];
        let file = self.handle()?;
        while pos < file_len {
            if pos + HEADER_LEN as u64 > file_len || file.read_exact_at(&mut hdr, pos).is_err() {
                return Ok(None);
            }
            let h = match BatchHeader::parse(&hdr) {
                Ok(h) if h.base_offset == next && pos + h.total_len() as u64 <= file_len => h,
                _ => return Ok(None),
            };
            if h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                max_ts_off = h.base_offset;
            }
            next = h.last_offset() + 1;
            pos += h.total_len() as u64;
        }
        self.set_state(file_len, next, max_ts, max_ts_off);
        *write_lock(&self.index) = idx;
        // The index files on disk are the ones just loaded: nothing to write back until the log changes.
        self.index_persisted_at.store(file_len, Ordering::Release);
        Ok(Some(ScanOutcome {
            valid_len: file_len,
            file_len,
            reason: None,
            scanned: false,
        }))
    }

    /// CRC-checks every batch from the start, rebuilding the index, and truncates the file after the last valid
    /// batch (a torn or corrupt tail).
    fn full_scan(&self, file_len: u64, interval: u32) -> Result<ScanOutcome> {
        let file = self.handle()?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &*file);
        reader.seek(SeekFrom::Start(0)).at(&self.path)?;
        let mut idx = SegmentIndex::default();
        let (mut pos, mut next, mut max_ts, mut max_ts_off) =
            (0u64, self.base_offset, -1i64, -1i64);
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut reason = None;
        while pos < file_len {
            let remaining = file_len - pos;
            if remaining < HEADER_LEN as u64 {
                reason = Some(format!(
                    "{remaining} trailing bytes are too short for a batch header"
                ));
                break;
            }
            buf.resize(batch::LOG_OVERHEAD, 0);
            reader.read_exact(&mut buf).at(&self.path)?;
            let (base, total) = match batch::peek_offset_and_len(&buf) {
                Ok(v) => v,
                Err(e) => {
                    reason = Some(format!("at position {pos}: {e}"));
                    break;
                }
            };
            if total as u64 > remaining {
                reason = Some(format!(
                    "at position {pos}: batch of {total} bytes runs past the end ({remaining} left)"
                ));
                break;
            }
            buf.resize(total, 0);
            reader
                .read_exact(&mut buf[batch::LOG_OVERHEAD..])
                .at(&self.path)?;
            let h = match batch::validate(&buf) {
                Ok(h) => h,
                Err(e) => {
                    reason = Some(format!("at position {pos}: {e}"));
                    break;
                }
            };
            if base != next || h.last_offset_delta < 0 {
                reason = Some(format!(
                    "at position {pos}: batch base offset {base}, expected {next}"
                ));
                break;
            }
            let raised = h.max_timestamp > max_ts;
            if raised {
                max_ts = h.max_timestamp;
                max_ts_off = base;
            }
            idx.on_batch(
                (base - self.base_offset) as u32,
                pos as u32,
                total as u32,
                max_ts,
                raised,
                interval,
            );
            next = h.last_offset() + 1;
            pos += total as u64;
        }
        if pos < file_len {
            file.set_len(pos).at(&self.path)?;
            file.sync_all().at(&self.path)?;
        }
        self.set_state(pos, next, max_ts, max_ts_off);
        *write_lock(&self.index) = idx;
        Ok(ScanOutcome {
            valid_len: pos,
            file_len,
            reason,
            scanned: true,
        })
    }

    fn set_state(&self, size: u64, next: i64, max_ts: i64, max_ts_off: i64) {
        self.size.store(size, Ordering::Release);
        self.visible.store(size, Ordering::Release);
        self.next_offset.store(next, Ordering::Release);
        self.max_ts.store(max_ts, Ordering::Release);
        self.max_ts_offset.store(max_ts_off, Ordering::Release);
    }

    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }
    pub(crate) fn visible(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }
    pub(crate) fn publish(&self, visible: u64) {
        self.visible.fetch_max(visible, Ordering::AcqRel);
    }
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset.load(Ordering::Acquire)
    }
    pub(crate) fn max_timestamp(&self) -> (i64, i64) {
        (
            self.max_ts.load(Ordering::Acquire),
            self.max_ts_offset.load(Ordering::Acquire),
        )
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// Appends already-validated batches whose offsets have been assigned. Caller holds the append lock.
    /// Appends batches, each given as its stamped header and the rest of its bytes, in one vectored write.
    pub(crate) fn append(&self, batches: &[BatchParts<'_>], interval: u32) -> Result<()> {
        let start = self.size();
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batches.len() * 2);
        for b in batches {
            slices.push(IoSlice::new(b.head));
            slices.push(IoSlice::new(b.rest));
        }
        // Marked before the write: the cache must not close the handle before the fsync that covers it.
        self.file.mark_dirty();
        write_all_vectored_at(&*self.handle()?, &mut slices, start).at(&self.path)?;
        let mut idx = write_lock(&self.index);
        let mut max_ts = self.max_ts.load(Ordering::Acquire);
        let mut pos = start;
        for b in batches {
            let (h, len) = (b.header, b.head.len() + b.rest.len());
            let raised = h.max_timestamp > max_ts;
            if raised {
                max_ts = h.max_timestamp;
                self.max_ts.store(max_ts, Ordering::Release);
                self.max_ts_offset.store(h.base_offset, Ordering::Release);
            }
            idx.on_batch(
                (h.base_offset - self.base_offset) as u32,
                pos as u32,
                len as u32,
                max_ts,
                raised,
                interval,
            );
            pos += len as u64;
        }
        drop(idx);
        if let Some(last) = batches.last() {
            self.next_offset
                .store(last.header.last_offset() + 1, Ordering::Release);
        }
        self.size.store(pos, Ordering::Release);
        Ok(())
    }

    pub(crate) fn sync(&self) -> Result<()> {
        let was_dirty = self.file.take_dirty();
        let res = self.handle().and_then(|f| f.sync_data().at(&self.path));
        if res.is_err() {
            self.file.restore_dirty(was_dirty);
        }
        res
    }

    /// The open log file (reopened if the file cache closed it).
    fn handle(&self) -> Result<Arc<File>> {
        self.file.get().at(&self.path)
    }

    /// Writes both index files and fsyncs them (called once a segment is sealed, and on clean shutdown).
    pub(crate) fn persist_index(&self) -> Result<()> {
        let size = self.size();
        // An empty log needs no index files: opening it finds nothing to scan either way.
        if size == 0 || self.index_persisted_at.load(Ordering::Acquire) == size {
            return Ok(());
        }
        // Locate before taking the write lock: `locate` reads the index itself.
        let (ts, off) = self.max_timestamp();
        let max_pos = if off >= 0 {
            self.position_of_batch(off)?
        } else {
            None
        };
        let (o, t) = {
            let mut idx = write_lock(&self.index);
            if let Some(pos) = max_pos {
                idx.seal_time(ts, (off - self.base_offset) as u32, pos as u32);
            }
            idx.encode()
        };
        for (path, bytes) in [
            (index::offset_index_path(&self.path), o),
            (index::time_index_path(&self.path), t),
        ] {
            crate::util::write_private(&path, &bytes)?;
        }
        self.index_persisted_at.store(size, Ordering::Release);
        Ok(())
    }

    fn read_header_at(&self, file: &File, pos: u64) -> Result<BatchHeader> {
        let mut hdr = [0u8; HEADER_LEN];
        file.read_exact_at(&mut hdr, pos).at(&self.path)?;
        BatchHeader::parse(&hdr).map_err(Into::into)
    }

    /// File position of the batch containing `offset`, walking forward from the index; `None` if the batch is not
    /// below `limit` bytes.
    fn locate(&self, file: &File, offset: i64, limit: u64) -> Result<Option<(u64, BatchHeader)>> {
        let rel = (offset - self.base_offset).max(0) as u32;
        let mut pos = read_lock(&self.index).position_for(rel) as u64;
        while pos + HEADER_LEN as u64 <= limit {
            let h = self.read_header_at(file, pos)?;
            if h.last_offset() >= offset {
                return Ok(Some((pos, h)));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }

    fn position_of_batch(&self, base: i64) -> Result<Option<u64>> {
        let file = self.handle()?;
        Ok(self.locate(&file, base, self.size())?.map(|(p, _)| p))
    }

    /// Reads whole batches starting with the one containing `offset`, up to `max_bytes` (but always at least one
    /// whole batch), never past `limit` bytes of the file nor any batch at or past `end_offset`.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        limit: u64,
        end_offset: i64,
    ) -> Result<Option<Vec<u8>>> {
        let file = self.handle()?;
        let Some((pos, first)) = self.locate(&file, offset, limit)? else {
            return Ok(None);
        };
        if first.base_offset >= end_offset || pos + first.total_len() as u64 > limit {
            return Ok(None);
        }
        let want = (max_bytes.max(first.total_len()) as u64).min(limit - pos) as usize;
        let mut buf = read_exact_at(&file, want, pos).at(&self.path)?;
        // Cut at the last whole batch that ends inside the buffer and starts below `end_offset`.
        let mut cut = 0usize;
        while cut + batch::LOG_OVERHEAD <= buf.len() {
            let Ok((base, total)) = batch::peek_offset_and_len(&buf[cut..]) else {
                break;
            };
            if base >= end_offset || cut + total > buf.len() {
                break;
            }
            cut += total;
        }
        buf.truncate(cut);
        Ok(Some(buf))
    }

    /// The first batch (below `limit`/`end_offset`) whose max timestamp is >= `ts`, with its bytes.
    pub(crate) fn find_by_time(
        &self,
        ts: i64,
        limit: u64,
        end_offset: i64,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        let mut pos = read_lock(&self.index).position_for_time(ts) as u64;
        let file = self.handle()?;
        while pos + HEADER_LEN as u64 <= limit {
            let h = self.read_header_at(&file, pos)?;
            if h.base_offset >= end_offset {
                return Ok(None);
            }
            if h.max_timestamp >= ts {
                let buf = read_exact_at(&file, h.total_len(), pos).at(&self.path)?;
                return Ok(Some((h, buf)));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }

    /// Reads the batch whose base offset is `base`.
    pub(crate) fn read_batch(&self, base: i64, limit: u64) -> Result<Option<Vec<u8>>> {
        let file = self.handle()?;
        let Some((pos, h)) = self.locate(&file, base, limit)? else {
            return Ok(None);
        };
        let buf = read_exact_at(&file, h.total_len(), pos).at(&self.path)?;
        Ok(Some(buf))
    }

    /// Cuts the segment so its last batch is the one ending at `last_offset` (which must end a batch).
    pub(crate) fn truncate_after(&self, last_offset: i64) -> Result<()> {
        let file = self.handle()?;
        let new_size = if last_offset < self.base_offset {
            0
        } else {
            let Some((pos, h)) = self.locate(&file, last_offset, self.size())? else {
                return Err(crate::error::EngineError::NotBatchBoundary(last_offset));
            };
            if h.last_offset() != last_offset {
                return Err(crate::error::EngineError::NotBatchBoundary(last_offset));
            }
            pos + h.total_len() as u64
        };
        file.set_len(new_size).at(&self.path)?;
        file.sync_all().at(&self.path)?;
        write_lock(&self.index).truncate_to(new_size);
        self.index_persisted_at.store(u64::MAX, Ordering::Release);
        self.size.store(new_size, Ordering::Release);
        self.visible.fetch_min(new_size, Ordering::AcqRel);
        self.next_offset
            .store(last_offset.max(self.base_offset - 1) + 1, Ordering::Release);
        // Recompute the max timestamp over what is left; rare (Raft truncation), so a walk is fine.
        let (mut pos, mut max_ts, mut max_off) = (0u64, -1i64, -1i64);
        while pos < new_size {
            let h = self.read_header_at(&file, pos)?;
            if h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                max_off = h.base_offset;
            }
            pos += h.total_len() as u64;
        }
        self.max_ts.store(max_ts, Ordering::Release);
        self.max_ts_offset.store(max_off, Ordering::Release);
        Ok(())
    }

    /// Cuts the file back to the bytes the segment accounts for: drops whatever a failed write left past them.
    pub(crate) fn cut_to_size(&self) -> Result<()> {
        self.handle()?.set_len(self.size()).at(&self.path)
    }

    /// Removes the segment's files (readers holding it keep reading the unlinked file: its handle is pinned
    /// open first, so the file cache cannot close it under them).
    pub(crate) fn delete_files(&self) -> Result<()> {
        self.file.pin_for_delete();
        Self::remove_files(&self.path)
    }

    /// Removes a segment's log file and its index files, whichever exist (the segment is not open).
    pub(crate) fn remove_files(path: &Path) -> Result<()> {
        for p in [
            path.to_path_buf(),
            index::offset_index_path(path),
            index::time_index_path(path),
            crate::txn::index_path(path),
        ] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).at(&p),
            }
        }
        Ok(())
    }

    /// Walks all batch headers, calling `f` for each (used to rebuild the epoch cache).
    pub(crate) fn for_each_header(&self, mut f: impl FnMut(&BatchHeader)) -> Result<()> {
        let (mut pos, end) = (0u64, self.size());
        let file = self.handle()?;
        while pos < end {
            let h = self.read_header_at(&file, pos)?;
            f(&h);
            pos += h.total_len() as u64;
        }
        Ok(())
    }

    /// Walks the batches below `limit` bytes, reporting each transaction event (reads only control batches whole).
    pub(crate) fn scan_txn(
        &self,
        limit: u64,
        mut f: impl FnMut(crate::txn::TxnEvent),
    ) -> Result<()> {
        let mut pos = 0u64;
        let file = self.handle()?;
        while pos < limit {
            let h = self.read_header_at(&file, pos)?;
            let ev = crate::txn::event(&h, || {
                let mut buf = vec![0u8; h.total_len()];
                file.read_exact_at(&mut buf, pos).ok().map(|_| buf)
            });
            if let Some(e) = ev {
                f(e);
            }
            pos += h.total_len() as u64;
        }
        Ok(())
    }
}

/// One batch to append: its stamped header and the rest of its bytes.
pub(crate) struct BatchParts<'a> {
    pub(crate) header: &'a BatchHeader,
    pub(crate) head: &'a [u8],
    pub(crate) rest: &'a [u8],
}

/// `len` bytes at `offset`, read into a new buffer's spare capacity. A zeroed buffer (`vec![0; len]`) would have
/// the allocator hand out fresh zero pages for every large read: jemalloc purges a reused extent rather than
/// memset it, so each fetch paid page faults, page clearing and TLB shootdowns for memory it then overwrote
/// (a quarter of the server's CPU on a catch-up read).
fn read_exact_at(file: &File, len: usize, offset: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        // Reads into the whole spare capacity, which may exceed `len`; the excess is cut below.
        let at = offset + buf.len() as u64;
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Most slices one `pwritev` takes (Linux's IOV_MAX).
const IOV_MAX: usize = 1024;

/// `write_all_at` for several slices: `pwritev` until everything is written (short writes and EINTR retried).
fn write_all_vectored_at(
    file: &File,
    mut bufs: &mut [IoSlice<'_>],
    mut offset: u64,
) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let n = bufs.len().min(IOV_MAX);
        match rustix::io::pwritev(file, &bufs[..n], offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                offset += written as u64;
                IoSlice::advance_slices(&mut bufs, written);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::{BatchParts, HEADER_LEN, Segment, read_exact_at};
    use crate::batch::{self, BatchBuilder, RecordInput};
    use crate::fdcache::FdCache;

    /// A segment holding one batch of `n` records.
    fn segment_with_records(files: &Arc<FdCache>, dir: &std::path::Path, n: usize) -> Arc<Segment> {
        let seg = Segment::create(files, dir, 0, 0).expect("create");
        let mut b = BatchBuilder::new();
        for i in 0..n {
            let v = format!("v{i}");
            b.push(RecordInput {
                key: None,
                value: Some(v.as_bytes()),
                headers: &[],
                timestamp_ms: 1000,
            });
        }
        let bytes = b.finish();
        let h = batch::validate_for_append(&bytes, 64 << 20).expect("valid");
        let parts = [BatchParts {
            header: &h,
            head: &bytes[..HEADER_LEN],
            rest: &bytes[HEADER_LEN..],
        }];
        seg.append(&parts, 4096).expect("append");
        seg.sync().expect("sync");
        seg
    }

    #[test]
    fn reads_reopen_an_evicted_file_and_survive_deletion() {
        let cache = FdCache::new(1);
        let (d1, d2) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let a = segment_with_records(&cache, d1.path(), 3);
        let want = a
            .read(0, 1 << 20, a.size(), i64::MAX)
            .expect("read")
            .expect("batch");
        // Opening a second segment under a budget of one closes the first; reading it opens it again.
        let b = segment_with_records(&cache, d2.path(), 2);
        assert!(!a.file.is_open(), "evicted");
        assert_eq!(
            a.read(0, 1 << 20, a.size(), i64::MAX)
                .expect("reopen")
                .as_ref(),
            Some(&want)
        );
        assert!(
            b.read(0, 1 << 20, b.size(), i64::MAX)
                .expect("read b")
                .is_some()
        );
        assert!(!a.file.is_open(), "evicted again");
        // Retention deletes the evicted segment while a reader still holds it: the read still succeeds.
        a.delete_files().expect("delete");
        assert!(!a.path.exists());
        for _ in 0..3 {
            assert!(
                b.read(0, 1 << 20, b.size(), i64::MAX)
                    .expect("read b")
                    .is_some()
            );
        }
        assert_eq!(
            a.read(0, 1 << 20, a.size(), i64::MAX)
                .expect("after delete")
                .as_ref(),
            Some(&want)
        );
    }

    #[test]
    fn a_file_with_unsynced_writes_is_not_closed() {
        let cache = FdCache::new(1);
        let (d1, d2) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let a = segment_with_records(&cache, d1.path(), 1);
        a.file.mark_dirty();
        let b = segment_with_records(&cache, d2.path(), 1);
        assert!(
            a.file.is_open() && b.file.is_open(),
            "the dirty file stays open past the budget"
        );
        a.sync().expect("sync");
        b.read(0, 1 << 20, b.size(), i64::MAX).expect("read");
        let _c = segment_with_records(&cache, tempfile::tempdir().expect("dir").path(), 1);
        assert!(!a.file.is_open(), "closed once synced");
    }

    #[test]
    fn segment_and_index_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let cache = FdCache::new(4);
        let d = tempfile::tempdir().expect("dir");
        let a = segment_with_records(&cache, d.path(), 2);
        a.persist_index().expect("index");
        for f in [
            a.path.clone(),
            crate::index::offset_index_path(&a.path),
            crate::index::time_index_path(&a.path),
        ] {
            let mode = std::fs::metadata(&f).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }

    #[test]
    fn read_exact_at_reads_the_range_and_refuses_past_the_end() {
        let mut f = tempfile::tempfile().expect("temp file");
        let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).expect("write");
        let got = read_exact_at(&f, 2 * 1024 * 1024 + 7, 12345).expect("read");
        assert_eq!(got, &data[12345..12345 + 2 * 1024 * 1024 + 7]);
        assert!(read_exact_at(&f, 0, 0).expect("empty read").is_empty());
        let past = read_exact_at(&f, 100, data.len() as u64 - 50).expect_err("short file");
        assert_eq!(past.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
