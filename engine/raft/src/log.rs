//! What front ends see a replicated partition through: a [`PartitionLog`] whose appends go through the
//! partition's Raft group and whose reads are the local log's committed prefix (its high watermark is the Raft
//! commit point, moved by the group's state machine). Handlers are unchanged: a Produce or a PutRecords calls
//! `append` as on a single node and gets `EngineError::NotLeader` on a replica that does not lead, unless the
//! append allows forwarding (`AppendOptions::forward`, Kinesis): then a replica hands it to the leader through
//! the node's [`AppendForward`] and answers with the leader's result.
//!
//! The group is attached once it is open (`attach`); until then, and after `detach`, appends are refused with
//! `NotLeader` and reads see what was committed so far. Operations that change the log other than by appending
//! (a Kinesis shard seal, DeleteRecords, truncation) must be replicated entries too; they are not built yet and
//! are refused with `EngineError::NotReplicated` rather than applied on one replica only.
// #[PerformanceCriticalPath]

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use strait_engine::batch::BatchHeader;
use strait_engine::partition::{CommitPolicy, DurableCallback, LogFuture, PartitionLog};
use strait_engine::{
    AbortedTxn, AppendInfo, AppendOptions, EngineError, LogOffsets, Partition, ReadResult, Result,
    TopicConfig,
};

use crate::error::ProposeError;
use crate::group::DataGroup;
use crate::types::RaftNodeId;

/// How long a forwarding append waits for an election to name a leader before it gives up (retriable).
const FORWARD_LEADER_WAIT: Duration = Duration::from_secs(3);

/// Sends an append to the node leading its partition, where it is appended as that node's own (not forwarded
/// again). Implemented by the server over the inter-node transport.
pub trait AppendForward: Send + Sync {
    fn forward(
        &self,
        leader: RaftNodeId,
        topic: String,
        partition: u32,
        records: Bytes,
    ) -> LogFuture<'static, Result<AppendInfo>>;
}

/// A partition log replicated by a Raft group.
pub struct ReplicatedLog {
    inner: Arc<Partition>,
    group: RwLock<Option<Arc<DataGroup>>>,
    forward: Option<Arc<dyn AppendForward>>,
}

impl ReplicatedLog {
    /// Wraps the local log (opened with `CommitPolicy::External`); no group yet. Appends that allow forwarding
    /// go to the leader through `forward` when this node does not lead (refused as `NotLeader` without one).
    pub fn new(
        inner: Arc<Partition>,
        forward: Option<Arc<dyn AppendForward>>,
    ) -> Arc<ReplicatedLog> {
        Arc::new(ReplicatedLog {
            inner,
            group: RwLock::new(None),
            forward,
        })
    }

    pub fn attach(&self, g: Arc<DataGroup>) {
        *self.group.write().unwrap_or_else(PoisonError::into_inner) = Some(g);
    }

