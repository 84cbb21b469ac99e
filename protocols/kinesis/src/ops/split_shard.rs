//! SplitShard: an open shard becomes two children at NewStartingHashKey; the parent is sealed and keeps its
//! records (readable until retention), with an EndingSequenceNumber.

use strait_shard_map::parse_explicit_hash_key;

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, _) = k.resolve(req)?;
    let _admin = h.admin.lock().await;
    let r = h.record();
    k.require_active(&r)?;
    k.require_provisioned(&r, "SplitShard")?;
    let shard = k.shard_index(&r, req.str("ShardToSplit").unwrap_or_default())?;
    let key = parse_explicit_hash_key(req.str("NewStartingHashKey").unwrap_or_default())
        .map_err(|e| k.shard_error(&r.name, &e))?;
    let plan = r
        .shards
        .plan_split(shard, key, k.now_ms())
        .map_err(|e| k.shard_error(&r.name, &e))?;
    k.check_account_shards(&h, 1)?;
    k.execute_plan(&h, plan).await?;
    Ok(Value::map())
}
