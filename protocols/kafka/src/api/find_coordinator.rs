//! FindCoordinator: this single node coordinates every consumer group and every transactional id.
//!
//! Share groups are not implemented, so SHARE keys are answered INVALID_REQUEST with an explanation, as Kafka
//! answers for coordinator types it does not run (COORDINATOR_NOT_AVAILABLE would be retried until a timeout).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

/// Kafka's `CoordinatorType` ids.
const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;
const SHARE: i8 = 2;

/// Who coordinates keys of `key_type`: `Ok` for us, or the error and its explanation.
fn coordinator_for(key_type: i8) -> Result<(), (ResponseError, &'static str)> {
    match key_type {
        GROUP | TRANSACTION => Ok(()),
        SHARE => Err((
            ResponseError::InvalidRequest,
            "share groups are not supported by this broker",
        )),
        _ => Err((
            ResponseError::InvalidRequest,
            "unknown coordinator key type",
        )),
    }
}

pub fn handle(ctx: &mut Ctx<'_>, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let version = ctx.version();
    let cfg = ctx.broker.config();
    let node = BrokerId(cfg.node_id);
    let host = StrBytes::from_string(cfg.advertised_host.clone());
    let port = cfg.advertised_port;
    // v0 has no key type: it asks for a group coordinator.
    let key_type = if version >= 1 { req.key_type } else { GROUP };
    if version >= 4 {
        // Batched lookups (KIP-699).
        let coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| match coordinator_for(key_type) {
                Ok(()) => Coordinator::default()
                    .with_key(key)
                    .with_node_id(node)
                    .with_host(host.clone())
                    .with_port(port)
                    .with_error_message(None),
                Err((e, msg)) => Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(e.code())
                    .with_error_message(Some(StrBytes::from_static_str(msg))),
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match coordinator_for(key_type) {
        Ok(()) => FindCoordinatorResponse::default()
            .with_node_id(node)
            .with_host(host)
            .with_port(port)
            .with_error_message(None),
        Err((e, msg)) => FindCoordinatorResponse::default()
            .with_error_code(e.code())
            .with_error_message(Some(StrBytes::from_static_str(msg)))
            .with_node_id(BrokerId(-1))
            .with_port(-1),
    }
}
