//! DescribeLimits: the account's shard limit and usage, and the on-demand stream limit and usage.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::StreamMode;
use crate::value::Value;

/// Counts what the limits count: the Kinesis streams, not topics created through Kafka (see
/// [`Kinesis::open_shards_in_account`]), so OpenShardCount + a new stream's shards > ShardLimit is exactly when
/// CreateStream refuses.
pub(crate) async fn handle(k: &Kinesis, _req: &Value) -> Result<Value, KinesisError> {
    let records = k.inner.store.kinesis_records();
    let open: u32 = records.iter().map(|r| r.shards.open_count()).sum();
    let on_demand = records
        .iter()
        .filter(|r| r.mode == StreamMode::OnDemand)
        .count();
    let cfg = &k.inner.cfg;
    Ok(Value::map()
        .with("ShardLimit", cfg.shard_limit)
        .with("OpenShardCount", open)
        .with("OnDemandStreamCount", on_demand)
        .with("OnDemandStreamCountLimit", cfg.on_demand_stream_limit))
}
