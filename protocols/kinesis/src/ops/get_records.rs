//! GetRecords: records from an iterator's position, a fresh NextShardIterator, MillisBehindLatest, and at the end
//! of a closed shard no iterator but its ChildShards (KCL checks: NextShardIterator is null iff ChildShards is
//! non-empty).

use strait_shard_map::shard_id;

use crate::child_shards::child_shard_value;
use crate::error::KinesisError;
use crate::read::{engine_error, read_shard};
use crate::state::Kinesis;
use crate::time::java_date;
use crate::tokens::IteratorToken;
use crate::value::Value;

/// AWS's default and largest Limit.
const DEFAULT_LIMIT: usize = 10_000;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let key = k.inner.store.secret();
    let it = IteratorToken::decode(key, req.str("ShardIterator").unwrap_or_default())?;
    let now = k.now_ms();
    let ttl = k.inner.cfg.iterator_ttl.as_millis() as i64;
    if now - it.issued_ms > ttl {
        return Err(KinesisError::ExpiredIterator(format!(
            "Iterator expired. The iterator was created at time {} while right now it is {} which is further in \
             the future than the tolerated delay of {ttl} milliseconds.",
            java_date(it.issued_ms),
            java_date(now)
        )));
    }
    let sid = shard_id(it.shard);
    let gone = || {
        KinesisError::ResourceNotFound(format!(
            "Shard {sid} in stream {} under account {} does not exist",
            it.stream,
            k.account()
        ))
    };
    let (_, r) = k.lookup(&it.stream).map_err(|_| gone())?;
    if r.incarnation != it.incarnation {
        return Err(gone());
    }
    if let Some(a) = req.str("StreamARN")
        && k.stream_name_of_arn(a)? != r.name
    {
        return Err(KinesisError::InvalidArgument(format!(
            "StreamARN {a} does not match the stream of the ShardIterator."
        )));
    }
    let info = *r.shards.shard(it.shard).map_err(|_| gone())?;
    let lkey = (r.name.clone(), r.incarnation, it.shard);
    if !k.inner.limits.admit_read(lkey.clone(), now) {
        return Err(KinesisError::ProvisionedThroughputExceeded(format!(
            "Rate exceeded for shard {sid} in stream {} under account {}.",
            r.name,
            k.account()
        )));
    }
    let limit = req
        .int("Limit")
        .map_or(DEFAULT_LIMIT, |n| n.clamp(1, DEFAULT_LIMIT as i64) as usize);
    let partition = k
        .inner
        .engine
        .partition(&r.name, it.shard)
        .map_err(engine_error)?;
    let end = info.closed.map(|c| c.end_offset);
    let read = read_shard(&partition, r.incarnation, it.shard, it.offset, end, limit).await?;
    let bytes: usize = read
        .records
        .iter()
        .map(|x| x.data.len() + x.partition_key.len())
        .sum();
    k.inner.limits.count_read_bytes(lkey, bytes as u64, now);
    crate::read::count_delivered(&partition, &read.records);
    let behind = match read.records.last() {
        _ if read.next_offset >= read.high_watermark => 0,
        Some(last) => (now - last.arrival_ms).max(0),
        None => 0,
    };
    let kms = r.kms_key_id.is_some();
    let records: Vec<Value> = read
        .records
        .into_iter()
        .map(|x| {
            let v = Value::map()
                .with("SequenceNumber", x.sequence_number)
                .with(
                    "ApproximateArrivalTimestamp",
                    Value::Timestamp(x.arrival_ms),
                )
                .with("Data", Value::Blob(x.data.to_vec()))
                .with("PartitionKey", x.partition_key);
            if kms {
                v.with("EncryptionType", "KMS")
            } else {
                v
            }
        })
        .collect();
    let mut out = Value::map().with("Records", Value::List(records));
    match end {
        Some(end) if read.next_offset >= end => {
            let children: Vec<Value> = r
                .shards
                .children(it.shard)
                .into_iter()
                .map(child_shard_value)
                .collect();
            out = out
                .with("MillisBehindLatest", 0i64)
                .with("ChildShards", Value::List(children));
        }
        _ => {
            let next = IteratorToken {
                offset: read.next_offset,
                issued_ms: now,
                ..it
            };
            out = out
                .with("NextShardIterator", next.encode(key))
                .with("MillisBehindLatest", behind);
        }
    }
    Ok(out)
}
