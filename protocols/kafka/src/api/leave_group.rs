//! LeaveGroup: one member (v0-2) or a batch, possibly identified by instance id only (v3+).

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::coordinator::group::leave::LeavingMember;

pub fn handle(ctx: &mut Ctx<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let version = ctx.version();
    let members: Vec<LeavingMember> = if version < 3 {
        vec![LeavingMember {
            member_id: req.member_id.to_string(),
            instance_id: None,
            reason: None,
        }]
    } else {
        req.members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                reason: m.reason.as_ref().map(|s| s.to_string()),
            })
            .collect()
    };
    match ctx.broker.groups().leave(&req.group_id.0, &members) {
        Err(e) => LeaveGroupResponse::default().with_error_code(e.code()),
        // Before v3 the single member's outcome is the response's error.
        Ok(results) if version < 3 => LeaveGroupResponse::default()
            .with_error_code(results.first().copied().flatten().map_or(0, |e| e.code())),
        Ok(results) => LeaveGroupResponse::default().with_members(
            members
                .into_iter()
                .zip(results)
                .map(|(m, e)| {
                    MemberResponse::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                        .with_error_code(e.map_or(0, |e| e.code()))
                })
                .collect(),
        ),
    }
}
