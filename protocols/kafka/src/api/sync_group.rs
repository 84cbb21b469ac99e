//! SyncGroup: translates onto the group coordinator, which parks followers until the leader's assignment.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::coordinator::group::SyncResult;
use crate::coordinator::group::sync::SyncParams;

pub async fn handle(ctx: &mut Ctx<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    let version = ctx.version();
    // From v5 both are mandatory (Kafka rejects their absence the same way).
    let result = if version >= 5 && (req.protocol_type.is_none() || req.protocol_name.is_none()) {
        SyncResult::error(ResponseError::InconsistentGroupProtocol)
    } else {
        let params = SyncParams {
            group_id: req.group_id.0.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            instance_id: req.group_instance_id.map(|s| s.to_string()),
            protocol_type: req.protocol_type.map(|s| s.to_string()),
            protocol_name: req.protocol_name.map(|s| s.to_string()),
            assignments: req
                .assignments
                .into_iter()
                .map(|a| (a.member_id.to_string(), a.assignment))
                .collect(),
        };
        ctx.broker.groups().sync(params).await
    };
    let resp = SyncGroupResponse::default()
        .with_error_code(result.error.map_or(0, |e| e.code()))
        .with_assignment(result.assignment);
    if version >= 5 {
        resp.with_protocol_type(result.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(result.protocol_name.map(StrBytes::from_string))
    } else {
        resp
    }
}
