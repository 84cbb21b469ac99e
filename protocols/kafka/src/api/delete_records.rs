//! DeleteRecords (v0–2): moves partitions' log start offset forward (Kafka's "low watermark"); whole segments
//! below it are removed from disk, and reads below it fail with OFFSET_OUT_OF_RANGE from then on.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use strait_access::Operation;
use strait_engine::CleanupPolicy;

use super::Ctx;
use crate::broker::Broker;
use crate::error::engine_error_code;

/// Kafka's "delete up to the high watermark" offset.
const HIGH_WATERMARK: i64 = -1;

pub async fn handle(ctx: &mut Ctx<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let b = ctx.broker;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        // Kafka checks TOPIC DELETE before the topic's existence.
        let denied = super::authz::topic(ctx, Operation::Delete, &t.name.0).is_err();
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let r = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
            let outcome = if denied {
                Err(ResponseError::TopicAuthorizationFailed)
            } else {
                delete(b, &t.name.0, p.partition_index, p.offset).await
            };
            partitions.push(match outcome {
                Ok(low) => r.with_low_watermark(low).with_error_code(0),
                Err(code) => r.with_low_watermark(-1).with_error_code(code.code()),
            });
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions),
        );
    }
    DeleteRecordsResponse::default().with_topics(topics)
}

/// Returns the partition's new low watermark.
async fn delete(b: &Broker, topic: &str, index: i32, offset: i64) -> Result<i64, ResponseError> {
    let index = u32::try_from(index).map_err(|_| ResponseError::UnknownTopicOrPartition)?;
    // Only the partition's leader moves its log start (Kafka answers NOT_LEADER_OR_FOLLOWER elsewhere); asked
    // before the local log, which a node without a replica does not have.
    if b.engine()
        .topic(topic)
        .is_some_and(|t| index < t.partitions)
        && !b.cluster().is_local_leader(topic, index)
    {
        return Err(ResponseError::NotLeaderOrFollower);
    }
    let part = b
        .engine()
        .partition(topic, index)
        .map_err(|e| engine_error_code(&e))?;
    // Kafka refuses on topics that are compacted only: deleting a prefix would drop the latest value of keys
    // that compaction promises to keep. (With compact,delete, retention may delete anyway, so this may too.)
    if part.config().cleanup_policy == CleanupPolicy::Compact {
        return Err(ResponseError::PolicyViolation);
    }
    let target = if offset == HIGH_WATERMARK {
        part.high_watermark()
    } else {
        offset
    };
    // The engine answers offsets below 0 or above the high watermark with OffsetOutOfRange, and offsets at or
    // below the current start as a no-op returning it.
    part.delete_records(target)
        .await
        .map_err(|e| engine_error_code(&e))
}
