//! Where a stream's [`ShardMap`] is persisted, and its open hash-key ranges as the Kafka front end shows them.
//!
//! The Kinesis front end owns a stream's record (JSON in the engine's metadata store, table [`META_TABLE`], key
//! [`stream_key`]); its `shards` member is the lineage. The Kafka front end must not depend on the Kinesis one,
//! so the read path lives here: [`decode_stream_shards`] reads just the lineage out of such a record, and
//! [`hash_key_ranges_config`] renders the value of the read-only topic config [`HASH_KEY_RANGES_CONFIG`] that
//! lets Kafka producers route by MD5 as Kinesis does.

use serde::Deserialize;

use crate::error::ShardMapError;
use crate::hash::{HashRange, parse_explicit_hash_key};
use crate::map::ShardMap;

/// The metadata-store table holding Kinesis state.
pub const META_TABLE: &str = "kinesis";
/// Stream records are keyed `stream/<name>` in [`META_TABLE`].
pub const STREAM_KEY_PREFIX: &str = "stream/";
/// The read-only Kafka topic config listing the open shards' hash-key ranges.
pub const HASH_KEY_RANGES_CONFIG: &str = "strait.kinesis.hash.key.ranges";

/// The metadata-store key of stream `name`'s record.
pub fn stream_key(name: &str) -> Vec<u8> {
    format!("{STREAM_KEY_PREFIX}{name}").into_bytes()
}

/// The part of a persisted stream record this crate reads; the other members are ignored.
#[derive(Deserialize)]
struct StoredShards {
    shards: ShardMap,
}

/// The lineage inside a persisted stream record (JSON). A record that is not JSON, has no `shards`, or whose map
/// breaks an invariant is [`ShardMapError::CorruptMap`].
pub fn decode_stream_shards(record: &[u8]) -> Result<ShardMap, ShardMapError> {
    serde_json::from_slice::<StoredShards>(record)
        .map(|s| s.shards)
        .map_err(|e| ShardMapError::CorruptMap(format!("stream record: {e}")))
}

/// The value of [`HASH_KEY_RANGES_CONFIG`]: `partition:startingHashKey-endingHashKey` for each **open** shard,
/// in hash-key order, joined by `,`; hash keys in decimal, both ends inclusive. The ranges cover
/// `0..=2^128-1` exactly, so every MD5 hash key is in exactly one of them.
pub fn hash_key_ranges_config(map: &ShardMap) -> String {
    map.open_shards()
        .map(|s| format!("{}:{}-{}", s.index, s.hash_range.start, s.hash_range.end))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a [`HASH_KEY_RANGES_CONFIG`] value back into `(partition, range)` pairs, in the order given.
pub fn parse_hash_key_ranges_config(value: &str) -> Result<Vec<(u32, HashRange)>, ShardMapError> {
    let bad = |part: &str| ShardMapError::CorruptMap(format!("bad hash-key range entry '{part}'"));
    value
        .split(',')
        .map(|part| {
            let (p, range) = part.split_once(':').ok_or_else(|| bad(part))?;
            let (start, end) = range.split_once('-').ok_or_else(|| bad(part))?;
            let partition = p.parse::<u32>().map_err(|_| bad(part))?;
            let start = parse_explicit_hash_key(start)?;
            let end = parse_explicit_hash_key(end)?;
            if start > end {
                return Err(bad(part));
            }
            Ok((partition, HashRange { start, end }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_map_config() {
        let m = ShardMap::new(2, 0).expect("map");
        let v = hash_key_ranges_config(&m);
        assert_eq!(
            v,
            "0:0-170141183460469231731687303715884105727,\
             1:170141183460469231731687303715884105728-340282366920938463463374607431768211455"
        );
        let parsed = parse_hash_key_ranges_config(&v).expect("parse");
        assert_eq!(
            parsed,
            m.open_shards()
                .map(|s| (s.index, s.hash_range))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_open_shards_after_a_split() {
        let mut m = ShardMap::new(2, 0).expect("map");
        let plan = m.plan_split(0, 1u128 << 126, 5).expect("plan");
        m.apply(&plan, &[(0, 10)].into_iter().collect())
            .expect("apply");
        let v = hash_key_ranges_config(&m);
        let parts: Vec<u32> = parse_hash_key_ranges_config(&v)
            .expect("parse")
            .iter()
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(parts, [2, 3, 1]);
    }

    #[test]
    fn reads_the_shards_of_a_record_and_ignores_the_rest() {
        let m = ShardMap::new(3, 7).expect("map");
        let mut record = serde_json::json!({"name": "s", "status": "ACTIVE", "tags": {}});
        record["shards"] = serde_json::to_value(&m).expect("json");
        let bytes = serde_json::to_vec(&record).expect("bytes");
        assert_eq!(decode_stream_shards(&bytes), Ok(m));
        assert!(matches!(
            decode_stream_shards(br#"{"name":"s"}"#),
            Err(ShardMapError::CorruptMap(_))
        ));
        assert_eq!(stream_key("s"), b"stream/s");
    }

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            "",
            "0",
            "0:1",
            "x:0-1",
            "0:2-1",
            "0:-1-5",
            "0:0-340282366920938463463374607431768211456",
        ] {
            assert!(parse_hash_key_ranges_config(bad).is_err(), "{bad}");
        }
    }
}
