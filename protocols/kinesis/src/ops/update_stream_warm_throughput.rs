//! UpdateStreamWarmThroughput: records the warm throughput of an ON_DEMAND stream (Strait has no throughput
//! ceiling to warm up, so the value is reported as both target and current).

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::StreamMode;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_active(&r)?;
    if r.mode != StreamMode::OnDemand {
        return Err(KinesisError::InvalidArgument(format!(
            "Warm throughput can only be set on ON_DEMAND streams; stream {} under account {} is PROVISIONED.",
            r.name,
            k.account()
        )));
    }
    let mibps = req.int("WarmThroughputMiBps").unwrap_or_default() as u32;
    k.inner
        .store
        .update(&h, |rec| {
            rec.warm_throughput_mibps = Some(mibps);
            Ok(())
        })
        .await?;
    Ok(Value::map()
        .with("StreamARN", k.stream_arn(&r.name))
        .with("StreamName", r.name.as_str())
        .with(
            "WarmThroughput",
            Value::map()
                .with("TargetMiBps", mibps)
                .with("CurrentMiBps", mibps),
        ))
}
