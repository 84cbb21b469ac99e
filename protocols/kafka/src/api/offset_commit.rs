//! OffsetCommit (v2+): durable commits of consumer positions, validated against the group's generation.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::coordinator::group::commit::{CommitParams, PartitionCommit};

pub async fn handle(ctx: &mut Ctx<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let version = ctx.version();
    let params = CommitParams {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id_or_member_epoch,
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        version,
        topics: req
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionCommit {
                        partition: p.partition_index,
                        offset: p.committed_offset,
                        // Before v6 the field is absent and decodes as its default, -1.
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.map(|m| m.to_string()),
                    })
                    .collect();
                (t.name.0.to_string(), partitions)
            })
            .collect(),
    };
    let results = ctx.broker.groups().commit_offsets(params).await;
    OffsetCommitResponse::default().with_topics(
        results
            .into_iter()
            .map(|(name, partitions)| {
                OffsetCommitResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|(p, e)| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(e.map_or(0, |e| e.code()))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
