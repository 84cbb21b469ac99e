//! A partition: an ordered list of segments with one writer, lock-free readers and a group-commit flusher.
//!
//! Offsets: `log_start` (first readable), `high_watermark` (first offset readers cannot see yet) and `log_end`
//! (next offset to assign). Under `fsync = always` the high watermark is the durable end, so consumers never see
//! a record that a crash could take back; under `fsync = interval` it is the log end, as in Kafka on one node.
// #[PerformanceCriticalPath]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::batch::{self, BatchHeader, HEADER_LEN};
use crate::config::{FsyncPolicy, TimestampType, TopicConfig};
use crate::epoch::EpochCache;
use crate::error::{EngineError, IoContext, Result};
use crate::fdcache::FdCache;
use crate::meta::{MetaOp, MetaStore};
use crate::segment::{BatchParts, Segment};
use crate::txn::{AbortedTxn, OpenSet, TxnIndex, TxnState};
use crate::util::{create_dir_private, lock, now_ms, read, sync_dir, write};

pub(crate) const PARTITIONS_TABLE: &str = "partitions";
/// Sealed partitions, keyed like [`PARTITIONS_TABLE`]. A separate record (not a field of [`PartitionState`]) so
/// that the background state updates, which are built before they are queued, can never overwrite a seal.
pub(crate) const SEALS_TABLE: &str = "sealed_partitions";

/// The metadata record of a sealed partition.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SealRecord {
    /// The log end when the partition was sealed: every offset below it was durable, none at or above it exists.
    pub(crate) end_offset: i64,
    pub(crate) sealed_ms: i64,
}

/// What the metadata store remembers about a partition between restarts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PartitionState {
    pub(crate) log_start_offset: i64,
    /// Every segment that ends at or before this offset was fsynced when it was sealed, so recovery trusts it.
    pub(crate) recovery_point: i64,
}

/// Options for one append.
#[derive(Debug, Clone, Copy)]
pub struct AppendOptions {
    /// Epoch (Kafka leader epoch / Raft term) stamped into every batch. Single-node Strait uses 0.
    pub leader_epoch: i32,
    /// Wait until the data is durable (fsynced) before returning — the acks=all / Kinesis success path.
    pub wait_durable: bool,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions {
            leader_epoch: 0,
            wait_durable: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker timestamp stamped on LogAppendTime topics, else -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOffsets {
    pub log_start: i64,
    pub high_watermark: i64,
    pub log_end: i64,
}

#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole record batches, as stored (possibly empty).
    pub records: Bytes,
    pub high_watermark: i64,
    pub log_start: i64,
}

/// Which end bounds a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Up to the high watermark: what consumers may see.
    Committed,
    /// Up to the log end: what a Raft leader replicates before it commits.
    Written,
}

#[derive(Debug, Clone, Default)]
struct Durable {
    offset: i64,
    failed: Option<Arc<str>>,
}

struct Writer {
    next_offset: i64,
    /// Sealed segments not yet fsynced (with their index files).
    unsynced: Vec<Arc<Segment>>,
    failed: Option<Arc<str>>,
    epochs: EpochCache,
    /// Set (to the log end) when sealing starts; from then on every append is refused.
    sealed: Option<i64>,
}

pub struct Partition {
    topic: String,
    index: u32,
    dir: PathBuf,
    policy: FsyncPolicy,
    index_interval: u32,
    max_inflated: u64,
    config: RwLock<TopicConfig>,
    segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    writer: Mutex<Writer>,
    log_start: AtomicI64,
    recovery_point: AtomicI64,
    hw: watch::Sender<i64>,
    durable: watch::Sender<Durable>,
    flush_wanted: Notify,
    closed: AtomicBool,
    flusher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    meta: MetaStore,
    meta_key: Vec<u8>,
    /// The engine's bounded cache of open segment files.
    files: Arc<FdCache>,
    /// Serialises `seal` calls; holds the end offset once the seal is durable in the metadata store.
    seal_done: tokio::sync::Mutex<Option<i64>>,
    /// Open and aborted transactions (see [`crate::txn`]). Updated under the writer lock (lock order: writer,
    /// then txn); readers take only this lock.
    txn: Mutex<TxnState>,
}

pub(crate) struct OpenArgs<'a> {
    pub(crate) topic: &'a str,
    pub(crate) index: u32,
    pub(crate) dir: PathBuf,
    pub(crate) state: PartitionState,
    pub(crate) clean: bool,
    pub(crate) policy: FsyncPolicy,
    pub(crate) flush_interval: Duration,
    pub(crate) index_interval: u32,
    pub(crate) max_inflated: u64,
    pub(crate) config: TopicConfig,
    pub(crate) meta: MetaStore,
    /// The persisted seal, if the partition was sealed before.
    pub(crate) sealed: Option<SealRecord>,
    pub(crate) files: Arc<FdCache>,
}

pub(crate) fn meta_key(topic: &str, index: u32) -> Vec<u8> {
    format!("{topic}\0{index:010}").into_bytes()
}

fn list_segments(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let path = entry.at(dir)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".log") {
            match stem.parse::<i64>() {
                Ok(base) if base >= 0 => out.push((base, path)),
                _ => {
                    tracing::warn!(file = %path.display(), "ignoring a .log file whose name is not an offset")
                }
            }
        } else if name.ends_with(".tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
    out.sort_by_key(|e| e.0);
    Ok(out)
}

