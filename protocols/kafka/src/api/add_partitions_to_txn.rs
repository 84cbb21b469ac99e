//! AddPartitionsToTxn (v0–3): a transactional producer names the partitions it is about to write. v4+ (KIP-890:
//! batched, broker-to-coordinator verification) is not advertised; clients use v3 and below.

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use kafka_protocol::error::ResponseError;
use strait_access::Operation;

use super::Ctx;
use crate::coordinator::txn::add::PartitionResults;

pub async fn handle(
    ctx: &mut Ctx<'_>,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let topics: Vec<(String, Vec<i32>)> = req
        .v3_and_below_topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.partitions.clone()))
        .collect();
    // Kafka: TRANSACTIONAL_ID WRITE for the request, then TOPIC WRITE per topic; if any topic is refused, the
    // others are answered OPERATION_NOT_ATTEMPTED and nothing is added.
    let refused = if super::authz::transactional_id(
        ctx,
        Operation::Write,
        &req.v3_and_below_transactional_id,
    )
    .is_err()
    {
        Some(
            topics
                .iter()
                .map(|(t, _)| {
                    (
                        t.as_str(),
                        ResponseError::TransactionalIdAuthorizationFailed,
                    )
                })
                .collect(),
        )
    } else if topics
        .iter()
        .any(|(t, _)| super::authz::topic(ctx, Operation::Write, t).is_err())
    {
        Some(
            topics
                .iter()
                .map(
                    |(t, _)| match super::authz::topic(ctx, Operation::Write, t) {
                        Ok(()) => (t.as_str(), ResponseError::OperationNotAttempted),
                        Err(e) => (t.as_str(), e.code),
                    },
                )
                .collect::<Vec<_>>(),
        )
    } else {
        // The transactional id's coordinator adds partitions; elsewhere every partition gets the refusal.
        super::coordinator_gate::refusal(
            ctx.broker,
            strait_engine::cluster::CoordinatorKind::Transaction,
            &req.v3_and_below_transactional_id,
        )
        .map(|e| topics.iter().map(|(t, _)| (t.as_str(), e)).collect())
    };
    let results = match refused {
        Some(refused) => refused
            .into_iter()
            .zip(&topics)
            .map(|((t, e), (_, ps))| (t.to_string(), ps.iter().map(|p| (*p, Some(e))).collect()))
            .collect(),
        None => added(ctx, &req, topics).await,
    };
    respond(results)
}

async fn added(
    ctx: &Ctx<'_>,
    req: &AddPartitionsToTxnRequest,
    topics: Vec<(String, Vec<i32>)>,
) -> PartitionResults {
    let b = ctx.broker;
    match b
        .txns()
        .add_partitions(
            &b.txn_deps(),
            &req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            topics.clone(),
            ctx.version(),
        )
        .await
    {
        Ok(r) => r,
        // A request-level error is reported on every partition (v3 and below have no top-level code).
        Err(e) => topics
            .into_iter()
            .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, Some(e))).collect()))
            .collect(),
    }
}

fn respond(results: PartitionResults) -> AddPartitionsToTxnResponse {
    let by_topic = results
        .into_iter()
        .map(|(t, ps)| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(kafka_protocol::messages::TopicName(t.into()))
                .with_results_by_partition(
                    ps.into_iter()
                        .map(|(p, e)| {
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(p)
                                .with_partition_error_code(e.map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(by_topic)
}
