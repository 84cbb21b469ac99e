//! Engine configuration and per-topic configuration.
//!
//! Topic config uses Kafka's own key names (`retention.ms`, …) because that is how both operators and the Kafka
//! admin APIs name them; the Kinesis front end maps its retention hours onto `retention.ms`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// When appended data is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Every acknowledged write is fsynced before it is acknowledged or visible to readers; concurrent writers
    /// share fsyncs (group commit). The default.
    #[default]
    Always,
    /// Writes are acknowledged and visible once in the page cache; a background task fsyncs every
    /// `flush_interval_ms`. Same durability as Apache Kafka's defaults: a machine crash may lose the last interval.
    Interval,
}

/// Node-level engine settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Where segments and the metadata database live.
    pub data_dir: PathBuf,
    /// See [`FsyncPolicy`]. Default `always`.
    pub fsync: FsyncPolicy,
    /// Flush period for `fsync = "interval"`. Default 1000 ms.
    pub flush_interval_ms: u64,
    /// How often retention runs. Default 30 s (Kafka uses 5 min; deleting sooner keeps disk use tighter).
    pub retention_check_interval_ms: u64,
    /// Bytes of log between two sparse index entries. Default 4096, as in Kafka.
    pub index_interval_bytes: u32,
    /// redb page cache for the metadata store. Default 64 MiB (redb's own default is 1 GiB).
    pub metadata_cache_bytes: usize,
    /// Most segment files held open at once, across all partitions; the least recently used are closed and
    /// reopened on the next read. 0 (the default) means half the process's open-file limit (RLIMIT_NOFILE, as
    /// raised at start), between 64 and 65,536; the rest is left for connections and the metadata store. Files
    /// with writes not yet fsynced stay open until synced, so the budget is soft under heavy writing.
    pub max_open_files: usize,
    /// Most bytes one compressed batch may inflate to. Appends of larger batches are refused (INVALID_RECORD),
    /// and readers that decompress (Kinesis GetRecords, Kafka offsets-for-times) skip stored ones. Apache Kafka has
    /// no such cap; this one stops decompression bombs (a 36 KB zstd batch can inflate to 1 GiB). Default 64 MiB:
    /// a full 1 MiB batch may compress 60:1.
    pub max_inflated_batch_bytes: u64,
    /// Defaults for topics that do not override a setting.
    pub topic_defaults: TopicConfig,
    /// Who moves partitions' committed points: [`CommitPolicy::Local`] on a single node (the default),
    /// [`CommitPolicy::External`] on a cluster node, where each partition's Raft group commits. External logs
    /// also skip the engine's own time/size retention: dropping a replicated log's front must go through its
    /// Raft group (a purge every replica agrees on), or replicas would disagree on where the log starts.
    /// Not a setting: the node chooses it (a `[cluster]` section makes it External).
    #[serde(skip)]
    pub commit: CommitPolicy,
}

/// Who moves a log's committed point (the high watermark), chosen when the log is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommitPolicy {
    /// Single node: the high watermark follows the local log (the durable end under `fsync = always`, the log
    /// end under `fsync = interval`), moved by the log itself.
    #[default]
    Local,
    /// The log's owner commits: the high watermark starts at the log start on open and moves only through
    /// `PartitionLog::set_high_watermark` (after replication, the Raft commit index). Reads never pass it.
    External,
}

/// Bounds of the automatic segment-file budget (`max_open_files = 0`).
const AUTO_MIN_OPEN_FILES: usize = 64;
const AUTO_MAX_OPEN_FILES: usize = 65_536;

