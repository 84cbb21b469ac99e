//! The read-only topic config `strait.kinesis.hash.key.ranges` (DescribeConfigs): the open shards of the topic's
//! Kinesis view and their hash-key ranges, so a Kafka producer can pick the partition Kinesis MD5 routing would
//! (docs/cross-protocol.md). The broker never re-routes a Produce: that would break offsets and idempotence.
//!
//! A stream created or changed through Kinesis has its lineage in the Kinesis front end's record in the metadata
//! store; this front end may not depend on that one, so it reads the record through the shard map's decoder
//! (`strait_shard_map::schema`). A topic with no such record (or only one left behind by an earlier topic of the same
//! name) is seen by Kinesis as one open shard per partition with even ranges, and that is what is described.

use kafka_protocol::error::ResponseError;
use strait_engine::{Engine, TopicInfo};
use strait_shard_map::ShardMap;
use strait_shard_map::schema::{
    HASH_KEY_RANGES_CONFIG, META_TABLE, decode_live_stream_shards, hash_key_ranges_config,
    stream_key,
};

use super::config_catalog::{ConfigType, SOURCE_DEFAULT};
use super::config_resources::Described;
use crate::error::ApiError;

const DOC: &str = "Read-only. The open Kinesis shards of this topic as partition:startingHashKey-endingHashKey \
                   (decimal, inclusive), comma-separated in hash-key order. A producer that sends a key to the \
                   partition whose range holds MD5(key) as a 128-bit big-endian integer writes where Kinesis \
                   PutRecord with that PartitionKey would.";

/// The config entry for topic `t`, or `None` for Kafka's internal topics (`__…`), which are not streams.
pub fn describe(engine: &Engine, t: &TopicInfo) -> Result<Option<Described>, ApiError> {
    if t.name.starts_with("__") {
        return Ok(None);
    }
    let map = shard_map(engine, t)?;
    Ok(Some(Described {
        name: HASH_KEY_RANGES_CONFIG.to_string(),
        value: hash_key_ranges_config(&map),
        // A computed value no one set: DEFAULT_CONFIG keeps tools that copy "non-default" configs from trying to
        // write it back.
        source: SOURCE_DEFAULT,
        read_only: true,
        ty: ConfigType::String,
        doc: DOC,
        synonyms: Vec::new(),
    }))
}

/// The shard lineage Kinesis shows for topic `t`: its stored record, or one open shard per partition.
pub(super) fn shard_map(engine: &Engine, t: &TopicInfo) -> Result<ShardMap, ApiError> {
    let record = engine.meta().get(META_TABLE, &stream_key(&t.name))?;
    let stored = match record {
        Some(record) => decode_live_stream_shards(&record, &t.id.to_string()).map_err(|e| {
            ApiError::new(
                ResponseError::UnknownServerError,
                format!(
                    "The Kinesis record of stream {} cannot be read: {e}",
                    t.name
                ),
            )
        })?,
        None => None,
    };
    Ok(match stored {
        Some(map) => map,
        None => ShardMap::new(t.partitions, t.created_ms).map_err(|e| {
            ApiError::new(
                ResponseError::UnknownServerError,
                format!("Topic {} has no hash-key ranges: {e}", t.name),
            )
        })?,
    })
}
