//! Sealing (a closed Kinesis shard) and shutting a partition's flusher down.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{LocalLog, SEALS_TABLE, SealRecord};
use crate::error::{EngineError, Result};
use crate::meta::MetaOp;
use crate::txn::TxnIndex;
use crate::util::{lock, now_ms};

impl LocalLog {
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
}
