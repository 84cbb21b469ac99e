//! The one shared contract between the Kinesis and Kafka front ends about persisted Kinesis state: where a
//! stream's record lives, which of its members the Kafka side may read, and when a record counts.
//!
//! The Kinesis front end owns the record (JSON in the engine's metadata store, table [`META_TABLE`], key
//! [`stream_key`]) and everything else in it; this module fixes only what the Kafka front end reads:
//! - `shards`: the lineage ([`ShardMap`]), read by [`decode_stream_shards`];
//! - `topic_id`: the id of the topic the record was written for. A topic deleted and re-created under the same
//!   name gets a new id, so a record left behind by the old one (a crash between the topic's deletion and the
//!   record's removal) is not the new topic's: [`decode_live_stream_shards`] reads it as absent. Records written
//!   before the field existed have none and count for whatever topic has the name.
//!
//! [`hash_key_ranges_config`] renders the value of the read-only topic config [`HASH_KEY_RANGES_CONFIG`] that lets
//! Kafka producers route by MD5 as Kinesis does. Everything else about the Kinesis table (other keys, the rest of
//! the record) is private to the Kinesis crate (`strait_kinesis::store`).

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

/// The member of a stream record naming the topic it was written for (the topic id as a hyphenated UUID).
pub const TOPIC_ID_MEMBER: &str = "topic_id";

/// The part of a persisted stream record this crate reads; the other members are ignored.
#[derive(Deserialize)]
struct StoredShards {
    shards: ShardMap,
    #[serde(default)]
    topic_id: Option<String>,
}

/// The lineage inside a persisted stream record (JSON). A record that is not JSON, has no `shards`, or whose map
/// breaks an invariant is [`ShardMapError::CorruptMap`].
pub fn decode_stream_shards(record: &[u8]) -> Result<ShardMap, ShardMapError> {
    serde_json::from_slice::<StoredShards>(record)
        .map(|s| s.shards)
        .map_err(|e| ShardMapError::CorruptMap(format!("stream record: {e}")))
}

/// The lineage inside a persisted stream record if the record belongs to the topic with id `topic_id`
/// (hyphenated UUID, as `uuid::Uuid` displays it), `None` when it was left behind by an earlier topic of the same
/// name. A record with no topic id (written before the field existed) belongs to any topic.
pub fn decode_live_stream_shards(
    record: &[u8],
    topic_id: &str,
) -> Result<Option<ShardMap>, ShardMapError> {
    let s = serde_json::from_slice::<StoredShards>(record)
        .map_err(|e| ShardMapError::CorruptMap(format!("stream record: {e}")))?;
    Ok(record_belongs_to(s.topic_id.as_deref(), topic_id).then_some(s.shards))
}

/// Whether a record whose `topic_id` member is `recorded` belongs to the topic with id `topic_id`.
pub fn record_belongs_to(recorded: Option<&str>, topic_id: &str) -> bool {
    recorded.is_none_or(|r| r.eq_ignore_ascii_case(topic_id))
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
    fn a_record_of_an_earlier_topic_reads_as_absent() {
        let m = ShardMap::new(2, 7).expect("map");
        let mut record = serde_json::json!({"name": "s"});
        record["shards"] = serde_json::to_value(&m).expect("json");
        let legacy = serde_json::to_vec(&record).expect("bytes");
        assert_eq!(decode_live_stream_shards(&legacy, "a"), Ok(Some(m.clone())));
        record[TOPIC_ID_MEMBER] = "a".into();
        let bytes = serde_json::to_vec(&record).expect("bytes");
        assert_eq!(decode_live_stream_shards(&bytes, "a"), Ok(Some(m)));
        assert_eq!(decode_live_stream_shards(&bytes, "b"), Ok(None));
        assert!(decode_live_stream_shards(b"{}", "a").is_err());
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
