//! The catalogue of Kafka topic config names Strait accepts, with the wire codes the config APIs use.
//!
//! Two kinds of key live here:
//! - **enforced**: the keys the engine implements (`strait_engine::config::TOPIC_CONFIG_KEYS`); the engine
//!   validates and stores them.
//! - **stored only**: an allow-list of well-known Kafka topic configs that tools routinely set
//!   (`compression.type`, `min.insync.replicas`, …) but that mean nothing, or nothing different, on one node
//!   without replication or compaction. Rejecting them would break Terraform, Strimzi-style operators and
//!   `kafka-topics --config`, so they are validated with Kafka's own bounds, kept in the front end's meta table
//!   and described back, but not acted on. Any other name is INVALID_CONFIG, as on Apache Kafka.

use kafka_protocol::error::ResponseError;

use crate::error::ApiError;

/// Kafka's `ConfigResource.Type` codes.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_GROUP: i8 = 32;

/// Kafka's `DescribeConfigsResponse.ConfigSource` codes (the ones Strait can produce).
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DEFAULT: i8 = 5;

/// Kafka's `ConfigDef.Type` as the DescribeConfigs v3+ `config_type` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// How a stored-only value is checked: the bounds Kafka's `LogConfig` applies, so what Apache Kafka rejects is
/// rejected here too and a config that works here also works after migrating to Kafka.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    Any,
    Bool,
    Range(i64, i64),
    /// A double in [0, 1].
    Ratio,
    OneOf(&'static [&'static str]),
}

#[derive(Debug)]
pub struct TopicKey {
    pub name: &'static str,
    pub ty: ConfigType,
    /// The broker config that supplies the default (Kafka's "synonym"), if Kafka has one.
    pub broker_name: Option<&'static str>,
    /// The engine acts on it; otherwise it is stored and described only.
    pub enforced: bool,
    /// Kafka's default, for stored-only keys (enforced keys take theirs from the engine's topic defaults).
    pub default: &'static str,
    pub check: Check,
    /// Removed in Kafka 4.0 but still sent by older tools: accepted, and described only when set.
    pub legacy: bool,
    pub doc: &'static str,
}

const MAX: i64 = i64::MAX;
const IMAX: i64 = i32::MAX as i64;

const fn engine(
    name: &'static str,
    ty: ConfigType,
    broker: &'static str,
    doc: &'static str,
) -> TopicKey {
    TopicKey {
        name,
        ty,
        broker_name: Some(broker),
        enforced: true,
        default: "",
        check: Check::Any,
        legacy: false,
        doc,
    }
}

const fn stored(
    name: &'static str,
    ty: ConfigType,
    broker_name: Option<&'static str>,
    default: &'static str,
    check: Check,
    doc: &'static str,
) -> TopicKey {
    TopicKey {
        name,
        ty,
        broker_name,
        enforced: false,
        default,
        check,
        legacy: false,
        doc,
    }
}

const fn legacy(key: TopicKey) -> TopicKey {
    TopicKey {
        legacy: true,
        ..key
    }
}

use ConfigType::{Boolean, Double, Int, List, Long, String as Str};

const NOT_ENFORCED: &str = "Accepted and stored for compatibility; Strait does not act on it.";