    pub fn detach(&self) -> Option<Arc<DataGroup>> {
        self.group
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub fn group(&self) -> Option<Arc<DataGroup>> {
        self.group
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The local log underneath.
    pub fn local(&self) -> &Arc<Partition> {
        &self.inner
    }

    fn not_leader(&self, leader: Option<u64>) -> EngineError {
        EngineError::NotLeader {
            topic: self.inner.topic().to_string(),
            partition: self.inner.index(),
            leader: leader.and_then(|l| i32::try_from(l).ok()),
        }
    }

    fn not_replicated(&self, what: &str) -> EngineError {
        EngineError::NotReplicated {
            topic: self.inner.topic().to_string(),
            partition: self.inner.index(),
            what: what.to_string(),
        }
    }

    /// Appends through the group, or (when `forward` allows it and another node leads) through the leader. The
    /// leader appends it as its own; if it no longer leads it refuses, and the caller's retry finds the new one.
    /// Nothing is sent twice here, so forwarding itself cannot write a batch twice.
    async fn append_or_forward(&self, records: Bytes, forward: bool) -> Result<AppendInfo> {
        let fwd = self.forward.as_ref().filter(|_| forward);
        let Some(fwd) = fwd else {
            return self.propose(records).await;
        };
        let Some(g) = self.group() else {
            return Err(self.not_leader(None));
        };
        let leader = match g.leader().0 {
            Some(l) => l,
            None => g
                .wait_for_leader(FORWARD_LEADER_WAIT)
                .await
                .ok_or_else(|| self.not_leader(None))?,
        };
        if leader == g.node() {
            return self.propose(records).await;
        }
        fwd.forward(
            leader,
            self.inner.topic().to_string(),
            self.inner.index(),
            records,
        )
        .await
    }

    async fn propose(&self, records: Bytes) -> Result<AppendInfo> {
        let Some(g) = self.group() else {
            return Err(self.not_leader(None));
        };
        let bytes = records.len() as u64;
        let r = g.propose(records).await;
        let info = self.answer(r)?;
        // Counted here, on the leader once Raft commits, and not by the log's own append, which every replica
        // runs for each entry: a sum over the cluster's nodes counts each record once.
        self.inner.traffic().accepted(bytes, info.record_count());
        Ok(info)
    }

    fn answer(
        &self,
        r: std::result::Result<crate::types::Appended, ProposeError>,
    ) -> Result<AppendInfo> {
        match r {
            Ok(a) => Ok(AppendInfo {
                base_offset: a.base_offset,
                last_offset: a.last_offset,
                log_append_time: a.log_append_time,
                log_start_offset: self.inner.log_start(),
            }),
            Err(ProposeError::NotLeader { leader }) => Err(self.not_leader(leader)),
            // Leadership moved mid-write or the group stopped: retriable, like a leader change on Kafka.
            Err(ProposeError::Indeterminate | ProposeError::Stopped(_)) => {
                Err(self.not_leader(None))
            }
            Err(ProposeError::Invalid(b)) => Err(EngineError::InvalidBatch(b)),
            Err(ProposeError::Engine(e)) => Err(e),
        }
    }
}

impl PartitionLog for ReplicatedLog {
    fn topic(&self) -> &str {
        self.inner.topic()
    }
    fn index(&self) -> u32 {
        self.inner.index()
    }
    fn config(&self) -> TopicConfig {
        self.inner.config()
    }
    fn max_inflated_batch_bytes(&self) -> u64 {
        self.inner.max_inflated_batch_bytes()
    }
    fn commit_policy(&self) -> CommitPolicy {
        CommitPolicy::External
    }
    fn log_start(&self) -> i64 {
        self.inner.log_start()
    }
    fn high_watermark(&self) -> i64 {
        self.inner.high_watermark()
    }
    fn last_stable_offset(&self) -> i64 {
        self.inner.last_stable_offset()
    }
    fn offsets(&self) -> LogOffsets {
        self.inner.offsets()
    }
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }
    fn remote_range(&self) -> Option<(i64, i64)> {
        self.inner.remote_range()
    }
    fn durable_offset(&self) -> i64 {
        self.inner.durable_offset()
    }
    fn failure(&self) -> Option<String> {
        self.inner.failure()
    }
    fn latest_epoch(&self) -> Option<i32> {
        self.inner.latest_epoch()
    }
    fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.inner.end_offset_for_epoch(epoch)
    }
    /// Through Raft, whatever `opts` says: the term is the epoch, and the answer comes once a majority has the
    /// batch on disk and it is readable (acks=1 is answered no earlier than acks=all for now).
    fn append(&self, records: Bytes, opts: AppendOptions) -> LogFuture<'_, Result<AppendInfo>> {
        Box::pin(self.append_or_forward(records, opts.forward))
    }
    fn append_replica(&self, _records: Bytes) -> LogFuture<'_, Result<AppendInfo>> {
        Box::pin(async { Err(self.not_replicated("a replica append outside Raft")) })
    }
    fn wait_durable(&self, end: i64) -> LogFuture<'_, Result<()>> {
        self.inner.wait_durable(end)
    }
    fn on_durable(&self, end: i64, callback: DurableCallback) {
        self.inner.on_durable(end, callback)
    }
    fn set_high_watermark(&self, offset: i64) -> i64 {
        // Only the group's state machine moves it (on the local log directly).
        let _ = offset;
        self.inner.high_watermark()
    }
    fn wait_committed(&self, end: i64) -> LogFuture<'_, Result<()>> {
        self.inner.wait_committed(end)
    }
    fn read(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        self.inner.read(offset, max_bytes)
    }
    fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> LogFuture<'_, Result<ReadResult>> {
        self.inner.read_uncommitted(offset, max_bytes)
    }
    fn wait_for_data(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        self.inner.wait_for_data(offset, timeout)
    }
    fn wait_for_stable(&self, offset: i64, timeout: Duration) -> LogFuture<'_, i64> {
        self.inner.wait_for_stable(offset, timeout)
    }
    fn find_by_timestamp(&self, ts: i64) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        self.inner.find_by_timestamp(ts)
    }
    fn max_timestamp_batch(&self) -> LogFuture<'_, Result<Option<(BatchHeader, Bytes)>>> {
        self.inner.max_timestamp_batch()
    }
    fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.inner.aborted_transactions(from, to)
    }
    fn open_transactions(&self) -> BTreeMap<i64, i64> {
        self.inner.open_transactions()
    }
    fn seal(&self) -> LogFuture<'_, Result<i64>> {
        Box::pin(async { Err(self.not_replicated("sealing a shard")) })
    }
    fn is_sealed(&self) -> bool {
        self.inner.is_sealed()
    }
    fn sealed_end_offset(&self) -> Option<i64> {
        self.inner.sealed_end_offset()
    }
    fn delete_records(&self, _offset: i64) -> LogFuture<'_, Result<i64>> {
        Box::pin(async { Err(self.not_replicated("DeleteRecords")) })
    }
    fn truncate_after(&self, _last_kept: i64) -> LogFuture<'_, Result<()>> {
        Box::pin(async { Err(self.not_replicated("truncation outside Raft")) })
    }
    fn traffic(&self) -> &strait_engine::Traffic {
        self.inner.traffic()
    }
}
