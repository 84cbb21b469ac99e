//! Heartbeat: keeps a group member's session alive.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::Ctx;

pub fn handle(ctx: &mut Ctx<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    let error = ctx.broker.groups().heartbeat(
        &req.group_id.0,
        &req.member_id,
        req.group_instance_id.as_deref(),
        req.generation_id,
    );
    HeartbeatResponse::default().with_error_code(error.map_or(0, |e| e.code()))
}
