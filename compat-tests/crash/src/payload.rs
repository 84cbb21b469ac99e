//! What the crash writer stores: a key naming `(round, writer, seq)` and a value derived from the key alone.
//!
//! Because the value is a pure function of the key, the verifier can check every record on disk byte for byte
//! without the writer having to remember what it sent.

use std::fmt;

/// Identity of one record: the round (writer process), the writer task inside it and the task's record counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId {
    pub round: u32,
    pub writer: u32,
    pub seq: u64,
}

/// Shortest and longest value, per the brief (values of about 100 to 2000 bytes).
pub const MIN_VALUE_LEN: usize = 100;
pub const MAX_VALUE_LEN: usize = 2000;

impl RecordId {
    /// The record key, readable in a hex dump of a segment: `r<round>-w<writer>-s<seq>`.
    pub fn key(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Parses a key written by [`RecordId::key`].
    pub fn parse_key(key: &[u8]) -> Option<RecordId> {
        let s = std::str::from_utf8(key).ok()?;
        let mut parts = s.split('-');
        let round = parts.next()?.strip_prefix('r')?.parse().ok()?;
        let writer = parts.next()?.strip_prefix('w')?.parse().ok()?;
        let seq = parts.next()?.strip_prefix('s')?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(RecordId { round, writer, seq })
    }

    /// The value stored under this key: its length and bytes come from a PRNG seeded by the key.
    pub fn value(&self) -> Vec<u8> {
        let mut state = self.seed();
        let span = (MAX_VALUE_LEN - MIN_VALUE_LEN + 1) as u64;
        let len = MIN_VALUE_LEN + (splitmix64(&mut state) % span) as usize;
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        v.truncate(len);
        v
    }

    fn seed(&self) -> u64 {
        let mut s = (u64::from(self.round) << 48) ^ (u64::from(self.writer) << 32) ^ self.seq;
        splitmix64(&mut s)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}-w{}-s{}", self.round, self.writer, self.seq)
    }
}

/// SplitMix64: tiny, fast and good enough to make values that a misplaced or stale byte cannot imitate.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips() {
        let id = RecordId {
            round: 7,
            writer: 3,
            seq: 123_456_789,
        };
        assert_eq!(RecordId::parse_key(&id.key()), Some(id));
        assert_eq!(RecordId::parse_key(b"r1-w2"), None);
        assert_eq!(RecordId::parse_key(b"r1-w2-s3-x"), None);
    }

    #[test]
    fn values_are_deterministic_and_distinct() {
        let a = RecordId {
            round: 1,
            writer: 0,
            seq: 5,
        };
        let b = RecordId {
            round: 1,
            writer: 0,
            seq: 6,
        };
        assert_eq!(a.value(), a.value());
        assert_ne!(a.value(), b.value());
        for seq in 0..200 {
            let len = RecordId {
                round: 0,
                writer: 1,
                seq,
            }
            .value()
            .len();
            assert!((MIN_VALUE_LEN..=MAX_VALUE_LEN).contains(&len));
        }
    }
}
