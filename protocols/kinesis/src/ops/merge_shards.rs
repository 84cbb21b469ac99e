//! MergeShards: two adjacent open shards become one child (ParentShardId = ShardToMerge, AdjacentParentShardId =
//! AdjacentShardToMerge); both parents are sealed.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    k.requested_shard(req, "ShardToMerge")?;
    k.requested_shard(req, "AdjacentShardToMerge")?;
    let (h, _) = k.resolve(req)?;
    let _admin = h.admin.lock().await;
    let r = h.record();
    k.require_active(&r)?;
    k.require_provisioned(&r, "MergeShards")?;
    let shard = k.shard_index(&r, req.str("ShardToMerge").unwrap_or_default())?;
    let adjacent = k.shard_index(&r, req.str("AdjacentShardToMerge").unwrap_or_default())?;
    let plan = r
        .shards
        .plan_merge(shard, adjacent, k.now_ms())
        .map_err(|e| k.shard_error(&r.name, &e))?;
    // The shard map merges a pair in either order; AWS only in hash-key order: ShardToMerge's range must end
    // right before AdjacentShardToMerge's.
    let range = |i: u32| r.shards.shard(i).map(|s| s.hash_range);
    let (lower, upper) = (
        range(shard).map_err(|e| k.shard_error(&r.name, &e))?,
        range(adjacent).map_err(|e| k.shard_error(&r.name, &e))?,
    );
    if lower.end.checked_add(1) != Some(upper.start) {
        return Err(k.shard_error(
            &r.name,
            &strait_shard_map::ShardMapError::NotAdjacent { shard, adjacent },
        ));
    }
    k.execute_plan(&h, plan).await?;
    Ok(Value::map())
}
