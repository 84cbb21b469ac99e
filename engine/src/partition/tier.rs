//! Handing sealed segments over to an object store (the tiering issue's uploader calls this after uploading),
//! and dropping remote segments that retention or DeleteRecords put below the log start.
//!
//! Order for crash safety: the remote segment's row is committed first, then it joins the in-memory set, then the
//! local files go. A crash after the commit leaves local files the row covers: the next open deletes them
//! (`recovery`). Dropping goes the other way round: the log start moves and is committed before the objects are
//! deleted, so a crash leaves an orphan object (the tiering collector's job), never a hole in the log.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{LocalLog, REMOTE_TABLE, remote_key};
use crate::error::{EngineError, Result};
use crate::meta::MetaOp;
use crate::store::RemoteSegment;
use crate::util::{lock, read, write};

/// A sealed local segment that may be handed over to the object store: its files and what its
/// [`RemoteSegment`] descriptor needs.
#[derive(Debug, Clone)]
pub struct SealedSegment {
    pub base_offset: i64,
    pub next_offset: i64,
    pub max_timestamp: i64,
    pub max_timestamp_offset: i64,
    pub size_bytes: u64,
    pub log_path: PathBuf,
    pub offset_index_path: PathBuf,
    pub time_index_path: PathBuf,
}

impl LocalLog {
    /// The local segments [`adopt_remote`](Self::adopt_remote) would take, oldest first: sealed (not the active
    /// one), durable, committed and below the last stable offset (an upload never holds undecided
    /// transactions). Only the first can be handed over next; the rest can be uploaded ahead.
    pub fn tierable_segments(&self) -> Vec<SealedSegment> {
        let limit = self
            .durable
            .borrow()
            .offset
            .min(self.high_watermark())
            .min(self.last_stable_offset());
        let w = lock(&self.writer);
        let segs = self.segments();
        segs[..segs.len() - 1]
            .iter()
            .take_while(|s| {
                s.next_offset() <= limit && !w.unsynced.iter().any(|u| Arc::ptr_eq(u, s))
            })
            .filter(|s| s.next_offset() > s.base_offset)
            .map(|s| {
                let (max_timestamp, max_timestamp_offset) = s.max_timestamp();
                SealedSegment {
                    base_offset: s.base_offset,
                    next_offset: s.next_offset(),
                    max_timestamp,
                    max_timestamp_offset,
                    size_bytes: s.size(),
                    log_path: s.path.clone(),
                    offset_index_path: crate::index::offset_index_path(&s.path),
                    time_index_path: crate::index::time_index_path(&s.path),
                }
            })
            .collect()
    }

    /// Replaces the oldest local segment by its uploaded copy `seg` (which must cover exactly the same offsets,
    /// be sealed, durable, committed and below the last stable offset, and follow the last remote segment).
    /// Reads of those offsets go to the remote store from then on; the local files are deleted.
    pub async fn adopt_remote(&self, mut seg: RemoteSegment) -> Result<()> {
        self.store.remote()?;
        let _one_at_a_time = self.tiering.lock().await;
        let mismatch = || EngineError::RemoteSegmentMismatch {
            base: seg.base_offset,
            next: seg.next_offset,
        };
        let local = {
            let w = lock(&self.writer);
            let segs = read(&self.segments);
            let first = &segs[0];
            let remote = read(&self.remote);
            let follows = remote
                .last()
                .is_none_or(|r| r.next_offset == seg.base_offset);
            let settled = seg.next_offset <= self.durable.borrow().offset
                && seg.next_offset <= self.high_watermark()
                && !w.unsynced.iter().any(|u| Arc::ptr_eq(u, first));
            if segs.len() < 2
                || first.base_offset != seg.base_offset
                || first.next_offset() != seg.next_offset
                || seg.base_offset >= seg.next_offset
                || !follows
                || !settled
            {
                return Err(mismatch());
            }
            first.clone()
        };
        if seg.next_offset > self.last_stable_offset() {
            return Err(mismatch());
        }
        seg.aborted = lock(&self.txn)
            .aborted
            .iter()
            .filter(|a| a.last_offset >= seg.base_offset && a.last_offset < seg.next_offset)
            .copied()
            .collect();
        let value = serde_json::to_vec(&seg).map_err(|source| EngineError::CorruptMetadata {
            what: "remote segment".into(),
            source,
        })?;
        self.meta
            .commit(vec![MetaOp::Put {
                table: REMOTE_TABLE.into(),
                key: remote_key(&self.topic, self.index, seg.base_offset),
                value,
            }])
            .await?;
        {
            // The remote entry is published before the local one goes, so a reader always finds the offsets.
            let _w = lock(&self.writer);
            let mut remote = write(&self.remote);
            let mut v = Vec::with_capacity(remote.len() + 1);
            v.extend(remote.iter().cloned());
            v.push(Arc::new(seg));
            *remote = Arc::new(v);
            let mut segs = write(&self.segments);
            // Retention may have dropped it meanwhile (then the log start is past it and the remote copy goes
            // at the next retention pass).
            if Arc::ptr_eq(&segs[0], &local) {
                *segs = Arc::new(segs[1..].to_vec());
            }
        }
        local.delete_files()?;
        tracing::info!(topic = %self.topic, partition = self.index, base = local.base_offset,
            "segment handed over to the object store; local files deleted");
        Ok(())
    }

