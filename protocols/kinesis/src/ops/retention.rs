//! Shared by Increase/DecreaseStreamRetentionPeriod: AWS's bounds and messages, and the topic's `retention.ms`
//! so the engine's retention enforces the period.

use crate::error::KinesisError;
use crate::read::engine_error;
use crate::state::Kinesis;
use crate::value::Value;

const MIN_HOURS: i64 = 24;
/// One year.
const MAX_HOURS: i64 = 8760;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Increase,
    Decrease,
}

pub(crate) async fn change(
    k: &Kinesis,
    req: &Value,
    dir: Direction,
) -> Result<Value, KinesisError> {
    let hours = req.int("RetentionPeriodHours").unwrap_or_default();
    let (h, r) = k.resolve(req)?;
    if hours < MIN_HOURS {
        return Err(KinesisError::InvalidArgument(format!(
            "Minimum allowed retention period is {MIN_HOURS} hours. Requested retention period ({hours} hours) is \
             too short."
        )));
    }
    if hours > MAX_HOURS {
        return Err(KinesisError::InvalidArgument(format!(
            "Maximum allowed retention period is {MAX_HOURS} hours. Requested retention period ({hours} hours) is \
             too long."
        )));
    }
    k.require_active(&r)?;
    let current = i64::from(r.retention_hours);
    match dir {
        Direction::Increase if hours < current => {
            return Err(KinesisError::InvalidArgument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be shorter than existing \
                 retention period ({current} hours). Use DecreaseRetentionPeriod API.",
                r.name
            )));
        }
        Direction::Decrease if hours > current => {
            return Err(KinesisError::InvalidArgument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be longer than existing \
                 retention period ({current} hours). Use IncreaseRetentionPeriod API.",
                r.name
            )));
        }
        Direction::Increase | Direction::Decrease => {}
    }
    let engine = &k.inner.engine;
    let mut overrides = engine
        .topic(&r.name)
        .ok_or_else(|| k.not_found(&r.name))?
        .overrides;
    overrides.insert("retention.ms".into(), (hours * 3_600_000).to_string());
    engine
        .set_topic_config(&r.name, overrides)
        .await
        .map_err(engine_error)?;
    k.inner
        .store
        .update(&h, |rec| {
            rec.retention_hours = hours as u32;
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
