//! Reading Kinesis records out of a shard's partition: whole stored batches (built by PutRecord(s), or by Kafka
//! producers, possibly compressed) decoded into records with their sequence numbers. Shared by GetRecords and
//! SubscribeToShard.
//!
//! Compressed batches are inflated with the node's cap (`batch::inflate`), never without a bound. A stored batch
//! that cannot be decoded (damaged on disk, or appended before records were validated on append) is skipped:
//! logged, counted in `strait_damaged_batches_total{reader="kinesis"}`, and read past, so a consumer keeps moving
//! instead of getting InternalFailure on every call; its records are lost to Kinesis readers.
//!
//! Kinesis readers see what a READ_COMMITTED Kafka consumer sees: reads stop at the partition's last stable
//! offset (records of a transaction still open wait there, they are not skipped), and records of aborted
//! transactions and transaction markers (control batches) are dropped.

use bytes::Bytes;
use strait_engine::batch::{self, BatchError, BatchHeader, BatchIter};
use strait_engine::{EngineError, Partition};
use strait_shard_map::{SequenceNumber, encode_kafka_key};

use crate::error::KinesisError;

/// Most data one GetRecords call returns (AWS: 10 MiB).
pub const MAX_READ_BYTES: usize = 10 * 1024 * 1024;
/// Bytes asked of the engine per read round; batches are returned whole, so a larger batch still comes back.
const CHUNK: usize = 1024 * 1024;

/// One record as Kinesis presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisRecord {
    pub sequence_number: String,
    pub offset: i64,
    /// ApproximateArrivalTimestamp (the stored record timestamp), Unix ms.
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Bytes,
}

/// The result of reading a shard from a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRead {
    pub records: Vec<KinesisRecord>,
    /// The offset to continue from.
    pub next_offset: i64,
    /// The end of what readers may see when the read was made: the partition's last stable offset (its high
    /// watermark unless a Kafka transaction is open).
    pub high_watermark: i64,
}

/// Counts records handed to a Kinesis consumer (GetRecords, SubscribeToShard) in the partition's traffic, in
/// Kinesis's own measure: data plus partition key bytes, as AWS meters GetRecords.Bytes.
pub fn count_delivered(partition: &Partition, records: &[KinesisRecord]) {
    let bytes: usize = records
        .iter()
        .map(|r| r.data.len() + r.partition_key.len())
        .sum();
    partition
        .traffic()
        .delivered(bytes as u64, records.len() as u64);
}

/// Maps an engine failure during a read or write onto AWS's answers. Exhaustive on purpose: a new engine error
/// must be placed deliberately.
pub fn engine_error(e: EngineError) -> KinesisError {
    match e {
        EngineError::UnknownTopic(t) => {
            KinesisError::ResourceNotFound(format!("Stream {t} not found."))
        }
        EngineError::UnknownPartition { topic, partition } => {
            KinesisError::ResourceNotFound(format!(
                "Shard {} in stream {topic} does not exist.",
                strait_shard_map::shard_id(partition)
            ))
        }
        EngineError::InvalidTopicName { name, reason } => {
            KinesisError::InvalidArgument(format!("Invalid stream name {name}: {reason}"))
        }
        EngineError::TopicExists(t) => {
            KinesisError::ResourceInUse(format!("Stream {t} already exists."))
        }
        EngineError::MessageTooLarge { size, max } => KinesisError::InvalidArgument(format!(
            "Records of {size} bytes exceed the largest batch the stream accepts ({max} bytes)."
        )),
        EngineError::ShuttingDown => KinesisError::Internal("the server is shutting down".into()),
        // A put that raced a reshard reached the sealed partition of the closed parent shard. SDKs retry
        // InternalFailure, and the retry routes to a child shard with the new map.
        e @ EngineError::PartitionSealed { .. } => KinesisError::Internal(e.to_string()),
        // Storage failures are transient (the node recovers once the disk takes writes again); SDKs retry
        // InternalFailure (500), and the message says why.
        e @ (EngineError::Io { .. }
        | EngineError::Meta(_)
        | EngineError::PartitionFailed { .. }
        | EngineError::NoRemoteStore
        | EngineError::RemoteStore { .. }) => KinesisError::StorageUnavailable(e.to_string()),
        // Until writes are forwarded to shard leaders, a node that does not lead the shard says so; SDKs retry
        // InternalFailure.
        e @ EngineError::NotLeader { .. } => KinesisError::Internal(e.to_string()),
        e @ (EngineError::CorruptMetadata { .. }
        | EngineError::MetaClosed
        | EngineError::InvalidPartitions { .. }
        | EngineError::InvalidConfig { .. }
        | EngineError::UnknownConfig(_)
        | EngineError::InvalidBatch(_)
        | EngineError::OffsetOutOfRange { .. }
        | EngineError::NotBatchBoundary(_)
        | EngineError::ReplicaOffsetMismatch { .. }
        | EngineError::NotReplicated { .. }
        | EngineError::RemoteSegmentMismatch { .. }
        | EngineError::DataDirLocked(_)) => KinesisError::Internal(e.to_string()),
    }
}

