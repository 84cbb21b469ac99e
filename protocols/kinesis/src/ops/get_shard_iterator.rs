//! GetShardIterator: a signed, stateless token holding (stream incarnation, shard, next offset, issue time) for
//! all five iterator types, with AWS's argument errors.

use crate::error::KinesisError;
use crate::read::engine_error;
use crate::start::{ShardContext, StartingPosition, resolve};
use crate::state::Kinesis;
use crate::tokens::IteratorToken;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    // AWS checks the form of the shard id first, and words an unknown stream as an unknown shard of it.
    let index = k.requested_shard(req, "ShardId")?;
    let r = match k.resolve(req) {
        Ok((_, r)) => r,
        Err(KinesisError::ResourceNotFound(_)) => {
            return Err(k.missing_read_shard(&k.requested_name(req)?, index));
        }
        Err(e) => return Err(e),
    };
    k.require_readable(&r)?;
    let shard = k.read_shard_index(&r, req.str("ShardId").unwrap_or_default())?;
    // Messages name the shard by its canonical id, whatever spelling the request used.
    let id = &strait_shard_map::shard_id(shard);
    let now = k.now_ms();
    if r.shard_expired(shard, now) {
        return Err(KinesisError::ResourceNotFound(format!(
            "Shard {id} in stream {} under account {} has expired.",
            r.name,
            k.account()
        )));
    }
    let info = *r
        .shards
        .shard(shard)
        .map_err(|e| k.shard_error(&r.name, &e))?;
    let end = info.closed.map(|c| c.end_offset);
    let partition = k
        .inner
        .engine
        .partition(&r.name, shard)
        .map_err(engine_error)?;
    let cx = ShardContext {
        api: "GetShardIterator",
        sequence_member: "StartingSequenceNumber",
        stream: &r.name,
        incarnation: r.incarnation,
        account: k.account(),
        shard,
        shard_id: id,
        partition: &partition,
        tip: end.unwrap_or_else(|| partition.high_watermark()),
    };
    let start = StartingPosition {
        kind: req.str("ShardIteratorType").unwrap_or_default(),
        sequence_number: req.str("StartingSequenceNumber"),
        timestamp: req.timestamp("Timestamp"),
    };
    let offset = resolve(&cx, &start, now).await?;
    let token = IteratorToken {
        stream: r.name.clone(),
        incarnation: r.incarnation,
        shard,
        offset,
        issued_ms: now,
    };
    Ok(Value::map().with("ShardIterator", token.encode(k.inner.store.secret())))
}
