//! The map between Kinesis and Kafka views of one stream: shards ↔ partitions, hash-key ranges ↔ keys, and
//! (in later issues) sequence numbers ↔ offsets and KCL checkpoints ↔ consumer-group offsets.
//!
//! So far it holds the hash-key space arithmetic that both views agree on: a stream of N shards created without
//! explicit ranges splits `0..=2^128-1` into N contiguous, nearly even ranges (as AWS does), and a partition key
//! routes to the shard whose range contains `MD5(key)` read as a big-endian u128.

/// An inclusive range of the 128-bit Kinesis hash-key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

impl HashKeyRange {
    pub const FULL: HashKeyRange = HashKeyRange {
        start: 0,
        end: u128::MAX,
    };

    pub fn contains(&self, key: u128) -> bool {
        self.start <= key && key <= self.end
    }
}

/// Splits the whole hash-key space into `n` contiguous ranges (n >= 1). Each range has `2^128 / n` keys and the
/// last one absorbs the remainder, which matches the ranges AWS assigns to a new stream of `n` shards.
pub fn even_ranges(n: u32) -> Vec<HashKeyRange> {
    if n <= 1 {
        return vec![HashKeyRange::FULL];
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
            HashKeyRange { start, end }
        })
        .collect()
}

/// The index of the range containing `key`, if any (ranges must be sorted and contiguous).
pub fn route(ranges: &[HashKeyRange], key: u128) -> Option<usize> {
    let i = ranges.partition_point(|r| r.end < key);
    ranges.get(i).filter(|r| r.contains(key)).map(|_| i)
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
}
