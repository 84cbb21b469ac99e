//! Transaction read state of a partition (KIP-98), derived from the batches themselves: which producers have an
//! open transaction (and from which offset), which transactions were aborted, and so the last stable offset
//! (LSO) below which every record's fate is decided.
//!
//! The engine sees only batch headers and control records: a transactional data batch opens its producer's
//! transaction at its base offset (unless one is open already); a transactional control batch (a COMMIT or ABORT
//! marker, key = version i16 + type i16) closes it, and an ABORT records `[first offset, marker offset]` with the
//! producer id. A transaction stays *unstable* until its marker is below the high watermark (Kafka's
//! "unreplicated" completed transactions), so the LSO only ever moves when the high watermark does; a reader
//! waiting for the LSO can therefore wait on the high watermark.
//!
//! Durability: the state is a function of the log, so it is never written before the data. Each sealed segment
//! gets a `<base>.txnindex` file (like Kafka's `.txnindex`, plus the open set at both ends as a checkpoint),
//! written after the segment is fsynced; recovery loads them and scans only the segments without a valid one
//! (the active segment, or one sealed just before a crash). See the engine README.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch::BatchHeader;
use crate::error::{IoContext, Result};

/// A transaction aborted in a partition, as Kafka's FetchResponse reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// Offset of the producer's first batch in the transaction.
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
}

impl AbortedTxn {
    /// Whether `offset`, written by `producer_id`, belongs to this aborted transaction.
    pub fn covers(&self, producer_id: i64, offset: i64) -> bool {
        self.producer_id == producer_id && self.first_offset <= offset && offset <= self.last_offset
    }
}

/// Producer id → first offset of its open transaction.
pub(crate) type OpenSet = BTreeMap<i64, i64>;

#[derive(Debug, Default)]
pub(crate) struct TxnState {
    pub(crate) open: OpenSet,
    /// `(marker offset, first offset)` of ended transactions whose marker may not be below the high watermark yet,
    /// in marker order; dropped once it is.
    completing: Vec<(i64, i64)>,
    /// Sorted by marker offset.
    pub(crate) aborted: Vec<AbortedTxn>,
    /// Segment base offset → the open set at the start of that segment (for truncation and `.txnindex`).
    pub(crate) checkpoints: BTreeMap<i64, OpenSet>,
    /// True once any transactional batch was seen (lets the hot read path skip the lock otherwise).
    pub(crate) seen: bool,
}

/// What a batch means to the transaction state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnEvent {
    Data {
        producer_id: i64,
        offset: i64,
    },
    Marker {
        producer_id: i64,
        offset: i64,
        commit: bool,
    },
}

/// Parses the control record key of an uncompressed control batch: `Some(true)` COMMIT, `Some(false)` ABORT.
pub(crate) fn marker_type(raw: &[u8]) -> Option<bool> {
    let (_, recs) = crate::batch::decode_records(raw).ok()?;
    match recs.first()?.key?.get(..4)? {
        [0, 0, 0, 1] => Some(true),
        [0, 0, 0, 0] => Some(false),
        _ => None,
    }
}

/// The event a batch carries, if any (`raw` is read only for control batches).
pub(crate) fn event(h: &BatchHeader, raw: impl FnOnce() -> Option<Vec<u8>>) -> Option<TxnEvent> {
    if !h.is_transactional() || h.producer_id < 0 {
        return None;
    }
    if !h.is_control() {
        return Some(TxnEvent::Data {
            producer_id: h.producer_id,
            offset: h.base_offset,
        });
    }
    let commit = raw().as_deref().and_then(marker_type);
    match commit {
        Some(commit) => Some(TxnEvent::Marker {
            producer_id: h.producer_id,
            offset: h.base_offset,
            commit,
        }),
        None => {
            tracing::warn!(
                offset = h.base_offset,
                producer = h.producer_id,
                "control batch without a readable COMMIT/ABORT key; ignored"
            );
            None
        }
    }
}

impl TxnState {
    pub(crate) fn apply(&mut self, e: TxnEvent) {
        self.seen = true;
        match e {
            TxnEvent::Data {
                producer_id,
                offset,
            } => {
                self.open.entry(producer_id).or_insert(offset);
            }
            TxnEvent::Marker {
                producer_id,
                offset,
                commit,
            } => {
                // A marker for a producer with no data here (it added the partition but wrote nothing) hides
                // nothing.
                let Some(first) = self.open.remove(&producer_id) else {
                    return;
                };
                self.completing.push((offset, first));
                if !commit {
                    self.aborted.push(AbortedTxn {
                        producer_id,
                        first_offset: first,
                        last_offset: offset,
                    });
                }
            }
        }
    }

    /// The LSO for high watermark `hw` and log start `log_start`.
    pub(crate) fn last_stable_offset(&mut self, hw: i64, log_start: i64) -> i64 {
        let done = self.completing.partition_point(|&(m, _)| m < hw);
        self.completing.drain(..done);
        let first = self
            .open
            .values()
            .chain(self.completing.iter().map(|(_, f)| f))
            .min()
            .copied();
        // An open transaction whose start retention removed cannot hold the LSO below the log start (Kafka does
        // the same).
        first.map_or(hw, |f| f.max(log_start).min(hw))
    }