/// Rebuilds the transaction state of recovered segments: a segment whose `.txnindex` matches (same end, same
/// open set at its start) is taken from the file; any other is scanned (headers, plus control batches whole), and
/// a scanned sealed segment gets its file written so the next open need not scan it again.
fn recover_txn_state(segs: &[Arc<Segment>]) -> Result<TxnState> {
    let mut st = TxnState::default();
    let last = segs.len().saturating_sub(1);
    for (i, s) in segs.iter().enumerate() {
        let end = s.next_offset();
        let file = TxnIndex::load(&s.path).filter(|x| x.end == end);
        if i == 0
            && let Some(x) = &file
        {
            // Retention removed the segments before: their open transactions are known only from here.
            st.open = x.open_at_start.iter().copied().collect();
        }
        st.checkpoints.insert(s.base_offset, st.open.clone());
        match file {
            Some(x) if x.open_at_start.iter().copied().collect::<OpenSet>() == st.open => {
                st.aborted.extend(x.aborted);
                st.open = x.open_at_end.into_iter().collect();
            }
            _ => {
                s.scan_txn(s.size(), |e| st.apply(e))?;
                if i != last
                    && let Some(x) = st.index_for(s.base_offset, end, &st.open)
                {
                    x.persist(&s.path)?;
                }
            }
        }
    }
    st.seen |= !st.open.is_empty() || !st.aborted.is_empty();
    Ok(st)
}

impl Partition {
    /// Opens (recovering if needed) or creates the partition in `args.dir`, and starts its flusher.
    pub(crate) fn open(args: OpenArgs<'_>) -> Result<Arc<Partition>> {
        create_dir_private(&args.dir)?;
        let found = list_segments(&args.dir)?;
        let mut segments: Vec<Arc<Segment>> = Vec::with_capacity(found.len().max(1));
        let mut scanned: Vec<Arc<Segment>> = Vec::new();
        for (i, (base, path)) in found.iter().enumerate() {
            if let Some(prev) = segments.last()
                && prev.next_offset() != *base
            {
                // The valid prefix ends in the previous segment: whatever follows cannot be trusted in order.
                tracing::error!(topic = args.topic, partition = args.index, segment = %path.display(),
                    expected = prev.next_offset(), "gap or overlap after a damaged segment; removing later segments");
                for (_, p) in &found[i..] {
                    std::fs::rename(p, p.with_extension("log.corrupt")).at(p)?;
                }
                break;
            }
            let next_base = found.get(i + 1).map(|e| e.0);
            let trusted = args.clean || next_base.is_some_and(|nb| nb <= args.state.recovery_point);
            let (seg, outcome) = Segment::open(
                &args.files,
                path.clone(),
                *base,
                trusted,
                args.index_interval,
            )?;
            if outcome.scanned {
                scanned.push(seg.clone());
            }
            if let Some(reason) = &outcome.reason {
                tracing::warn!(topic = args.topic, partition = args.index, segment = %path.display(),
                    kept = outcome.valid_len, cut = outcome.file_len - outcome.valid_len, %reason,
                    "cut a damaged tail off the segment");
            }
            segments.push(seg);
        }
        // Drop empty trailing segments except the last, so that an empty roll does not leave gaps behind.
        if segments.is_empty() {
            let base = args.state.log_start_offset.max(0);
            segments.push(Segment::create(&args.files, &args.dir, base, now_ms())?);
            sync_dir(&args.dir)?;
        }
        let active = segments.last().cloned().ok_or(EngineError::ShuttingDown)?;
        // Bytes recovered from the page cache after a process crash may never have reached the disk (the active
        // segment, and a segment sealed just before the crash, before its flush): make them durable before anyone
        // can read them or new acknowledged writes land after them. Rebuilt indexes of sealed segments are written
        // so the next start need not scan again.
        // After a clean shutdown everything was fsynced: skipping the fsync keeps a start with thousands of
        // partitions from opening and syncing every active file.
        if !args.clean {
            active.sync()?;
        }
        for s in &scanned {
            if !Arc::ptr_eq(s, &active) {
                s.sync()?;
                s.persist_index()?;
            }
        }
        let txn = recover_txn_state(&segments)?;
        let recovery_point = args.state.recovery_point.max(active.base_offset);
        let log_end = active.next_offset();
        let log_start = args
            .state
            .log_start_offset
            .max(segments[0].base_offset)
            .min(log_end);
        let mut epochs = match EpochCache::load(&args.dir) {
            Some(c) => c,
            None => {
                let mut c = EpochCache::default();
                for s in &segments {
                    s.for_each_header(|h: &BatchHeader| {
                        c.observe(h.partition_leader_epoch, h.base_offset);
                    })?;
                }
                c.persist(&args.dir)?;
                c
            }
        };
        if epochs.truncate_from(log_end) {
            epochs.persist(&args.dir)?;
        }
        let sealed = args.sealed.map(|r| r.end_offset);
        if let Some(end) = sealed
            && end != log_end
        {
            // Seal waits for durability before recording the seal, so the two agree unless storage lost data.
            tracing::error!(
                topic = args.topic,
                partition = args.index,
                sealed_end = end,
                log_end,
                "sealed partition's log end differs from its recorded seal; it stays sealed"
            );
        }
        let (hw, _) = watch::channel(log_end);
        let (durable, _) = watch::channel(Durable {
            offset: log_end,
            failed: None,
        });
        let p = Arc::new(Partition {
            topic: args.topic.to_string(),
            index: args.index,
            dir: args.dir,
            policy: args.policy,
            index_interval: args.index_interval,
            max_inflated: args.max_inflated,
            config: RwLock::new(args.config),
            segments: RwLock::new(Arc::new(segments)),
            writer: Mutex::new(Writer {
                next_offset: log_end,
                unsynced: Vec::new(),
                failed: None,
                epochs,
                sealed,
            }),
            log_start: AtomicI64::new(log_start),
            recovery_point: AtomicI64::new(recovery_point),
            hw,
            durable,
            flush_wanted: Notify::new(),
            closed: AtomicBool::new(false),
            flusher: Mutex::new(None),
            meta: args.meta,
            meta_key: meta_key(args.topic, args.index),
            files: args.files,
            seal_done: tokio::sync::Mutex::new(sealed),
            txn: Mutex::new(txn),
        });
        if recovery_point != args.state.recovery_point {
            p.meta.commit_in_background(vec![p.state_op()?]);
        }
        let handle = tokio::spawn(crate::flush::run(p.clone(), args.flush_interval));
        *lock(&p.flusher) = Some(handle);
        Ok(p)
    }

