//! OffsetFetch: committed offsets of one group (v1-7) or several (v8+), for given partitions or, with null
//! topics, everything the group committed. `require_stable` needs no waiting: without transactions no
//! commit is ever pending.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::group::offsets::{CommittedOffset, TopicOffsets};

type Requested = Option<Vec<(String, Vec<i32>)>>;

/// Offset, leader epoch and metadata of a partition as the response carries them (-1/-1/"" if none).
fn fields(c: Option<CommittedOffset>) -> (i64, i32, StrBytes) {
    match c {
        Some(c) => (c.offset, c.leader_epoch, StrBytes::from_string(c.metadata)),
        None => (-1, -1, StrBytes::default()),
    }
}

pub fn handle(ctx: &mut Ctx<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = ctx.version();
    let groups = ctx.broker.groups();
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
                match groups.fetch_offsets(&g.group_id.0, topics) {
                    Err(e) => OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id)
                        .with_error_code(e.code()),
                    Ok(topics) => OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id)
                        .with_topics(topics.into_iter().map(topic_v8).collect()),
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
    match groups.fetch_offsets(&req.group_id.0, requested.clone()) {
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
                        (t, ps.into_iter().map(|p| (p, None)).collect()),
                        version,
                        Some(e),
                    )
                })
                .collect(),
        ),
    }
}

fn topic_v8((name, partitions): TopicOffsets) -> OffsetFetchResponseTopics {
    OffsetFetchResponseTopics::default()
        .with_name(TopicName(StrBytes::from_string(name)))
        .with_partitions(
            partitions
                .into_iter()
                .map(|(p, c)| {
                    let (offset, epoch, metadata) = fields(c);
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(epoch)
                        .with_metadata(Some(metadata))
                })
                .collect(),
        )
}

fn topic_v1(
    (name, partitions): TopicOffsets,
    version: i16,
    error: Option<ResponseError>,
) -> OffsetFetchResponseTopic {
    OffsetFetchResponseTopic::default()
        .with_name(TopicName(StrBytes::from_string(name)))
        .with_partitions(
            partitions
                .into_iter()
                .map(|(p, c)| {
                    let (offset, epoch, metadata) = fields(c);
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        // The leader epoch is a v5+ field.
                        .with_committed_leader_epoch(if version >= 5 { epoch } else { -1 })
                        .with_metadata(Some(metadata))
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect(),
        )
}
