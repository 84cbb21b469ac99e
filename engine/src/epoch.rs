//! The leader-epoch cache of a partition: `(epoch, first offset written in it)`, in Kafka's
//! `leader-epoch-checkpoint` format. It answers OffsetForLeaderEpoch and lets a replica find where its log
//! diverges from the leader's: the same question openraft asks with (term, index) log ids.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

pub(crate) const FILE_NAME: &str = "leader-epoch-checkpoint";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EpochCache {
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    /// Loads the checkpoint; `None` when missing or unparsable (the caller rebuilds it from batch headers).
    pub(crate) fn load(dir: &Path) -> Option<EpochCache> {
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "0" {
            return None;
        }
        let n: usize = lines.next()?.trim().parse().ok()?;
        let mut entries = Vec::with_capacity(n);
        for line in lines.take(n) {
            let mut it = line.split_whitespace();
            let e: i32 = it.next()?.parse().ok()?;
            let o: i64 = it.next()?.parse().ok()?;
            if entries
                .last()
                .is_some_and(|&(le, lo): &(i32, i64)| le >= e || lo > o)
            {
                return None;
            }
            entries.push((e, o));
        }
        (entries.len() == n).then_some(EpochCache { entries })
    }

    /// Writes the checkpoint atomically (temp file, fsync, rename).
    pub(crate) fn persist(&self, dir: &Path) -> Result<()> {
        let path: PathBuf = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let mut text = format!("0\n{}\n", self.entries.len());
        for (e, o) in &self.entries {
            text.push_str(&format!("{e} {o}\n"));
        }
        crate::util::write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &path).at(&path)?;
        Ok(())
    }

    /// Notes a batch of `epoch` starting at `offset`; returns true if the cache changed.
    pub(crate) fn observe(&mut self, epoch: i32, offset: i64) -> bool {
        if epoch < 0 || self.entries.last().is_some_and(|&(e, _)| e >= epoch) {
            return false;
        }
        self.entries.push((epoch, offset));
        true
    }

    pub(crate) fn latest(&self) -> Option<i32> {
        self.entries.last().map(|e| e.0)
    }

    /// Kafka's OffsetForLeaderEpoch: the largest epoch <= `epoch` and the offset where it ended (the next epoch's
    /// start, or the log end for the latest). `None` if `epoch` predates every entry.
    pub(crate) fn end_offset_for(&self, epoch: i32, log_end: i64) -> Option<(i32, i64)> {
        let i = self.entries.partition_point(|e| e.0 <= epoch);
        if i == 0 {
            return None;
        }
        let end = self.entries.get(i).map_or(log_end, |next| next.1);
        Some((self.entries[i - 1].0, end))
    }

    /// Drops entries for offsets at or past `end` (after a suffix truncation); returns true if changed.
    pub(crate) fn truncate_from(&mut self, end: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.1 < end);
        before != self.entries.len()
    }

    /// Drops entries wholly before `start`, keeping the one in force at `start` (after retention).
    pub(crate) fn truncate_before(&mut self, start: i64) -> bool {
        let i = self.entries.partition_point(|e| e.1 <= start);
        if i <= 1 {
            return false;
        }
        self.entries.drain(..i - 1);
        if let Some(first) = self.entries.first_mut() {
            first.1 = first.1.max(start);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_for_leader_epoch_semantics() {
        let mut c = EpochCache::default();
        assert!(c.observe(0, 0));
        assert!(!c.observe(0, 5));
        assert!(c.observe(2, 10));
        assert!(c.observe(5, 30));
        assert_eq!(c.end_offset_for(0, 50), Some((0, 10)));
        assert_eq!(c.end_offset_for(1, 50), Some((0, 10)));
        assert_eq!(c.end_offset_for(3, 50), Some((2, 30)));
        assert_eq!(c.end_offset_for(9, 50), Some((5, 50)));
        assert_eq!(c.end_offset_for(-1, 50), None);
        assert!(c.truncate_from(30));
        assert_eq!(c.latest(), Some(2));
        assert!(c.truncate_before(12));
        assert_eq!(c.end_offset_for(2, 40), Some((2, 40)));
    }

    #[test]
    fn persists_and_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = EpochCache::default();
        c.observe(1, 0);
        c.observe(3, 7);
        c.persist(dir.path()).expect("persist");
        assert_eq!(EpochCache::load(dir.path()), Some(c));
        std::fs::write(dir.path().join(FILE_NAME), "garbage").expect("write");
        assert_eq!(EpochCache::load(dir.path()), None);
    }
}
