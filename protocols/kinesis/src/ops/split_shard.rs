//! SplitShard: an open shard becomes two children at NewStartingHashKey; the parent is sealed and keeps its
//! records (readable until retention), with an EndingSequenceNumber.

use strait_shard_map::parse_explicit_hash_key;

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    k.requested_shard(req, "ShardToSplit")?;
    let (h, _) = k.resolve(req)?;
    let _admin = h.admin.lock().await;
    let r = h.record();
    k.require_active(&r)?;
    k.require_provisioned(&r, "SplitShard")?;
    let shard = k.shard_index(&r, req.str("ShardToSplit").unwrap_or_default())?;
    let given = req.str("NewStartingHashKey").unwrap_or_default();
    let key = match parse_explicit_hash_key(given) {
        Ok(key) => key,
        // The model admits 39 digits, so a key past 2^128 - 1 gets here: out of every shard's range, which AWS
        // words like any other out-of-range key (the key as given).
        Err(_) => {
            let range = r
                .shards
                .shard(shard)
                .map_err(|e| k.shard_error(&r.name, &e))?
                .hash_range;
            return Err(KinesisError::InvalidArgument(format!(
                "NewStartingHashKey {given} used in SplitShard() on shard {} in stream {} under account {} is \
                 not both greater than one plus the shard's StartingHashKey {} and less than the shard's \
                 EndingHashKey {}.",
                strait_shard_map::shard_id(shard),
                r.name,
                k.account(),
                range.start,
                range.end
            )));
        }
    };
    let plan = r
        .shards
        .plan_split(shard, key, k.now_ms())
        .map_err(|e| k.shard_error(&r.name, &e))?;
    k.check_account_shards(&h, 1)?;
    k.execute_plan(&h, plan).await?;
    Ok(Value::map())
}
