//! Raft index ↔ Kafka offset. openraft numbers entries consecutively; a batch of N records spans N offsets but
//! takes one index, so the two cannot be equal. The map holds, for every entry still in the log, its base offset
//! and term (12 bytes an entry, in memory), rebuilt on open by walking the stored batch headers.

use std::collections::VecDeque;

use crate::types::{LogId, log_id};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    base_offset: i64,
    term: u32,
}

/// The entries of one partition's Raft log.
#[derive(Debug, Clone)]
pub(crate) struct IndexMap {
    /// Index of `slots[0]`.
    first_index: u64,
    slots: VecDeque<Slot>,
    /// The offset after the last entry (the log end).
    end_offset: i64,
}

impl IndexMap {
    /// An empty map whose next entry gets `first_index` and starts at `offset`.
    pub(crate) fn new(first_index: u64, offset: i64) -> IndexMap {
        IndexMap {
            first_index,
            slots: VecDeque::new(),
            end_offset: offset,
        }
    }

    pub(crate) fn push(&mut self, base_offset: i64, end_offset: i64, term: u64) {
        debug_assert_eq!(base_offset, self.end_offset);
        self.slots.push_back(Slot {
            base_offset,
            term: u32::try_from(term).unwrap_or(u32::MAX),
        });
        self.end_offset = end_offset;
    }

    pub(crate) fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// The index the next entry gets.
    pub(crate) fn next_index(&self) -> u64 {
        self.first_index + self.slots.len() as u64
    }

    pub(crate) fn last(&self) -> Option<LogId> {
        let s = self.slots.back()?;
        Some(log_id(u64::from(s.term), self.next_index() - 1))
    }

    fn slot(&self, index: u64) -> Option<Slot> {
        let i = usize::try_from(index.checked_sub(self.first_index)?).ok()?;
        self.slots.get(i).copied()
    }

    /// The base offset of entry `index`; the log end for the index after the last.
    pub(crate) fn offset_of(&self, index: u64) -> Option<i64> {
        if index == self.next_index() {
            return Some(self.end_offset);
        }
        self.slot(index).map(|s| s.base_offset)
    }

    /// `[base, end)` offsets of entry `index`.
    pub(crate) fn range_of(&self, index: u64) -> Option<(i64, i64)> {
        Some((self.offset_of(index)?, self.offset_of(index + 1)?))
    }

    /// The entry holding `offset`, if any.
    #[cfg(test)]
    pub(crate) fn index_of(&self, offset: i64) -> Option<u64> {
        if offset >= self.end_offset {
            return None;
        }
        let after = self.slots.partition_point(|s| s.base_offset <= offset);
        after.checked_sub(1).map(|i| self.first_index + i as u64)
    }

    /// Drops every entry after `last_kept` (`None`: all of them); returns the new end offset.
    pub(crate) fn truncate_after(&mut self, last_kept: Option<u64>) -> i64 {
        let keep = match last_kept {
            None => 0,
            Some(i) => {
                usize::try_from((i + 1).saturating_sub(self.first_index)).unwrap_or(usize::MAX)
            }
        };
        if keep < self.slots.len() {
            self.end_offset = self.slots[keep].base_offset;
            self.slots.truncate(keep);
        }
        self.end_offset
    }

    /// Forgets every entry up to and including `upto`; returns the offset where the log now starts.
    pub(crate) fn purge(&mut self, upto: u64) -> i64 {
        while self.first_index <= upto {
            if self.slots.pop_front().is_none() {
                // Purging past the last entry (after a snapshot): the next entry follows `upto`.
                self.first_index = upto + 1;
                return self.end_offset;
            }
            self.first_index += 1;
        }
        self.slots
            .front()
            .map_or(self.end_offset, |s| s.base_offset)
    }

    pub(crate) fn first_index(&self) -> u64 {
        self.first_index
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_indexes_to_offsets_and_back() {
        let mut m = IndexMap::new(0, 0);
        m.push(0, 1, 1); // blank
        m.push(1, 11, 1); // 10 records
        m.push(11, 12, 2);
        assert_eq!(m.next_index(), 3);
        assert_eq!(m.last(), Some(log_id(2, 2)));
        assert_eq!(m.range_of(1), Some((1, 11)));
        assert_eq!(m.offset_of(3), Some(12));
        assert_eq!(m.offset_of(4), None);
        assert_eq!(m.index_of(5), Some(1));
        assert_eq!(m.index_of(11), Some(2));
        assert_eq!(m.index_of(12), None);
        assert_eq!(m.truncate_after(Some(1)), 11);
        assert_eq!(m.last(), Some(log_id(1, 1)));
        assert_eq!(m.purge(0), 1);
        assert_eq!((m.first_index(), m.len()), (1, 1));
        assert_eq!(m.truncate_after(None), 1);
        assert!(m.is_empty());
        assert_eq!(m.next_index(), 1);
    }
}
