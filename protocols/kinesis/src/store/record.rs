//! What Strait remembers about a stream beyond its topic: the Kinesis metadata, persisted as JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use strait_shard_map::{ReshardPlan, ShardInfo, ShardMap, incarnation_from_created_ms};

/// A stream's lifecycle state as stored. What clients see also depends on time (see [`StreamRecord::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Deleting => "DELETING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
    pub fn parse(s: &str) -> Option<StreamMode> {
        match s {
            "PROVISIONED" => Some(StreamMode::Provisioned),
            "ON_DEMAND" => Some(StreamMode::OnDemand),
            _ => None,
        }
    }
}

/// A registered enhanced fan-out consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerRecord {
    pub name: String,
    /// Unix ms; its seconds are the ARN's suffix.
    pub created_ms: i64,
    /// Set by DeregisterStreamConsumer: the consumer is DELETING until the status delay passes, then gone.
    pub deleting_since_ms: Option<i64>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub policy: Option<String>,
}

/// Everything Kinesis-specific about one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    pub name: String,
    /// The topic this record was written for (`strait_shard_map::schema`'s `topic_id`): a record whose topic is
    /// gone or was re-created under the name is not this stream's and is treated as absent. `None` in records
    /// written before the field existed (stamped at the next start).
    #[serde(default)]
    pub topic_id: Option<uuid::Uuid>,
    pub created_ms: i64,
    /// Identifies this life of the name in sequence numbers and iterators.
    pub incarnation: u32,
    pub status: StreamStatus,
    /// When `status` was entered (Unix ms): CREATING/UPDATING end `status_delay` later.
    pub status_since_ms: i64,
    pub mode: StreamMode,
    pub retention_hours: u32,
    pub shards: ShardMap,
    /// `Some(key id)` while KMS encryption is on.
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enhanced_metrics: BTreeSet<String>,
    pub max_record_size_kib: u32,
    /// Resource policy of the stream (JSON text), stored and returned.
    pub policy: Option<String>,
    pub consumers: Vec<ConsumerRecord>,
    #[serde(default)]
    pub warm_throughput_mibps: Option<u32>,
    #[serde(default)]
    pub record_distribution_strategy: Option<String>,
    /// Unix ms of recent UpdateShardCount calls (AWS limits them per rolling 24 hours).
    #[serde(default)]
    pub scaling_history_ms: Vec<i64>,
    /// A resharding plan persisted before execution and cleared once committed; one left behind by a crash is
    /// finished when the service opens.
    #[serde(default)]
    pub pending_plan: Option<ReshardPlan>,
    /// The `status_since_ms` of the UPDATING period the last resharding started, and the resharding's time: while
    /// that period lasts, DescribeStream shows the layout from before it, as AWS does.
    #[serde(default)]
    pub resharding: Option<(i64, i64)>,
}

impl StreamRecord {
    pub fn new(name: &str, now_ms: i64, mode: StreamMode, shards: ShardMap) -> StreamRecord {
        StreamRecord {
            name: name.to_string(),
            topic_id: None,
            created_ms: now_ms,
            incarnation: incarnation_from_created_ms(now_ms),
            status: StreamStatus::Creating,
            status_since_ms: now_ms,
            mode,
            retention_hours: 24,
            shards,
            kms_key_id: None,
            tags: BTreeMap::new(),
            enhanced_metrics: BTreeSet::new(),
            max_record_size_kib: 1024,
            policy: None,
            consumers: Vec::new(),
            warm_throughput_mibps: None,
            record_distribution_strategy: None,
            scaling_history_ms: Vec::new(),
            pending_plan: None,
            resharding: None,
        }
    }

    /// The status clients see at `now_ms`: a CREATING or UPDATING stream is ACTIVE once `delay_ms` has passed.
    pub fn status(&self, now_ms: i64, delay_ms: i64) -> StreamStatus {
        match self.status {
            StreamStatus::Creating | StreamStatus::Updating
                if now_ms >= self.status_since_ms.saturating_add(delay_ms) =>
            {
                StreamStatus::Active
            }
            s => s,
        }
    }

    /// The shards as clients see them in `status`: none while CREATING or DELETING, the layout from before the
    /// last resharding while the UPDATING period it started lasts (its children hidden, its parents still open),
    /// every shard otherwise. The map itself changes at once; only the description lags, as on AWS.
    pub fn described_shards(&self, status: StreamStatus) -> Vec<ShardInfo> {
        match status {
            StreamStatus::Creating | StreamStatus::Deleting => Vec::new(),
            StreamStatus::Updating => match self.resharding {
                Some((since, at)) if since == self.status_since_ms => self
                    .shards
                    .shards()
                    .iter()
                    .filter(|s| s.parent.is_none() || s.created_ms < at)
                    .map(|s| {
                        let mut s = *s;
                        if s.closed.is_some_and(|c| c.closed_ms >= at) {
                            s.closed = None;
                        }
                        s
                    })
                    .collect(),
                _ => self.shards.shards().to_vec(),
            },
            StreamStatus::Active => self.shards.shards().to_vec(),
        }
    }

    pub fn encryption_type(&self) -> &'static str {
        if self.kms_key_id.is_some() {
            "KMS"
        } else {
            "NONE"
        }
    }

    /// Consumers that still exist at `now_ms` (DELETING ones disappear after `delay_ms`).
    pub fn live_consumers(
        &self,
        now_ms: i64,
        delay_ms: i64,
    ) -> impl Iterator<Item = &ConsumerRecord> {
        self.consumers.iter().filter(move |c| {
            c.deleting_since_ms
                .is_none_or(|since| now_ms < since.saturating_add(delay_ms))
        })
    }

    /// Whether a closed shard's data has aged out of the retention period at `now_ms`.
    pub fn shard_expired(&self, shard: u32, now_ms: i64) -> bool {
        let retention_ms = i64::from(self.retention_hours) * 3_600_000;
        self.shards
            .shard(shard)
            .ok()
            .and_then(|s| s.closed)
            .is_some_and(|c| now_ms > c.closed_ms.saturating_add(retention_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Kafka front end reads the lineage out of this record with the shard map's own decoder: the persisted
    /// form must stay readable by it.
    #[test]
    fn the_shard_map_reads_the_lineage_of_a_persisted_record() {
        let mut shards = ShardMap::new(2, 1).expect("map");
        let plan = shards.plan_split(1, 3u128 << 126, 2).expect("plan");
        shards
            .apply(&plan, &[(1, 4)].into_iter().collect())
            .expect("apply");
        let mut r = StreamRecord::new("s", 1, StreamMode::Provisioned, shards.clone());
        r.tags.insert("k".into(), "v".into());
        let json = serde_json::to_vec(&r).expect("json");
        assert_eq!(
            strait_shard_map::schema::decode_stream_shards(&json),
            Ok(shards.clone())
        );
        // The topic id is written where the shared schema reads it.
        let id = uuid::Uuid::new_v4();
        r.topic_id = Some(id);
        let json = serde_json::to_vec(&r).expect("json");
        assert_eq!(
            strait_shard_map::schema::decode_live_stream_shards(&json, &id.to_string()),
            Ok(Some(shards))
        );
        assert_eq!(
            strait_shard_map::schema::decode_live_stream_shards(&json, "another"),
            Ok(None)
        );
    }
}
