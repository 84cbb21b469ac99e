//! Opening a partition: listing and recovering its segments, the transaction and epoch state, the seal.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{Notify, watch};

use super::{CommitPolicy, Durable, LocalLog, OpenArgs, Writer, meta_key};
use crate::batch::BatchHeader;
use crate::epoch::EpochCache;
use crate::error::{EngineError, IoContext, Result};
use crate::segment::Segment;
use crate::store::TieredStore;
use crate::txn::{OpenSet, TxnIndex, TxnState};
use crate::util::{create_dir_private, lock, now_ms, sync_dir};

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

impl LocalLog {
    /// Opens (recovering if needed) or creates the partition in `args.dir`, and starts its flusher.
    pub(crate) fn open(args: OpenArgs<'_>) -> Result<Arc<LocalLog>> {
        create_dir_private(&args.dir)?;
        let mut found = list_segments(&args.dir)?;
        let remote_end = args.remote_segments.last().map(|r| r.next_offset);
        if let Some(end) = remote_end {
            // Local files a remote segment covers: a crash came between recording the upload and deleting them.
            let covered = found.partition_point(|(base, _)| *base < end);
            for (_, p) in found.drain(..covered) {
                tracing::info!(segment = %p.display(), "removing a local segment already in the object store");
                Segment::remove_files(&p)?;
            }
        }
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
            let base = args
                .state
                .log_start_offset
                .max(remote_end.unwrap_or(0))
                .max(0);
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
        let mut txn = recover_txn_state(&segments)?;
        if !args.remote_segments.is_empty() {
            // Aborted transactions of remote segments come from their descriptors (markers sort by offset, and
            // remote segments precede local ones).
            let mut aborted: Vec<_> = args
                .remote_segments
                .iter()
                .flat_map(|r| r.aborted.iter().copied())
                .collect();
            aborted.append(&mut txn.aborted);
            txn.aborted = aborted;
            txn.seen |= !txn.aborted.is_empty();
        }
        let recovery_point = args.state.recovery_point.max(active.base_offset);
        let log_end = active.next_offset();
        let first_base = args
            .remote_segments
            .first()
            .map_or(segments[0].base_offset, |r| r.base_offset);
        let log_start = args.state.log_start_offset.max(first_base).min(log_end);
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
        // Under an external policy nothing is known to be committed until the owner says so.
        let hw_start = match args.commit {
            CommitPolicy::Local => log_end,
            CommitPolicy::External => log_start,
        };
        let (hw, _) = watch::channel(hw_start);
        let (durable, _) = watch::channel(Durable {
            offset: log_end,
            failed: None,
        });
        let p = Arc::new(LocalLog {
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
            commit: args.commit,
            remote: RwLock::new(Arc::new(
                args.remote_segments.into_iter().map(Arc::new).collect(),
            )),
            store: TieredStore::new(args.remote_store),
            tiering: tokio::sync::Mutex::new(()),
            traffic: super::Traffic::default(),
        });
        if recovery_point != args.state.recovery_point {
            p.meta.commit_in_background(vec![p.state_op()?]);
        }
        let handle = tokio::spawn(super::flusher::run(p.clone(), args.flush_interval));
        *lock(&p.flusher) = Some(handle);
        Ok(p)
    }
}
