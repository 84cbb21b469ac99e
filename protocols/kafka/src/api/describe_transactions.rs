//! DescribeTransactions (v0): state, timeout, start time, producer id and epoch, and partitions of each
//! transactional id; an unknown id is TRANSACTIONAL_ID_NOT_FOUND.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::Ctx;

pub async fn handle(
    ctx: &mut Ctx<'_>,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let mut states = Vec::with_capacity(req.transactional_ids.len());
    for id in req.transactional_ids {
        // Kafka answers an id the principal may not describe with TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
        let elsewhere = super::coordinator_gate::refusal(
            ctx.broker,
            strait_engine::cluster::CoordinatorKind::Transaction,
            &id,
        );
        // Authorized first, then routed (another node's coordinator answers for the id), as in Kafka.
        let allowed = super::authz::transactional_id(ctx, Operation::Describe, &id);
        let described = match (allowed, elsewhere) {
            (Err(e), _) => Err(e.code),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => ctx
                .broker
                .txns()
                .describe(&id)
                .await
                .ok_or(ResponseError::TransactionalIdNotFound),
        };
        let state = match described {
            Err(e) => TransactionState::default()
                .with_error_code(e.code())
                .with_transaction_state(StrBytes::from_static_str(""))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_start_time_ms(-1),
            Ok(m) => {
                let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for (t, p) in &m.partitions {
                    topics.entry(t).or_default().push(*p);
                }
                TransactionState::default()
                    .with_transaction_state(StrBytes::from_static_str(m.state.name()))
                    .with_transaction_timeout_ms(m.timeout_ms)
                    .with_transaction_start_time_ms(m.start_ms)
                    .with_producer_id(ProducerId(m.producer_id))
                    .with_producer_epoch(m.epoch)
                    .with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                TopicData::default()
                                    .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                                    .with_partitions(ps)
                            })
                            .collect(),
                    )
            }
        };
        states.push(state.with_transactional_id(id));
    }
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
