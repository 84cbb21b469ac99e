//! CreateStream: a topic with one partition per shard, and the stream's Kinesis record (CREATING, then ACTIVE
//! after the status delay).

use std::collections::BTreeMap;

use strait_shard_map::ShardMap;

use crate::error::KinesisError;
use crate::ops::write::MAX_BATCH_BYTES;
use crate::state::Kinesis;
use crate::store::{StreamMode, StreamRecord};
use crate::value::Value;

/// A new ON_DEMAND stream starts with 4 shards' worth of capacity (4 MB/s write), as on AWS.
const ON_DEMAND_SHARDS: u32 = 4;
/// AWS's default and smallest retention.
const DEFAULT_RETENTION_HOURS: i64 = 24;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let name = req.string("StreamName").unwrap_or_default();
    let mode = req
        .member("StreamModeDetails")
        .and_then(|m| m.str("StreamMode"))
        .and_then(StreamMode::parse)
        .unwrap_or(StreamMode::Provisioned);
    let count = match (mode, req.int("ShardCount")) {
        (StreamMode::Provisioned, Some(n)) => u32::try_from(n)
            .map_err(|_| KinesisError::InvalidArgument(format!("ShardCount {n} is too large.")))?,
        (StreamMode::Provisioned, None) => {
            return Err(KinesisError::InvalidArgument(
                "ShardCount is required when the stream mode is PROVISIONED.".into(),
            ));
        }
        (StreamMode::OnDemand, _) => ON_DEMAND_SHARDS,
    };
    let tags = super::add_tags_to_stream::parse_tags(k, &format!("stream {name}"), req)?;
    let _lifecycle = k.inner.store.lifecycle.lock().await;
    let now = k.now_ms();
    if k.inner.store.get(&k.inner.engine, &name).is_some()
        || k.inner.store.tombstone(&name, now, k.delay_ms()).is_some()
    {
        return Err(KinesisError::ResourceInUse(format!(
            "Stream {name} under account {} already exists.",
            k.account()
        )));
    }
    let cfg = &k.inner.cfg;
    let open = k.open_shards_in_account();
    if u64::from(open) + u64::from(count) > u64::from(cfg.shard_limit) {
        return Err(KinesisError::LimitExceeded(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for the \
             account: {open}. Limit: {}. Number of additional shards that would have resulted from this \
             request: {count}. Refer to the AWS Service Limits page \
             (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how \
             to request higher limits.",
            cfg.account_id, cfg.region, cfg.shard_limit
        )));
    }
    if mode == StreamMode::OnDemand && k.on_demand_streams() >= cfg.on_demand_stream_limit {
        return Err(KinesisError::LimitExceeded(format!(
            "This request would exceed the limit of {} on-demand streams for the account {} in {}.",
            cfg.on_demand_stream_limit, cfg.account_id, cfg.region
        )));
    }
    let shards = ShardMap::new(count, now).map_err(|e| k.shard_error(&name, &e))?;
    let mut record = StreamRecord::new(&name, now, mode, shards);
    record.tags = tags;
    if let Some(kib) = req.int("MaxRecordSizeInKiB") {
        record.max_record_size_kib = kib as u32;
    }
    record.warm_throughput_mibps = req.int("WarmThroughputMiBps").map(|n| n as u32);
    record.record_distribution_strategy = req.string("RecordDistributionStrategy");
    let overrides = BTreeMap::from([
        (
            "retention.ms".to_string(),
            (DEFAULT_RETENTION_HOURS * 3_600_000).to_string(),
        ),
        ("max.message.bytes".to_string(), MAX_BATCH_BYTES.to_string()),
    ]);
    // The stream record commits with the topic record, so a failed creation leaves neither behind.
    let op = k.inner.store.record_op(&record)?;
    let topic = k
        .inner
        .engine
        .create_topic_with(&name, count, overrides, vec![op])
        .await
        .map_err(crate::read::engine_error)?;
    // The topic's id exists only once the topic does: stamp the record with it (store::lifecycle). Until then, and
    // if this fails, a record without an id belongs to whatever topic has the name, which is this one; the next
    // start stamps it.
    record.topic_id = Some(topic.id);
    if let Err(e) = k.inner.store.persist(&record).await {
        tracing::warn!(stream = %name, error = %e, "could not record the topic id of a new stream");
    }
    Ok(Value::map())
}

impl Kinesis {
    /// Topics created through Kafka are always PROVISIONED views, so only Kinesis streams can be ON_DEMAND.
    fn on_demand_streams(&self) -> u32 {
        self.inner
            .store
            .kinesis_records()
            .iter()
            .filter(|r| r.mode == StreamMode::OnDemand)
            .count() as u32
    }
}
