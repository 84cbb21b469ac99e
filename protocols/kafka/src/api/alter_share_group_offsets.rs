//! AlterShareGroupOffsets (v0): sets share-partition start offsets of an empty share group (creating its share
//! state if needed). Refused with NON_EMPTY_GROUP while the group has members, as Kafka does; an offset outside
//! the log is clamped to it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::{Ctx, resolve};
use crate::coordinator::share::{SharePartition, store};

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: AlterShareGroupOffsetsRequest,
) -> AlterShareGroupOffsetsResponse {
    let b = ctx.broker;
    let shares = b.shares();
    let group = req.group_id.0.to_string();
    // Kafka: GROUP READ for the request, TOPIC READ per topic (a refused topic is answered per partition).
    if let Err(e) = super::authz::group(ctx, Operation::Read, &group) {
        return AlterShareGroupOffsetsResponse::default().with_error_code(e.code.code());
    }
    if let Some(e) =
        super::coordinator_gate::refusal(b, strait_engine::cluster::CoordinatorKind::Group, &group)
    {
        return AlterShareGroupOffsetsResponse::default().with_error_code(e.code());
    }
    let mut st = shares.lock();
    if st.groups.get(&group).is_some_and(|g| !g.members.is_empty()) {
        return AlterShareGroupOffsetsResponse::default()
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
            let info = super::authz::topic(ctx, Operation::Read, &t.topic_name)
                .and_then(|()| resolve::topic(b, &t.topic_name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let base = AlterShareGroupOffsetsResponsePartition::default()
                        .with_partition_index(p.partition_index);
                    let r = info.clone().and_then(|info| {
                        resolve::partition(b, &info, p.partition_index).map(|part| (info, part))
                    });
                    match r {
                        Err(e) => base
                            .with_error_code(e.code.code())
                            .with_error_message(Some(StrBytes::from_string(e.message))),
                        Ok((info, part)) => {
                            let start = p
                                .start_offset
                                .clamp(part.log_start(), part.high_watermark());
                            let key = (group.clone(), info.id, p.partition_index);
                            let mut sp = SharePartition::new(start);
                            sp.take_dirty_start();
                            st.partitions.insert(key.clone(), sp);
                            ops.push(store::put_start_op(&key, start));
                            base
                        }
                    }
                })
                .collect();
            AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(t.topic_name.clone())
                .with_topic_id(info.map(|i| i.id).unwrap_or_default())
                .with_partitions(partitions)
        })
        .collect();
    st.groups.entry(group).or_default();
    if !ops.is_empty() {
        shares.meta.commit_in_background(ops);
    }
    AlterShareGroupOffsetsResponse::default().with_responses(responses)
}
