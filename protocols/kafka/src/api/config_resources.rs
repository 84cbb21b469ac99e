//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share beyond topics: the wire-neutral
//! described entry, the BROKER resource (Strait's static settings under their Kafka names), resource names and
//! types, and Kafka's request-level errors for repeated resources and keys.

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use strait_engine::TopicConfig;

use super::config_catalog::{self as catalog, ConfigType, SOURCE_DEFAULT, SOURCE_STATIC_BROKER};
use crate::broker::Broker;
use crate::error::ApiError;

/// Checks a BROKER resource name: our node id, or empty for the cluster-wide defaults. Returns whether it named
/// this node.
pub fn check_broker_name(b: &Broker, name: &str) -> Result<bool, ApiError> {
    if name.is_empty() {
        return Ok(false);
    }
    let id = b.cluster().local_node();
    match name.parse::<i32>() {
        Ok(n) if n == id => Ok(true),
        _ => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {id} or empty string, but received {name}"),
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: String,
    pub source: i8,
}

/// One config entry, independent of which response type carries it.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: String,
    pub value: String,
    pub source: i8,
    pub read_only: bool,
    pub ty: ConfigType,
    pub doc: &'static str,
    /// Most specific first, as Kafka orders them; the first one's source is the entry's source.
    pub synonyms: Vec<Synonym>,
}

pub(super) fn synonym(name: &str, value: &str, source: i8) -> Synonym {
    Synonym {
        name: name.to_string(),
        value: value.to_string(),
        source,
    }
}

/// A broker config: STATIC_BROKER_CONFIG when it differs from Kafka's default (or has none), else DEFAULT_CONFIG.
/// Every broker config is read-only: Strait's come from its config file and cannot change at runtime.
fn broker_entry(
    name: &str,
    ty: ConfigType,
    value: String,
    default: Option<&str>,
    doc: &'static str,
) -> Described {
    let mut synonyms = Vec::new();
    if default != Some(value.as_str()) {
        synonyms.push(synonym(name, &value, SOURCE_STATIC_BROKER));
    }
    if let Some(d) = default {
        synonyms.push(synonym(name, d, SOURCE_DEFAULT));
    }
    Described {
        name: name.to_string(),
        value,
        source: synonyms.first().map_or(SOURCE_DEFAULT, |s| s.source),
        read_only: true,
        ty,
        doc,
        synonyms,
    }
}

/// The broker-level settings Strait has, by their Kafka names, sorted by name.
pub fn describe_broker(b: &Broker) -> Vec<Described> {
    let cfg = b.config();
    let ecfg = b.engine().config();
    let builtin = TopicConfig::default();
    let mut out = vec![
        broker_entry(
            "auto.create.topics.enable",
            ConfigType::Boolean,
            cfg.auto_create_topics.to_string(),
            Some("true"),
            "Create unknown topics when Metadata or Produce asks for them.",
        ),
        broker_entry(
            "default.replication.factor",
            ConfigType::Int,
            "1".into(),
            Some("1"),
            "One node: every partition has exactly one replica.",
        ),
        broker_entry(
            "delete.topic.enable",
            ConfigType::Boolean,
            "true".into(),
            Some("true"),
            "DeleteTopics is always allowed.",
        ),
        broker_entry(
            "log.dirs",
            ConfigType::List,
            std::path::absolute(&ecfg.data_dir)
                .unwrap_or_else(|_| ecfg.data_dir.clone())
                .display()
                .to_string(),
            None,
            "The engine's data directory.",
        ),
        broker_entry(
            "node.id",
            ConfigType::Int,
            cfg.node_id.to_string(),
            None,
            "This node's id.",
        ),
        broker_entry(
            "num.partitions",
            ConfigType::Int,
            cfg.default_partitions.to_string(),
            Some("1"),
            "Partitions of a topic created without a partition count.",
        ),
    ];
    if let Some(rack) = &cfg.rack {
        out.push(broker_entry(
            "broker.rack",
            ConfigType::String,
            rack.clone(),
            None,
            "This node's rack.",
        ));
    }
    for key in catalog::TOPIC_KEYS.iter().filter(|k| !k.legacy) {
        let Some(name) = key.broker_name else {
            continue;
        };
        let (value, default) = if key.enforced {
            let get = |c: &TopicConfig| c.get(key.name).unwrap_or_default();
            (get(&ecfg.topic_defaults), get(&builtin))
        } else {
            (key.default.to_string(), key.default.to_string())
        };
        out.push(broker_entry(name, key.ty, value, Some(&default), key.doc));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// Kafka's name for a config resource type, for error messages.
pub fn resource_type_name(t: i8) -> String {
    match t {
        2 => "TOPIC".into(),
        4 => "BROKER".into(),
        8 => "BROKER_LOGGER".into(),
        16 => "CLIENT_METRICS".into(),
        32 => "GROUP".into(),
        other => format!("UNKNOWN({other})"),
    }
}

/// Kafka's answer to a runtime change of a broker config that is not dynamic. All of Strait's broker settings
/// come from its config file; an empty change is a no-op, as in Kafka.
pub fn reject_broker_change<'a>(
    b: &Broker,
    name: &str,
    keys: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    check_broker_name(b, name)?;
    let keys: Vec<&str> = keys.collect();
    if keys.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ResponseError::InvalidConfig,
        format!(
            "Invalid config value for resource ConfigResource(type=BROKER, name='{name}'): Cannot update these \
             configs dynamically: {}. Strait's broker settings come from its config file; topic configs can be \
             altered per topic.",
            keys.join(", ")
        ),
    ))
}

/// The `(resource type, name)` pairs that appear more than once in one request: Kafka rejects each of them
/// with INVALID_REQUEST rather than applying them in some order.
pub fn repeated_resources<'a>(items: impl Iterator<Item = (i8, &'a str)>) -> HashSet<(i8, String)> {
    let mut seen = HashSet::new();
    let mut repeated = HashSet::new();
    for (t, n) in items {
        if !seen.insert((t, n)) {
            repeated.insert((t, n.to_string()));
        }
    }
    repeated
}

pub fn repeated_resource_error() -> ApiError {
    ApiError::new(
        ResponseError::InvalidRequest,
        "Each resource must appear at most once.",
    )
}

pub fn duplicate_keys_error() -> ApiError {
    ApiError::new(
        ResponseError::InvalidRequest,
        "Error due to duplicate config keys",
    )
}
