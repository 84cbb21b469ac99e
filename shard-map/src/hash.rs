//! The 128-bit hash-key space: ranges, the MD5 of a partition key, and explicit hash keys.
//!
//! A stream of N shards created without explicit ranges splits `0..=2^128-1` into N contiguous, nearly even ranges
//! (as AWS does), and a partition key routes to the shard whose range contains `MD5(key)` read as a big-endian
//! u128.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::ShardMapError;

/// An inclusive range of the 128-bit Kinesis hash-key space. Serialized (and shown by AWS) as decimal strings:
/// JSON numbers cannot carry 128 bits faithfully in most parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HashRange {
    #[serde(with = "decimal")]
    pub start: u128,
    #[serde(with = "decimal")]
    pub end: u128,
}

/// The former name of [`HashRange`].
pub type HashKeyRange = HashRange;

impl HashRange {
    /// The whole space, `0..=2^128-1`.
    pub const FULL: HashRange = HashRange {
        start: 0,
        end: u128::MAX,
    };

    pub fn contains(&self, key: u128) -> bool {
        self.start <= key && key <= self.end
    }

    /// `StartingHashKey` as AWS renders it.
    pub fn starting_hash_key(&self) -> String {
        self.start.to_string()
    }

    /// `EndingHashKey` as AWS renders it.
    pub fn ending_hash_key(&self) -> String {
        self.end.to_string()
    }
}

/// Splits the whole hash-key space into `n` contiguous ranges (n >= 1; 0 is treated as 1). Each range has
/// `2^128 / n` keys and the last one absorbs the remainder, which matches the ranges AWS assigns to a new stream
/// of `n` shards and the shards UpdateShardCount(UNIFORM_SCALING) ends with.
pub fn even_ranges(n: u32) -> Vec<HashRange> {
    if n <= 1 {
        return vec![HashRange::FULL];
    }
    let n = n as u128;
    // floor(2^128 / n) without overflowing u128: 2^128 = MAX + 1.
    let width = u128::MAX / n + (u128::MAX % n + 1) / n;
    (0..n)
        .map(|i| {
            let start = width * i;
            let end = if i == n - 1 {
                u128::MAX
            } else {
                width * (i + 1) - 1
            };
            HashRange { start, end }
        })
        .collect()
}

/// The index of the range containing `key`, if any (ranges must be sorted and contiguous).
pub fn route(ranges: &[HashRange], key: u128) -> Option<usize> {
    let i = ranges.partition_point(|r| r.end < key);
    ranges.get(i).filter(|r| r.contains(key)).map(|_| i)
}

/// The hash key of a partition key: MD5 of its bytes (the UTF-8 of the string the client sent) as a big-endian
/// 128-bit unsigned integer, as Kinesis computes it.
pub fn hash_key(partition_key: &[u8]) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key).into())
}

/// Parses a hash key as the Kinesis API carries it (ExplicitHashKey, NewStartingHashKey, hash-key ranges): AWS's
/// model pattern `0|([1-9]\d{0,38})` and a value of at most `2^128-1`. Signs, spaces, leading zeros and any other
/// character are rejected.
pub fn parse_explicit_hash_key(s: &str) -> Result<u128, ShardMapError> {
    let bad = |reason| ShardMapError::InvalidHashKey {
        value: s.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("only the digits 0-9 are allowed"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad("leading zeros are not allowed"));
    }
    if s.len() > 39 {
        return Err(bad("more than 39 digits"));
    }
    // All digits, so the only possible failure left is a value above 2^128-1.
    s.parse::<u128>()
        .map_err(|_| bad("greater than 2^128-1 (340282366920938463463374607431768211455)"))
}

/// Serde of a u128 as a decimal string.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_explicit_hash_key(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_space_without_gaps() {
        for n in [1u32, 2, 3, 4, 7, 16, 1000] {
            let r = even_ranges(n);
            assert_eq!(r.len(), n as usize);
            assert_eq!(r[0].start, 0);
            assert_eq!(r[r.len() - 1].end, u128::MAX);
            for w in r.windows(2) {
                assert_eq!(w[0].end + 1, w[1].start, "contiguous for n={n}");
            }
        }
    }

    #[test]
    fn matches_aws_boundaries() {
        // AWS gives a 2-shard stream ranges 0..=2^127-1 and 2^127..=2^128-1; 4 shards split at multiples of 2^126.
        let r = even_ranges(2);
        assert_eq!(r[0].end, (1u128 << 127) - 1);
        assert_eq!(r[1].start, 1u128 << 127);
        let r = even_ranges(4);
        assert_eq!(r[1].start, 1u128 << 126);
        assert_eq!(r[3].start, 3u128 << 126);
        // 3 shards: AWS's first boundary is 113427455640312821154458202477256070485.
        assert_eq!(
            even_ranges(3)[0].end,
            113_427_455_640_312_821_154_458_202_477_256_070_484
        );
    }

    #[test]
    fn routes_keys() {
        let r = even_ranges(4);
        assert_eq!(route(&r, 0), Some(0));
        assert_eq!(route(&r, u128::MAX), Some(3));
        assert_eq!(route(&r, 1u128 << 127), Some(2));
        assert_eq!(route(&[], 5), None);
    }

    #[test]
    fn md5_of_partition_keys() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e; MD5("a") = 0cc175b9c0f1b6a831c399e269772661.
        assert_eq!(hash_key(b""), 0xd41d8cd98f00b204e9800998ecf8427e);
        assert_eq!(hash_key(b"a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn explicit_hash_keys() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "01",
            "1e3",
            "0x10",
            "340282366920938463463374607431768211456",
            "1000000000000000000000000000000000000000",
        ] {
            assert!(parse_explicit_hash_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_serialize_as_decimal_strings() {
        let r = HashRange {
            start: 0,
            end: u128::MAX,
        };
        let json = serde_json::to_string(&r).expect("json");
        assert_eq!(
            json,
            r#"{"start":"0","end":"340282366920938463463374607431768211455"}"#
        );
        assert_eq!(serde_json::from_str::<HashRange>(&json).expect("back"), r);
    }
}
