//! The partition-log seam: [`PartitionLog`] is everything front ends and replication do with one partition's log,
//! and [`LocalLog`] implements it over local segment files.
//!
//! The trait is dyn-compatible (handlers hold `Arc<dyn PartitionLog>`, aliased [`Partition`]) with hand-written
//! boxed futures ([`LogFuture`]) rather than `async-trait`: the cost is the same one allocation per async call,
//! without a proc-macro dependency, and the `Send` bound stays visible in the signature. Synchronous queries
//! (offsets, epochs, transaction state) are plain methods and allocate nothing.
//!
//! Replication (openraft) drives a log through `append_replica`, `read_uncommitted`, `truncate_after`,
//! `on_durable` (its `IOFlushed`) and `set_high_watermark` (its commit index) on a log opened with
//! [`CommitPolicy::External`]; front ends keep calling `append`, `read`, `wait_for_data` and see the committed
//! prefix only.
// #[PerformanceCriticalPath]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use super::{AppendInfo, AppendOptions, LocalLog, LogOffsets, ReadResult, Traffic};
use crate::batch::BatchHeader;
pub use crate::config::CommitPolicy;
use crate::config::TopicConfig;
use crate::error::Result;
use crate::txn::AbortedTxn;

/// The future every async [`PartitionLog`] method returns.
pub type LogFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Called once an append is durable, or with the error that stops it from ever becoming so.
pub type DurableCallback = Box<dyn FnOnce(Result<()>) + Send>;

/// The name handlers use for a partition: `Arc<Partition>` is `Arc<dyn PartitionLog>`.
pub type Partition = dyn PartitionLog;

/// One partition's log, as front ends and replication see it. Offsets are Kafka offsets; batches are Kafka v2
/// record batches kept exactly as stored.
pub trait PartitionLog: Send + Sync {
    fn topic(&self) -> &str;
    fn index(&self) -> u32;
    fn config(&self) -> TopicConfig;
    /// The node's cap on a compressed batch's inflated size, for readers that decompress (`batch::inflate`).
    fn max_inflated_batch_bytes(&self) -> u64;
    fn commit_policy(&self) -> CommitPolicy;

    /// The first readable offset.
    fn log_start(&self) -> i64;
    /// The first offset readers cannot see yet (the committed point).
    fn high_watermark(&self) -> i64;
    /// Where READ_COMMITTED readers stop (first undecided transaction, else the high watermark).
    fn last_stable_offset(&self) -> i64;
    fn offsets(&self) -> LogOffsets;
    /// Bytes of the log's segments.
    fn size_bytes(&self) -> u64;
    /// The offsets held in the object store, `[first, end)`, or `None` when nothing is tiered: ListOffsets'
    /// EARLIEST_LOCAL (the first local offset is `end`) and LATEST_TIERED (`end - 1`), KIP-1005.
    fn remote_range(&self) -> Option<(i64, i64)>;
    /// The end of the durable (fsynced) prefix.
    fn durable_offset(&self) -> i64;
    /// Why the log refuses writes after a storage failure, or `None`.
    fn failure(&self) -> Option<String>;

