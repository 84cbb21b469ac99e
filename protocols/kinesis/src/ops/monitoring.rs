//! Shared by Enable/DisableEnhancedMonitoring: the set of shard-level metrics, recorded and reported (Strait
//! exports its own Prometheus metrics; these CloudWatch settings are kept so tools see AWS's answers).

use std::collections::BTreeSet;

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::StreamStatus;
use crate::value::Value;

/// Every shard-level metric, which `ALL` stands for.
const ALL: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "IteratorAgeMilliseconds",
    "OutgoingBytes",
    "OutgoingRecords",
    "ReadProvisionedThroughputExceeded",
    "WriteProvisionedThroughputExceeded",
];

pub(crate) async fn change(k: &Kinesis, req: &Value, enable: bool) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_active(&r)?;
    let mut metrics: BTreeSet<String> = BTreeSet::new();
    for m in req.strings("ShardLevelMetrics") {
        if m == "ALL" {
            metrics.extend(ALL.iter().map(|s| s.to_string()));
        } else {
            metrics.insert(m);
        }
    }
    let now = k.now_ms();
    let (before, after) = k
        .inner
        .store
        .update(&h, |rec| {
            let before = rec.enhanced_metrics.clone();
            if enable {
                rec.enhanced_metrics.extend(metrics);
            } else {
                rec.enhanced_metrics.retain(|m| !metrics.contains(m));
            }
            rec.status = StreamStatus::Updating;
            rec.status_since_ms = now;
            Ok((before, rec.enhanced_metrics.clone()))
        })
        .await?;
    let list = |s: BTreeSet<String>| Value::List(s.into_iter().map(Value::Str).collect());
    Ok(Value::map()
        .with("StreamName", r.name.as_str())
        .with("CurrentShardLevelMetrics", list(before))
        .with("DesiredShardLevelMetrics", list(after))
        .with("StreamARN", k.stream_arn(&r.name)))
}
