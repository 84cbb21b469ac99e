//! GetShardIterator: a signed, stateless token holding (stream incarnation, shard, next offset, issue time) for
//! all five iterator types, with AWS's argument errors.

use crate::error::KinesisError;
use crate::read::engine_error;
use crate::start::{ShardContext, StartingPosition, resolve};
use crate::state::Kinesis;
use crate::tokens::IteratorToken;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (_, r) = k.resolve(req)?;
    k.require_readable(&r)?;
    let id = req.str("ShardId").unwrap_or_default();
    let shard = k.read_shard_index(&r, id)?;
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
