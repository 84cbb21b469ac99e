//! JoinGroup: translates onto the group coordinator, which parks the request until the join phase completes.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::coordinator::group::{JoinParams, JoinResult, Protocol};

pub(crate) fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The client address as Kafka reports it in DescribeGroups (`InetAddress.toString()`: "/10.0.0.1").
pub(crate) fn client_host(ctx: &Ctx<'_>) -> String {
    ctx.session
        .peer
        .map(|a| format!("/{}", a.ip()))
        .unwrap_or_default()
}

pub async fn handle(ctx: &mut Ctx<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = ctx.version();
    let params = JoinParams {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        client_id: ctx
            .header
            .client_id
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        client_host: client_host(ctx),
        session_timeout: millis(req.session_timeout_ms),
        // v0 has no rebalance timeout; Kafka uses the session timeout.
        rebalance_timeout: millis(if version == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        }),
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| Protocol {
                name: p.name.to_string(),
                metadata: p.metadata,
            })
            .collect(),
        version,
        reason: req.reason.map(|r| r.to_string()),
    };
    // A group is one type at a time: a consumer-protocol group with members refuses classic members.
    if ctx.broker.groups().consumer().has_members(&params.group_id) {
        return response(
            JoinResult::error(
                ResponseError::InconsistentGroupProtocol,
                params.member_id.clone(),
            ),
            version,
        );
    }
    // An empty consumer-protocol group is converted: forget its (member-less) state.
    let _ = ctx.broker.groups().consumer().delete(&params.group_id);
    let result = ctx.broker.groups().join(params).await;
    response(result, version)
}

fn response(r: JoinResult, version: i16) -> JoinGroupResponse {
    // Before v7 the protocol name is not nullable; from v7 an unknown one is null rather than "".
    let protocol_name = match r.protocol_name.filter(|n| !n.is_empty()) {
        Some(n) => Some(StrBytes::from_string(n)),
        None if version < 7 => Some(StrBytes::default()),
        None => None,
    };
    let members = r
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(StrBytes::from_string(m.member_id))
                .with_group_instance_id(
                    m.instance_id
                        .filter(|_| version >= 5)
                        .map(StrBytes::from_string),
                )
                .with_metadata(m.metadata)
        })
        .collect();
    JoinGroupResponse::default()
        .with_error_code(r.error.map_or(0, |e| e.code()))
        .with_generation_id(r.generation_id)
        .with_protocol_type(
            r.protocol_type
                .filter(|_| version >= 7)
                .map(StrBytes::from_string),
        )
        .with_protocol_name(protocol_name)
        .with_leader(StrBytes::from_string(r.leader))
        .with_skip_assignment(version >= 9 && r.skip_assignment)
        .with_member_id(StrBytes::from_string(r.member_id))
        .with_members(members)
}
