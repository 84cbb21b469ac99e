//! Durability: the group-commit round, durability waits and callbacks, the commit policy's high watermark,
//! and fencing and recovery after a storage failure.
// #[PerformanceCriticalPath]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;

use super::{CommitPolicy, Durable, DurableCallback, LocalLog, Writer};
use crate::batch;
use crate::error::{EngineError, Result};
use crate::txn::TxnIndex;
use crate::util::lock;

/// Waits on `rx` until everything before `end` is durable, or the partition is fenced.
async fn wait_durable_on(
    mut rx: watch::Receiver<Durable>,
    end: i64,
    topic: &str,
    index: u32,
) -> Result<()> {
    loop {
        {
            let d = rx.borrow_and_update();
            if let Some(f) = &d.failed {
                return Err(failed_error(topic, index, f));
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

pub(super) fn failed_error(topic: &str, index: u32, reason: &str) -> EngineError {
    EngineError::PartitionFailed {
        topic: topic.to_string(),
        partition: index,
        reason: reason.to_string(),
    }
}

impl LocalLog {
    /// Refuses writes after a failed write or fsync (until [`try_recover`](Self::try_recover) succeeds), fails
    /// every durability waiter, and reports the transition once: an ERROR log, `strait_storage_errors_total` and
    /// `strait_partition_offline`. Wakes the flusher, which runs the recovery.
    pub(super) fn fence(&self, w: &mut Writer, e: &EngineError) {
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

    /// Waits until everything before `end` is durable.
    pub async fn wait_durable(&self, end: i64) -> Result<()> {
        wait_durable_on(self.durable.subscribe(), end, &self.topic, self.index).await
    }

    /// The end of the durable (fsynced) prefix of the log.
    pub fn durable_offset(&self) -> i64 {
        self.durable.borrow().offset
    }

    /// Calls `callback` once everything before `end` is durable (or with the error that stops it from ever
    /// being): what replication reports to openraft as `IOFlushed`. Runs the callback at once when the data is
    /// already durable, else from a task; the callback must not block.
    pub fn on_durable(&self, end: i64, callback: DurableCallback) {
        let rx = self.durable.subscribe();
        let ready = {
            let d = rx.borrow();
            d.failed.is_none() && d.offset >= end
        };
        if ready {
            callback(Ok(()));
            return;
        }
        let (topic, index) = (self.topic.clone(), self.index);
        tokio::spawn(async move { callback(wait_durable_on(rx, end, &topic, index).await) });
    }

    /// Moves the high watermark to `offset` (bounded by the log end, never backwards) when the log's owner
    /// commits, and returns the high watermark. Only a log opened with [`CommitPolicy::External`] takes it: under
    /// [`CommitPolicy::Local`] the flusher owns the high watermark and this only returns it.
    pub fn set_high_watermark(&self, offset: i64) -> i64 {
        if self.commit == CommitPolicy::External {
            // Under the writer lock so a concurrent truncation cannot leave the mark past the new end.
            let w = lock(&self.writer);
            let target = offset.min(w.next_offset);
            self.hw.send_if_modified(|hw| {
                let moved = target > *hw;
                *hw = (*hw).max(target);
                moved
            });
        }
        self.high_watermark()
    }

    /// Waits until the high watermark reaches `end` (everything before it is committed): the acks=all wait
    /// whichever policy moves the mark. Fails when the partition is fenced by a storage failure.
    pub async fn wait_committed(&self, end: i64) -> Result<()> {
        let mut hw = self.hw.subscribe();
        let mut durable = self.durable.subscribe();
        loop {
            if *hw.borrow_and_update() >= end {
                return Ok(());
            }
            if let Some(f) = &durable.borrow_and_update().failed {
                return Err(self.failed(f));
            }
            tokio::select! {
                r = hw.changed() => r.map_err(|_| EngineError::ShuttingDown)?,
                r = durable.changed() => r.map_err(|_| EngineError::ShuttingDown)?,
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
        if self.commit == CommitPolicy::Local {
            self.hw.send_if_modified(|hw| {
                let changed = *hw < target;
                *hw = (*hw).max(target);
                changed
            });
        }
        self.durable
            .send_modify(|d| d.offset = d.offset.max(target));
        if !sealed.is_empty() {
            self.recovery_point
                .fetch_max(active.base_offset, Ordering::AcqRel);
            self.meta.commit_in_background(vec![self.state_op()?]);
        }
        Ok(())
    }
}
