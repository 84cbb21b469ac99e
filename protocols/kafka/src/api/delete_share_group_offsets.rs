//! DeleteShareGroupOffsets (v0): removes an empty share group's state for whole topics; the next member to
//! fetch starts again from `share.auto.offset.reset`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::{DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::{Ctx, resolve};
use crate::coordinator::share::store;

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: DeleteShareGroupOffsetsRequest,
) -> DeleteShareGroupOffsetsResponse {
    let b = ctx.broker;
    let shares = b.shares();
    let group = req.group_id.0.to_string();
    // Kafka: GROUP DELETE for the request, TOPIC READ per topic.
    if let Err(e) = super::authz::group(ctx, Operation::Delete, &group) {
        return DeleteShareGroupOffsetsResponse::default().with_error_code(e.code.code());
    }
    if let Some(e) =
        super::coordinator_gate::refusal(b, strait_engine::cluster::CoordinatorKind::Group, &group)
    {
        return DeleteShareGroupOffsetsResponse::default().with_error_code(e.code());
    }
    let mut st = shares.lock();
    if !shares.group_exists(&st, &group) {
        return DeleteShareGroupOffsetsResponse::default()
            .with_error_code(ResponseError::GroupIdNotFound.code())
            .with_error_message(Some(StrBytes::from_string(format!(
                "Group {group} not found."
            ))));
    }
    if st.groups.get(&group).is_some_and(|g| !g.members.is_empty()) {
        return DeleteShareGroupOffsetsResponse::default()
            .with_error_code(ResponseError::NonEmptyGroup.code())
            .with_error_message(Some(StrBytes::from_string(format!(
                "Share group {group} is not empty."
            ))));
    }
    let mut ops = Vec::new();
    let responses = req
        .topics
        .iter()
        .map(|t| {
            let base = DeleteShareGroupOffsetsResponseTopic::default()
                .with_topic_name(t.topic_name.clone());
            let info = super::authz::topic(ctx, Operation::Read, &t.topic_name)
                .and_then(|()| resolve::topic(b, &t.topic_name));
            match info {
                Err(e) => base
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message))),
                Ok(info) => {
                    st.partitions
                        .retain(|(g, id, _), _| !(*g == group && *id == info.id));
                    for p in 0..info.partitions as i32 {
                        ops.push(store::delete_start_op(&(group.clone(), info.id, p)));
                    }
                    base.with_topic_id(info.id)
                }
            }
        })
        .collect();
    if !ops.is_empty() {
        shares.meta.commit_in_background(ops);
    }
    DeleteShareGroupOffsetsResponse::default().with_responses(responses)
}
