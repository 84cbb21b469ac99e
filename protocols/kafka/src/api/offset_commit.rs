//! OffsetCommit (v2+): durable commits of consumer positions, validated against the group's generation.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_request::OffsetCommitRequestTopic;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use strait_engine::cluster::CoordinatorKind;

use super::Ctx;
use crate::coordinator::group::commit::{CommitParams, CommitResults, PartitionCommit};

pub async fn handle(ctx: &mut Ctx<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let version = ctx.version();
    // As in Kafka: without GROUP READ every partition is refused; without TOPIC READ that topic's partitions
    // are, and only the authorized topics reach the coordinator.
    let group_denied = super::authz::group(ctx, Operation::Read, &req.group_id.0).is_err();
    let (topics, denied): (Vec<_>, Vec<_>) = req.topics.into_iter().partition(|t| {
        !group_denied && super::authz::topic(ctx, Operation::Read, &t.name.0).is_ok()
    });
    let denied_code = if group_denied {
        ResponseError::GroupAuthorizationFailed
    } else {
        ResponseError::TopicAuthorizationFailed
    };
    // Kafka answers without the coordinator once no topic is left to commit.
    let call_coordinator = !group_denied && (denied.is_empty() || !topics.is_empty());
    let mut results: CommitResults = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, Some(denied_code)))
                .collect();
            (t.name.0.to_string(), partitions)
        })
        .collect();
    let elsewhere = call_coordinator
        .then(|| {
            super::coordinator_gate::refusal(ctx.broker, CoordinatorKind::Group, &req.group_id)
        })
        .flatten();
    if let Some(e) = elsewhere {
        results.extend(topics.iter().map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, Some(e)))
                .collect();
            (t.name.0.to_string(), partitions)
        }));
    } else if call_coordinator {
        results.extend(
            commit(
                ctx,
                req.group_id.0.to_string(),
                req.generation_id_or_member_epoch,
                req.member_id.to_string(),
                req.group_instance_id.map(|s| s.to_string()),
                version,
                topics,
            )
            .await,
        );
    }
    respond(results)
}

async fn commit(
    ctx: &Ctx<'_>,
    group_id: String,
    generation_id: i32,
    member_id: String,
    instance_id: Option<String>,
    version: i16,
    topics: Vec<OffsetCommitRequestTopic>,
) -> CommitResults {
    let params = CommitParams {
        group_id,
        generation_id,
        member_id,
        instance_id,
        version,
        topics: topics
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
    ctx.broker.groups().commit_offsets(params).await
}

fn respond(results: CommitResults) -> OffsetCommitResponse {
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
