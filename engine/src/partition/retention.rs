//! Dropping data: time and size retention, DeleteRecords (the log start moves) and truncation of a suffix.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{CommitPolicy, LocalLog, Writer};
use crate::error::{EngineError, Result};
use crate::segment::Segment;
use crate::txn::TxnIndex;
use crate::util::{lock, read, write};

impl LocalLog {
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

    /// Applies time and size retention, remote segments first (they are the oldest); returns the number of
    /// segments deleted.
    pub(crate) fn apply_retention(&self, now: i64) -> Result<usize> {
        let cfg = self.config();
        // A replicated log's front moves through its Raft group (every replica purges the same prefix), never
        // by one replica's clock or disk size.
        if !cfg.deletes() || self.commit == CommitPolicy::External {
            return Ok(0);
        }
        let total: u64 = self.size_bytes() + self.remote_size_bytes();
        let mut freed = 0u64;
        self.drop_segments(|newest, size| {
            // A segment without timestamps is aged by its creation time (local) or never by time (remote).
            let newest = newest.unwrap_or(now);
            let by_time = cfg.retention_ms >= 0 && newest < now - cfg.retention_ms;
            let by_size =
                cfg.retention_bytes >= 0 && total - freed >= cfg.retention_bytes as u64 + size;
            if by_time || by_size {
                freed += size;
            }
            by_time || by_size
        })
    }

    /// Deletes segments from the front (remote ones, then sealed durable local ones) while they are below the
    /// log start or `extra(newest timestamp, size)` says so.
    fn drop_segments(&self, mut extra: impl FnMut(Option<i64>, u64) -> bool) -> Result<usize> {
        let hw = self.high_watermark();
        let remote: usize;
        let victims: Vec<Arc<Segment>> = {
            let mut w = lock(&self.writer);
            remote = self.drop_remote(|s| {
                extra(
                    (s.max_timestamp >= 0).then_some(s.max_timestamp),
                    s.size_bytes,
                )
            });
            let mut segs = write(&self.segments);
            if !read(&self.remote).is_empty() {
                // A remote segment stays, and every local one is newer.
                lock(&self.txn).prune(self.log_start(), segs[0].base_offset);
                return Ok(remote);
            }
            let mut n = 0;
            while n + 1 < segs.len() {
                let s = &segs[n];
                let below_start = s.next_offset() <= self.log_start();
                let (max_ts, _) = s.max_timestamp();
                let newest = if max_ts >= 0 {
                    max_ts
                } else {
                    s.created_ms.load(Ordering::Acquire)
                };
                if s.next_offset() > hw || !(below_start || extra(Some(newest), s.size())) {
                    break;
                }
                n += 1;
            }
            if n == 0 {
                // DeleteRecords inside the first segment: only aborted ranges below the new start go.
                lock(&self.txn).prune(self.log_start(), segs[0].base_offset);
                return Ok(remote);
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
        Ok(victims.len() + remote)
    }

    /// Removes every batch after `last_kept` (which must end a batch, or be `log_start - 1`): the uncommitted
    /// suffix a Raft follower drops when its log diverges from the leader's.
    pub async fn truncate_after(&self, last_kept: i64) -> Result<()> {
        let mut w = lock(&self.writer);
        self.truncate_locked(&mut w, last_kept)
    }

    pub(super) fn truncate_locked(&self, w: &mut Writer, last_kept: i64) -> Result<()> {
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
        if new_end < segs[0].base_offset {
            // Below the local segments lie only remote ones, which hold committed data: never truncated.
            return Err(EngineError::OffsetOutOfRange {
                offset: last_kept,
                log_start,
                high_watermark: self.high_watermark(),
            });
        }
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
}
