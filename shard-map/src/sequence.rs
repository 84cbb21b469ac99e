//! Kinesis sequence numbers for records stored at partition offsets.
//!
//! # Format
//!
//! A sequence number is a 56-digit decimal string (AWS's are 56 digits and start with `49`, and so do these),
//! made of fixed-width decimal fields:
//!
//! ```text
//! 49 | incarnation (10 digits) | shard (10 digits) | offset (19 digits) | reserved (15 digits)
//! ```
//!
//! - `incarnation`: a u32 identifying one life of a stream (see [`incarnation_from_created_ms`]); a number from
//!   another stream, or from a deleted stream of the same name, decodes to a different incarnation and the front
//!   end rejects it with InvalidArgumentException.
//! - `shard`: the shard (= partition) index, a u32.
//! - `offset`: the record's partition offset plus one, so that a shard's StartingSequenceNumber (field 0) sorts
//!   below its first record (offset 0, field 1), as AWS's does: resuming AFTER_SEQUENCE_NUMBER with the starting
//!   number (what an EFO subscription that has delivered nothing reports as its continuation) then reads the
//!   first record instead of skipping it.
//! - `reserved`: zero today. Reserved for sub-sequence numbers of KPL aggregated records (a later issue), so they
//!   can be added without changing the width or the meaning of any existing number; [`SequenceNumber::decode`]
//!   rejects non-zero reserved digits until then.
//!
//! Because every field has a fixed width, numbers compare as big integers exactly as the tuple
//! `(incarnation, shard, offset)` does, which is also the derived [`Ord`] of [`SequenceNumber`]: within a shard
//! they increase strictly with the offset, as KCL (BigInteger comparison) requires. All numbers match AWS's model
//! pattern `0|([1-9]\d{0,128})`. Decoding needs no lookup.
//!
//! # Shard boundaries
//!
//! - StartingSequenceNumber of a shard: "offset -1", the position before its first record
//!   ([`SequenceNumber::shard_start`]); a shard's partition is created with the shard, so its first record gets
//!   offset 0. AT_ and AFTER_SEQUENCE_NUMBER with it both read from the first record.
//! - EndingSequenceNumber of a closed shard: the number of its last record ([`SequenceNumber::shard_end`]), so
//!   it is >= every record of the shard; for a closed shard with no records it equals the starting number (AWS
//!   also reports Starting <= Ending). AFTER_SEQUENCE_NUMBER with it reads from the end of the shard: no
//!   records, then the shard-end answer with ChildShards.

use std::fmt;

use crate::error::ShardMapError;

const LEAD: &str = "49";
const INCARNATION_DIGITS: usize = 10;
const SHARD_DIGITS: usize = 10;
const OFFSET_DIGITS: usize = 19;
const RESERVED_DIGITS: usize = 15;
/// Length of every sequence number Strait issues.
pub const SEQUENCE_NUMBER_DIGITS: usize =
    LEAD.len() + INCARNATION_DIGITS + SHARD_DIGITS + OFFSET_DIGITS + RESERVED_DIGITS;

/// The incarnation of a stream created at `created_ms` (Unix milliseconds): its low 32 bits. Two streams of the
/// same name get the same incarnation only if created a multiple of 2^32 ms (about 49.7 days) apart to the
/// millisecond. Callers may use any other u32 they persist with the stream.
pub fn incarnation_from_created_ms(created_ms: i64) -> u32 {
    (created_ms as u64 & u64::from(u32::MAX)) as u32
}

/// A decoded sequence number: the record at `offset` of partition `shard` in stream life `incarnation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SequenceNumber {
    pub incarnation: u32,
    pub shard: u32,
    /// Partition offset, `>= 0` for a record; `-1` for a shard's starting number (before its first record).
    pub offset: i64,
}

impl SequenceNumber {
    /// The StartingSequenceNumber of a shard.
    pub fn shard_start(incarnation: u32, shard: u32) -> SequenceNumber {
        SequenceNumber {
            incarnation,
            shard,
            offset: -1,
        }
    }

    /// The EndingSequenceNumber of a shard closed with `end_offset` (one past its last record; 0 when empty):
    /// its last record's number, or the starting number when it has none.
    pub fn shard_end(incarnation: u32, shard: u32, end_offset: i64) -> SequenceNumber {
        SequenceNumber {
            incarnation,
            shard,
            offset: end_offset.max(0) - 1,
        }
    }

    /// The 56-digit decimal string. An offset below -1 (never produced) encodes as the shard's start.
    pub fn encode(&self) -> String {
        // Written digit by digit into a fixed buffer: PutRecords encodes one number per record, and `format!`
        // with padded widths showed up at ~7% of the Kinesis write path's CPU (docs/benchmarks.md, profile).
        // Through i128 so offset i64::MAX + 1 does not overflow; it fits u64 and the 19-digit field.
        let field = (i128::from(self.offset.max(-1)) + 1) as u64;
        let mut b = [b'0'; SEQUENCE_NUMBER_DIGITS];
        b[..LEAD.len()].copy_from_slice(LEAD.as_bytes());
        let mut at = LEAD.len();
        for (value, width) in [
            (u64::from(self.incarnation), INCARNATION_DIGITS),
            (u64::from(self.shard), SHARD_DIGITS),
            (field, OFFSET_DIGITS),
        ] {
            put_digits(&mut b[at..at + width], value);
            at += width;
        }
        // The reserved digits stay '0'. Every byte is an ASCII digit, so the UTF-8 check cannot fail.
        std::str::from_utf8(&b)
            .map(str::to_owned)
            .unwrap_or_default()
    }

