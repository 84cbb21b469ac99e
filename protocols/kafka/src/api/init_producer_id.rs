//! InitProducerId (v0–5): producer ids for idempotent producers.
//!
//! Every call without a transactional id gets a fresh id with epoch 0, as Kafka does (it ignores the id and
//! epoch a v3+ client sends back: an idempotent producer bumps its epoch locally, KIP-360).
//!
//! Transactions are not implemented. A request with a transactional id is refused with
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED: it is the one refusal Kafka clients treat as fatal at once
//! (Java: `TransactionalIdAuthorizationException` from `initTransactions()`; librdkafka: a fatal error), where
//! the "coordinator not available" family would make them retry until their timeout. An empty transactional
//! id is INVALID_REQUEST, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::Ctx;
use crate::error::engine_error_code;

pub async fn handle(ctx: &mut Ctx<'_>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let refused = |code: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(code.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    match req.transactional_id.as_deref().map(|s| s.is_empty()) {
        Some(true) => return refused(ResponseError::InvalidRequest),
        Some(false) => return refused(ResponseError::TransactionalIdAuthorizationFailed),
        None => {}
    }
    // v3+: an id and an epoch come together or not at all.
    if (req.producer_id.0 == -1) != (req.producer_epoch == -1) {
        return refused(ResponseError::InvalidRequest);
    }
    match ctx.broker.producers().ids().allocate().await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::warn!(error = %e, "allocating a producer id failed");
            refused(engine_error_code(&e))
        }
    }
}
