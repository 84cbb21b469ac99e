//! DescribeStream: the stream and a page of its shards (Limit, ExclusiveStartShardId, HasMoreShards), as its
//! status shows them (none while CREATING or DELETING, the old layout while a resharding is UPDATING).

use super::common::{mode_value, monitoring_value, page_size, shard_ref, shard_value};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

/// AWS returns at most 100 shards per call unless Limit says fewer.
const DEFAULT_LIMIT: usize = 100;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let r = k.resolve_for_describe(req)?;
    let limit = page_size(req, "Limit", DEFAULT_LIMIT).min(DEFAULT_LIMIT);
    // Shards after the exclusive start, by index (an id that is not a shard id of ours starts from the beginning
    // of the ids that sort after it, as AWS compares ids as strings).
    let after = req.str("ExclusiveStartShardId");
    let status = k.status(&r);
    let described = r.described_shards(status);
    let shards: Vec<_> = described
        .iter()
        .filter(|s| match after {
            None => true,
            Some(a) => match shard_ref(a) {
                Some(i) => s.index > i,
                None => s.shard_id().as_str() > a,
            },
        })
        .collect();
    let has_more = shards.len() > limit;
    let page: Vec<Value> = shards
        .into_iter()
        .take(limit)
        .map(|s| shard_value(&r, s))
        .collect();
    let desc = Value::map()
        .with("StreamName", r.name.as_str())
        .with("StreamARN", k.stream_arn(&r.name))
        .with("StreamStatus", status.as_str())
        .with("StreamModeDetails", mode_value(&r))
        .with("Shards", Value::List(page))
        .with("HasMoreShards", has_more)
        .with("RetentionPeriodHours", r.retention_hours)
        .with("StreamCreationTimestamp", Value::Timestamp(r.created_ms))
        .with("EnhancedMonitoring", monitoring_value(&r))
        .with("EncryptionType", r.encryption_type())
        .with_opt("KeyId", r.kms_key_id.clone());
    Ok(Value::map().with("StreamDescription", desc))
}
