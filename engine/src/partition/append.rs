//! Appends: as the leader (the log assigns offsets and stamps the epoch) and as a replica (batches arrive stamped
//! by the leader and must continue the log exactly), plus segment rolling.
// #[PerformanceCriticalPath]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{AppendInfo, AppendOptions, CommitPolicy, LocalLog, Writer};
use crate::batch::{self, BatchHeader, HEADER_LEN};
use crate::config::{FsyncPolicy, TimestampType, TopicConfig};
use crate::error::{EngineError, Result};
use crate::segment::{BatchParts, Segment};
use crate::util::{lock, now_ms, sync_dir, write};

/// How the writer treats the offsets and epochs in the batch headers.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    /// The leader's append: assign the next offsets and stamp this epoch.
    Leader(i32),
    /// A replica's append: keep the leader's offsets and epochs, which must continue the log end exactly.
    Replica,
}

impl LocalLog {
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
        let cfg = self.config();
        let mut batches = self.validate(&records, &cfg)?;
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
        let (base, end) = self.write_locked(
            &records,
            &mut batches,
            Stamp::Leader(opts.leader_epoch),
            &cfg,
        )?;
        self.appended(&records, batches.len(), end, opts.wait_durable)
            .await?;
        Ok(AppendInfo {
            base_offset: base,
            last_offset: end - 1,
            log_append_time,
            log_start_offset: self.log_start(),
        })
    }

    /// Appends batches the leader already stamped (offsets, epochs, LogAppendTime), without changing a byte.
    /// The first batch must start at the log end and each next one where the previous ended: a mismatch is a
    /// divergence the caller must resolve (truncate, then retry), so it fails with
    /// [`EngineError::ReplicaOffsetMismatch`] and writes nothing. Returns once written, not once durable: the
    /// caller learns durability from [`on_durable`](Self::on_durable) (openraft's `IOFlushed`).
    pub async fn append_replica(&self, records: impl Into<Bytes>) -> Result<AppendInfo> {
        let records: Bytes = records.into();
        let cfg = self.config();
        let mut batches = self.validate(&records, &cfg)?;
        let (base, end) = self.write_locked(&records, &mut batches, Stamp::Replica, &cfg)?;
        self.appended(&records, batches.len(), end, false).await?;
        Ok(AppendInfo {
            base_offset: base,
            last_offset: end - 1,
            log_append_time: -1,
            log_start_offset: self.log_start(),
        })
    }

    /// Checks every batch (CRC, records, size) before the append lock is taken, so concurrent producers
    /// validate in parallel.
    fn validate(&self, records: &Bytes, cfg: &TopicConfig) -> Result<Vec<Stamped>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let mut batches: Vec<Stamped> = Vec::with_capacity(1);
        let mut pos = 0;
        while pos < records.len() {
            let h = batch::validate_for_append(&records[pos..], self.max_inflated)?;
            let len = h.total_len();
            if len > cfg.max_message_bytes as usize {
                return Err(EngineError::MessageTooLarge {
                    size: len,
                    max: cfg.max_message_bytes,
                });
            }
            batches.push(Stamped::new(h, records, pos));
            pos += len;
        }
        if batches.is_empty() {
            return Err(batch::BatchError::Empty.into());
        }
        Ok(batches)
    }

    /// Counts a written append and starts (and, if asked, waits for) its group commit.
    async fn appended(&self, records: &Bytes, batches: usize, end: i64, wait: bool) -> Result<()> {
        metrics::counter!("strait_log_appended_bytes_total").increment(records.len() as u64);
        metrics::counter!("strait_log_appended_batches_total").increment(batches as u64);
        if self.policy == FsyncPolicy::Always {
            self.flush_wanted.notify_one();
            if wait {
                self.wait_durable(end).await?;
            }
        }
        Ok(())
    }

    fn write_locked(
        &self,
        records: &Bytes,
        batches: &mut [Stamped],
        stamp: Stamp,
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
        if let Stamp::Replica = stamp {
            let mut expected = w.next_offset;
            for b in batches.iter() {
                if b.header.base_offset != expected {
                    return Err(EngineError::ReplicaOffsetMismatch {
                        topic: self.topic.clone(),
                        partition: self.index,
                        expected,
                        got: b.header.base_offset,
                    });
                }
                expected += b.header.record_count as i64;
            }
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
        if let Stamp::Leader(epoch) = stamp {
            for b in batches.iter_mut() {
                batch::set_base_offset(&mut b.head, off);
                batch::set_leader_epoch(&mut b.head, epoch);
                b.header.base_offset = off;
                b.header.partition_leader_epoch = epoch;
                off += b.header.record_count as i64;
            }
        } else {
            off += count;
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
        let epochs_changed = match stamp {
            Stamp::Leader(epoch) => w.epochs.observe(epoch, base),
            // A replica's batches may span epochs (a leader change inside the range it was sent).
            Stamp::Replica => batches.iter().fold(false, |changed, b| {
                w.epochs
                    .observe(b.header.partition_leader_epoch, b.header.base_offset)
                    | changed
            }),
        };
        if epochs_changed {
            w.epochs.persist(&self.dir)?;
        }
        // Under an external commit policy the owner's high watermark bounds reads, so written bytes are
        // readable up to it at once; locally, `fsync = interval` publishes at write and `always` after the fsync.
        let publish_now =
            self.policy == FsyncPolicy::Interval || self.commit == CommitPolicy::External;
        if publish_now {
            active.publish(active.size());
        }
        if self.policy == FsyncPolicy::Interval && self.commit == CommitPolicy::Local {
            self.hw
                .send_if_modified(|hw| std::mem::replace(hw, off) != off);
        }
        Ok((base, off))
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
