//! GetShardIterator: a signed, stateless token holding (stream incarnation, shard, next offset, issue time) for
//! all five iterator types, with AWS's argument errors.

use strait_shard_map::{SequenceNumber, shard_id};

use crate::error::KinesisError;
use crate::read::{engine_error, offset_at_timestamp};
use crate::service::Kinesis;
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
    let kind = req.str("ShardIteratorType").unwrap_or_default();
    let seq = req.str("StartingSequenceNumber");
    let ts = req.timestamp("Timestamp");
    let combination = |has: &str| {
        KinesisError::InvalidArgument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or \
             (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and {has}."
        ))
    };
    let tip = end.unwrap_or_else(|| partition.high_watermark());
    let offset = match kind {
        "TRIM_HORIZON" | "LATEST" => {
            if seq.is_some() {
                return Err(combination("also a StartingSequenceNumber"));
            }
            if kind == "LATEST" {
                tip
            } else {
                partition.log_start()
            }
        }
        "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
            let Some(s) = seq else {
                return Err(combination("no StartingSequenceNumber"));
            };
            let invalid = |why: &str| {
                KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in GetShardIterator on shard {id} in stream {} under \
                     account {} is invalid{why}.",
                    r.name,
                    k.account()
                ))
            };
            let n = SequenceNumber::decode(s).map_err(|_| invalid(""))?;
            if n.incarnation != r.incarnation {
                return Err(invalid(" because it did not come from this stream"));
            }
            if n.shard != shard {
                return Err(KinesisError::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with \
                     {id}",
                    shard_id(n.shard)
                )));
            }
            let at = if kind == "AT_SEQUENCE_NUMBER" {
                n.offset
            } else {
                n.offset.saturating_add(1)
            };
            // A shard's starting number decodes to offset -1; records below the log start are gone (retention).
            at.max(partition.log_start()).min(tip)
        }
        // AT_TIMESTAMP (the model's enum admits nothing else).
        _ => {
            let Some(ts) = ts else {
                return Err(KinesisError::InvalidArgument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request \
                     has no timestamp parameter."
                        .into(),
                ));
            };
            if ts > now {
                return Err(KinesisError::InvalidArgument(format!(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. \
                     timestampInMillis: {ts}, currentTimestampInMillis: {now}"
                )));
            }
            offset_at_timestamp(&partition, ts)
                .await?
                .unwrap_or(tip)
                .min(tip)
        }
    };
    let token = IteratorToken {
        stream: r.name.clone(),
        incarnation: r.incarnation,
        shard,
        offset,
        issued_ms: now,
    };
    Ok(Value::map().with("ShardIterator", token.encode(k.inner.store.secret())))
}
