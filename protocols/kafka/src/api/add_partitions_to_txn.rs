//! AddPartitionsToTxn (v0–3): a transactional producer names the partitions it is about to write. v4+ (KIP-890:
//! batched, broker-to-coordinator verification) is not advertised; clients use v3 and below.

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::Ctx;

pub async fn handle(
    ctx: &mut Ctx<'_>,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let b = ctx.broker;
    let topics: Vec<(String, Vec<i32>)> = req
        .v3_and_below_topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.partitions.clone()))
        .collect();
    let results = match b
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
    };
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
