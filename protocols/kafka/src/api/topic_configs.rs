//! A topic's configuration as Kafka's admin APIs see it, shared by CreateTopics, DescribeConfigs, AlterConfigs
//! and IncrementalAlterConfigs: the engine's overrides plus the stored-only keys of
//! [`config_catalog`](super::config_catalog) (kept in the meta table [`EXTRA_CONFIGS_TABLE`]), validation of a
//! whole override set, and the described view (value, source, synonyms) of a topic.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;
use strait_engine::{Engine, EngineError, MetaOp, TopicConfig, TopicInfo};

use super::config_catalog::{
    self as catalog, SOURCE_DEFAULT, SOURCE_DYNAMIC_TOPIC, SOURCE_STATIC_BROKER,
};
use super::config_resources::{Described, synonym};
use crate::error::ApiError;

/// Stored-only configs per topic, keyed by the 16-byte topic id so that a topic re-created under the same name
/// never inherits its predecessor's settings; the value is a JSON object of name → value.
pub const EXTRA_CONFIGS_TABLE: &str = "kafka_topic_extra_configs";

pub type ConfigMap = BTreeMap<String, String>;

/// Serialises read-modify-write of topic configs (AlterConfigs, IncrementalAlterConfigs, CreateTopics' second
/// write, DeleteTopics' clean-up). The engine serialises its own changes, but an incremental change reads the
/// current set before writing the merged one, and two of those interleaving would lose an update. Admin
/// requests are rare, so one process-wide lock (not on the data path) is enough.
static CONFIG_WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn config_writes() -> tokio::sync::MutexGuard<'static, ()> {
    CONFIG_WRITES.lock().await
}

/// Kafka's answer to a config entry without a value.
pub fn require_value(name: &str, value: Option<&StrBytes>) -> Result<String, ApiError> {
    value.map(|v| v.to_string()).ok_or_else(|| {
        ApiError::new(
            ResponseError::InvalidConfig,
            format!("Null value not supported for topic configs: {name}"),
        )
    })
}

/// Looks a topic up by name, with Kafka's errors for an illegal name and a missing topic.
pub fn find_topic(engine: &Engine, name: &str) -> Result<TopicInfo, ApiError> {
    strait_engine::validate_topic_name(name).map_err(ApiError::from)?;
    engine.topic(name).ok_or_else(|| {
        ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        )
    })
}

pub fn load_extras(engine: &Engine, id: uuid::Uuid) -> Result<ConfigMap, EngineError> {
    match engine.meta().get(EXTRA_CONFIGS_TABLE, id.as_bytes())? {
        None => Ok(ConfigMap::new()),
        Some(v) => serde_json::from_slice(&v).map_err(|source| EngineError::CorruptMetadata {
            what: format!("stored-only configs of topic {id}"),
            source,
        }),
    }
}

/// Every override of a topic, enforced and stored-only.
pub fn overrides(engine: &Engine, t: &TopicInfo) -> Result<ConfigMap, EngineError> {
    let mut all = t.overrides.clone();
    all.extend(load_extras(engine, t.id)?);
    Ok(all)
}

/// A validated override set, split by where each key is stored, and the effective engine config it gives.
#[derive(Debug, Clone)]
pub struct Validated {
    pub engine: ConfigMap,
    pub extra: ConfigMap,
    pub effective: TopicConfig,
}

/// Validates a complete override set before anything is changed, so a request either applies fully or not at
/// all (Kafka's behaviour: one bad key fails the whole resource).
pub fn validate(defaults: &TopicConfig, overrides: &ConfigMap) -> Result<Validated, ApiError> {
    let mut v = Validated {
        engine: ConfigMap::new(),
        extra: ConfigMap::new(),
        effective: *defaults,
    };
    for (k, value) in overrides {
        let key = catalog::topic_key(k).ok_or_else(|| catalog::unknown_key(k))?;
        if key.enforced {
            v.effective.set(k, value).map_err(ApiError::from)?;
            v.engine.insert(k.clone(), value.clone());
        } else {
            catalog::check_stored(key, value)?;
            v.extra.insert(k.clone(), value.clone());
        }
    }
    Ok(v)
}

/// Writes the stored-only half of a topic's overrides (an empty set removes the row).
pub async fn store_extras(
    engine: &Engine,
    id: uuid::Uuid,
    extra: &ConfigMap,
) -> Result<(), EngineError> {
    let key = id.as_bytes().to_vec();
    let table = EXTRA_CONFIGS_TABLE.to_string();
    let op = if extra.is_empty() {
        MetaOp::Delete { table, key }
    } else {
        let value = serde_json::to_vec(extra).map_err(|source| EngineError::CorruptMetadata {
            what: format!("stored-only configs of topic {id}"),
            source,
        })?;
        MetaOp::Put { table, key, value }
    };
    engine.meta().commit(vec![op]).await
}