/// Reads up to `limit` records (and about [`MAX_READ_BYTES`] of data) from `from`, never past `end` (a sealed
/// shard's end offset). A position below the log start (data aged out by retention) reads from the log start,
/// as AWS's iterators skip expired records.
pub async fn read_shard(
    partition: &Partition,
    incarnation: u32,
    shard: u32,
    from: i64,
    end: Option<i64>,
    limit: usize,
) -> Result<ShardRead, KinesisError> {
    let mut pos = from.max(partition.log_start());
    let hw = partition.last_stable_offset();
    let stop = end.map_or(hw, |e| e.min(hw));
    // Aborted transactions overlapping the range (usually none: a lock and an empty list).
    let aborted = partition.aborted_transactions(pos, stop);
    let mut records = Vec::new();
    let mut bytes = 0usize;
    'outer: while pos < stop && records.len() < limit {
        let chunk = match partition.read(pos, CHUNK).await {
            Ok(r) => r.records,
            // Retention moved the log start between our check and the read: continue from the new start.
            Err(EngineError::OffsetOutOfRange { log_start, .. }) if pos < log_start => {
                pos = log_start;
                continue;
            }
            Err(e) => return Err(engine_error(e)),
        };
        if chunk.is_empty() {
            break;
        }
        let mut progressed = false;
        for item in BatchIter::new(&chunk) {
            let (header, range) = item.map_err(|e| corrupt(pos, e))?;
            let raw = &chunk[range];
            if header.last_offset() < pos {
                continue;
            }
            if header.base_offset >= stop {
                break 'outer;
            }
            progressed = true;
            let aborted_data = header.is_transactional()
                && aborted
                    .iter()
                    .any(|a| a.covers(header.producer_id, header.base_offset));
            if header.is_control() || aborted_data {
                pos = header.last_offset() + 1;
                continue;
            }
            let decoded = match decode(raw, partition.max_inflated_batch_bytes()) {
                Ok(d) => d,
                Err(e) => {
                    damaged(partition, &header, &e);
                    pos = header.last_offset() + 1;
                    continue;
                }
            };
            for r in decoded {
                if r.offset < pos {
                    continue;
                }
                if r.offset >= stop || records.len() >= limit {
                    break 'outer;
                }
                let size = r.data.len() + r.partition_key.len();
                if !records.is_empty() && bytes + size > MAX_READ_BYTES {
                    break 'outer;
                }
                bytes += size;
                pos = r.offset + 1;
                records.push(KinesisRecord {
                    sequence_number: SequenceNumber {
                        incarnation,
                        shard,
                        offset: r.offset,
                    }
                    .encode(),
                    ..r
                });
            }
            // Offsets inside a batch can have gaps (compacted Kafka batches); the batch end is authoritative.
            pos = pos.max(header.last_offset() + 1);
        }
        if !progressed {
            break;
        }
    }
    Ok(ShardRead {
        records,
        next_offset: pos.min(stop.max(from)),
        high_watermark: hw,
    })
}

/// The offset of the first record with a timestamp at or after `ts`, from the engine's time index lookup, or
/// `None` when every record is older.
pub async fn offset_at_timestamp(
    partition: &Partition,
    ts: i64,
) -> Result<Option<i64>, KinesisError> {
    let Some((h, raw)) = partition
        .find_by_timestamp(ts)
        .await
        .map_err(engine_error)?
    else {
        return Ok(None);
    };
    let first = match decode(&raw, partition.max_inflated_batch_bytes()) {
        Ok(records) => records
            .into_iter()
            .find(|r| r.arrival_ms >= ts)
            .map_or(h.last_offset() + 1, |r| r.offset),
        // The batch's header is sound (the engine indexed it): start there, and the read skips the batch.
        Err(e) => {
            damaged(partition, &h, &e);
            h.base_offset
        }
    };
    Ok(Some(first))
}

