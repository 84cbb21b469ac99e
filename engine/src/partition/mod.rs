//! A partition's log: the [`PartitionLog`] seam front ends and (later) replication use, and [`LocalLog`], the
//! segmented local implementation with one writer, lock-free readers and a group-commit flusher.
//!
//! Offsets: `log_start` (first readable), `high_watermark` (first offset readers cannot see yet) and `log_end`
//! (next offset to assign). Who moves the high watermark is the log's [`CommitPolicy`]: under
//! [`CommitPolicy::Local`] (single node) it follows the local log as it always has (under `fsync = always` the
//! durable end, so consumers never see a record that a crash could take back; under `fsync = interval` the log
//! end, as in Kafka on one node); under [`CommitPolicy::External`] only its owner moves it
//! ([`PartitionLog::set_high_watermark`], the Raft commit index once replication lands).
//!
//! Files: `recovery` (open and rebuild), `append` (leader and replica appends, segment roll), `traffic` (bytes and records in and out), `durable` (group
//! commit, durability waits, fencing after a storage failure), `flusher` (the per-partition task), `read` (reads,
//! long poll, timestamp lookups), `stable` (transaction read state), `retention` (retention, DeleteRecords,
//! truncation), `seal` (Kinesis shard close, shutdown), `tier` (handing sealed segments over to an object store), `log` (the trait and its implementation for `LocalLog`).
// #[PerformanceCriticalPath]

mod append;
#[cfg(test)]
mod commit_tests;
mod durable;
mod flusher;
mod log;
mod read;
mod recovery;
mod retention;
mod seal;
mod stable;
#[cfg(test)]
mod tests;
mod tier;
#[cfg(test)]
mod tier_tests;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::config::{FsyncPolicy, TopicConfig};
use crate::epoch::EpochCache;
use crate::error::{EngineError, Result};
use crate::fdcache::FdCache;
use crate::meta::{MetaOp, MetaStore};
use crate::segment::Segment;
use crate::store::{RemoteSegment, RemoteStore, SegmentSet, TieredStore};
use crate::txn::TxnState;
use crate::util::{lock, read, write};

pub use log::{CommitPolicy, DurableCallback, LogFuture, Partition, PartitionLog};
pub use tier::SealedSegment;
pub use traffic::{Traffic, TrafficTotals};

pub(crate) const PARTITIONS_TABLE: &str = crate::meta::tables::PARTITIONS;
/// Sealed partitions, keyed like [`PARTITIONS_TABLE`]. A separate record (not a field of [`PartitionState`]) so
/// that the background state updates, which are built before they are queued, can never overwrite a seal.
pub(crate) const SEALS_TABLE: &str = crate::meta::tables::SEALED_PARTITIONS;
/// One row per remote segment, keyed by the partition's key and the segment's base offset: rows are added and
/// removed one at a time, so no queued state update can overwrite the manifest (unlike a field of
/// [`PartitionState`]).
pub(crate) const REMOTE_TABLE: &str = crate::meta::tables::ENGINE_REMOTE_SEGMENTS;

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
    /// On a replicated partition this node does not lead: send the append to the leader rather than refuse it.
    /// For front ends whose clients cannot find leaders themselves (Kinesis, whose SDKs talk to one endpoint);
    /// Kafka clients route to leaders and keep their idempotence state there, so Kafka never forwards.
    pub forward: bool,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions {
            leader_epoch: 0,
            wait_durable: true,
            forward: false,
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

impl AppendInfo {
    /// Records the append wrote: every record takes one offset.
    pub fn record_count(&self) -> u64 {
        u64::try_from(self.last_offset - self.base_offset + 1).unwrap_or(0)
    }
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

pub struct LocalLog {
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
    /// Who moves the high watermark.
    commit: CommitPolicy,
    /// Segments handed over to the object store, in offset order, all below the first local segment.
    remote: RwLock<Arc<Vec<Arc<RemoteSegment>>>>,
    /// Where segment bytes are read from: local files, and the object store for remote segments.
    store: TieredStore,
    /// Serialises hand-overs to the object store ([`LocalLog::adopt_remote`]).
    tiering: tokio::sync::Mutex<()>,
    /// Bytes and records in and out since open, for `/metrics`.
    traffic: Traffic,
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
    pub(crate) commit: CommitPolicy,
    /// The partition's remote segments (its rows of [`REMOTE_TABLE`]), in offset order.
    pub(crate) remote_segments: Vec<RemoteSegment>,
    /// The object store, when tiering is configured.
    pub(crate) remote_store: Option<Arc<dyn RemoteStore>>,
}

pub(crate) fn meta_key(topic: &str, index: u32) -> Vec<u8> {
    format!("{topic}\0{index:010}").into_bytes()
}

/// The [`REMOTE_TABLE`] key of the partition's remote segment starting at `base` (offsets are non-negative, so
/// the zero-padded decimal sorts in offset order).
pub(crate) fn remote_key(topic: &str, index: u32, base: i64) -> Vec<u8> {
    format!("{topic}\0{index:010}\0{base:020}").into_bytes()
}

impl LocalLog {
    pub(crate) fn policy(&self) -> FsyncPolicy {
        self.policy
    }
    pub fn topic(&self) -> &str {
        &self.topic
    }
    pub fn index(&self) -> u32 {
        self.index
    }
    /// Who moves this log's high watermark.
    pub fn commit_policy(&self) -> CommitPolicy {
        self.commit
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
    /// Every segment, remote then local, for a read. The remote list is taken first: a segment handed over in
    /// between is then in both lists (read from the remote one), never in neither.
    pub(crate) fn segment_set(&self) -> SegmentSet {
        let remote = read(&self.remote).clone();
        SegmentSet {
            remote,
            local: self.segments(),
        }
    }
    /// The partition's remote segments, oldest first.
    pub fn remote_segments(&self) -> Vec<RemoteSegment> {
        read(&self.remote).iter().map(|s| (**s).clone()).collect()
    }
    /// The offsets the remote segments hold, `[first, end)`; `None` when there are none. Remote segments are
    /// contiguous and older than every local one.
    pub fn remote_range(&self) -> Option<(i64, i64)> {
        let remote = read(&self.remote);
        Some((remote.first()?.base_offset, remote.last()?.next_offset))
    }
    /// Bytes of the remote segments (not counted in [`size_bytes`](Self::size_bytes), which is the local disk).
    pub fn remote_size_bytes(&self) -> u64 {
        read(&self.remote).iter().map(|s| s.size_bytes).sum()
    }
    /// Bytes on disk across all local segments.
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
    fn active(&self) -> Arc<Segment> {
        let segs = read(&self.segments);
        // Invariant: a partition always has at least one segment.
        segs[segs.len() - 1].clone()
    }
    fn sealed_error(&self) -> EngineError {
        EngineError::PartitionSealed {
            topic: self.topic.clone(),
            partition: self.index,
        }
    }
    fn failed(&self, reason: &Arc<str>) -> EngineError {
        durable::failed_error(&self.topic, self.index, reason)
    }
    pub(crate) fn flush_wanted(&self) -> &Notify {
        &self.flush_wanted
    }
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}
