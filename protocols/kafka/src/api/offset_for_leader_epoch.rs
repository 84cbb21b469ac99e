//! OffsetForLeaderEpoch (v2–4): where a leader epoch ended, so consumers (KIP-320) and followers can detect a
//! log that diverged from this one. Answers follow Kafka's leader rules (see [`resolve::epoch_end_offset`]):
//! an unknown or future epoch gets UNDEFINED_EPOCH (-1) and offset -1.

use kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use strait_access::Operation;
use strait_engine::TopicInfo;

use super::Ctx;
use super::resolve;
use crate::broker::Broker;
use crate::error::ApiError;

pub fn handle(ctx: &mut Ctx<'_>, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let b = ctx.broker;
    let topics = req
        .topics
        .iter()
        .map(|t| {
            // Kafka checks TOPIC DESCRIBE before looking the topic up, so a denied caller learns nothing.
            let topic = super::authz::topic(ctx, Operation::Describe, &t.topic)
                .and_then(|()| resolve::topic(b, &t.topic));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let out = EpochEndOffset::default().with_partition(p.partition);
                    match answer(b, &topic, p) {
                        Ok((epoch, end)) => out.with_leader_epoch(epoch).with_end_offset(end),
                        Err(e) => out
                            .with_error_code(e.code.code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

fn answer(
    b: &Broker,
    topic: &Result<TopicInfo, ApiError>,
    req: &OffsetForLeaderPartition,
) -> Result<(i32, i64), ApiError> {
    let t = topic.as_ref().map_err(Clone::clone)?;
    let p = resolve::partition_at(b, t, req.partition, req.current_leader_epoch)?;
    Ok(resolve::epoch_end_offset(b, &p, req.leader_epoch))
}
