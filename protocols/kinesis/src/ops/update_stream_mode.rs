//! UpdateStreamMode: PROVISIONED <-> ON_DEMAND. The shards stay as they are (on AWS an ON_DEMAND stream then
//! scales by itself; Strait does not autoscale). The stream is UPDATING for the status delay.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::{StreamMode, StreamStatus};
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    let mode = req
        .member("StreamModeDetails")
        .and_then(|m| m.str("StreamMode"))
        .and_then(StreamMode::parse)
        .unwrap_or(StreamMode::Provisioned);
    k.require_active(&r)?;
    if mode == r.mode {
        return Err(KinesisError::InvalidArgument(format!(
            "Stream {} under account {} is already in {} mode.",
            r.name,
            k.account(),
            mode.as_str()
        )));
    }
    let now = k.now_ms();
    k.inner
        .store
        .update(&h, |rec| {
            rec.mode = mode;
            rec.status = StreamStatus::Updating;
            rec.status_since_ms = now;
            if let Some(w) = req.int("WarmThroughputMiBps") {
                rec.warm_throughput_mibps = Some(w as u32);
            }
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
