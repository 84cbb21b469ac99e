//! TxnOffsetCommit (v0–5): offsets committed inside a transaction. They are validated against the group like an
//! OffsetCommit and become visible to OffsetFetch only when the transaction commits (dropped on abort).

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TopicName, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use kafka_protocol::error::ResponseError;
use strait_access::Operation;

use strait_engine::cluster::CoordinatorKind;

use super::Ctx;
use crate::coordinator::txn::add::{PartitionResults, TxnCommit};

pub async fn handle(ctx: &mut Ctx<'_>, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let b = ctx.broker;
    let version = ctx.version();
    // Kafka: TRANSACTIONAL_ID WRITE, then GROUP READ, each refusing every partition; then TOPIC READ per topic,
    // a refused topic answered per partition and left out of the commit.
    let whole =
        if super::authz::transactional_id(ctx, Operation::Write, &req.transactional_id).is_err() {
            Some(ResponseError::TransactionalIdAuthorizationFailed)
        } else if super::authz::group(ctx, Operation::Read, &req.group_id).is_err() {
            Some(ResponseError::GroupAuthorizationFailed)
        } else {
            None
        };
    let (allowed, denied): (Vec<_>, Vec<_>) = req.topics.iter().partition(|t| {
        whole.is_none() && super::authz::topic(ctx, Operation::Read, &t.name.0).is_ok()
    });
    let refused = whole.unwrap_or(ResponseError::TopicAuthorizationFailed);
    let mut results: PartitionResults = denied
        .iter()
        .map(|t| {
            let ps = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, Some(refused)))
                .collect();
            (t.name.0.to_string(), ps)
        })
        .collect();
    // Kafka answers without the coordinator once no topic is left to commit.
    let call_coordinator = whole.is_none() && (denied.is_empty() || !allowed.is_empty());
    let commit = TxnCommit {
        txn_id: req.transactional_id.to_string(),
        group_id: req.group_id.to_string(),
        producer_id: req.producer_id.0,
        epoch: req.producer_epoch,
        // Before v3 the request carries no group membership: a "simple" commit.
        generation_id: if version >= 3 { req.generation_id } else { -1 },
        member_id: if version >= 3 {
            req.member_id.to_string()
        } else {
            String::new()
        },
        instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        topics: allowed
            .iter()
            .map(|t| {
                (
                    t.name.0.to_string(),
                    t.partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition_index,
                                p.committed_offset,
                                if version >= 2 {
                                    p.committed_leader_epoch
                                } else {
                                    -1
                                },
                                p.committed_metadata.as_ref().map(|s| s.to_string()),
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
    };
    // The group's coordinator takes the commit (Kafka sends TxnOffsetCommit there).
    let elsewhere = call_coordinator
        .then(|| super::coordinator_gate::refusal(b, CoordinatorKind::Group, &req.group_id))
        .flatten();
    if let Some(e) = elsewhere {
        results.extend(allowed.iter().map(|t| {
            let ps = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, Some(e)))
                .collect();
            (t.name.0.to_string(), ps)
        }));
    } else if call_coordinator {
        results.extend(
            b.txns()
                .txn_offset_commit(&b.txn_deps(), commit, version)
                .await,
        );
    }
    let topics = results
        .into_iter()
        .map(|(t, ps)| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(TopicName(t.into()))
                .with_partitions(
                    ps.into_iter()
                        .map(|(p, e)| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p)
                                .with_error_code(e.map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}
