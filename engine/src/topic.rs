//! What callers see of a topic.

use std::collections::BTreeMap;

use crate::config::TopicConfig;

/// What callers see of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub id: uuid::Uuid,
    pub partitions: u32,
    /// Effective config (defaults plus overrides).
    pub config: TopicConfig,
    /// Only the keys set on this topic, by Kafka name.
    pub overrides: BTreeMap<String, String>,
    pub created_ms: i64,
}
