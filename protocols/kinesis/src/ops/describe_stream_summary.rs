//! DescribeStreamSummary: the stream without its shards, plus open shard and consumer counts.

use super::common::{mode_value, monitoring_value};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let r = k.resolve_for_describe(req)?;
    let now = k.now_ms();
    let consumers = r.live_consumers(now, k.delay_ms()).count();
    let status = k.status(&r);
    // Counted over the shards DescribeStream would show in this status.
    let open = r
        .described_shards(status)
        .iter()
        .filter(|s| s.is_open())
        .count();
    let mut desc = Value::map()
        .with("StreamName", r.name.as_str())
        .with("StreamARN", k.stream_arn(&r.name))
        .with("StreamStatus", status.as_str())
        .with("StreamModeDetails", mode_value(&r))
        .with("RetentionPeriodHours", r.retention_hours)
        .with("StreamCreationTimestamp", Value::Timestamp(r.created_ms))
        .with("EnhancedMonitoring", monitoring_value(&r))
        .with("EncryptionType", r.encryption_type())
        .with_opt("KeyId", r.kms_key_id.clone())
        .with("OpenShardCount", open)
        .with("ConsumerCount", consumers)
        .with("MaxRecordSizeInKiB", r.max_record_size_kib);
    if let Some(w) = r.warm_throughput_mibps {
        desc = desc.with(
            "WarmThroughput",
            Value::map().with("TargetMiBps", w).with("CurrentMiBps", w),
        );
    }
    if let Some(s) = &r.record_distribution_strategy {
        desc = desc.with("RecordDistributionStrategy", s.as_str());
    }
    Ok(Value::map().with("StreamDescriptionSummary", desc))
}