/// Replaces a topic's whole override set. The engine's half goes first because it is the part that changes
/// behaviour; if the second write fails the client gets the error and can retry the (idempotent) request.
pub async fn store(
    engine: &Engine,
    t: &TopicInfo,
    v: &Validated,
) -> Result<TopicInfo, EngineError> {
    let info = if v.engine != t.overrides {
        engine.set_topic_config(&t.name, v.engine.clone()).await?
    } else {
        t.clone()
    };
    store_extras(engine, t.id, &v.extra).await?;
    Ok(info)
}

/// Describes every topic config as `kafka-configs --describe --all` lists it: the topic's override
/// (DYNAMIC_TOPIC_CONFIG), else the server's topic default (STATIC_BROKER_CONFIG when the operator changed it),
/// else the built-in default (DEFAULT_CONFIG).
pub fn describe_topic(defaults: &TopicConfig, overrides: &ConfigMap) -> Vec<Described> {
    let builtin = TopicConfig::default();
    let mut out = Vec::with_capacity(catalog::TOPIC_KEYS.len());
    for key in catalog::TOPIC_KEYS {
        let set = overrides.get(key.name);
        if key.legacy && set.is_none() {
            continue;
        }
        let (configured, default) = if key.enforced {
            let get = |c: &TopicConfig| c.get(key.name).unwrap_or_default();
            (get(defaults), get(&builtin))
        } else {
            (key.default.to_string(), key.default.to_string())
        };
        let mut synonyms = Vec::new();
        if let Some(v) = set {
            synonyms.push(synonym(key.name, v, SOURCE_DYNAMIC_TOPIC));
        }
        if let Some(b) = key.broker_name {
            if configured != default {
                synonyms.push(synonym(b, &configured, SOURCE_STATIC_BROKER));
            }
            synonyms.push(synonym(b, &default, SOURCE_DEFAULT));
        }
        out.push(Described {
            name: key.name.to_string(),
            value: set.cloned().unwrap_or(configured),
            source: synonyms.first().map_or(SOURCE_DEFAULT, |s| s.source),
            read_only: false,
            ty: key.ty,
            doc: key.doc,
            synonyms,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::config_catalog::SOURCE_STATIC_BROKER;

    #[test]
    fn source_is_override_then_server_default_then_builtin() {
        let mut defaults = TopicConfig::default();
        defaults.set("retention.ms", "1000").expect("valid");
        let overrides = ConfigMap::from([("segment.ms".to_string(), "5000".to_string())]);
        let described = describe_topic(&defaults, &overrides);
        let get = |n: &str| described.iter().find(|d| d.name == n).expect(n).clone();
        let sources = |d: &Described| -> Vec<(String, i8)> {
            d.synonyms
                .iter()
                .map(|s| (s.name.clone(), s.source))
                .collect()
        };

        let r = get("retention.ms");
        assert_eq!((r.value.as_str(), r.source), ("1000", SOURCE_STATIC_BROKER));
        let log = "log.retention.ms".to_string();
        assert_eq!(
            sources(&r),
            [(log.clone(), SOURCE_STATIC_BROKER), (log, SOURCE_DEFAULT)]
        );
        let s = get("segment.ms");
        assert_eq!((s.value.as_str(), s.source), ("5000", SOURCE_DYNAMIC_TOPIC));
        assert_eq!(s.synonyms.len(), 2);
        let c = get("compression.type");
        assert_eq!((c.value.as_str(), c.source), ("producer", SOURCE_DEFAULT));
        // Kafka has no broker-level synonym for the throttled-replica lists.
        let f = get("follower.replication.throttled.replicas");
        assert_eq!(
            (f.value.as_str(), f.source, f.synonyms.len()),
            ("", SOURCE_DEFAULT, 0)
        );
    }

    #[test]
    fn validate_splits_by_store_and_rejects_unknown_names() {
        let defaults = TopicConfig::default();
        let set = ConfigMap::from([
            ("retention.ms".to_string(), "10".to_string()),
            ("min.insync.replicas".to_string(), "2".to_string()),
        ]);
        let v = validate(&defaults, &set).expect("valid");
        assert_eq!(v.engine.keys().collect::<Vec<_>>(), ["retention.ms"]);
        assert_eq!(v.extra.keys().collect::<Vec<_>>(), ["min.insync.replicas"]);
        assert_eq!(v.effective.retention_ms, 10);
        let bad = ConfigMap::from([("log.retention.ms".to_string(), "10".to_string())]);
        let e = validate(&defaults, &bad).expect_err("broker name is not a topic config");
        assert_eq!(e.code, ResponseError::InvalidConfig);
    }
}