    /// Decodes a number produced by [`encode`](Self::encode). Anything else (another length, another lead,
    /// out-of-range fields, non-zero reserved digits) is [`ShardMapError::InvalidSequenceNumber`].
    pub fn decode(s: &str) -> Result<SequenceNumber, ShardMapError> {
        let bad = |reason| ShardMapError::InvalidSequenceNumber {
            value: s.to_string(),
            reason,
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only the digits 0-9 are allowed"));
        }
        if s.len() != SEQUENCE_NUMBER_DIGITS {
            return Err(bad(
                "not a sequence number issued by this server (wrong length)",
            ));
        }
        let rest = s
            .strip_prefix(LEAD)
            .ok_or_else(|| bad("not a sequence number issued by this server (wrong prefix)"))?;
        // All ASCII digits, so byte slicing is on character boundaries.
        let (inc, rest) = rest.split_at(INCARNATION_DIGITS);
        let (shard, rest) = rest.split_at(SHARD_DIGITS);
        let (offset, reserved) = rest.split_at(OFFSET_DIGITS);
        if reserved.bytes().any(|b| b != b'0') {
            return Err(bad("reserved digits are not zero"));
        }
        Ok(SequenceNumber {
            incarnation: inc.parse().map_err(|_| bad("incarnation out of range"))?,
            shard: shard.parse().map_err(|_| bad("shard out of range"))?,
            offset: offset
                .parse::<u64>()
                .ok()
                .and_then(|f| i64::try_from(i128::from(f) - 1).ok())
                .ok_or_else(|| bad("offset out of range"))?,
        })
    }
}

/// Writes `value` right-aligned in decimal into `out`, which is pre-filled with '0' and wide enough.
fn put_digits(out: &mut [u8], mut value: u64) {
    for d in out.iter_mut().rev() {
        if value == 0 {
            break;
        }
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl std::str::FromStr for SequenceNumber {
    type Err = ShardMapError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SequenceNumber::decode(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_aws() {
        let s = SequenceNumber {
            incarnation: 1_234_567_890,
            shard: 3,
            offset: 42,
        }
        .encode();
        assert_eq!(s.len(), 56);
        assert_eq!(
            s,
            "49123456789000000000030000000000000000043000000000000000"
        );
        assert_eq!(SequenceNumber::decode(&s).map(|n| n.offset), Ok(42));
        let max = SequenceNumber {
            incarnation: u32::MAX,
            shard: u32::MAX,
            offset: i64::MAX,
        };
        assert_eq!(SequenceNumber::decode(&max.encode()), Ok(max));
    }

    #[test]
    fn rejects_foreign_numbers() {
        let good = SequenceNumber::shard_start(7, 1).encode();
        let mut reserved = good.clone();
        reserved.replace_range(55..56, "1");
        let mut big_offset = good.clone();
        big_offset.replace_range(22..41, "9999999999999999999");
        assert_eq!(good, format!("49{:010}{:010}{:034}", 7, 1, 0));
        let mut big_shard = good.clone();
        big_shard.replace_range(12..22, "9999999999");
        for bad in [
            "",
            "0",
            "49",
            // An AWS sequence number: right length and lead, but its fields are out of Strait's ranges.
            "49590338271490256608559692538361571095921575989136588898",
            &format!("50{}", &good[2..]),
            &format!("{good}0"),
            &reserved,
            &big_offset,
            &big_shard,
            &good.replace('4', "a"),
        ] {
            assert!(SequenceNumber::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn digit_writer_matches_padded_format() {
        for (incarnation, shard, offset) in [
            (0, 0, -1),
            (1, 10, 0),
            (u32::MAX, 99, 9),
            (4_000_000_007, u32::MAX, 123_456_789_012),
            (17, 1, i64::MAX),
        ] {
            let n = SequenceNumber {
                incarnation,
                shard,
                offset,
            };
            let field = i128::from(offset) + 1;
            assert_eq!(
                n.encode(),
                format!("49{incarnation:010}{shard:010}{field:019}{:015}", 0)
            );
        }
    }

    #[test]
    fn shard_bounds() {
        let start = SequenceNumber::shard_start(9, 2);
        let empty_end = SequenceNumber::shard_end(9, 2, 0);
        assert_eq!(start, empty_end);
        assert_eq!(
            SequenceNumber::shard_end(9, 2, 5),
            SequenceNumber { offset: 4, ..start }
        );
        assert!(start < SequenceNumber { offset: 0, ..start });
        assert_eq!(SequenceNumber::decode(&start.encode()), Ok(start));
        assert_eq!(incarnation_from_created_ms(0x1_0000_0005), 5);
    }
}
