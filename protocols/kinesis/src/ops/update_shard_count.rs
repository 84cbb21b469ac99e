//! UpdateShardCount (UNIFORM_SCALING): splits and merges to the target count with even ranges, within AWS's
//! limits (at most double, at least half the open count; the account shard limit; 10 scalings per rolling 24
//! hours).

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

/// AWS allows this many UpdateShardCount calls per stream in a rolling 24 hours.
const SCALINGS_PER_DAY: usize = 10;
const DAY_MS: i64 = 24 * 3_600_000;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, _) = k.resolve(req)?;
    let _admin = h.admin.lock().await;
    let r = h.record();
    k.require_active(&r)?;
    k.require_provisioned(&r, "UpdateShardCount")?;
    let target = u32::try_from(req.int("TargetShardCount").unwrap_or_default())
        .map_err(|_| KinesisError::InvalidArgument("TargetShardCount is out of range.".into()))?;
    let now = k.now_ms();
    let recent: Vec<i64> = r
        .scaling_history_ms
        .iter()
        .copied()
        .filter(|t| now - t < DAY_MS)
        .collect();
    if recent.len() >= SCALINGS_PER_DAY {
        return Err(KinesisError::LimitExceeded(format!(
            "Exceeded the number of UpdateShardCount calls allowed in a rolling 24 hour period \
             ({SCALINGS_PER_DAY}) for stream {} under account {}.",
            r.name,
            k.account()
        )));
    }
    let current = r.shards.open_count();
    let plan = r
        .shards
        .plan_update_shard_count(target, k.inner.cfg.shard_limit, now)
        .map_err(|e| k.shard_error(&r.name, &e))?;
    if target > current {
        k.check_account_shards(&h, target - current)?;
    }
    if !plan.is_empty() {
        k.execute_plan(&h, plan).await?;
    }
    k.inner
        .store
        .update_locked(&h, |rec| {
            rec.scaling_history_ms = recent;
            rec.scaling_history_ms.push(now);
            Ok(())
        })
        .await?;
    Ok(Value::map()
        .with("StreamName", r.name.as_str())
        .with("CurrentShardCount", current)
        .with("TargetShardCount", target)
        .with("StreamARN", k.stream_arn(&r.name)))
}
