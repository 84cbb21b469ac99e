//! ListTransactions (v0–2): transactional ids filtered by state names (unknown names are echoed back in
//! `unknown_state_filters`), producer ids, minimum running time (v1) and an id regex (v2, whole-id match; an
//! invalid one is INVALID_REGULAR_EXPRESSION).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;
use crate::coordinator::txn::describe::STATE_NAMES;

pub async fn handle(ctx: &mut Ctx<'_>, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let version = ctx.version();
    let pattern = match req
        .transactional_id_pattern
        .as_deref()
        .filter(|_| version >= 2)
    {
        Some(p) if !p.is_empty() => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(r) => Some(r),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(ResponseError::InvalidRegularExpression.code());
            }
        },
        _ => None,
    };
    let unknown: Vec<StrBytes> = req
        .state_filters
        .iter()
        .filter(|s| !STATE_NAMES.contains(&s.as_str()))
        .cloned()
        .collect();
    let duration = if version >= 1 {
        req.duration_filter
    } else {
        -1
    };
    let now = crate::coordinator::producer::now_ms();
    let states = ctx
        .broker
        .txns()
        .all()
        .await
        .into_iter()
        .filter(|m| {
            (req.state_filters.is_empty()
                || req
                    .state_filters
                    .iter()
                    .any(|s| s.as_str() == m.state.name()))
                && (req.producer_id_filters.is_empty()
                    || req.producer_id_filters.iter().any(|p| p.0 == m.producer_id))
                && (duration < 0 || now - m.start_ms >= duration)
                && pattern.as_ref().is_none_or(|r| r.is_match(&m.txn_id))
                // Each broker lists the ids it coordinates (clients ask every broker and merge).
                && super::coordinator_gate::refusal(
                    ctx.broker,
                    strait_engine::cluster::CoordinatorKind::Transaction,
                    &m.txn_id,
                )
                .is_none()
                // Kafka lists only the ids the principal may describe, without an error.
                && super::authz::allowed(
                    ctx,
                    Operation::Describe,
                    Resource::TransactionalId(&m.txn_id),
                )
        })
        .map(|m| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(m.txn_id)))
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(StrBytes::from_static_str(m.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}