impl EngineConfig {
    /// The segment-file budget: `max_open_files`, or half of the given open-file soft limit when it is 0.
    pub fn open_files_budget(&self, nofile_soft_limit: Option<u64>) -> usize {
        if self.max_open_files > 0 {
            return self.max_open_files;
        }
        let limit = nofile_soft_limit.map_or(1024, |l| usize::try_from(l).unwrap_or(usize::MAX));
        (limit / 2).clamp(AUTO_MIN_OPEN_FILES, AUTO_MAX_OPEN_FILES)
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data_dir: PathBuf::from("strait-data"),
            fsync: FsyncPolicy::Always,
            flush_interval_ms: 1000,
            retention_check_interval_ms: 30_000,
            index_interval_bytes: 4096,
            metadata_cache_bytes: 64 << 20,
            max_open_files: 0,
            max_inflated_batch_bytes: 64 << 20,
            topic_defaults: TopicConfig::default(),
            commit: CommitPolicy::Local,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CleanupPolicy {
    #[default]
    Delete,
    /// Accepted and stored; compaction itself is not implemented yet, so compacted topics keep everything.
    Compact,
    /// `compact,delete`: retention deletes; compaction as above.
    #[serde(rename = "compact,delete")]
    CompactDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TimestampType {
    #[default]
    CreateTime,
    LogAppendTime,
}

/// The effective configuration of one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicConfig {
    /// Segments whose newest record is older than this are deleted; -1 keeps them forever. Default 7 days.
    pub retention_ms: i64,
    /// Oldest segments are deleted while a partition is larger than this; -1 means no limit. Default -1.
    pub retention_bytes: i64,
    /// The active segment rolls when it would grow past this. Default 1 GiB.
    pub segment_bytes: u64,
    /// The active segment rolls when its first batch is older than this. Default 7 days.
    pub segment_ms: i64,
    /// Largest batch accepted. Default 1 MiB + 12 bytes, as in Kafka.
    pub max_message_bytes: u32,
    pub cleanup_policy: CleanupPolicy,
    pub message_timestamp_type: TimestampType,
    /// Kafka's `remote.storage.enable`: sealed segments are uploaded to the node's object store (`[tiering]`)
    /// and read back from it once local retention removed them. Only accepted on a node with tiering. Default
    /// false.
    pub remote_storage_enable: bool,
    /// Kafka's `local.retention.ms`, for tiered topics: how long an uploaded segment also stays on local disk;
    /// -2 means as long as `retention_ms`, -1 forever. Default -2.
    pub local_retention_ms: i64,
    /// Kafka's `local.retention.bytes`, for tiered topics: uploaded segments leave local disk while the local part
    /// of a partition is larger than this; -2 means `retention_bytes`, -1 no limit. Default -2.
    pub local_retention_bytes: i64,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            max_message_bytes: 1_048_588,
            cleanup_policy: CleanupPolicy::Delete,
            message_timestamp_type: TimestampType::CreateTime,
            remote_storage_enable: false,
            local_retention_ms: -2,
            local_retention_bytes: -2,
        }
    }
}

/// The Kafka-named keys a topic may override, in a stable order.
pub const TOPIC_CONFIG_KEYS: &[&str] = &[
    "cleanup.policy",
    "local.retention.bytes",
    "local.retention.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
];

