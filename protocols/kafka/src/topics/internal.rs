//! `__consumer_offsets`: Kafka's internal offsets topic, shown to clients but not stored as a log.
//!
//! Strait keeps committed offsets (and transactional state) in the engine's meta store, not in a topic. Clients
//! still expect the topic to exist: Metadata lists it with `is_internal = true`, and consumers use that flag to
//! leave it out of regex subscriptions (franz-go's `skipped_internal`, Java's `exclude.internal.topics`). So it is
//! a *virtual* topic: Metadata describes it with [`BrokerConfig::offsets_topic_partitions`] partitions (Kafka's
//! `offsets.topic.num.partitions`, 50 by default) led by this node, and the data-path APIs treat it as Kafka
//! treats an internal topic to which clients have no write access:
//!
//! - Produce: INVALID_TOPIC_EXCEPTION ("Cannot append to internal topic"), as Kafka's `ReplicaManager` answers;
//! - CreateTopics: TOPIC_ALREADY_EXISTS; DeleteTopics: INVALID_TOPIC_EXCEPTION (Strait never lets it go away);
//! - Fetch and ListOffsets: an empty partition (log start = high watermark = last stable offset = 0), so a client
//!   that does subscribe to it reads nothing and does not fail. (Kafka would hand out its binary offset records.)
//!
//! It is not an engine topic, so it never shows up as a Kinesis stream and costs no partition directories.
//!
//! [`BrokerConfig::offsets_topic_partitions`]: crate::BrokerConfig

use kafka_protocol::error::ResponseError;

use crate::error::ApiError;

/// The one internal topic.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// Its topic id: fixed, so it is the same across restarts (Kafka's is random per cluster, also stable).
pub const CONSUMER_OFFSETS_ID: uuid::Uuid =
    uuid::Uuid::from_u128(0x5354_5241_4954_4f46_4653_4554_5300_0001);

pub fn is_internal(name: &str) -> bool {
    name == CONSUMER_OFFSETS
}

/// What Produce answers for an internal topic.
pub fn produce_refused(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::InvalidTopicException,
        format!("Cannot append to internal topic {name}"),
    )
}

/// What DeleteTopics answers for an internal topic.
pub fn delete_refused(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::InvalidTopicException,
        format!("Internal topic {name} cannot be deleted"),
    )
}

/// What CreateTopics answers for an internal topic.
pub fn create_refused(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::TopicAlreadyExists,
        format!("Topic '{name}' already exists."),
    )
}

/// Whether `partition` is one of the internal topic's partitions.
pub fn has_partition(partitions: u32, partition: i32) -> bool {
    u32::try_from(partition).is_ok_and(|p| p < partitions)
}
