//! OffsetDelete: removes committed offsets of topics a group no longer consumes.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use strait_engine::cluster::CoordinatorKind;

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    // Kafka: GROUP DELETE for the request, then TOPIC READ per topic (a denied topic is answered per partition
    // and not passed to the coordinator).
    if let Err(e) = super::authz::group(ctx, Operation::Delete, &req.group_id.0) {
        return OffsetDeleteResponse::default().with_error_code(e.code.code());
    }
    if let Some(e) =
        super::coordinator_gate::refusal(ctx.broker, CoordinatorKind::Group, &req.group_id)
    {
        return OffsetDeleteResponse::default().with_error_code(e.code());
    }
    let (topics, denied): (Vec<(String, Vec<i32>)>, Vec<_>) = req
        .topics
        .into_iter()
        .map(|t| {
            (
                t.name.0.to_string(),
                t.partitions
                    .into_iter()
                    .map(|p| p.partition_index)
                    .collect(),
            )
        })
        .partition(|(t, _)| super::authz::topic(ctx, Operation::Read, t).is_ok());
    let refused = Some(ResponseError::TopicAuthorizationFailed);
    let denied = denied
        .into_iter()
        .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, refused)).collect::<Vec<_>>()));
    match ctx
        .broker
        .groups()
        .delete_offsets(&req.group_id.0, &topics)
        .await
    {
        Err(e) => OffsetDeleteResponse::default().with_error_code(e.code()),
        Ok(results) => OffsetDeleteResponse::default().with_topics(
            denied
                .chain(results)
                .map(|(name, partitions)| {
                    OffsetDeleteResponseTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(p, e)| {
                                    OffsetDeleteResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_error_code(e.map_or(0, |e| e.code()))
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
    }
}
