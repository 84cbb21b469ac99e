//! InitProducerId (v0–5): producer ids for idempotent producers.
//!
//! Every call without a transactional id gets a fresh id with epoch 0, as Kafka does (it ignores the id and
//! epoch a v3+ client sends back: an idempotent producer bumps its epoch locally, KIP-360).
//!
//! With a transactional id the transaction coordinator answers (`txn::init`): the id's producer id with a bumped
//! epoch, fencing older instances and aborting a transaction they left open. An empty transactional id is
//! INVALID_REQUEST, as in Kafka; a timeout above `transaction.max.timeout.ms` is INVALID_TRANSACTION_TIMEOUT.

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
    // v3+: an id and an epoch come together or not at all.
    if (req.producer_id.0 == -1) != (req.producer_epoch == -1) {
        return refused(ResponseError::InvalidRequest);
    }
    match req.transactional_id.as_deref().map(|s| s.as_str()) {
        Some("") => return refused(ResponseError::InvalidRequest),
        Some(txn_id) => {
            let b = ctx.broker;
            return match b
                .txns()
                .init_producer_id(
                    &b.txn_deps(),
                    txn_id,
                    req.transaction_timeout_ms,
                    req.producer_id.0,
                    req.producer_epoch,
                )
                .await
            {
                Ok((id, epoch)) => InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(epoch),
                // Clients before v4 know only INVALID_PRODUCER_EPOCH for a fenced producer.
                Err(ResponseError::ProducerFenced) if ctx.version() < 4 => {
                    refused(ResponseError::InvalidProducerEpoch)
                }
                Err(e) => refused(e),
            };
        }
        None => {}
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
