//! Partitions closed by a Kinesis reshard, as Kafka clients and operators see them: the read-only topic config
//! `strait.closed.partitions` (DescribeConfigs), and the Produce refusal for a sealed partition, which names the
//! partition's children, is logged (at most once a minute per partition) and is counted.
//!
//! A Produce to a closed partition is refused rather than re-routed (docs/cross-protocol.md): an unmodified
//! producer with a key-based partitioner keeps hashing keys onto it, and without the log line, the counter and
//! the config an operator only sees the producer's POLICY_VIOLATION.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use strait_engine::{Engine, EngineError, TopicInfo};
use strait_shard_map::ShardMap;

use super::config_catalog::{ConfigType, SOURCE_DEFAULT};
use super::config_resources::Described;
use super::hash_key_ranges;
use crate::error::ApiError;

/// The read-only topic config listing the closed partitions.
pub const CLOSED_PARTITIONS_CONFIG: &str = "strait.closed.partitions";

const DOC: &str = "Read-only. The partitions of this topic closed by a Kinesis reshard (SplitShard, MergeShards, \
                   UpdateShardCount), comma-separated, empty if none. A closed partition keeps its records for \
                   reading but refuses every Produce with POLICY_VIOLATION; its records continue in its child \
                   partitions. strait.kinesis.hash.key.ranges lists the open ones.";

/// How often a refusal for one topic-partition is logged.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// When each topic-partition's refusal was last logged.
static LAST_LOGGED: LazyLock<Mutex<HashMap<(String, u32), Instant>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Closed partitions of `map`, plus any the engine has sealed that the map does not show closed yet (a reshard
/// seals its parents before it commits the new map).
fn closed(engine: &Engine, t: &TopicInfo, map: &ShardMap) -> Vec<u32> {
    let mut out: Vec<u32> = map
        .shards()
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| s.index)
        .collect();
    if let Ok(parts) = engine.partitions(&t.name) {
        out.extend(parts.iter().filter(|p| p.is_sealed()).map(|p| p.index()));
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn join(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// The config entry for topic `t`, or `None` for Kafka's internal topics (`__…`), which are not streams.
pub fn describe(engine: &Engine, t: &TopicInfo) -> Result<Option<Described>, ApiError> {
    if t.name.starts_with("__") {
        return Ok(None);
    }
    let map = hash_key_ranges::shard_map(engine, t)?;
    Ok(Some(Described {
        name: CLOSED_PARTITIONS_CONFIG.to_string(),
        value: join(&closed(engine, t, &map)),
        // Computed, not set: DEFAULT_CONFIG, like strait.kinesis.hash.key.ranges.
        source: SOURCE_DEFAULT,
        read_only: true,
        ty: ConfigType::List,
        doc: DOC,
        synonyms: Vec::new(),
    }))
}

/// The Produce error for `e`: for a sealed partition a message naming its children and the open partitions,
/// logged and counted; any other engine error as usual.
pub fn produce_error(engine: &Engine, t: &TopicInfo, e: EngineError) -> ApiError {
    let EngineError::PartitionSealed { partition, .. } = &e else {
        return ApiError::from(e);
    };
    let partition = *partition;
    metrics::counter!("strait_kafka_produce_closed_partition_total", "topic" => t.name.clone())
        .increment(1);
    let (children, open) = match hash_key_ranges::shard_map(engine, t) {
        Ok(map) => (
            map.children(partition)
                .iter()
                .map(|s| s.index)
                .collect::<Vec<_>>(),
            {
                let mut open: Vec<u32> = map.open_shards().map(|s| s.index).collect();
                open.sort_unstable();
                open
            },
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let message = refusal_message(&t.name, partition, &children, &open);
    if should_log(&t.name, partition, Instant::now()) {
        tracing::warn!(
            topic = %t.name,
            partition,
            children = %join(&children),
            "produce refused: the partition was closed by a Kinesis reshard (a keyed producer is still \
             hashing keys onto it); logged once a minute per partition, counted in \
             strait_kafka_produce_closed_partition_total"
        );
    }
    ApiError {
        message,
        ..ApiError::from(e)
    }
}

fn refusal_message(topic: &str, partition: u32, children: &[u32], open: &[u32]) -> String {
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let lineage = if children.is_empty() {
        "its child shards are not recorded yet (the reshard is still committing)".to_string()
    } else {
        let s = if children.len() == 1 { "" } else { "s" };
        format!("its child shards are partition{s} {}", list(children))
    };
    let open = if open.is_empty() {
        String::new()
    } else {
        format!(" ({})", list(open))
    };
    format!(
        "partition {partition} of stream {topic} is closed by resharding; {lineage}; produce without a \
         key-based partitioner or to the open partitions{open}"
    )
}

/// Whether a refusal for `topic`/`partition` at `now` is the first in [`LOG_EVERY`]; records it if so.
fn should_log(topic: &str, partition: u32, now: Instant) -> bool {
    let mut last = LAST_LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
    let key = (topic.to_string(), partition);
    if last
        .get(&key)
        .is_some_and(|t| now.saturating_duration_since(*t) < LOG_EVERY)
    {
        return false;
    }
    // Entries older than the window carry no information: drop them so deleted topics do not accumulate.
    last.retain(|_, t| now.saturating_duration_since(*t) < LOG_EVERY);
    last.insert(key, now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_children_and_open_partitions() {
        assert_eq!(
            refusal_message("s", 0, &[1, 2], &[1, 2]),
            "partition 0 of stream s is closed by resharding; its child shards are partitions 1, 2; produce \
             without a key-based partitioner or to the open partitions (1, 2)"
        );
        assert_eq!(
            refusal_message("s", 1, &[3], &[2, 3]),
            "partition 1 of stream s is closed by resharding; its child shards are partition 3; produce \
             without a key-based partitioner or to the open partitions (2, 3)"
        );
        assert!(refusal_message("s", 1, &[], &[]).contains("not recorded yet"));
    }

    #[test]
    fn logs_once_a_minute_per_partition() {
        let t0 = Instant::now();
        let topic = "closed-partitions-log-test";
        assert!(should_log(topic, 0, t0));
        assert!(!should_log(topic, 0, t0 + Duration::from_secs(59)));
        assert!(
            should_log(topic, 1, t0 + Duration::from_secs(1)),
            "per partition"
        );
        assert!(should_log(topic, 0, t0 + Duration::from_secs(61)));
    }
}
