//! Sparse per-segment indexes: offset → file position, and timestamp → (offset, position).
//!
//! Both live in memory while a segment is open and are written to `.index` / `.timeindex` files when the segment
//! is sealed or the node shuts down cleanly. The files are only a start-up shortcut: when one is missing or fails a
//! sanity check it is rebuilt from the log, so they are never fsynced on the append path.

use std::path::Path;

/// Bytes per offset-index entry: relative offset u32 + position u32, big-endian.
const OFFSET_ENTRY: usize = 8;
/// Bytes per time-index entry: timestamp i64 + relative offset u32 + position u32, big-endian.
const TIME_ENTRY: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    /// `(relative base offset of a batch, its file position)`, strictly increasing in both.
    pub(crate) offsets: Vec<(u32, u32)>,
    /// `(largest timestamp seen so far, relative base offset, position)` of the batch that raised it.
    pub(crate) times: Vec<(i64, u32, u32)>,
    bytes_since_entry: u32,
    time_bytes_since_entry: u32,
}

impl SegmentIndex {
    /// Records a batch at `pos`; adds entries every `interval` bytes (always for the first batch).
    pub(crate) fn on_batch(
        &mut self,
        rel: u32,
        pos: u32,
        len: u32,
        max_ts_so_far: i64,
        raised_max: bool,
        interval: u32,
    ) {
        if self.offsets.is_empty() || self.bytes_since_entry >= interval {
            self.offsets.push((rel, pos));
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry = self.bytes_since_entry.saturating_add(len);
        if raised_max && (self.times.is_empty() || self.time_bytes_since_entry >= interval) {
            self.times.push((max_ts_so_far, rel, pos));
            self.time_bytes_since_entry = 0;
        }
        self.time_bytes_since_entry = self.time_bytes_since_entry.saturating_add(len);
    }

    /// Adds a final time entry so the file records the segment's true maximum (Kafka does the same on roll).
    pub(crate) fn seal_time(&mut self, max_ts: i64, rel: u32, pos: u32) {
        if self.times.last().is_none_or(|t| t.0 < max_ts) {
            self.times.push((max_ts, rel, pos));
        }
    }

    /// Largest indexed position whose batch starts at or before relative offset `rel`.
    pub(crate) fn position_for(&self, rel: u32) -> u32 {
        match self.offsets.partition_point(|e| e.0 <= rel) {
            0 => 0,
            i => self.offsets[i - 1].1,
        }
    }

    /// Position to start scanning for the first batch whose max timestamp is >= `ts`: the entry of the last batch
    /// known to be entirely older. Max-so-far is monotonic, so nothing before it can qualify.
    pub(crate) fn position_for_time(&self, ts: i64) -> u32 {
        match self.times.partition_point(|e| e.0 < ts) {
            0 => 0,
            i => self.times[i - 1].2,
        }
    }

    /// Drops entries at or past `size` (after a truncation).
    pub(crate) fn truncate_to(&mut self, size: u64) {
        self.offsets.retain(|e| (e.1 as u64) < size);
        self.times.retain(|e| (e.2 as u64) < size);
        // Force the next batch to be indexed, so a truncated tail never leaves a long unindexed stretch.
        self.bytes_since_entry = u32::MAX;
        self.time_bytes_since_entry = u32::MAX;
    }

    pub(crate) fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let mut o = Vec::with_capacity(self.offsets.len() * OFFSET_ENTRY);
        for (rel, pos) in &self.offsets {
            o.extend_from_slice(&rel.to_be_bytes());
            o.extend_from_slice(&pos.to_be_bytes());
        }
        let mut t = Vec::with_capacity(self.times.len() * TIME_ENTRY);
        for (ts, rel, pos) in &self.times {
            t.extend_from_slice(&ts.to_be_bytes());
            t.extend_from_slice(&rel.to_be_bytes());
            t.extend_from_slice(&pos.to_be_bytes());
        }
        (o, t)
    }

    /// Decodes both files, returning `None` if either is structurally invalid for a log of `log_len` bytes.
    pub(crate) fn decode(offsets: &[u8], times: &[u8], log_len: u64) -> Option<Self> {
        if !offsets.len().is_multiple_of(OFFSET_ENTRY) || !times.len().is_multiple_of(TIME_ENTRY) {
            return None;
        }
        let mut idx = SegmentIndex::default();
        for c in offsets.chunks_exact(OFFSET_ENTRY) {
            let rel = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            let pos = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
            if (pos as u64) >= log_len
                || idx.offsets.last().is_some_and(|l| l.0 >= rel || l.1 >= pos)
            {
                return None;
            }
            idx.offsets.push((rel, pos));
        }
        if log_len > 0 && idx.offsets.first() != Some(&(0, 0)) {
            return None;
        }
        for c in times.chunks_exact(TIME_ENTRY) {
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&c[0..8]);
            let ts = i64::from_be_bytes(ts);
            let rel = u32::from_be_bytes([c[8], c[9], c[10], c[11]]);
            let pos = u32::from_be_bytes([c[12], c[13], c[14], c[15]]);
            if (pos as u64) >= log_len || idx.times.last().is_some_and(|l| l.0 >= ts || l.2 > pos) {
                return None;
            }
            idx.times.push((ts, rel, pos));
        }
        // Whatever follows the last entry is walked on open, so start the interval counters as "due".
        idx.bytes_since_entry = u32::MAX;
        idx.time_bytes_since_entry = u32::MAX;
        Some(idx)
    }
}

pub(crate) fn offset_index_path(log: &Path) -> std::path::PathBuf {
    log.with_extension("index")
}

pub(crate) fn time_index_path(log: &Path) -> std::path::PathBuf {
    log.with_extension("timeindex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_entries_and_lookup() {
        let mut idx = SegmentIndex::default();
        // ten 1000-byte batches of 10 records each, interval 2500
        for i in 0..10u32 {
            idx.on_batch(i * 10, i * 1000, 1000, 100 + i as i64, true, 2500);
        }
        assert_eq!(
            idx.offsets,
            vec![(0, 0), (30, 3000), (60, 6000), (90, 9000)]
        );
        assert_eq!(idx.position_for(0), 0);
        assert_eq!(idx.position_for(45), 3000);
        assert_eq!(idx.position_for(95), 9000);
        assert_eq!(idx.position_for_time(50), 0);
        assert_eq!(idx.position_for_time(104), 3000);
        let (o, t) = idx.encode();
        let back = SegmentIndex::decode(&o, &t, 10_000).expect("valid");
        assert_eq!(back.offsets, idx.offsets);
        assert_eq!(back.times, idx.times);
        assert!(
            SegmentIndex::decode(&o, &t, 5_000).is_none(),
            "positions past the log are stale"
        );
        assert!(
            SegmentIndex::decode(&o[..7], &t, 10_000).is_none(),
            "partial entries are invalid"
        );
    }
}
