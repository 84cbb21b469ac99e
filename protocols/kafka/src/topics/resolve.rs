//! Engine lookups shared by the API handlers and the coordinators: topics by name or id, partitions, the leader
//! epoch this broker answers with, and Kafka's leader-epoch rules. Everything here takes the [`Engine`], never
//! the broker, so the coordinators can use it without reaching up into `api/`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use kafka_protocol::error::ResponseError;
use strait_engine::{Engine, Partition, TopicInfo};

use crate::error::ApiError;

/// The epoch this broker leads `p` in: the latest one written, or 0 (what a single node stamps) before any
/// write. Metadata reports the same value, so clients' `current_leader_epoch` matches it.
pub(crate) fn leader_epoch(p: &Partition) -> i32 {
    p.latest_epoch().unwrap_or(0)
}

/// KIP-320: a client that knows a newer epoch than ours talks to a stale leader (UNKNOWN_LEADER_EPOCH, retry);
/// one that knows an older epoch has stale metadata (FENCED_LEADER_EPOCH, refresh). -1 means "not checked".
/// `ours` is the leader's epoch: the cluster view's when it knows the partition's, else [`leader_epoch`].
pub(crate) fn check_epoch_against(ours: i32, current: i32) -> Result<(), ApiError> {
    if current < 0 {
        return Ok(());
    }
    match current.cmp(&ours) {
        Ordering::Equal => Ok(()),
        Ordering::Greater => Err(ApiError::new(
            ResponseError::UnknownLeaderEpoch,
            format!("leader epoch {current} is newer than this broker's {ours}"),
        )),
        Ordering::Less => Err(ApiError::new(
            ResponseError::FencedLeaderEpoch,
            format!("leader epoch {current} is older than the current {ours}"),
        )),
    }
}

/// The leader's answer to "where did epoch `requested` end?" (OffsetForLeaderEpoch, Fetch divergence), with
/// Kafka's `LeaderEpochFileCache.endOffsetFor` rules: `(-1, -1)` for an undefined or future epoch, the log end
/// for the current one, and for an epoch older than any retained one that epoch with the start of the log.
/// A leader's cache always holds its own epoch, even before its first write; the engine's does not, so an
/// empty partition is answered as if epoch [`leader_epoch`] started at its log end.
/// `ours` is the leader's epoch: the cluster view's when it knows the partition's, else [`leader_epoch`].
pub(crate) fn epoch_end_offset_at(p: &Partition, ours: i32, requested: i32) -> (i32, i64) {
    const UNDEFINED: (i32, i64) = (-1, -1);
    if requested < 0 || requested > ours {
        return UNDEFINED;
    }
    let offsets = p.offsets();
    if requested == ours {
        return (ours, offsets.log_end);
    }
    // The engine trims its first entry to the log start after retention, so the log start is where the oldest
    // retained epoch begins.
    p.end_offset_for_epoch(requested)
        .unwrap_or((requested, offsets.log_start))
}

/// Topic id → name, for the requests that name topics by id (Fetch v13+, Produce v13). The engine looks
/// topics up by name only; listing every topic per fetch would cost O(topics) on the hottest path, so the map
/// is kept here and rebuilt when an id is missing or stale (topic created, deleted or recreated).
#[derive(Default)]
pub(crate) struct TopicIdCache(RwLock<HashMap<uuid::Uuid, String>>);

impl TopicIdCache {
    pub(crate) fn lookup(&self, engine: &Engine, id: &uuid::Uuid) -> Result<TopicInfo, ApiError> {
        let by_id =
            |name: Option<String>| name.and_then(|n| engine.topic(&n)).filter(|t| t.id == *id);
        let cached = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        if let Some(t) = by_id(cached) {
            return Ok(t);
        }
        let fresh: HashMap<uuid::Uuid, String> = engine
            .list_topics()
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let name = fresh.get(id).cloned();
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        by_id(name).ok_or_else(|| {
            ApiError::new(
                ResponseError::UnknownTopicId,
                format!("unknown topic id {id}"),
            )
        })
    }
}

/// A topic by name, or a Kafka-style error.
pub(crate) fn topic(engine: &Engine, name: &str) -> Result<TopicInfo, ApiError> {
    // The internal offsets topic is virtual (no engine log); APIs that serve it do so before resolving.
    if super::internal::is_internal(name) {
        return Err(super::internal::produce_refused(name));
    }
    engine.topic(name).ok_or_else(|| {
        ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("unknown topic '{name}'"),
        )
    })
}

/// A partition of a resolved topic; negative or too large indexes are unknown partitions.
pub(crate) fn partition(
    engine: &Engine,
    t: &TopicInfo,
    index: i32,
) -> Result<std::sync::Arc<Partition>, ApiError> {
    let idx = u32::try_from(index).map_err(|_| {
        ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("invalid partition {index}"),
        )
    })?;
    Ok(engine.partition(&t.name, idx)?)
}

/// Every topic a KIP-848 or share-group subscription may match: the engine's and the virtual internal one
/// (`offsets_partitions` partitions), as `(name, id, partitions)`.
pub(crate) fn universe(engine: &Engine, offsets_partitions: u32) -> Vec<(String, uuid::Uuid, u32)> {
    let mut topics: Vec<(String, uuid::Uuid, u32)> = engine
        .list_topics()
        .into_iter()
        .filter(|t| !super::internal::is_internal(&t.name))
        .map(|t| (t.name, t.id, t.partitions))
        .collect();
    topics.push((
        super::internal::CONSUMER_OFFSETS.to_string(),
        super::internal::CONSUMER_OFFSETS_ID,
        offsets_partitions,
    ));
    topics
}