    /// Latest epoch written, if any.
    fn latest_epoch(&self) -> Option<i32>;
    /// OffsetForLeaderEpoch: `(largest epoch <= epoch, its end offset)`.
    fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)>;

    /// Appends as the leader: validates, assigns offsets from the log end and stamps `opts.leader_epoch`.
    fn append(&self, records: Bytes, opts: AppendOptions) -> LogFuture<'_, Result<AppendInfo>>;
    /// Appends as a replica: batches stamped by the leader, which must start exactly at the log end
    /// (`EngineError::ReplicaOffsetMismatch` otherwise, never re-stamped). Returns once written.
    fn append_replica(&self, records: Bytes) -> LogFuture<'_, Result<AppendInfo>>;
    /// Waits until everything before `end` is durable.
    fn wait_durable(&self, end: i64) -> LogFuture<'_, Result<()>>;
    /// Calls `callback` once everything before `end` is durable (at once if it already is).
    fn on_durable(&self, end: i64, callback: DurableCallback);
    /// Moves the committed point (only under [`CommitPolicy::External`]); returns the high watermark.
    fn set_high_watermark(&self, offset: i64) -> i64;
    /// Waits until the high watermark reaches `end`.
    fn wait_committed(&self, end: i64) -> LogFuture<'_, Result<()>>;

    /// Whole batches from `offset`, at least one, else up to `max_bytes`, below the high watermark.
    fn read(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>>;
    /// Like `read` but up to the log end (what a Raft leader replicates before it commits).
    fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>>;
    /// Long poll: waits until the high watermark passes `offset` or `timeout`; returns the high watermark.
    fn wait_for_data(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64>;
    /// Long poll for READ_COMMITTED: waits until the LSO passes `offset` or `timeout`; returns the LSO.
    fn wait_for_stable(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64>;
    /// The first committed batch whose max timestamp is >= `ts`.
    fn find_by_timestamp(&self, ts: i64) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>>;
    /// The committed batch holding the largest timestamp.
    fn max_timestamp_batch(&self) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>>;

    /// Aborted transactions a READ_COMMITTED read of `[from, to)` filters out, in marker order.
    fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn>;
    /// Producers with an open transaction and the first offset of each.
    fn open_transactions(&self) -> BTreeMap<i64, i64>;

    /// Refuses later appends, waits for durability, records the seal; returns the final log end.
    fn seal(&self) -> LogFuture<'_, Result<i64>>;
    fn is_sealed(&self) -> bool;
    fn sealed_end_offset(&self) -> Option<i64>;
    /// Moves the log start to `offset` (<= high watermark) durably; returns the new log start.
    fn delete_records(&self, offset: i64) -> LogFuture<'_, Result<i64>>;
    /// Drops every batch after `last_kept` (a batch end, or `log_start - 1`).
    fn truncate_after(&self, last_kept: i64) -> LogFuture<'_, Result<()>>;
    /// Bytes and records taken in and handed out (see [`Traffic`]).
    fn traffic(&self) -> &Traffic;
}

impl PartitionLog for LocalLog {
    fn topic(&self) -> &str {
        LocalLog::topic(self)
    }
    fn index(&self) -> u32 {
        LocalLog::index(self)
    }
    fn config(&self) -> TopicConfig {
        LocalLog::config(self)
    }
    fn max_inflated_batch_bytes(&self) -> u64 {
        LocalLog::max_inflated_batch_bytes(self)
    }
    fn commit_policy(&self) -> CommitPolicy {
        LocalLog::commit_policy(self)
    }
    fn log_start(&self) -> i64 {
        LocalLog::log_start(self)
    }
    fn high_watermark(&self) -> i64 {
        LocalLog::high_watermark(self)
    }
    fn last_stable_offset(&self) -> i64 {
        LocalLog::last_stable_offset(self)
    }
    fn offsets(&self) -> LogOffsets {
        LocalLog::offsets(self)
    }
    fn size_bytes(&self) -> u64 {
        LocalLog::size_bytes(self)
    }
    fn remote_range(&self) -> Option<(i64, i64)> {
        LocalLog::remote_range(self)
    }
    fn durable_offset(&self) -> i64 {
        LocalLog::durable_offset(self)
    }
    fn failure(&self) -> Option<String> {
        LocalLog::failure(self)
    }
    fn latest_epoch(&self) -> Option<i32> {
        LocalLog::latest_epoch(self)
    }
    fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        LocalLog::end_offset_for_epoch(self, epoch)
    }
    /// The front ends' append on a single node: counted as taken in here, not in the inherent `append`, which
    /// every Raft replica also calls for each entry.
    fn append(&self, records: Bytes, opts: AppendOptions) -> LogFuture<'_, Result<AppendInfo>> {
        Box::pin(async move {
            let bytes = records.len() as u64;
            let info = LocalLog::append(self, records, opts).await?;
            self.traffic.accepted(bytes, info.record_count());
            Ok(info)
        })
    }
    fn append_replica(&self, records: Bytes) -> LogFuture<'_, Result<AppendInfo>> {
        Box::pin(LocalLog::append_replica(self, records))
    }
    fn wait_durable(&self, end: i64) -> LogFuture<'_, Result<()>> {
        Box::pin(LocalLog::wait_durable(self, end))
    }
    fn on_durable(&self, end: i64, callback: DurableCallback) {
        LocalLog::on_durable(self, end, callback)
    }
    fn set_high_watermark(&self, offset: i64) -> i64 {
        LocalLog::set_high_watermark(self, offset)
    }
    fn wait_committed(&self, end: i64) -> LogFuture<'_, Result<()>> {
        Box::pin(LocalLog::wait_committed(self, end))
    }
    fn read(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        Box::pin(LocalLog::read(self, offset, max_bytes))
    }
    fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        Box::pin(LocalLog::read_uncommitted(self, offset, max_bytes))
    }
    fn wait_for_data(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        Box::pin(LocalLog::wait_for_data(self, offset, timeout))
    }
    fn wait_for_stable(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        Box::pin(LocalLog::wait_for_stable(self, offset, timeout))
    }
    fn find_by_timestamp(&self, ts: i64) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        Box::pin(LocalLog::find_by_timestamp(self, ts))
    }
    fn max_timestamp_batch(&self) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        Box::pin(LocalLog::max_timestamp_batch(self))
    }
    fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        LocalLog::aborted_transactions(self, from, to)
    }
    fn open_transactions(&self) -> BTreeMap<i64, i64> {
        LocalLog::open_transactions(self)
    }
    fn seal(&self) -> LogFuture<'_, Result<i64>> {
        Box::pin(LocalLog::seal(self))
    }
    fn is_sealed(&self) -> bool {
        LocalLog::is_sealed(self)
    }
    fn sealed_end_offset(&self) -> Option<i64> {
        LocalLog::sealed_end_offset(self)
    }
    fn delete_records(&self, offset: i64) -> LogFuture<'_, Result<i64>> {
        Box::pin(LocalLog::delete_records(self, offset))
    }
    fn truncate_after(&self, last_kept: i64) -> LogFuture<'_, Result<()>> {
        Box::pin(LocalLog::truncate_after(self, last_kept))
    }
    fn traffic(&self) -> &Traffic {
        &self.traffic
    }
}

