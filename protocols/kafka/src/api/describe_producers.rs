//! DescribeProducers (v0): the producers a partition's leader remembers, as `kafka-transactions.sh
//! describe-producers` and `Admin.describeProducers` show them: producer id and epoch, the last sequence written,
//! when it was last seen, and the first offset of its open transaction there (-1 when none). Kafka needs TOPIC READ;
//! a partition led elsewhere is NOT_LEADER_OR_FOLLOWER.

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::{Ctx, resolve};
use crate::broker::Broker;
use crate::error::{ApiError, engine_error_code};

pub async fn handle(ctx: &mut Ctx<'_>, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let b = ctx.broker;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let topic = super::authz::topic(ctx, Operation::Read, &t.name.0)
            .and_then(|()| resolve::topic(b, &t.name.0));
        let mut partitions = Vec::with_capacity(t.partition_indexes.len());
        for &index in &t.partition_indexes {
            let r = PartitionResponse::default().with_partition_index(index);
            let described = match &topic {
                Err(e) => Err(e.clone()),
                Ok(info) => match resolve::partition(b, info, index) {
                    Ok(p) => producers(b, &p).await,
                    Err(e) => Err(e),
                },
            };
            partitions.push(match described {
                Ok(active) => r.with_active_producers(active),
                Err(e) => r
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message))),
            });
        }
        topics.push(
            TopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions),
        );
    }
    DescribeProducersResponse::default().with_topics(topics)
}

async fn producers(
    b: &Broker,
    p: &std::sync::Arc<strait_engine::Partition>,
) -> Result<Vec<ProducerState>, ApiError> {
    let state = b
        .producers()
        .lock(b.engine(), p)
        .await
        .map_err(|e| ApiError::new(engine_error_code(&e), e.to_string()))?;
    let open = p.open_transactions();
    let mut out: Vec<ProducerState> = state
        .active()
        .map(|(id, e)| {
            let last = e.batches.back();
            ProducerState::default()
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(i32::from(e.epoch))
                .with_last_sequence(last.map_or(-1, |m| m.last_seq))
                // Kafka reports the last batch's timestamp; Strait keeps when the producer was last seen.
                .with_last_timestamp(e.last_seen_ms)
                .with_coordinator_epoch(-1)
                .with_current_txn_start_offset(open.get(&id).copied().unwrap_or(-1))
        })
        .collect();
    // Producers with an open transaction whose state has expired here still hold the LSO: list them too.
    for (&id, &first) in &open {
        if !out.iter().any(|s| s.producer_id.0 == id) {
            out.push(
                ProducerState::default()
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(-1)
                    .with_last_sequence(-1)
                    .with_last_timestamp(-1)
                    .with_coordinator_epoch(-1)
                    .with_current_txn_start_offset(first),
            );
        }
    }
    out.sort_by_key(|s| s.producer_id.0);
    Ok(out)
}
