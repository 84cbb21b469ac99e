//! FindCoordinator: the cluster view names the coordinator of every consumer group and transactional id (this
//! node, on a single node).
//!
//! Share groups are not implemented, so SHARE keys are answered INVALID_REQUEST with an explanation, as Kafka
//! answers for coordinator types it does not run (COORDINATOR_NOT_AVAILABLE would be retried until a timeout).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use strait_access::{Operation, Resource};
use strait_engine::cluster::CoordinatorKind;

use super::Ctx;

/// Kafka's `CoordinatorType` ids.
const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;
const SHARE: i8 = 2;

/// The coordinator kind of `key_type`, or the error and its explanation.
fn kind_of(key_type: i8) -> Result<CoordinatorKind, (ResponseError, &'static str)> {
    match key_type {
        GROUP => Ok(CoordinatorKind::Group),
        TRANSACTION => Ok(CoordinatorKind::Transaction),
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

/// Who coordinates `key`: its node's id, host and port, or the error and its explanation.
fn find(
    ctx: &Ctx<'_>,
    key_type: i8,
    key: &str,
) -> Result<(BrokerId, StrBytes, i32), (ResponseError, &'static str)> {
    let b = ctx.broker;
    let kind = kind_of(key_type)?;
    // Kafka needs DESCRIBE on the group or transactional id before naming its coordinator.
    let resource = match kind {
        CoordinatorKind::Group | CoordinatorKind::Share => Resource::Group(key),
        CoordinatorKind::Transaction => Resource::TransactionalId(key),
    };
    if !super::authz::allowed(ctx, Operation::Describe, resource) {
        return Err(match kind {
            CoordinatorKind::Group | CoordinatorKind::Share => (
                ResponseError::GroupAuthorizationFailed,
                "Not authorized to access group",
            ),
            CoordinatorKind::Transaction => (
                ResponseError::TransactionalIdAuthorizationFailed,
                "Transactional Id authorization failed.",
            ),
        });
    }
    match super::cluster::coordinator(b, kind, key) {
        Some(n) => Ok((n.id, StrBytes::from_string(n.host), n.port)),
        None => Err((
            ResponseError::CoordinatorNotAvailable,
            "no node coordinates this key right now",
        )),
    }
}

pub fn handle(ctx: &mut Ctx<'_>, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let version = ctx.version();
    // v0 has no key type: it asks for a group coordinator.
    let key_type = if version >= 1 { req.key_type } else { GROUP };
    if version >= 4 {
        // Batched lookups (KIP-699).
        let coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| match find(ctx, key_type, &key) {
                Ok((node, host, port)) => Coordinator::default()
                    .with_key(key)
                    .with_node_id(node)
                    .with_host(host)
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
    match find(ctx, key_type, &req.key) {
        Ok((node, host, port)) => FindCoordinatorResponse::default()
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
