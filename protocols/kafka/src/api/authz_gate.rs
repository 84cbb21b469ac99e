//! Whole-request authorization for the APIs that act on one group, one transactional id or the cluster and
//! answer with a single top-level error code: a denied request is answered here, before its handler runs, with
//! the protocol's authorization error. APIs with per-item errors authorize each item in their own handler.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    AddOffsetsToTxnResponse, ConsumerGroupHeartbeatResponse, DescribeClusterResponse,
    DescribeLogDirsResponse, EndTxnResponse, HeartbeatResponse, InitProducerIdResponse,
    JoinGroupResponse, LeaveGroupResponse, ProducerId, RequestKind, ResponseKind,
    ShareGroupHeartbeatResponse, SyncGroupResponse,
};
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::allowed;

fn code(e: ResponseError) -> i16 {
    e.code()
}

/// The denial response for `req`, or `None` when it may proceed (or authorizes per item in its handler).
pub(super) fn check(ctx: &Ctx<'_>, req: &RequestKind) -> Option<ResponseKind> {
    let group = |id: &str, op| allowed(ctx, op, Resource::Group(id));
    let txn = |id: &str, op| allowed(ctx, op, Resource::TransactionalId(id));
    let group_denied = code(ResponseError::GroupAuthorizationFailed);
    let txn_denied = code(ResponseError::TransactionalIdAuthorizationFailed);
    let cluster_denied = code(ResponseError::ClusterAuthorizationFailed);
    match req {
        RequestKind::JoinGroup(r) if !group(&r.group_id, Operation::Read) => Some(
            ResponseKind::JoinGroup(JoinGroupResponse::default().with_error_code(group_denied)),
        ),
        RequestKind::SyncGroup(r) if !group(&r.group_id, Operation::Read) => Some(
            ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(group_denied)),
        ),
        RequestKind::Heartbeat(r) if !group(&r.group_id, Operation::Read) => Some(
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(group_denied)),
        ),
        RequestKind::LeaveGroup(r) if !group(&r.group_id, Operation::Read) => Some(
            ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(group_denied)),
        ),
        RequestKind::ConsumerGroupHeartbeat(r) if !group(&r.group_id, Operation::Read) => {
            Some(ResponseKind::ConsumerGroupHeartbeat(
                ConsumerGroupHeartbeatResponse::default().with_error_code(group_denied),
            ))
        }
        RequestKind::ShareGroupHeartbeat(r) if !group(&r.group_id, Operation::Read) => {
            Some(ResponseKind::ShareGroupHeartbeat(
                ShareGroupHeartbeatResponse::default().with_error_code(group_denied),
            ))
        }
        RequestKind::EndTxn(r) if !txn(&r.transactional_id, Operation::Write) => Some(
            ResponseKind::EndTxn(EndTxnResponse::default().with_error_code(txn_denied)),
        ),
        RequestKind::AddOffsetsToTxn(r) => {
            let error = if !txn(&r.transactional_id, Operation::Write) {
                txn_denied
            } else if !group(&r.group_id, Operation::Read) {
                group_denied
            } else {
                return None;
            };
            Some(ResponseKind::AddOffsetsToTxn(
                AddOffsetsToTxnResponse::default().with_error_code(error),
            ))
        }
        RequestKind::InitProducerId(r) => {
            // A transactional producer needs TRANSACTIONAL_ID WRITE; an idempotent one CLUSTER IDEMPOTENT_WRITE.
            let error = match &r.transactional_id {
                Some(id) if !txn(id, Operation::Write) => txn_denied,
                None if !allowed(ctx, Operation::IdempotentWrite, Resource::Cluster) => {
                    cluster_denied
                }
                Some(_) | None => return None,
            };
            Some(ResponseKind::InitProducerId(
                InitProducerIdResponse::default()
                    .with_error_code(error)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ))
        }
        RequestKind::DescribeCluster(_)
            if !allowed(ctx, Operation::Describe, Resource::Cluster) =>
        {
            Some(ResponseKind::DescribeCluster(
                DescribeClusterResponse::default().with_error_code(cluster_denied),
            ))
        }
        // v1–2 have no top-level error: an unauthorized caller gets no log dirs, as in Kafka.
        RequestKind::DescribeLogDirs(_)
            if !allowed(ctx, Operation::Describe, Resource::Cluster) =>
        {
            Some(ResponseKind::DescribeLogDirs(
                DescribeLogDirsResponse::default().with_error_code(cluster_denied),
            ))
        }
        _ => None,
    }
}