/// Every accepted topic config, sorted by name (kept as one table on purpose; `rustfmt` would spread it out).
#[rustfmt::skip]
pub static TOPIC_KEYS: &[TopicKey] = &[
    engine("cleanup.policy", List, "log.cleanup.policy",
        "delete: old segments are removed by retention. compact is accepted, but compaction is not implemented, so compacted topics keep every record."),
    stored("compression.gzip.level", Int, Some("compression.gzip.level"), "-1", Check::Range(-1, 9), NOT_ENFORCED),
    stored("compression.lz4.level", Int, Some("compression.lz4.level"), "9", Check::Range(1, 17), NOT_ENFORCED),
    stored("compression.type", Str, Some("compression.type"), "producer",
        Check::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "Stored only: Strait always keeps batches as the producer compressed them (Kafka's 'producer')."),
    stored("compression.zstd.level", Int, Some("compression.zstd.level"), "3", Check::Range(-131072, 22), NOT_ENFORCED),
    stored("delete.retention.ms", Long, Some("log.cleaner.delete.retention.ms"), "86400000", Check::Range(0, MAX), NOT_ENFORCED),
    stored("file.delete.delay.ms", Long, Some("log.segment.delete.delay.ms"), "60000", Check::Range(0, MAX), NOT_ENFORCED),
    stored("flush.messages", Long, Some("log.flush.interval.messages"), "9223372036854775807", Check::Range(1, MAX),
        "Stored only: durability follows the server's fsync policy (every acknowledged write by default)."),
    stored("flush.ms", Long, Some("log.flush.interval.ms"), "9223372036854775807", Check::Range(0, MAX),
        "Stored only: durability follows the server's fsync policy (every acknowledged write by default)."),
    stored("follower.replication.throttled.replicas", List, None, "", Check::Any, NOT_ENFORCED),
    stored("index.interval.bytes", Int, Some("log.index.interval.bytes"), "4096", Check::Range(0, IMAX),
        "Stored only: the index interval is a server setting (index_interval_bytes)."),
    stored("leader.replication.throttled.replicas", List, None, "", Check::Any, NOT_ENFORCED),
    engine("local.retention.bytes", Long, "log.local.retention.bytes", "With remote.storage.enable: uploaded segments leave local disk while the partition's local part is larger than this; -2 means retention.bytes."),
    engine("local.retention.ms", Long, "log.local.retention.ms", "With remote.storage.enable: how long uploaded segments also stay on local disk; -2 means retention.ms."),
    stored("max.compaction.lag.ms", Long, Some("log.cleaner.max.compaction.lag.ms"), "9223372036854775807", Check::Range(1, MAX), NOT_ENFORCED),
    engine("max.message.bytes", Int, "message.max.bytes", "The largest record batch the topic accepts."),
    stored("message.timestamp.after.max.ms", Long, Some("log.message.timestamp.after.max.ms"), "3600000", Check::Range(0, MAX), NOT_ENFORCED),
    stored("message.timestamp.before.max.ms", Long, Some("log.message.timestamp.before.max.ms"), "9223372036854775807", Check::Range(0, MAX), NOT_ENFORCED),
    legacy(stored("message.timestamp.difference.max.ms", Long, Some("log.message.timestamp.difference.max.ms"), "9223372036854775807", Check::Range(0, MAX),
        "Removed in Kafka 4.0; accepted from older tools and stored only.")),
    engine("message.timestamp.type", Str, "log.message.timestamp.type",
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."),
    stored("min.cleanable.dirty.ratio", Double, Some("log.cleaner.min.cleanable.ratio"), "0.5", Check::Ratio, NOT_ENFORCED),
    stored("min.compaction.lag.ms", Long, Some("log.cleaner.min.compaction.lag.ms"), "0", Check::Range(0, MAX), NOT_ENFORCED),
    stored("min.insync.replicas", Int, Some("min.insync.replicas"), "1", Check::Range(1, IMAX),
        "Stored only: a single Strait node is the whole in-sync replica set, so acks=all waits for it alone."),
    stored("preallocate", Boolean, Some("log.preallocate"), "false", Check::Bool, NOT_ENFORCED),
    TopicKey { broker_name: None, ..engine("remote.storage.enable", Boolean, "",
        "Upload sealed segments to the node's object store ([tiering]) and read them back from it; true is refused on a node without tiering.") },
    engine("retention.bytes", Long, "log.retention.bytes", "Oldest segments are deleted while a partition is larger than this; -1 means no limit."),
    engine("retention.ms", Long, "log.retention.ms", "Segments whose newest record is older than this are deleted; -1 keeps them forever."),
    engine("segment.bytes", Int, "log.segment.bytes", "The active segment rolls when it would grow past this size."),
    stored("segment.index.bytes", Int, Some("log.index.size.max.bytes"), "10485760", Check::Range(4, IMAX), NOT_ENFORCED),
    stored("segment.jitter.ms", Long, Some("log.roll.jitter.ms"), "0", Check::Range(0, MAX), NOT_ENFORCED),
    engine("segment.ms", Long, "log.roll.ms", "The active segment rolls when its first batch is older than this."),
    stored("unclean.leader.election.enable", Boolean, Some("unclean.leader.election.enable"), "false", Check::Bool,
        "Stored only: with one replica there is no election."),
];

pub fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS
        .binary_search_by(|k| k.name.cmp(name))
        .ok()
        .map(|i| &TOPIC_KEYS[i])
}

/// The error Kafka gives for a name it does not know.
pub fn unknown_key(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::InvalidConfig,
        format!("Unknown topic config name: {name}"),
    )
}

/// Checks a value for a stored-only key (enforced keys are checked by the engine).
pub fn check_stored(key: &TopicKey, value: &str) -> Result<(), ApiError> {
    let v = value.trim();
    let reason = match key.check {
        Check::Any => return Ok(()),
        Check::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "false" => return Ok(()),
            _ => "must be true or false".to_string(),
        },
        Check::Range(lo, hi) => match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => return Ok(()),
            Ok(_) => format!("must be between {lo} and {hi}"),
            Err(_) => "not a valid number".to_string(),
        },
        Check::Ratio => match v.parse::<f64>() {
            Ok(n) if (0.0..=1.0).contains(&n) => return Ok(()),
            _ => "must be a number between 0 and 1".to_string(),
        },
        Check::OneOf(allowed) => {
            if allowed.contains(&v) {
                return Ok(());
            }
            format!("must be one of {}", allowed.join(", "))
        }
    };
    Err(ApiError::new(
        ResponseError::InvalidConfig,
        format!(
            "Invalid value {value} for configuration {}: {reason}",
            key.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_covers_every_engine_key() {
        assert!(TOPIC_KEYS.windows(2).all(|w| w[0].name < w[1].name));
        for k in strait_engine::config::TOPIC_CONFIG_KEYS {
            assert!(topic_key(k).is_some_and(|t| t.enforced), "{k}");
        }
        let enforced = TOPIC_KEYS.iter().filter(|k| k.enforced).count();
        assert_eq!(enforced, strait_engine::config::TOPIC_CONFIG_KEYS.len());
    }

    #[test]
    fn stored_defaults_pass_their_own_checks() {
        for k in TOPIC_KEYS.iter().filter(|k| !k.enforced) {
            check_stored(k, k.default).expect(k.name);
        }
        let mis = topic_key("min.insync.replicas").expect("listed");
        assert!(check_stored(mis, "0").is_err());
        assert!(check_stored(mis, "x").is_err());
        let ct = topic_key("compression.type").expect("listed");
        assert!(check_stored(ct, "brotli").is_err());
        assert!(check_stored(ct, "zstd").is_ok());
    }
}