    /// Removes from the set the remote segments that `victim` picks from the front (those entirely below the log
    /// start always go), moves the log start past them, and deletes their rows and then their objects in the
    /// background. Returns how many went. Called with the writer lock held.
    pub(super) fn drop_remote(&self, mut victim: impl FnMut(&RemoteSegment) -> bool) -> usize {
        let gone: Vec<Arc<RemoteSegment>> = {
            let mut remote = write(&self.remote);
            let n = remote
                .iter()
                .take_while(|s| s.next_offset <= self.log_start() || victim(s))
                .count();
            if n == 0 {
                return 0;
            }
            let gone = remote[..n].to_vec();
            *remote = Arc::new(remote[n..].to_vec());
            gone
        };
        let next = gone.last().map_or(0, |s| s.next_offset);
        self.log_start.fetch_max(next, Ordering::AcqRel);
        let mut ops: Vec<MetaOp> = gone
            .iter()
            .map(|s| MetaOp::Delete {
                table: REMOTE_TABLE.into(),
                key: remote_key(&self.topic, self.index, s.base_offset),
            })
            .collect();
        match self.state_op() {
            Ok(op) => ops.push(op),
            Err(e) => {
                tracing::error!(topic = %self.topic, error = %e, "partition state not encodable")
            }
        }
        let (meta, store) = (self.meta.clone(), self.store.remote());
        let (topic, index) = (self.topic.clone(), self.index);
        let n = gone.len();
        let task = async move {
            if let Err(e) = meta.commit(ops).await {
                tracing::warn!(topic, partition = index, error = %e, "dropping remote segments: commit failed");
                return;
            }
            let Ok(store) = store else { return };
            for s in gone {
                let base = s.base_offset;
                if let Err(e) = store.delete(s).await {
                    tracing::warn!(topic, partition = index, base, error = %e,
                        "deleting a remote segment failed; it is left as an orphan");
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(task);
            }
            Err(_) => {
                tracing::warn!(topic = %self.topic, "no runtime: remote segments' rows kept for the next start")
            }
        }
        n
    }

    /// Deletes the objects of every remote segment, in the background, once the topic's rows are gone (topic
    /// deletion). A failure leaves orphans for the tiering collector.
    pub(crate) fn delete_remote_objects(&self) {
        let gone = std::mem::take(&mut *write(&self.remote));
        if gone.is_empty() {
            return;
        }
        let Ok(store) = self.store.remote() else {
            return;
        };
        let (topic, index) = (self.topic.clone(), self.index);
        let task = async move {
            for s in gone.iter() {
                if let Err(e) = store.delete(s.clone()).await {
                    tracing::warn!(topic, partition = index, base = s.base_offset, error = %e,
                        "deleting a remote segment of a deleted topic failed; it is left as an orphan");
                }
            }
        };
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(task);
        }
    }
}
