//! Reading Kinesis records out of a shard's partition: whole stored batches (built by PutRecord(s), or by Kafka
//! producers, possibly compressed) decoded into records with their sequence numbers. Shared by GetRecords and
//! SubscribeToShard.
//!
//! Kinesis readers see what a READ_COMMITTED Kafka consumer sees: reads stop at the partition's last stable
//! offset (records of a transaction still open wait there, they are not skipped), and records of aborted
//! transactions and transaction markers (control batches) are dropped.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use strait_engine::batch::{self, BatchHeader, BatchIter};
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
        | EngineError::PartitionFailed { .. }) => {
            KinesisError::Internal(format!("{STORAGE_UNAVAILABLE}: {e}"))
        }
        e @ (EngineError::CorruptMetadata { .. }
        | EngineError::MetaClosed
        | EngineError::InvalidPartitions { .. }
        | EngineError::InvalidConfig { .. }
        | EngineError::UnknownConfig(_)
        | EngineError::InvalidBatch(_)
        | EngineError::OffsetOutOfRange { .. }
        | EngineError::NotBatchBoundary(_)
        | EngineError::DataDirLocked(_)) => KinesisError::Internal(e.to_string()),
    }
}

/// How a storage failure's message starts. The engine logs each partition's and the metadata store's failure
/// and recovery once, so requests refused meanwhile are not logged again at WARN (see `Kinesis::handle`).
pub(crate) const STORAGE_UNAVAILABLE: &str = "The node's storage is unavailable";

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
            for r in decode(&header, raw)? {
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
    let first = decode(&h, &raw)?
        .into_iter()
        .find(|r| r.arrival_ms >= ts)
        .map_or(h.last_offset() + 1, |r| r.offset);
    Ok(Some(first))
}

fn corrupt(pos: i64, e: impl std::fmt::Display) -> KinesisError {
    KinesisError::Internal(format!(
        "stored batch near offset {pos} cannot be read: {e}"
    ))
}

/// The records of one stored batch, compressed or not.
fn decode(h: &BatchHeader, raw: &[u8]) -> Result<Vec<KinesisRecord>, KinesisError> {
    // The reversible rule of docs/cross-protocol.md: ordinary keys as they are, null and other keys escaped.
    let pk = |k: Option<&[u8]>| encode_kafka_key(k).into_owned();
    if h.compression() == 0 {
        let (_, recs) = batch::decode_records(raw).map_err(|e| corrupt(h.base_offset, e))?;
        return Ok(recs
            .into_iter()
            .map(|r| KinesisRecord {
                sequence_number: String::new(),
                offset: r.offset,
                arrival_ms: r.timestamp_ms,
                partition_key: pk(r.key),
                data: Bytes::copy_from_slice(r.value.unwrap_or_default()),
            })
            .collect());
    }
    let mut buf = Bytes::copy_from_slice(raw);
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| corrupt(h.base_offset, e))?;
    // kafka-protocol's decoder returns the producer's per-record timestamps even in a LogAppendTime batch, where
    // Kafka (and so the arrival time) is the batch's max timestamp, stamped by the broker.
    let log_append = h.is_log_append_time().then_some(h.max_timestamp);
    Ok(set
        .records
        .into_iter()
        .map(|r| KinesisRecord {
            sequence_number: String::new(),
            offset: r.offset,
            arrival_ms: log_append.unwrap_or(r.timestamp),
            partition_key: pk(r.key.as_deref()),
            data: r.value.unwrap_or_default(),
        })
        .collect())
}
