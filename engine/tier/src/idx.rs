//! The `.idx` object uploaded beside each segment's `.log`: one fixed-size entry per batch (base offset, last
//! offset, max timestamp, byte position and length), so a read finds its batches by binary search and fetches
//! exactly their bytes with a ranged GET. Dense (every batch), unlike Kafka's sparse indexes: a read never has to
//! scan, at 32 bytes per batch.
//!
//! Layout (big-endian): magic `STIX`, version 1 (u32), entry count (u32), CRC32C of the entries (u32), then the
//! entries: base i64, last i64, max_timestamp i64, position u32, length u32.

use std::io::{BufReader, Read};
use std::path::Path;

use strait_engine::batch::{BatchHeader, HEADER_LEN, peek_offset_and_len};

use crate::error::{Result, TierError};

const MAGIC: &[u8; 4] = b"STIX";
const VERSION: u32 = 1;
const HEAD: usize = 16;
pub(crate) const ENTRY: usize = 32;

/// One batch of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) base: i64,
    pub(crate) last: i64,
    pub(crate) max_ts: i64,
    pub(crate) pos: u32,
    pub(crate) len: u32,
}

impl Entry {
    pub(crate) fn end(&self) -> u64 {
        u64::from(self.pos) + u64::from(self.len)
    }
}

/// Encodes a segment's entries.
pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut body = Vec::with_capacity(entries.len() * ENTRY);
    for e in entries {
        body.extend_from_slice(&e.base.to_be_bytes());
        body.extend_from_slice(&e.last.to_be_bytes());
        body.extend_from_slice(&e.max_ts.to_be_bytes());
        body.extend_from_slice(&e.pos.to_be_bytes());
        body.extend_from_slice(&e.len.to_be_bytes());
    }
    let mut out = Vec::with_capacity(HEAD + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// A checked, encoded index: entries are read from the bytes in place (the cache holds the raw object).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    bytes: bytes::Bytes,
}

impl Index {
    /// Checks the header and checksum of an `.idx` object.
    pub(crate) fn parse(key: &str, bytes: bytes::Bytes) -> Result<Index> {
        let bad = |reason: &str| TierError::Corrupt {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        if bytes.len() < HEAD || &bytes[..4] != MAGIC {
            return Err(bad("not a segment index"));
        }
        if be_u32(&bytes[4..]) != VERSION {
            return Err(bad("unknown index version"));
        }
        let count = be_u32(&bytes[8..]) as usize;
        if bytes.len() != HEAD + count * ENTRY {
            return Err(bad("length does not match the entry count"));
        }
        if crc32c::crc32c(&bytes[HEAD..]) != be_u32(&bytes[12..]) {
            return Err(bad("checksum mismatch"));
        }
        Ok(Index { bytes })
    }

    /// An index [`parse`](Self::parse) already checked (the cache keeps only checked ones), without checking the
    /// checksum again on every read.
    pub(crate) fn checked(bytes: bytes::Bytes) -> Index {
        Index { bytes }
    }

    pub(crate) fn len(&self) -> usize {
        (self.bytes.len() - HEAD) / ENTRY
    }

    /// The encoded object, as the cache keeps it.
    pub(crate) fn raw(&self) -> bytes::Bytes {
        self.bytes.clone()
    }

    pub(crate) fn get(&self, i: usize) -> Entry {
        let b = &self.bytes[HEAD + i * ENTRY..HEAD + (i + 1) * ENTRY];
        Entry {
            base: be_i64(b),
            last: be_i64(&b[8..]),
            max_ts: be_i64(&b[16..]),
            pos: be_u32(&b[24..]),
            len: be_u32(&b[28..]),
        }
    }

    /// The index of the first batch whose last offset is >= `offset` (the one holding it, or the next).
    pub(crate) fn first_ending_at_or_after(&self, offset: i64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid).last < offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The batch whose base offset is `base`.
    pub(crate) fn find_base(&self, base: i64) -> Option<Entry> {
        let i = self.first_ending_at_or_after(base);
        (i < self.len())
            .then(|| self.get(i))
            .filter(|e| e.base == base)
    }
}

/// Walks the batch headers of the first `size` bytes of a segment file (blocking: run it on the blocking pool).
pub(crate) fn build(path: &Path, size: u64) -> Result<Vec<Entry>> {
    let shown = || path.display().to_string();
    let io = |source| TierError::LocalRead {
        path: shown(),
        source,
    };
    let bad = |reason: String| TierError::BadSegment {
        path: shown(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut head = [0u8; HEADER_LEN];
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        if size - pos < HEADER_LEN as u64 {
            return Err(bad(format!("a partial batch header at byte {pos}")));
        }
        r.read_exact(&mut head).map_err(io)?;
        let (_, len) = peek_offset_and_len(&head).map_err(|e| bad(e.to_string()))?;
        let h = BatchHeader::parse(&head).map_err(|e| bad(e.to_string()))?;
        if len < HEADER_LEN || pos + len as u64 > size || pos > u64::from(u32::MAX) {
            return Err(bad(format!("batch at byte {pos} runs past the segment")));
        }
        out.push(Entry {
            base: h.base_offset,
            last: h.base_offset + i64::from(h.last_offset_delta),
            max_ts: h.max_timestamp,
            pos: pos as u32,
            len: len as u32,
        });
        r.seek_relative((len - HEADER_LEN) as i64).map_err(io)?;
        pos += len as u64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        (0..5)
            .map(|i| Entry {
                base: i * 10,
                last: i * 10 + 9,
                max_ts: 1000 + i,
                pos: (i * 100) as u32,
                len: 100,
            })
            .collect()
    }

    #[test]
    fn round_trips_and_finds_batches() {
        let idx = Index::parse("k", encode(&entries()).into()).expect("valid");
        assert_eq!(idx.len(), 5);
        assert_eq!(idx.get(3), entries()[3]);
        assert_eq!(idx.first_ending_at_or_after(0), 0);
        assert_eq!(idx.first_ending_at_or_after(15), 1);
        assert_eq!(idx.first_ending_at_or_after(49), 4);
        assert_eq!(idx.first_ending_at_or_after(50), 5);
        assert_eq!(idx.find_base(20).map(|e| e.pos), Some(200));
        assert_eq!(idx.find_base(21), None);
    }

    #[test]
    fn damage_is_detected() {
        let mut b = encode(&entries());
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(matches!(
            Index::parse("k", b.into()),
            Err(TierError::Corrupt { .. })
        ));
        assert!(Index::parse("k", bytes::Bytes::from_static(b"nope")).is_err());
    }
}