fn invalid(key: &str, value: &str, reason: &str) -> EngineError {
    EngineError::InvalidConfig {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, EngineError> {
    v.trim()
        .parse::<T>()
        .map_err(|_| invalid(key, v, "not a valid number"))
}

impl TopicConfig {
    /// Applies `overrides` (Kafka key names) on top of `self`, validating every key and value.
    pub fn with_overrides(
        mut self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, EngineError> {
        for (k, v) in overrides {
            self.set(k, v)?;
        }
        self.check_local_retention()?;
        Ok(self)
    }

    /// Kafka's rule: local retention may not be longer (or larger) than total retention.
    fn check_local_retention(&self) -> Result<(), EngineError> {
        let over =
            |local: i64, total: i64| local != -2 && total != -1 && (local == -1 || local > total);
        if over(self.local_retention_ms, self.retention_ms) {
            let v = self.local_retention_ms.to_string();
            return Err(invalid(
                "local.retention.ms",
                &v,
                "must not exceed retention.ms",
            ));
        }
        if over(self.local_retention_bytes, self.retention_bytes) {
            let v = self.local_retention_bytes.to_string();
            return Err(invalid(
                "local.retention.bytes",
                &v,
                "must not exceed retention.bytes",
            ));
        }
        Ok(())
    }

    /// The effective local retention `(ms, bytes)` of a tiered topic: -2 resolved to the total retention.
    pub fn effective_local_retention(&self) -> (i64, i64) {
        let pick = |local: i64, total: i64| if local == -2 { total } else { local };
        (
            pick(self.local_retention_ms, self.retention_ms),
            pick(self.local_retention_bytes, self.retention_bytes),
        )
    }

    /// Sets one Kafka-named key.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), EngineError> {
        match key {
            "retention.ms" => {
                let n: i64 = parse_num(key, v)?;
                if n < -1 {
                    return Err(invalid(key, v, "must be -1 (infinite) or >= 0"));
                }
                self.retention_ms = n;
            }
            "retention.bytes" => {
                let n: i64 = parse_num(key, v)?;
                if n < -1 {
                    return Err(invalid(key, v, "must be -1 (infinite) or >= 0"));
                }
                self.retention_bytes = n;
            }
            "segment.bytes" => {
                let n: u64 = parse_num(key, v)?;
                // Kafka's floor is 1 MiB; ours is lower so tests can roll segments cheaply. The ceiling keeps
                // index positions within u32.
                if !(1024..=(i32::MAX as u64)).contains(&n) {
                    return Err(invalid(key, v, "must be between 1024 and 2147483647"));
                }
                self.segment_bytes = n;
            }
            "segment.ms" => {
                let n: i64 = parse_num(key, v)?;
                if n < 1 {
                    return Err(invalid(key, v, "must be >= 1"));
                }
                self.segment_ms = n;
            }
            "max.message.bytes" => {
                let n: u32 = parse_num(key, v)?;
                if n < crate::batch::HEADER_LEN as u32 || n > i32::MAX as u32 {
                    return Err(invalid(key, v, "must be between 61 and 2147483647"));
                }
                self.max_message_bytes = n;
            }
            "cleanup.policy" => {
                let mut parts: Vec<&str> = v.split(',').map(str::trim).collect();
                parts.sort_unstable();
                parts.dedup();
                self.cleanup_policy = match parts.as_slice() {
                    ["delete"] => CleanupPolicy::Delete,
                    ["compact"] => CleanupPolicy::Compact,
                    ["compact", "delete"] => CleanupPolicy::CompactDelete,
                    _ => return Err(invalid(key, v, "must be delete, compact or compact,delete")),
                };
            }
            "local.retention.ms" | "local.retention.bytes" => {
                let n: i64 = parse_num(key, v)?;
                if n < -2 {
                    return Err(invalid(
                        key,
                        v,
                        "must be -2 (as retention), -1 (infinite) or >= 0",
                    ));
                }
                if key == "local.retention.ms" {
                    self.local_retention_ms = n;
                } else {
                    self.local_retention_bytes = n;
                }
            }
            "remote.storage.enable" => {
                self.remote_storage_enable = match v.trim().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(key, v, "must be true or false")),
                };
            }
            "message.timestamp.type" => {
                self.message_timestamp_type = match v.trim() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => return Err(invalid(key, v, "must be CreateTime or LogAppendTime")),
                };
            }
            _ => return Err(EngineError::UnknownConfig(key.to_string())),
        }
        Ok(())
    }

    /// The value of one Kafka-named key, rendered as Kafka renders it.
    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "retention.ms" => self.retention_ms.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "max.message.bytes" => self.max_message_bytes.to_string(),
            "local.retention.ms" => self.local_retention_ms.to_string(),
            "local.retention.bytes" => self.local_retention_bytes.to_string(),
            "remote.storage.enable" => self.remote_storage_enable.to_string(),
            "cleanup.policy" => match self.cleanup_policy {
                CleanupPolicy::Delete => "delete",
                CleanupPolicy::Compact => "compact",
                CleanupPolicy::CompactDelete => "compact,delete",
            }
            .to_string(),
            "message.timestamp.type" => match self.message_timestamp_type {
                TimestampType::CreateTime => "CreateTime",
                TimestampType::LogAppendTime => "LogAppendTime",
            }
            .to_string(),
            _ => return None,
        })
    }

    pub(crate) fn deletes(&self) -> bool {
        matches!(
            self.cleanup_policy,
            CleanupPolicy::Delete | CleanupPolicy::CompactDelete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_round_trip_through_kafka_names() {
        let mut o = BTreeMap::new();
        o.insert("retention.ms".to_string(), "1000".to_string());
        o.insert("cleanup.policy".to_string(), "delete,compact".to_string());
        o.insert(
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        );
        let c = TopicConfig::default().with_overrides(&o).expect("valid");
        assert_eq!(c.retention_ms, 1000);
        assert_eq!(c.get("cleanup.policy").as_deref(), Some("compact,delete"));
        for k in TOPIC_CONFIG_KEYS {
            let v = c.get(k).expect("known key");
            let mut again = TopicConfig::default();
            again.set(k, &v).expect("own rendering parses");
        }
    }

    #[test]
    fn bad_values_are_rejected() {
        let mut c = TopicConfig::default();
        assert!(matches!(
            c.set("retention.ms", "-5"),
            Err(EngineError::InvalidConfig { .. })
        ));
        assert!(matches!(
            c.set("segment.bytes", "abc"),
            Err(EngineError::InvalidConfig { .. })
        ));
        assert!(matches!(
            c.set("cleanup.policy", "sometimes"),
            Err(EngineError::InvalidConfig { .. })
        ));
        assert!(matches!(
            c.set("no.such.key", "1"),
            Err(EngineError::UnknownConfig(_))
        ));
        assert!(c.set("local.retention.ms", "-3").is_err());
        assert!(c.set("remote.storage.enable", "yes").is_err());
    }

    #[test]
    fn local_retention_follows_kafka_rules() {
        let with = |pairs: &[(&str, &str)]| {
            let o: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            TopicConfig::default().with_overrides(&o)
        };
        let c =
            with(&[("retention.ms", "5000"), ("remote.storage.enable", "true")]).expect("valid");
        assert!(c.remote_storage_enable);
        assert_eq!(
            c.effective_local_retention(),
            (5000, -1),
            "-2 means the total retention"
        );
        let c = with(&[
            ("local.retention.ms", "1000"),
            ("local.retention.bytes", "0"),
        ])
        .expect("valid");
        assert_eq!(c.effective_local_retention(), (1000, 0));
        assert!(with(&[("retention.ms", "1000"), ("local.retention.ms", "2000")]).is_err());
        assert!(with(&[("retention.ms", "1000"), ("local.retention.ms", "-1")]).is_err());
        assert!(with(&[("retention.ms", "-1"), ("local.retention.ms", "-1")]).is_ok());
        assert!(with(&[("retention.bytes", "10"), ("local.retention.bytes", "11")]).is_err());
    }
}
