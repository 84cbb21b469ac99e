//! The broker-level lookups of the data-path APIs (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch): the
//! engine lookups of [`crate::topics::resolve`] plus auto-creation, which follows the broker's config.

use kafka_protocol::error::ResponseError;
use strait_engine::{EngineError, Partition, TopicInfo};

use crate::broker::Broker;
use crate::error::ApiError;

pub(crate) use crate::topics::resolve::{check_leader_epoch, epoch_end_offset, leader_epoch};

/// A topic by name, or a Kafka-style error.
pub(crate) fn topic(b: &Broker, name: &str) -> Result<TopicInfo, ApiError> {
    crate::topics::resolve::topic(b.engine(), name)
}

/// A partition of a resolved topic that this node leads; negative or too large indexes are unknown partitions,
/// and one the cluster view says another node (or no node) leads is NOT_LEADER_OR_FOLLOWER, so the client
/// refreshes its metadata and goes to the leader.
pub(crate) fn partition(
    b: &Broker,
    t: &TopicInfo,
    index: i32,
) -> Result<std::sync::Arc<Partition>, ApiError> {
    let p = crate::topics::resolve::partition(b.engine(), t, index)?;
    if !b.cluster().is_local_leader(&t.name, p.index()) {
        return Err(ApiError::new(
            ResponseError::NotLeaderOrFollower,
            format!(
                "this node ({}) does not lead partition {index} of '{}'",
                b.cluster().local_node(),
                t.name
            ),
        ));
    }
    Ok(p)
}

/// A topic by name, created with the broker defaults when it does not exist and the broker allows
/// auto-creation (the rule Metadata applies).
pub(crate) async fn topic_or_create(b: &Broker, name: &str) -> Result<TopicInfo, ApiError> {
    if crate::topics::internal::is_internal(name) {
        return Err(crate::topics::internal::produce_refused(name));
    }
    if let Some(t) = b.engine().topic(name) {
        return Ok(t);
    }
    if !b.config().auto_create_topics {
        return topic(b, name);
    }
    strait_engine::validate_topic_name(name)?;
    match b
        .engine()
        .create_topic(name, b.config().default_partitions, Default::default())
        .await
    {
        Ok(t) => Ok(t),
        // Another request created it first.
        Err(EngineError::TopicExists(_)) => topic(b, name),
        Err(e) => {
            tracing::warn!(topic = name, error = %e, "auto-creating topic failed");
            Err(e.into())
        }
    }
}