    pub(crate) fn policy(&self) -> FsyncPolicy {
        self.policy
    }
    pub fn topic(&self) -> &str {
        &self.topic
    }
    pub fn index(&self) -> u32 {
        self.index
    }
    pub fn config(&self) -> TopicConfig {
        *read(&self.config)
    }
    /// The node's cap on a compressed batch's inflated size, for readers that decompress (`batch::inflate`).
    pub fn max_inflated_batch_bytes(&self) -> u64 {
        self.max_inflated
    }
    pub(crate) fn set_config(&self, c: TopicConfig) {
        *write(&self.config) = c;
    }
    pub fn log_start(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }
    pub fn high_watermark(&self) -> i64 {
        *self.hw.borrow()
    }
    pub fn offsets(&self) -> LogOffsets {
        let log_end = lock(&self.writer).next_offset;
        LogOffsets {
            log_start: self.log_start(),
            high_watermark: self.high_watermark(),
            log_end,
        }
    }
    pub(crate) fn segments(&self) -> Arc<Vec<Arc<Segment>>> {
        read(&self.segments).clone()
    }
    /// Bytes on disk across all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments().iter().map(|s| s.size()).sum()
    }
    /// Latest epoch written, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        lock(&self.writer).epochs.latest()
    }
    /// OffsetForLeaderEpoch: `(largest epoch <= epoch, its end offset)`.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let w = lock(&self.writer);
        w.epochs.end_offset_for(epoch, w.next_offset)
    }

    fn state(&self) -> PartitionState {
        PartitionState {
            log_start_offset: self.log_start(),
            recovery_point: self.recovery_point.load(Ordering::Acquire),
        }
    }
    pub(crate) fn state_op(&self) -> Result<MetaOp> {
        let value =
            serde_json::to_vec(&self.state()).map_err(|source| EngineError::CorruptMetadata {
                what: "partition state".into(),
                source,
            })?;
        Ok(MetaOp::Put {
            table: PARTITIONS_TABLE.into(),
            key: self.meta_key.clone(),
            value,
        })
    }

    /// Validates and appends a record set (one or more v2 batches), assigning offsets and stamping the epoch.
    ///
    /// The records are never copied: each batch's 61-byte header is copied out and stamped (base offset, epoch,
    /// LogAppendTime), and the file gets headers and the caller's bytes in one vectored write. The Kafka front
    /// end hands in slices of the shared request buffer; copying each batch to make it mutable cost about a
    /// tenth of the produce path's CPU.
    pub async fn append(
        &self,
        records: impl Into<Bytes>,
        opts: AppendOptions,
    ) -> Result<AppendInfo> {
        let records: Bytes = records.into();
        if self.closed.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let cfg = self.config();
        let mut batches: Vec<Stamped> = Vec::with_capacity(1);
        let mut pos = 0;
        // CRC checks run before taking the append lock, so concurrent producers validate in parallel.
        while pos < records.len() {
            let h = batch::validate_for_append(&records[pos..], self.max_inflated)?;
            let len = h.total_len();
            if len > cfg.max_message_bytes as usize {
                return Err(EngineError::MessageTooLarge {
                    size: len,
                    max: cfg.max_message_bytes,
                });
            }
            batches.push(Stamped::new(h, &records, pos));
            pos += len;
        }
        if batches.is_empty() {
            return Err(batch::BatchError::Empty.into());
        }
        let log_append_time = match cfg.message_timestamp_type {
            TimestampType::LogAppendTime => {
                let now = now_ms();
                for b in &mut batches {
                    let rest = b.rest(&records);
                    batch::set_log_append_time_split(&mut b.head, rest, now);
                    b.header.max_timestamp = now;
                }
                now
            }
            TimestampType::CreateTime => -1,
        };
        let (base, end) = self.write_locked(&records, &mut batches, opts.leader_epoch, &cfg)?;
        metrics::counter!("strait_log_appended_bytes_total").increment(records.len() as u64);
        metrics::counter!("strait_log_appended_batches_total").increment(batches.len() as u64);
        if self.policy == FsyncPolicy::Always {
            self.flush_wanted.notify_one();
            if opts.wait_durable {
                self.wait_durable(end).await?;
            }
        }
        Ok(AppendInfo {
            base_offset: base,
            last_offset: end - 1,
            log_append_time,
            log_start_offset: self.log_start(),
        })
    }

    fn write_locked(
        &self,
        records: &Bytes,
        batches: &mut [Stamped],
        epoch: i32,
        cfg: &TopicConfig,
    ) -> Result<(i64, i64)> {
        let mut w = lock(&self.writer);
        if let Some(f) = &w.failed {
            return Err(self.failed(f));
        }
        // Checked under the append lock, which `seal` also takes: no append can land after the sealed end.
        if w.sealed.is_some() {
            return Err(self.sealed_error());
        }
        let total: u64 = records.len() as u64;
        let count: i64 = batches.iter().map(|b| b.header.record_count as i64).sum();
        let mut active = self.active();
        let rel_end = w.next_offset + count - active.base_offset;
        let too_big = active.size() + total > cfg.segment_bytes;
        let too_old = now_ms() - active.created_ms.load(Ordering::Acquire) > cfg.segment_ms;
        if !active.is_empty() && (too_big || too_old || rel_end > u32::MAX as i64 / 2) {
            active = self.roll(&mut w)?;
        }
        let base = w.next_offset;
        let mut off = base;
        for b in batches.iter_mut() {
            batch::set_base_offset(&mut b.head, off);
            batch::set_leader_epoch(&mut b.head, epoch);
            b.header.base_offset = off;
            b.header.partition_leader_epoch = epoch;
            off += b.header.record_count as i64;
        }
        let parts: Vec<BatchParts<'_>> = batches
            .iter()
            .map(|b| BatchParts {
                header: &b.header,
                head: &b.head,
                rest: b.rest(records),
            })
            .collect();
        if let Err(e) = active.append(&parts, self.index_interval) {
            // A failed write may leave part of a batch past the accounted size; refuse writes until the flusher's
            // recovery has cut it off and the disk takes writes again.
            self.fence(&mut w, &e);
            return Err(e);
        }
        w.next_offset = off;
        for b in batches.iter() {
            // Non-transactional batches (the common case) cost one attribute test here.
            if let Some(e) = crate::txn::event(&b.header, || Some(b.to_vec(records))) {
                lock(&self.txn).apply(e);
            }
        }
        if w.epochs.observe(epoch, base) {
            w.epochs.persist(&self.dir)?;
        }
        if self.policy == FsyncPolicy::Interval {
            active.publish(active.size());
            self.hw
                .send_if_modified(|hw| std::mem::replace(hw, off) != off);
        }
        Ok((base, off))
    }

    fn active(&self) -> Arc<Segment> {
        let segs = read(&self.segments);
        // Invariant: a partition always has at least one segment.
        segs[segs.len() - 1].clone()
    }

    fn roll(&self, w: &mut Writer) -> Result<Arc<Segment>> {
        let old = self.active();
        let new = Segment::create(&self.files, &self.dir, w.next_offset, now_ms())?;
        sync_dir(&self.dir)?;
        {
            let mut t = lock(&self.txn);
            let open = t.open.clone();
            t.checkpoints.insert(new.base_offset, open);
        }
        w.unsynced.push(old);
        let mut segs = write(&self.segments);
        let mut v = Vec::with_capacity(segs.len() + 1);
        v.extend(segs.iter().cloned());
        v.push(new.clone());
        *segs = Arc::new(v);
        metrics::counter!("strait_log_segment_rolls_total").increment(1);
        Ok(new)
    }

    fn sealed_error(&self) -> EngineError {
        EngineError::PartitionSealed {
            topic: self.topic.clone(),
            partition: self.index,
        }
    }

    /// Seals the partition: refuses every later append (with [`EngineError::PartitionSealed`]), waits until
    /// everything appended before is durable, records the seal in the metadata store (so it survives restarts),
    /// and returns the final log end offset (one past the last record). This is how a Kinesis shard is closed.
    ///
    /// The seal takes the append lock, so each concurrent append either completes below the returned offset or
    /// fails. Idempotent: sealing again returns the same offset. If it fails (fsync or metadata error), appends
    /// stay refused in this process but the seal is not durable until a retry of `seal` succeeds. Reads, retention
    /// and DeleteRecords keep working on a sealed partition.
    pub async fn seal(&self) -> Result<i64> {
        let mut done = self.seal_done.lock().await;
        if let Some(end) = *done {
            return Ok(end);
        }
        // A stopped flusher would never make the tail durable.
        if self.closed.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let end = {
            let mut w = lock(&self.writer);
            if let Some(f) = &w.failed {
                return Err(self.failed(f));
            }
            let log_end = w.next_offset;
            *w.sealed.get_or_insert(log_end)
        };
        // The seal tells readers that every offset below `end` exists; a crash must not take any of them back.
        self.flush_wanted.notify_one();
        self.wait_durable(end).await?;
        let record = SealRecord {
            end_offset: end,
            sealed_ms: now_ms(),
        };
        let value = serde_json::to_vec(&record).map_err(|source| EngineError::CorruptMetadata {
            what: "partition seal".into(),
            source,
        })?;
        self.meta
            .commit(vec![MetaOp::Put {
                table: SEALS_TABLE.into(),
                key: self.meta_key.clone(),
                value,
            }])
            .await?;
        *done = Some(end);
        tracing::info!(topic = %self.topic, partition = self.index, end, "sealed partition");
        Ok(end)
    }

    /// True once [`seal`](Self::seal) has started: appends are refused. The seal is durable once `seal` returned.
    pub fn is_sealed(&self) -> bool {
        lock(&self.writer).sealed.is_some()
    }

    /// The end offset the partition is sealed at, if sealed (see [`is_sealed`](Self::is_sealed)).
    pub fn sealed_end_offset(&self) -> Option<i64> {
        lock(&self.writer).sealed
    }

    /// Refuses writes after a failed write or fsync (until [`try_recover`](Self::try_recover) succeeds), fails
    /// every durability waiter, and reports the transition once: an ERROR log, `strait_storage_errors_total` and
    /// `strait_partition_offline`. Wakes the flusher, which runs the recovery.
    fn fence(&self, w: &mut Writer, e: &EngineError) {
        if w.failed.is_none() {
            tracing::error!(topic = %self.topic, partition = self.index, error = %e,
                "storage write failed; partition is offline for writes until the disk takes writes again");
            metrics::counter!("strait_storage_errors_total", "component" => "partition")
                .increment(1);
            self.offline_gauge().set(1.0);
        }
        let reason: Arc<str> = e.to_string().into();
        w.failed = Some(reason.clone());
        self.durable.send_modify(|d| d.failed = Some(reason));
        self.flush_wanted.notify_one();
    }

    fn offline_gauge(&self) -> metrics::Gauge {
        metrics::gauge!("strait_partition_offline", "topic" => self.topic.clone(),
            "partition" => self.index.to_string())
    }

    /// Why the partition refuses writes after a storage failure, or `None` when it takes writes.
    pub fn failure(&self) -> Option<String> {
        lock(&self.writer).failed.as_ref().map(|f| f.to_string())
    }

    pub(crate) fn is_failed(&self) -> bool {
        lock(&self.writer).failed.is_some()
    }

    /// One attempt to bring a fenced partition back; the flusher retries it with backoff. Returns `Ok(true)` once
    /// the partition takes writes again.
    ///
    /// Nothing is appended while fenced, so the files hold exactly what was written before the failure. A probe
    /// file first shows that the disk takes a largest batch again (one probe answers for every fenced partition,
    /// see `MetaStore::probe_space`). Then whatever a failed write left past the accounted size is cut off (no
    /// partial batch can surface), and every batch not yet durable is read back and CRC-checked: after a failed
    /// fsync the page cache may have dropped it, and a batch that does not read back whole is cut together with
    /// everything after it (under `fsync = always` no producer waiting for durability was acknowledged for it).
    /// Finally one flush makes the rest durable, which also publishes it.
    pub(crate) async fn try_recover(self: &Arc<Self>) -> Result<bool> {
        let (segs, from) = {
            let w = lock(&self.writer);
            if w.failed.is_none() {
                return Ok(true);
            }
            let mut segs = w.unsynced.clone();
            segs.push(self.active());
            (segs, self.durable.borrow().offset)
        };
        let meta = self.meta.clone();
        let dir = self.dir.clone();
        let checked = tokio::task::spawn_blocking(move || -> Result<Option<i64>> {
            meta.probe_space().map_err(|e| EngineError::Io {
                path: dir,
                source: std::io::Error::other(e),
            })?;
            if let Some(active) = segs.last() {
                active.cut_to_size()?;
            }
            for s in &segs {
                let mut off = from.max(s.base_offset);
                while off < s.next_offset() {
                    let Some(bytes) = s.read(off, 1 << 20, s.size(), i64::MAX)? else {
                        break;
                    };
                    for item in batch::BatchIter::new(&bytes) {
                        let bad = match item {
                            Ok((h, range)) => match batch::validate(&bytes[range]) {
                                Ok(_) => {
                                    off = h.last_offset() + 1;
                                    continue;
                                }
                                Err(e) => (h.base_offset, e),
                            },
                            Err(e) => (off, e),
                        };
                        tracing::error!(segment = %s.path.display(), offset = bad.0, error = %bad.1,
                            "a batch written before the storage failure does not read back; cutting the log there");
                        return Ok(Some(bad.0));
                    }
                }
            }
            Ok(None)
        })
        .await
        .unwrap_or(Err(EngineError::ShuttingDown));
        let bad = match checked {
            Ok(bad) => bad,
            Err(e) => {
                tracing::debug!(topic = %self.topic, partition = self.index, error = %e, "partition still offline");
                return Ok(false);
            }
        };
        {
            let mut w = lock(&self.writer);
            if let Some(first_bad) = bad {
                self.truncate_locked(&mut w, first_bad - 1)?;
            }
            w.failed = None;
            self.durable.send_modify(|d| d.failed = None);
        }
        self.flush_once().await?;
        self.offline_gauge().set(0.0);
        tracing::warn!(topic = %self.topic, partition = self.index, "storage recovered; partition takes writes again");
        Ok(true)
    }

    fn failed(&self, reason: &Arc<str>) -> EngineError {
        EngineError::PartitionFailed {
            topic: self.topic.clone(),
            partition: self.index,
            reason: reason.to_string(),
        }
    }

    /// Waits until everything before `end` is durable.
    pub async fn wait_durable(&self, end: i64) -> Result<()> {
        let mut rx = self.durable.subscribe();
        loop {
            {
                let d = rx.borrow_and_update();
                if let Some(f) = &d.failed {
                    return Err(self.failed(f));
                }
                if d.offset >= end {
                    return Ok(());
                }
            }
            if rx.changed().await.is_err() {
                return Err(EngineError::ShuttingDown);
            }
        }
    }

    /// One group-commit round: fsyncs sealed segments (and their indexes) and the active one, then publishes the
    /// new durable end and high watermark. Called by the flusher only.
    pub(crate) async fn flush_once(self: &Arc<Self>) -> Result<()> {
        let (target, sealed, active) = {
            let mut w = lock(&self.writer);
            if w.failed.is_some() {
                return Ok(());
            }
            (
                w.next_offset,
                std::mem::take(&mut w.unsynced),
                self.active(),
            )
        };
        let active_size = active.size();
        if target <= self.durable.borrow().offset && sealed.is_empty() {
            return Ok(());
        }
        let (s2, a2) = (sealed.clone(), active.clone());
        let txn_indexes: Vec<Option<TxnIndex>> = {
            let t = lock(&self.txn);
            sealed
                .iter()
                .map(|s| t.sealed_index(s.base_offset, s.next_offset()))
                .collect()
        };
        let started = std::time::Instant::now();
        let res = tokio::task::spawn_blocking(move || -> Result<()> {
            for (s, ti) in s2.iter().zip(&txn_indexes) {
                s.sync()?;
                s.persist_index()?;
                // Written after the segment is durable; a missing file only means a scan at the next open.
                if let Some(ti) = ti {
                    ti.persist(&s.path)?;
                }
            }
            a2.sync()
        })
        .await
        .unwrap_or(Err(EngineError::ShuttingDown));
        metrics::histogram!("strait_log_fsync_seconds").record(started.elapsed().as_secs_f64());
        metrics::counter!("strait_log_fsyncs_total").increment(1);
        if let Err(e) = res {
            let mut w = lock(&self.writer);
            // Still not durable: recovery must sync them again (they go first, in segment order).
            let later = std::mem::take(&mut w.unsynced);
            w.unsynced = sealed;
            w.unsynced.extend(later);
            self.fence(&mut w, &e);
            return Err(e);
        }
        for s in &sealed {
            s.publish(s.size());
        }
        active.publish(active_size);
        self.hw.send_if_modified(|hw| {
            let changed = *hw < target;
            *hw = (*hw).max(target);
            changed
        });
        self.durable
            .send_modify(|d| d.offset = d.offset.max(target));
        if !sealed.is_empty() {
            self.recovery_point
                .fetch_max(active.base_offset, Ordering::AcqRel);
            self.meta.commit_in_background(vec![self.state_op()?]);
        }
        Ok(())
    }

    pub(crate) fn flush_wanted(&self) -> &Notify {
        &self.flush_wanted
    }
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Reads whole batches from `offset` (at least one batch, else up to `max_bytes`) below the high watermark.
    pub async fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_bounded(offset, max_bytes, Bound::Committed).await
    }

    /// Like [`read`](Self::read) but up to the log end, including data not yet durable or committed: the
    /// index-range read a Raft leader needs to replicate its log.
    pub async fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_bounded(offset, max_bytes, Bound::Written).await
    }

    async fn read_bounded(
        &self,
        offset: i64,
        max_bytes: usize,
        bound: Bound,
    ) -> Result<ReadResult> {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let end = match bound {
            Bound::Committed => hw,
            Bound::Written => lock(&self.writer).next_offset,
        };
        if offset < log_start || offset > end {
            return Err(EngineError::OffsetOutOfRange {
                offset,
                log_start,
                high_watermark: hw,
            });
        }
        let empty = ReadResult {
            records: Bytes::new(),
            high_watermark: hw,
            log_start,
        };
        if offset == end {
            return Ok(empty);
        }
        let segs = self.segments();
        let records = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let first = segs
                .partition_point(|s| s.base_offset <= offset)
                .saturating_sub(1);
            for s in &segs[first..] {
                let limit = match bound {
                    Bound::Committed => s.visible(),
                    Bound::Written => s.size(),
                };
                if let Some(v) = s.read(offset, max_bytes, limit, end)? {
                    return Ok(v);
                }
            }
            Ok(Vec::new())
        })
        .await
        .unwrap_or(Err(EngineError::ShuttingDown))?;
        Ok(ReadResult {
            records: Bytes::from(records),
            ..empty
        })
    }

    /// Waits until the high watermark passes `offset` or `timeout` elapses; returns the high watermark.
    /// This is the long-poll primitive behind Kafka Fetch `max_wait_ms` and Kinesis long-lived reads.
    pub async fn wait_for_data(&self, offset: i64, timeout: Duration) -> i64 {
        let mut rx = self.hw.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            loop {
                if *rx.borrow_and_update() > offset {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        self.high_watermark()
    }

    /// The last stable offset: the first offset of the earliest transaction not yet decided (or whose marker is
    /// not yet below the high watermark), else the high watermark. READ_COMMITTED readers stop here.
    pub fn last_stable_offset(&self) -> i64 {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let mut t = lock(&self.txn);
        if !t.seen {
            return hw;
        }
        t.last_stable_offset(hw, log_start)
    }

    /// Aborted transactions a READ_COMMITTED read of `[from, to)` must filter out: those whose ABORT marker is
    /// at or after `from` and whose data starts before `to`, in marker order.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let t = lock(&self.txn);
        if !t.seen {
            return Vec::new();
        }
        t.aborted_between(from, to)
    }

    /// The producers with an open transaction here and the first offset of each (for diagnostics and tests).
    pub fn open_transactions(&self) -> OpenSet {
        lock(&self.txn).open.clone()
    }

    /// Like [`wait_for_data`](Self::wait_for_data) for READ_COMMITTED readers: waits until the last stable
    /// offset passes `offset` or `timeout` elapses; returns the last stable offset. The LSO moves only when the
    /// high watermark does (a marker counts once it is below it), so this waits on the high watermark.
    pub async fn wait_for_stable(&self, offset: i64, timeout: Duration) -> i64 {
        let mut rx = self.hw.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            loop {
                rx.borrow_and_update();
                if self.last_stable_offset() > offset {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        self.last_stable_offset()
    }

    /// The first committed batch whose max timestamp is >= `ts` (the front end picks the record inside it).
    pub async fn find_by_timestamp(&self, ts: i64) -> Result<Option<(BatchHeader, Bytes)>> {
        let hw = self.high_watermark();
        let segs = self.segments();
        let found =
            tokio::task::spawn_blocking(move || -> Result<Option<(BatchHeader, Vec<u8>)>> {
                for s in segs.iter() {
                    if s.max_timestamp().0 < ts {
                        continue;
                    }
                    if let Some(hit) = s.find_by_time(ts, s.visible(), hw)? {
                        return Ok(Some(hit));
                    }
                }
                Ok(None)
            })
            .await
            .unwrap_or(Err(EngineError::ShuttingDown))?;
        Ok(found.map(|(h, b)| (h, Bytes::from(b))))
    }

    /// The committed batch holding the largest timestamp (Kafka's ListOffsets MAX_TIMESTAMP).
    pub async fn max_timestamp_batch(&self) -> Result<Option<(BatchHeader, Bytes)>> {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let segs = self.segments();
        let best = segs
            .iter()
            .map(|s| (s.max_timestamp(), s.clone()))
            .filter(|((_, off), _)| *off >= log_start && *off < hw)
            .max_by_key(|((ts, _), _)| *ts);
        let Some(((_, off), seg)) = best else {
            return Ok(None);
        };
        let bytes = tokio::task::spawn_blocking(move || seg.read_batch(off, seg.visible()))
            .await
            .unwrap_or(Err(EngineError::ShuttingDown))?;
        Ok(bytes.and_then(|b| BatchHeader::parse(&b).ok().map(|h| (h, Bytes::from(b)))))
    }

    /// Kafka DeleteRecords: moves the log start to `offset` (<= high watermark) durably, then drops whole
    /// segments below it. Returns the new log start.
    pub async fn delete_records(&self, offset: i64) -> Result<i64> {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        if offset < 0 || offset > hw {
            return Err(EngineError::OffsetOutOfRange {
                offset,
                log_start,
                high_watermark: hw,
            });
        }
        if offset <= log_start {
            return Ok(log_start);
        }
        self.log_start.fetch_max(offset, Ordering::AcqRel);
        self.meta.commit(vec![self.state_op()?]).await?;
        self.drop_segments(|_, _| false)?;
        Ok(self.log_start())
    }

    /// Applies time and size retention; returns the number of segments deleted.
    pub(crate) fn apply_retention(&self, now: i64) -> Result<usize> {
        let cfg = self.config();
        if !cfg.deletes() {
            return Ok(0);
        }
        let total: u64 = self.size_bytes();
        let mut freed = 0u64;
        self.drop_segments(|s, _| {
            let (max_ts, _) = s.max_timestamp();
            let newest = if max_ts >= 0 {
                max_ts
            } else {
                s.created_ms.load(Ordering::Acquire)
            };
            let by_time = cfg.retention_ms >= 0 && newest < now - cfg.retention_ms;
            let by_size =
                cfg.retention_bytes >= 0 && total - freed >= cfg.retention_bytes as u64 + s.size();
            if by_time || by_size {
                freed += s.size();
            }
            by_time || by_size
        })
    }

    /// Deletes sealed, durable segments from the front while they are below the log start or `extra` says so.
    fn drop_segments(&self, mut extra: impl FnMut(&Segment, usize) -> bool) -> Result<usize> {
        let hw = self.high_watermark();
        let victims: Vec<Arc<Segment>> = {
            let mut w = lock(&self.writer);
            let mut segs = write(&self.segments);
            let mut n = 0;
            while n + 1 < segs.len() {
                let s = &segs[n];
                let below_start = s.next_offset() <= self.log_start();
                if s.next_offset() > hw || !(below_start || extra(s, n)) {
                    break;
                }
                n += 1;
            }
            if n == 0 {
                // DeleteRecords inside the first segment: only aborted ranges below the new start go.
                lock(&self.txn).prune(self.log_start(), segs[0].base_offset);
                return Ok(0);
            }
            let victims: Vec<_> = segs[..n].to_vec();
            *segs = Arc::new(segs[n..].to_vec());
            let new_start = segs[0].base_offset;
            self.log_start.fetch_max(new_start, Ordering::AcqRel);
            lock(&self.txn).prune(self.log_start(), new_start);
            if w.epochs.truncate_before(self.log_start()) {
                w.epochs.persist(&self.dir)?;
            }
            victims
        };
        self.meta.commit_in_background(vec![self.state_op()?]);
        for s in &victims {
            s.delete_files()?;
            tracing::info!(topic = %self.topic, partition = self.index, base = s.base_offset, "deleted segment");
        }
        metrics::counter!("strait_log_segments_deleted_total").increment(victims.len() as u64);
        Ok(victims.len())
    }

    /// Removes every batch after `last_kept` (which must end a batch, or be `log_start - 1`): the uncommitted
    /// suffix a Raft follower drops when its log diverges from the leader's.
    pub async fn truncate_after(&self, last_kept: i64) -> Result<()> {
        let mut w = lock(&self.writer);
        self.truncate_locked(&mut w, last_kept)
    }

    fn truncate_locked(&self, w: &mut Writer, last_kept: i64) -> Result<()> {
        let new_end = last_kept + 1;
        if new_end >= w.next_offset {
            return Ok(());
        }
        // A sealed end was promised to readers (a closed shard's last record); it cannot move back.
        if w.sealed.is_some() {
            return Err(self.sealed_error());
        }
        let log_start = self.log_start();
        if new_end < log_start {
            return Err(EngineError::OffsetOutOfRange {
                offset: last_kept,
                log_start,
                high_watermark: self.high_watermark(),
            });
        }
        let segs = self.segments();
        let keep = segs.partition_point(|s| s.base_offset <= new_end).max(1);
        let last = &segs[keep - 1];
        last.truncate_after(last_kept)?;
        for s in &segs[keep..] {
            s.delete_files()?;
        }
        // The transaction state goes back to the start of the cut segment and is rebuilt from what is left.
        TxnIndex::remove(&last.path)?;
        {
            let mut t = lock(&self.txn);
            t.rewind_to_segment(last.base_offset);
            last.scan_txn(last.size(), |e| t.apply(e))?;
        }
        *write(&self.segments) = Arc::new(segs[..keep].to_vec());
        w.unsynced.retain(|s| s.base_offset < new_end);
        w.next_offset = new_end;
        if w.epochs.truncate_from(new_end) {
            w.epochs.persist(&self.dir)?;
        }
        self.hw
            .send_if_modified(|hw| std::mem::replace(hw, (*hw).min(new_end)) != *hw);
        self.durable
            .send_modify(|d| d.offset = d.offset.min(new_end));
        Ok(())
    }

    /// Stops the flusher without flushing (see `Engine::abandon`).
    pub(crate) async fn halt(&self) {
        self.closed.store(true, Ordering::Release);
        let handle = lock(&self.flusher).take();
        if let Some(h) = handle {
            h.abort();
            let _ = h.await;
        }
    }

    /// Final flush, index files and flusher stop (called once, on engine shutdown or topic deletion).
    pub(crate) async fn close(self: &Arc<Self>) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.flush_wanted.notify_one();
        let handle = lock(&self.flusher).take();
        if let Some(h) = handle {
            let _ = h.await;
        }
        let res = self.flush_once().await;
        // A fenced partition's tail is unverified: no index files, and an error so shutdown does not mark the data
        // directory clean (the next start then checks the tails).
        if let Some(f) = lock(&self.writer).failed.clone() {
            return Err(self.failed(&f));
        }
        let active = self.active();
        let txn_index = {
            let t = lock(&self.txn);
            t.index_for(active.base_offset, active.next_offset(), &t.open)
        };
        tokio::task::spawn_blocking(move || {
            active.persist_index()?;
            // Lets a clean restart skip scanning the active segment (trusted only while its end matches).
            // Rewriting (and fsyncing) an identical file for every partition made a clean stop slow.
            match txn_index {
                Some(ti)
                    if !(active.is_empty() && ti.is_trivial())
                        && TxnIndex::load(&active.path).as_ref() != Some(&ti) =>
                {
                    ti.persist(&active.path)
                }
                _ => Ok(()),
            }
        })
        .await
        .unwrap_or(Err(EngineError::ShuttingDown))?;
        res
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One batch of an append: its header, copied out to be stamped by the log, and where the rest of it lies in the
/// caller's buffer.
struct Stamped {
    header: BatchHeader,
    head: [u8; HEADER_LEN],
    /// Start of the batch in the caller's buffer.
    at: usize,
    /// Whole batch length, header included.
    len: usize,
}

impl Stamped {
    /// `records[at..]` starts with a batch already validated as `header` (so at least `HEADER_LEN` long).
    fn new(header: BatchHeader, records: &[u8], at: usize) -> Stamped {
        let len = header.total_len();
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&records[at..at + HEADER_LEN]);
        Stamped {
            header,
            head,
            at,
            len,
        }
    }

    /// The batch after its header.
    fn rest<'a>(&self, records: &'a [u8]) -> &'a [u8] {
        &records[self.at + HEADER_LEN..self.at + self.len]
    }

    /// The stamped batch in one piece (control batches, whose marker record the transaction state reads).
    fn to_vec(&self, records: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        v.extend_from_slice(&self.head);
        v.extend_from_slice(self.rest(records));
        v
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Instant;

    use super::*;
    use crate::batch::{BatchBuilder, RecordInput};
    use crate::{Engine, EngineConfig};

    fn batch(tag: &str) -> Bytes {
        let mut b = BatchBuilder::new();
        b.push(RecordInput {
            key: None,
            value: Some(tag.as_bytes()),
            headers: &[],
            timestamp_ms: 1000,
        });
        b.finish().freeze()
    }

    /// Every record value below the high watermark.
    async fn values(p: &Partition) -> Vec<String> {
        let r = p.read(p.log_start(), 1 << 20).await.expect("read");
        let mut out = Vec::new();
        for item in batch::BatchIter::new(&r.records) {
            let (_, range) = item.expect("valid batch");
            let (_, recs) = batch::decode_records(&r.records[range]).expect("decode");
            out.extend(
                recs.iter()
                    .map(|r| String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned()),
            );
        }
        out
    }

    /// Fences the partition the way a failed write does, after leaving `garbage` past the accounted size.
    fn fail_write(p: &Partition, garbage: &[u8]) {
        let path = p.active().path.clone();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open segment");
        f.write_all(garbage).expect("write garbage");
        let e = EngineError::Io {
            path,
            source: std::io::Error::from_raw_os_error(28),
        };
        p.fence(&mut lock(&p.writer), &e);
    }

    async fn wait_online(p: &Partition) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.failure().is_some() {
            assert!(Instant::now() < deadline, "partition stayed offline");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn engine(dir: &Path, fsync: FsyncPolicy) -> (Engine, Arc<Partition>) {
        let e = Engine::open(EngineConfig {
            data_dir: dir.to_path_buf(),
            fsync,
            // Nothing becomes durable on its own under `interval` in these tests.
            flush_interval_ms: 3_600_000,
            ..EngineConfig::default()
        })
        .await
        .expect("open");
        e.create_topic("t", 1, Default::default())
            .await
            .expect("create");
        let p = e.partition("t", 0).expect("partition");
        (e, p)
    }

    #[tokio::test]
    async fn a_fenced_partition_cuts_the_partial_write_and_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (e, p) = engine(dir.path(), FsyncPolicy::Always).await;
        for i in 0..3 {
            p.append(batch(&format!("a{i}")), AppendOptions::default())
                .await
                .expect("append");
        }
        fail_write(&p, &[0xAB; 100]);
        let err = p
            .append(batch("refused"), AppendOptions::default())
            .await
            .expect_err("fenced");
        assert!(
            matches!(err, EngineError::PartitionFailed { .. }),
            "{err:?}"
        );
        let health = e.storage_health();
        assert_eq!(health.offline_partitions.len(), 1, "{health:?}");
        assert!(health.offline_partitions[0].reason.contains("os error 28"));

        wait_online(&p).await;
        assert!(e.storage_health().is_healthy());
        p.append(batch("after"), AppendOptions::default())
            .await
            .expect("append after recovery");
        assert_eq!(values(&p).await, ["a0", "a1", "a2", "after"]);
        // The garbage is gone from the file, so no reader or restart can see it.
        let active = p.active();
        assert_eq!(
            std::fs::metadata(&active.path).expect("stat").len(),
            active.size()
        );
        e.shutdown().await.expect("shutdown");
        drop((e, p));
        let (e, p) = engine_reopen(dir.path()).await;
        assert_eq!(values(&p).await, ["a0", "a1", "a2", "after"]);
        e.shutdown().await.expect("shutdown");
    }

    async fn engine_reopen(dir: &Path) -> (Engine, Arc<Partition>) {
        let e = Engine::open(EngineConfig {
            data_dir: dir.to_path_buf(),
            ..EngineConfig::default()
        })
        .await
        .expect("reopen");
        let p = e.partition("t", 0).expect("partition");
        (e, p)
    }

    #[tokio::test]
    async fn a_tail_that_does_not_read_back_is_cut_before_resuming() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().expect("tempdir");
        // Under `interval` with an hour's interval nothing here becomes durable: the whole tail is re-checked.
        let (e, p) = engine(dir.path(), FsyncPolicy::Interval).await;
        p.append(batch("kept"), AppendOptions::default())
            .await
            .expect("append");
        let second = p
            .append(batch("damaged"), AppendOptions::default())
            .await
            .expect("append");
        // What a failed fsync can leave: the page cache no longer holds what was written.
        let active = p.active();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&active.path)
            .expect("open")
            .write_all_at(&[0xFF; 4], active.size() - 6)
            .expect("damage");
        fail_write(&p, &[]);
        wait_online(&p).await;
        assert_eq!(values(&p).await, ["kept"]);
        assert_eq!(p.offsets().log_end, second.base_offset);
        p.append(batch("after"), AppendOptions::default())
            .await
            .expect("append after recovery");
        assert_eq!(values(&p).await, ["kept", "after"]);
        e.shutdown().await.expect("shutdown");
    }
}
