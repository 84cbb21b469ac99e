//! Coordinator routing: a group, transactional-id or share-group request that reaches a node which does not
//! coordinate its key is answered NOT_COORDINATOR (COORDINATOR_NOT_AVAILABLE while no node does), as Kafka
//! answers, so the client asks FindCoordinator again and goes to the coordinator. With the single-node view this
//! node coordinates everything and nothing here ever answers.
//!
//! [`check`] answers the APIs with one key and one top-level error code, after the authorization gate (Kafka
//! authorizes before it routes); APIs with per-item results ask [`refusal`] per item, after their own
//! authorization.
//!
//! Share groups route like consumer groups: Kafka's clients find a share group's coordinator with
//! FindCoordinator key type GROUP and send ShareGroupHeartbeat there (key type SHARE names the share-state
//! coordinator of one share-partition, which Strait does not expose), so they are checked against
//! [`CoordinatorKind::Group`].

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    AddOffsetsToTxnResponse, ConsumerGroupHeartbeatResponse, EndTxnResponse, HeartbeatResponse,
    InitProducerIdResponse, JoinGroupResponse, LeaveGroupResponse, ProducerId, RequestKind,
    ResponseKind, ShareGroupHeartbeatResponse, SyncGroupResponse,
};
use strait_engine::cluster::CoordinatorKind;

use super::Ctx;
use crate::broker::Broker;

/// Why this node may not act for `key` as coordinator `kind`, or `None` when it coordinates it.
pub(crate) fn refusal(b: &Broker, kind: CoordinatorKind, key: &str) -> Option<ResponseError> {
    match b.cluster().coordinator(kind, key) {
        Some(c) if c.node == b.cluster().local_node() => None,
        Some(_) => Some(ResponseError::NotCoordinator),
        None => Some(ResponseError::CoordinatorNotAvailable),
    }
}

/// The refusal response for `req`, or `None` when this node coordinates its key (or it has none, or answers
/// per item in its handler).
pub(super) fn check(ctx: &Ctx<'_>, req: &RequestKind) -> Option<ResponseKind> {
    use CoordinatorKind::{Group, Transaction};
    let b = ctx.broker;
    let code = |kind, key: &str| refusal(b, kind, key).map(|e| e.code());
    match req {
        RequestKind::JoinGroup(r) => code(Group, &r.group_id)
            .map(|e| ResponseKind::JoinGroup(JoinGroupResponse::default().with_error_code(e))),
        RequestKind::SyncGroup(r) => code(Group, &r.group_id)
            .map(|e| ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(e))),
        RequestKind::Heartbeat(r) => code(Group, &r.group_id)
            .map(|e| ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(e))),
        RequestKind::LeaveGroup(r) => code(Group, &r.group_id)
            .map(|e| ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(e))),
        RequestKind::ConsumerGroupHeartbeat(r) => code(Group, &r.group_id).map(|e| {
            ResponseKind::ConsumerGroupHeartbeat(
                ConsumerGroupHeartbeatResponse::default().with_error_code(e),
            )
        }),
        RequestKind::ShareGroupHeartbeat(r) => code(Group, &r.group_id).map(|e| {
            ResponseKind::ShareGroupHeartbeat(
                ShareGroupHeartbeatResponse::default().with_error_code(e),
            )
        }),
        RequestKind::EndTxn(r) => code(Transaction, &r.transactional_id)
            .map(|e| ResponseKind::EndTxn(EndTxnResponse::default().with_error_code(e))),
        RequestKind::AddOffsetsToTxn(r) => code(Transaction, &r.transactional_id).map(|e| {
            ResponseKind::AddOffsetsToTxn(AddOffsetsToTxnResponse::default().with_error_code(e))
        }),
        // Only a transactional producer needs its coordinator; any node hands out idempotent producer ids.
        RequestKind::InitProducerId(r) => {
            let id = r.transactional_id.as_ref()?;
            code(Transaction, id).map(|e| {
                ResponseKind::InitProducerId(
                    InitProducerIdResponse::default()
                        .with_error_code(e)
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1),
                )
            })
        }
        _ => None,
    }
}
