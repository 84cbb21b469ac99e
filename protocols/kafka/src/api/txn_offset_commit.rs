//! TxnOffsetCommit (v0–5): offsets committed inside a transaction. They are validated against the group like an
//! OffsetCommit and become visible to OffsetFetch only when the transaction commits (dropped on abort).

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TopicName, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::Ctx;
use crate::coordinator::txn::add::TxnCommit;

pub async fn handle(ctx: &mut Ctx<'_>, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let b = ctx.broker;
    let version = ctx.version();
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
        topics: req
            .topics
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
    let results = b
        .txns()
        .txn_offset_commit(&b.txn_deps(), commit, version)
        .await;
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
