//! The broker-level lookups of the data-path APIs (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch): the
//! engine lookups of [`crate::topics::resolve`] plus auto-creation, which follows the broker's config.

use kafka_protocol::error::ResponseError;
use strait_engine::{EngineError, Partition, TopicInfo};

use crate::broker::Broker;
use crate::error::ApiError;

/// A topic by name, or a Kafka-style error.
pub(crate) fn topic(b: &Broker, name: &str) -> Result<TopicInfo, ApiError> {
    crate::topics::resolve::topic(b.engine(), name)
}

/// The leader epoch this node answers for `p`: the cluster view's when it knows one (a replicated partition's
/// term), else the latest one the local log recorded (a single node's own leadership).
pub(crate) fn leader_epoch(b: &Broker, p: &Partition) -> i32 {
    b.cluster()
        .partition_leadership(p.topic(), p.index())
        .and_then(|l| l.leader_epoch)
        .unwrap_or_else(|| crate::topics::resolve::leader_epoch(p))
}

/// Where epoch `requested` ended, as the leader at [`leader_epoch`] answers it.
pub(crate) fn epoch_end_offset(b: &Broker, p: &Partition, requested: i32) -> (i32, i64) {
    crate::topics::resolve::epoch_end_offset_at(p, leader_epoch(b, p), requested)
}

/// A `current_leader_epoch` that asks for no check.
pub(crate) const NO_EPOCH: i32 = -1;

/// A partition of a resolved topic that this node leads; negative or too large indexes are unknown partitions,
/// and one the cluster view says another node (or no node) leads is NOT_LEADER_OR_FOLLOWER, so the client
/// refreshes its metadata and goes to the leader.
pub(crate) fn partition(
    b: &Broker,
    t: &TopicInfo,
    index: i32,
) -> Result<std::sync::Arc<Partition>, ApiError> {
    partition_at(b, t, index, NO_EPOCH)
}

/// [`partition`] for a request that carries the client's `current_leader_epoch`. Apache Kafka checks the epoch
/// first on any replica of the partition (replicas know the leader's epoch): a stale or future epoch is
/// FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH even on a follower, and only a matching (or unchecked) one goes
/// on to NOT_LEADER_OR_FOLLOWER. A node that holds no replica answers NOT_LEADER_OR_FOLLOWER at once.
pub(crate) fn partition_at(
    b: &Broker,
    t: &TopicInfo,
    index: i32,
    current_leader_epoch: i32,
) -> Result<std::sync::Arc<Partition>, ApiError> {
    let idx = match u32::try_from(index) {
        Ok(i) if i < t.partitions => i,
        // The engine's own error for an index outside the topic.
        _ => return crate::topics::resolve::partition(b.engine(), t, index),
    };
    let view = b.cluster();
    let local = view.local_node();
    let lead = view.partition_leadership(&t.name, idx);
    // A node without a local replica may have no log for the partition; that only matters if it leads it.
    let p = crate::topics::resolve::partition(b.engine(), t, index);
    if let Some(l) = &lead
        && (l.leader == local || l.replicas.contains(&local))
    {
        let ours = l
            .leader_epoch
            .or_else(|| p.as_deref().ok().map(crate::topics::resolve::leader_epoch));
        if let Some(ours) = ours {
            crate::topics::resolve::check_epoch_against(ours, current_leader_epoch)?;
        }
    }
    match lead {
        Some(l) if l.leader == local => p,
        Some(l) => Err(ApiError::new(
            ResponseError::NotLeaderOrFollower,
            format!(
                "this node ({local}) does not lead partition {index} of '{}' (node {} does)",
                t.name, l.leader
            ),
        )),
        None => Err(ApiError::new(
            ResponseError::NotLeaderOrFollower,
            format!("partition {index} of '{}' has no leader right now", t.name),
        )),
    }
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
