//! Topic lifecycle events: how the front ends keep their own state in step with the engine's topics.
//!
//! A Kafka topic is also a Kinesis stream, so deleting it through either protocol must remove what the other
//! keeps about it (the stream record and shard lineage, group offsets), and a topic re-created under the same name
//! must start fresh. Each front end registers a [`TopicHook`]; the engine calls every hook after a change is
//! committed and visible, before the call that made it returns, so a client that deleted a topic through Kafka
//! does not see it listed as a stream a moment later.
//!
//! Hooks run inside the engine call: they update memory and spawn anything slow (metadata cleanup) themselves.

use std::sync::Arc;

use crate::topic::TopicInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicEvent {
    Created(TopicInfo),
    /// The partition count grew (Kafka CreatePartitions, Kinesis resharding).
    Grown(TopicInfo),
    /// The topic's overrides changed.
    Reconfigured(TopicInfo),
    /// The topic is gone; `id` tells it apart from a later topic of the same name.
    Deleted {
        name: String,
        id: uuid::Uuid,
    },
}

impl TopicEvent {
    pub fn topic(&self) -> &str {
        match self {
            TopicEvent::Created(t) | TopicEvent::Grown(t) | TopicEvent::Reconfigured(t) => &t.name,
            TopicEvent::Deleted { name, .. } => name,
        }
    }
}

/// A front end's reaction to topic events.
pub type TopicHook = Arc<dyn Fn(&TopicEvent) + Send + Sync>;
