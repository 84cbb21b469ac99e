//! OffsetFetch: committed offsets of one group (v1-7) or several (v8+), for given partitions or, with null
//! topics, everything the group committed. With `require_stable` (v7+), a partition whose offset is pending in
//! an open transaction (TxnOffsetCommit not yet committed) is answered UNSTABLE_OFFSET_COMMIT, which clients
//! retry; without it the last committed offset is returned, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use strait_engine::cluster::CoordinatorKind;

use super::Ctx;
use crate::coordinator::group::offsets::{CommittedOffset, TopicOffsets};

type Requested = Option<Vec<(String, Vec<i32>)>>;

/// Offset, leader epoch and metadata of a partition as the response carries them (-1/-1/"" if none).
/// Marks partitions with offsets pending in a transaction (only when the client asked for stable offsets).
fn mark_unstable(
    b: &crate::broker::Broker,
    group: &str,
    require_stable: bool,
    (topic, partitions): TopicOffsets,
) -> MarkedOffsets {
    let partitions = partitions
        .into_iter()
        .map(|(p, c)| {
            if require_stable && b.txns().has_pending_offsets(group, &topic, p) {
                (p, None, Some(ResponseError::UnstableOffsetCommit))
            } else {
                (p, c, None)
            }
        })
        .collect();
    (topic, partitions)
}

type MarkedOffsets = (
    String,
    Vec<(i32, Option<CommittedOffset>, Option<ResponseError>)>,
);

fn fields(c: Option<CommittedOffset>) -> (i64, i32, StrBytes) {
    match c {
        Some(c) => (c.offset, c.leader_epoch, StrBytes::from_string(c.metadata)),
        None => (-1, -1, StrBytes::default()),
    }
}

pub fn handle(ctx: &mut Ctx<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = ctx.version();
    let b = ctx.broker;
    let groups = b.groups();
    let require_stable = version >= 7 && req.require_stable;
    if version >= 8 {
        let out = req
            .groups
            .into_iter()
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                // v9+: a member of a consumer-protocol group fetches at its current epoch (KIP-848); GROUP
                // DESCRIBE is checked first, as in Kafka.
                let member_check = g
                    .member_id
                    .as_deref()
                    .filter(|_| {
                        version >= 9
                            && may_describe(ctx, &g.group_id.0)
                            && coordinates(b, &g.group_id)
                    })
                    .and_then(|m| {
                        groups
                            .consumer()
                            .validate_fetch(&g.group_id.0, m, g.member_epoch)
                            .and_then(Result::err)
                    });
                let fetched = match member_check {
                    Some(e) => Err(e),
                    None => fetch(ctx, &g.group_id.0, topics, require_stable),
                };
                match fetched {
                    Err(e) => OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id)
                        .with_error_code(e.code()),
                    Ok(topics) => OffsetFetchResponseGroup::default()
                        .with_topics(topics.into_iter().map(topic_v8).collect())
                        .with_group_id(g.group_id),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(out);
    }
    let requested: Requested = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    match fetch(ctx, &req.group_id.0, requested.clone(), require_stable) {
        Ok(topics) => OffsetFetchResponse::default().with_topics(
            topics
                .into_iter()
                .map(|t| topic_v1(t, version, None))
                .collect(),
        ),
        // v2+ has a top-level error; before that it goes on every requested partition.
        Err(e) if version >= 2 => OffsetFetchResponse::default().with_error_code(e.code()),
        Err(e) => OffsetFetchResponse::default().with_topics(
            requested
                .unwrap_or_default()
                .into_iter()
                .map(|(t, ps)| {
                    topic_v1(
                        (t, ps.into_iter().map(|p| (p, None, None)).collect()),
                        version,
                        Some(e),
                    )
                })
                .collect(),
        ),
    }
}

/// Whether this node coordinates `group` (other nodes answer NOT_COORDINATOR from [`fetch`]).
fn coordinates(b: &crate::broker::Broker, group: &str) -> bool {
    super::coordinator_gate::refusal(b, CoordinatorKind::Group, group).is_none()
}

fn may_describe(ctx: &Ctx<'_>, group: &str) -> bool {
    super::authz::allowed(ctx, Operation::Describe, Resource::Group(group))
}

/// The group's committed offsets as Kafka authorizes them: GROUP DESCRIBE for the group, TOPIC DESCRIBE per
/// topic. Named topics the principal may not describe are answered TOPIC_AUTHORIZATION_FAILED per partition;
/// when fetching everything they are left out.
fn fetch(
    ctx: &Ctx<'_>,
    group: &str,
    topics: Requested,
    require_stable: bool,
) -> Result<Vec<MarkedOffsets>, ResponseError> {
    if !may_describe(ctx, group) {
        return Err(ResponseError::GroupAuthorizationFailed);
    }
    let b = ctx.broker;
    if let Some(e) = super::coordinator_gate::refusal(b, CoordinatorKind::Group, group) {
        return Err(e);
    }
    let may = |t: &str| super::authz::allowed(ctx, Operation::Describe, Resource::Topic(t));
    let Some(named) = topics else {
        let all = b.groups().fetch_offsets(group, None)?;
        return Ok(all
            .into_iter()
            .filter(|(t, _)| may(t))
            .map(|t| mark_unstable(b, group, require_stable, t))
            .collect());
    };
    let (named, denied): (Vec<_>, Vec<_>) = named.into_iter().partition(|(t, _)| may(t));
    let mut out: Vec<MarkedOffsets> = b
        .groups()
        .fetch_offsets(group, Some(named))?
        .into_iter()
        .map(|t| mark_unstable(b, group, require_stable, t))
        .collect();
    let refused = Some(ResponseError::TopicAuthorizationFailed);
    out.extend(
        denied
            .into_iter()
            .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, None, refused)).collect())),
    );
    Ok(out)
}

fn topic_v8((name, partitions): MarkedOffsets) -> OffsetFetchResponseTopics {
    OffsetFetchResponseTopics::default()
        .with_name(TopicName(StrBytes::from_string(name)))
        .with_partitions(
            partitions
                .into_iter()
                .map(|(p, c, err)| {
                    let (offset, epoch, metadata) = fields(c);
                    OffsetFetchResponsePartitions::default()
                        .with_error_code(err.map_or(0, |e| e.code()))
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(epoch)
                        .with_metadata(Some(metadata))
                })
                .collect(),
        )
}

fn topic_v1(
    (name, partitions): MarkedOffsets,
    version: i16,
    error: Option<ResponseError>,
) -> OffsetFetchResponseTopic {
    OffsetFetchResponseTopic::default()
        .with_name(TopicName(StrBytes::from_string(name)))
        .with_partitions(
            partitions
                .into_iter()
                .map(|(p, c, err)| {
                    let (offset, epoch, metadata) = fields(c);
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        // The leader epoch is a v5+ field.
                        .with_committed_leader_epoch(if version >= 5 { epoch } else { -1 })
                        .with_metadata(Some(metadata))
                        .with_error_code(error.or(err).map_or(0, |e| e.code()))
                })
                .collect(),
        )
}