    /// Kafka's rule for a fetch of `[from, to)`: aborted transactions whose marker is at or after `from` and whose
    /// data starts before `to`.
    pub(crate) fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let start = self.aborted.partition_point(|a| a.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .copied()
            .collect()
    }

    /// Forgets what retention removed: aborted ranges ending below `log_start` and checkpoints of dropped
    /// segments (`first_base` is the first remaining segment).
    pub(crate) fn prune(&mut self, log_start: i64, first_base: i64) {
        let n = self.aborted.partition_point(|a| a.last_offset < log_start);
        self.aborted.drain(..n);
        self.checkpoints = self.checkpoints.split_off(&first_base);
    }

    /// Rolls the state back to the start of the segment at `base` (before it is rescanned after a truncation).
    pub(crate) fn rewind_to_segment(&mut self, base: i64) {
        self.open = self.checkpoints.get(&base).cloned().unwrap_or_default();
        self.checkpoints.split_off(&(base + 1));
        self.aborted.retain(|a| a.last_offset < base);
        self.completing.retain(|&(m, _)| m < base);
    }

    /// The `.txnindex` content of the segment `[base, end)` whose end state is `open_at_end`.
    pub(crate) fn index_for(&self, base: i64, end: i64, open_at_end: &OpenSet) -> Option<TxnIndex> {
        let pairs = |s: &OpenSet| s.iter().map(|(&p, &f)| (p, f)).collect();
        Some(TxnIndex {
            end,
            open_at_start: pairs(self.checkpoints.get(&base)?),
            open_at_end: pairs(open_at_end),
            aborted: self
                .aborted
                .iter()
                .filter(|a| a.last_offset >= base && a.last_offset < end)
                .copied()
                .collect(),
        })
    }

    /// The `.txnindex` of the sealed segment `[base, end)` (the next segment's checkpoint is its end state).
    pub(crate) fn sealed_index(&self, base: i64, end: i64) -> Option<TxnIndex> {
        self.index_for(base, end, self.checkpoints.get(&end)?)
    }
}

/// `<base>.txnindex`: what a sealed segment contributes to the transaction state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TxnIndex {
    /// The segment's end offset when written; a file whose end differs from the segment's describes other data.
    pub(crate) end: i64,
    pub(crate) open_at_start: Vec<(i64, i64)>,
    pub(crate) open_at_end: Vec<(i64, i64)>,
    /// Transactions aborted by a marker inside the segment.
    pub(crate) aborted: Vec<AbortedTxn>,
}

pub(crate) fn index_path(log: &Path) -> PathBuf {
    log.with_extension("txnindex")
}

impl TxnIndex {
    /// Reads the file next to `log`; `None` if missing or unreadable (the segment is then scanned).
    /// No transaction open or aborted anywhere near the segment: what scanning an empty segment finds anyway.
    pub(crate) fn is_trivial(&self) -> bool {
        self.open_at_start.is_empty() && self.open_at_end.is_empty() && self.aborted.is_empty()
    }

    pub(crate) fn load(log: &Path) -> Option<TxnIndex> {
        let bytes = std::fs::read(index_path(log)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the file atomically (temp file, fsync, rename): a crash leaves the old file, none, or this one.
    pub(crate) fn persist(&self, log: &Path) -> Result<()> {
        let path = index_path(log);
        let tmp = path.with_extension("txnindex.tmp");
        let bytes = serde_json::to_vec(self)
            .map_err(std::io::Error::other)
            .at(&tmp)?;
        crate::util::write_private(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        Ok(())
    }

    pub(crate) fn remove(log: &Path) -> Result<()> {
        let path = index_path(log);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).at(&path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(p: i64, o: i64) -> TxnEvent {
        TxnEvent::Data {
            producer_id: p,
            offset: o,
        }
    }
    fn marker(p: i64, o: i64, commit: bool) -> TxnEvent {
        TxnEvent::Marker {
            producer_id: p,
            offset: o,
            commit,
        }
    }

    #[test]
    fn lso_waits_for_markers_below_the_high_watermark() {
        let mut s = TxnState::default();
        assert_eq!(s.last_stable_offset(10, 0), 10);
        s.apply(data(1, 10));
        s.apply(data(2, 12));
        s.apply(data(1, 13));
        assert_eq!(s.last_stable_offset(20, 0), 10);
        s.apply(marker(1, 20, false));
        // Marker at 20 not below hw 20 yet: producer 1 still holds the LSO.
        assert_eq!(s.last_stable_offset(20, 0), 10);
        assert_eq!(s.last_stable_offset(21, 0), 12);
        s.apply(marker(2, 21, true));
        assert_eq!(s.last_stable_offset(22, 0), 22);
        assert_eq!(
            s.aborted,
            vec![AbortedTxn {
                producer_id: 1,
                first_offset: 10,
                last_offset: 20
            }]
        );
        assert_eq!(s.aborted_between(0, 22).len(), 1);
        assert_eq!(s.aborted_between(21, 22).len(), 0);
        assert_eq!(s.aborted_between(0, 10).len(), 0);
    }

    #[test]
    fn log_start_bounds_the_lso_and_prune_drops_old_aborts() {
        let mut s = TxnState::default();
        s.apply(data(1, 0));
        s.apply(marker(1, 3, false));
        s.apply(data(2, 5));
        assert_eq!(s.last_stable_offset(10, 7), 7);
        s.prune(4, 4);
        assert!(s.aborted.is_empty());
    }
}