/// Handlers hold `Arc<Partition>` and pass `&p` where a `&Partition` is expected; this impl lets that
/// coerce (unsizing would otherwise pick `Arc` itself as the implementing type). Calls forward to the log.
impl<T: PartitionLog + ?Sized> PartitionLog for std::sync::Arc<T> {
    fn topic(&self) -> &str {
        (**self).topic()
    }
    fn index(&self) -> u32 {
        (**self).index()
    }
    fn config(&self) -> TopicConfig {
        (**self).config()
    }
    fn max_inflated_batch_bytes(&self) -> u64 {
        (**self).max_inflated_batch_bytes()
    }
    fn commit_policy(&self) -> CommitPolicy {
        (**self).commit_policy()
    }
    fn log_start(&self) -> i64 {
        (**self).log_start()
    }
    fn high_watermark(&self) -> i64 {
        (**self).high_watermark()
    }
    fn last_stable_offset(&self) -> i64 {
        (**self).last_stable_offset()
    }
    fn offsets(&self) -> LogOffsets {
        (**self).offsets()
    }
    fn size_bytes(&self) -> u64 {
        (**self).size_bytes()
    }
    fn remote_range(&self) -> Option<(i64, i64)> {
        (**self).remote_range()
    }
    fn durable_offset(&self) -> i64 {
        (**self).durable_offset()
    }
    fn failure(&self) -> Option<String> {
        (**self).failure()
    }
    fn latest_epoch(&self) -> Option<i32> {
        (**self).latest_epoch()
    }
    fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        (**self).end_offset_for_epoch(epoch)
    }
    fn append(&self, records: Bytes, opts: AppendOptions) -> LogFuture<'_, Result<AppendInfo>> {
        (**self).append(records, opts)
    }
    fn append_replica(&self, records: Bytes) -> LogFuture<'_, Result<AppendInfo>> {
        (**self).append_replica(records)
    }
    fn wait_durable(&self, end: i64) -> LogFuture<'_, Result<()>> {
        (**self).wait_durable(end)
    }
    fn on_durable(&self, end: i64, callback: DurableCallback) {
        (**self).on_durable(end, callback)
    }
    fn set_high_watermark(&self, offset: i64) -> i64 {
        (**self).set_high_watermark(offset)
    }
    fn wait_committed(&self, end: i64) -> LogFuture<'_, Result<()>> {
        (**self).wait_committed(end)
    }
    fn read(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        (**self).read(offset, max_bytes)
    }
    fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        (**self).read_uncommitted(offset, max_bytes)
    }
    fn wait_for_data(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        (**self).wait_for_data(offset, timeout)
    }
    fn wait_for_stable(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        (**self).wait_for_stable(offset, timeout)
    }
    fn find_by_timestamp(&self, ts: i64) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        (**self).find_by_timestamp(ts)
    }
    fn max_timestamp_batch(&self) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        (**self).max_timestamp_batch()
    }
    fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        (**self).aborted_transactions(from, to)
    }
    fn open_transactions(&self) -> BTreeMap<i64, i64> {
        (**self).open_transactions()
    }
    fn seal(&self) -> LogFuture<'_, Result<i64>> {
        (**self).seal()
    }
    fn is_sealed(&self) -> bool {
        (**self).is_sealed()
    }
    fn sealed_end_offset(&self) -> Option<i64> {
        (**self).sealed_end_offset()
    }
    fn delete_records(&self, offset: i64) -> LogFuture<'_, Result<i64>> {
        (**self).delete_records(offset)
    }
    fn truncate_after(&self, last_kept: i64) -> LogFuture<'_, Result<()>> {
        (**self).truncate_after(last_kept)
    }
    fn traffic(&self) -> &Traffic {
        (**self).traffic()
    }
}