fn corrupt(pos: i64, e: impl std::fmt::Display) -> KinesisError {
    KinesisError::Internal(format!(
        "stored batch near offset {pos} cannot be read: {e}"
    ))
}

/// Logs and counts a stored batch that cannot be decoded; the caller reads past it.
fn damaged(partition: &Partition, h: &BatchHeader, e: &BatchError) {
    metrics::counter!("strait_damaged_batches_total", "reader" => "kinesis").increment(1);
    tracing::warn!(topic = partition.topic(), partition = partition.index(), base_offset = h.base_offset,
        last_offset = h.last_offset(), error = %e, "skipping a stored batch that cannot be decoded");
}

/// The records of one stored batch, compressed or not (inflating at most `max_inflated` bytes).
fn decode(raw: &[u8], max_inflated: u64) -> Result<Vec<KinesisRecord>, BatchError> {
    // The reversible rule of docs/cross-protocol.md: ordinary keys as they are, null and other keys escaped.
    let pk = |k: Option<&[u8]>| encode_kafka_key(k).into_owned();
    // LogAppendTime batches carry the broker's timestamp as every record's (the decoder applies it).
    let inflated = batch::inflate(raw, max_inflated)?;
    Ok(inflated
        .records()?
        .into_iter()
        .map(|r| KinesisRecord {
            sequence_number: String::new(),
            offset: r.offset,
            arrival_ms: r.timestamp_ms,
            partition_key: pk(r.key),
            data: Bytes::copy_from_slice(r.value.unwrap_or_default()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use strait_engine::batch::{BatchBuilder, RecordInput};
    use strait_engine::{AppendOptions, Engine, EngineConfig};

    use super::*;

    fn batch(tag: &str, n: usize) -> bytes::BytesMut {
        let mut b = BatchBuilder::new();
        for i in 0..n {
            let v = format!("{tag}-{i}");
            b.push(RecordInput {
                key: Some(b"pk"),
                value: Some(v.as_bytes()),
                headers: &[],
                timestamp_ms: 1000,
            });
        }
        b.finish()
    }

    /// A batch damaged on disk (here: a flipped byte in its records, so its CRC no longer matches) is skipped:
    /// the read returns the batches around it and moves past it, instead of failing on every call.
    #[tokio::test]
    async fn a_damaged_stored_batch_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(EngineConfig {
            data_dir: dir.path().to_path_buf(),
            ..EngineConfig::default()
        })
        .await
        .expect("engine");
        engine
            .create_topic("s", 1, BTreeMap::new())
            .await
            .expect("topic");
        let p = engine.partition("s", 0).expect("partition");
        let mut sizes = Vec::new();
        for tag in ["a", "b", "c"] {
            let b = batch(tag, 2);
            sizes.push(b.len());
            p.append(b.into(), AppendOptions::default())
                .await
                .expect("append");
        }
        let seg = dir.path().join("logs/s-0").join(format!("{:020}.log", 0));
        let mut bytes = std::fs::read(&seg).expect("segment");
        let in_b = sizes[0] + sizes[1] - 3; // inside batch "b"'s last record value
        bytes[in_b] ^= 0xff;
        std::fs::write(&seg, &bytes).expect("damage the segment");

        let read = read_shard(&p, 0, 0, 0, None, 100).await.expect("read");
        let data: Vec<&[u8]> = read.records.iter().map(|r| &r.data[..]).collect();
        assert_eq!(data, [&b"a-0"[..], b"a-1", b"c-0", b"c-1"]);
        assert_eq!(read.next_offset, 6);
        // Starting inside the damaged batch moves on too.
        let read = read_shard(&p, 0, 0, 2, None, 100).await.expect("read");
        assert_eq!(read.records.len(), 2);
        assert_eq!(read.records[0].offset, 4);
        engine.shutdown().await.expect("shutdown");
    }
}
