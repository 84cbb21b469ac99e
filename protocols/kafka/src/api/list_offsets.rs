//! ListOffsets (v1–10): offsets by special timestamp or by time.
//!
//! - LATEST (-1): the high watermark, or for READ_COMMITTED the last stable offset (the first offset of the
//!   earliest open transaction, else the high watermark).
//! - EARLIEST (-2): the log start, whether that offset is on local disk or in the object store (tiering).
//! - EARLIEST_LOCAL (-4, KIP-1005): the first offset on local disk: past the tiered segments that left it, else
//!   the log start.
//! - MAX_TIMESTAMP (-3): the first record carrying the largest timestamp, found inside the batch the engine
//!   indexes for it (compressed batches are decompressed for this, with the node's cap on the inflated size).
//! - LATEST_TIERED (-5, KIP-1005): the last offset of the tiered segments whose local copy is gone, or "no
//!   offset" (-1) when none is, as Kafka answers without remote storage. A segment uploaded but still on local
//!   disk (local retention not yet passed) is not counted: the engine learns of it when it hands the segment over.
//! - A timestamp: the first record at or after the log start whose timestamp is >= it, or -1 if none.
//!
//! A stored batch whose records cannot be decoded (damaged, or a decompression bomb appended before records were
//! validated on append) is answered from its header: its first offset and max timestamp, so a consumer seeking
//! by time lands on it and is not kept retrying; it is logged and counted in
//! `strait_damaged_batches_total{reader="kafka_list_offsets"}`.
//!
//! Leader epochs in answers come from the batch holding the offset. A partition listed twice in one request is
//! answered with INVALID_REQUEST for each mention, as Kafka does.

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_request::ListOffsetsPartition;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use strait_access::Operation;
use strait_engine::batch::{self, BatchError, BatchHeader, BatchIter};
use strait_engine::{EngineError, Partition, TopicInfo};

use super::resolve;
use super::{Ctx, internal_topic};
use crate::broker::Broker;
use crate::error::ApiError;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;
const SCAN_CHUNK: usize = 1 << 20;

/// One answer: Kafka's `TimestampAndOffset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    timestamp: i64,
    offset: i64,
    leader_epoch: i32,
}

const NOT_FOUND: Found = Found {
    timestamp: -1,
    offset: -1,
    leader_epoch: -1,
};

pub async fn handle(ctx: &mut Ctx<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let b = ctx.broker;
    let version = ctx.version();
    let mut mentions: HashMap<(&str, i32), usize> = HashMap::new();
    for t in &req.topics {
        for p in &t.partitions {
            *mentions.entry((&**t.name, p.partition_index)).or_default() += 1;
        }
    }
    // v2+: READ_COMMITTED (1) asks for the last stable offset as LATEST.
    let read_committed = version >= 2 && req.isolation_level == 1;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let denied = super::authz::topic(ctx, Operation::Describe, &t.name).err();
        let topic = match &denied {
            Some(e) => Err(e.clone()),
            None => resolve::topic(b, &t.name),
        };
        let mut parts = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let res = if mentions[&(&**t.name, p.partition_index)] > 1 {
                Err(ApiError::new(
                    ResponseError::InvalidRequest,
                    "partition listed more than once",
                ))
            } else if let Some(e) = &denied {
                Err(e.clone())
            } else if internal_topic::is_internal(&t.name) {
                internal(b, p)
            } else {
                lookup(b, &topic, p, read_committed).await
            };
            let (code, found) = match res {
                Ok(f) => (0, f),
                Err(e) => (e.code.code(), NOT_FOUND),
            };
            parts.push(
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code)
                    .with_timestamp(found.timestamp)
                    .with_offset(found.offset)
                    // Before v4 the field does not exist, and the encoder refuses a non-default value.
                    .with_leader_epoch(if version >= 4 { found.leader_epoch } else { -1 }),
            );
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(parts),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}

/// The virtual internal offsets topic is an empty log (see `internal_topic`): every partition starts and ends at
/// offset 0 and holds no timestamps.
fn internal(b: &Broker, req: &ListOffsetsPartition) -> Result<Found, ApiError> {
    if !internal_topic::has_partition(b.config().offsets_topic_partitions, req.partition_index) {
        return Err(ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("invalid partition {}", req.partition_index),
        ));
    }
    match req.timestamp {
        LATEST | EARLIEST | EARLIEST_LOCAL => Ok(Found {
            timestamp: -1,
            offset: 0,
            leader_epoch: 0,
        }),
        _ => Ok(NOT_FOUND),
    }
}

async fn lookup(
    b: &Broker,
    topic: &Result<TopicInfo, ApiError>,
    req: &ListOffsetsPartition,
    read_committed: bool,
) -> Result<Found, ApiError> {
    let t = topic.as_ref().map_err(Clone::clone)?;
    let p = resolve::partition_at(b, t, req.partition_index, req.current_leader_epoch)?;
    match req.timestamp {
        LATEST => {
            let hw = p.high_watermark();
            let offset = if read_committed {
                p.last_stable_offset().min(hw)
            } else {
                hw
            };
            Ok(Found {
                timestamp: -1,
                offset,
                leader_epoch: resolve::leader_epoch(b, &p),
            })
        }
        EARLIEST | EARLIEST_LOCAL => {
            // The first local offset follows the tiered ones; with nothing tiered it is the log start.
            let start = match (req.timestamp, p.remote_range()) {
                (EARLIEST_LOCAL, Some((_, end))) => end.max(p.log_start()),
                _ => p.log_start(),
            };
            Ok(Found {
                timestamp: -1,
                offset: start,
                leader_epoch: epoch_at(&p, start, resolve::leader_epoch(b, &p)).await?,
            })
        }
        LATEST_TIERED => match p.remote_range() {
            // Kafka answers the highest tiered offset with its epoch, or -1 (and no epoch) when none is.
            Some((_, end)) => Ok(Found {
                timestamp: -1,
                offset: end - 1,
                leader_epoch: epoch_at(&p, end - 1, resolve::leader_epoch(b, &p)).await?,
            }),
            None => Ok(NOT_FOUND),
        },
        MAX_TIMESTAMP => max_timestamp(&p).await,
        ts => by_timestamp(&p, ts).await,
    }
}

/// The epoch of the batch holding `offset`; the current epoch (`current`) if no record is there yet.
async fn epoch_at(p: &Partition, offset: i64, current: i32) -> Result<i32, ApiError> {
    match p.read(offset, 1).await {
        Ok(r) if !r.records.is_empty() => Ok(BatchHeader::parse(&r.records)
            .map(|h| h.partition_leader_epoch)
            .unwrap_or(current)),
        Ok(_) | Err(EngineError::OffsetOutOfRange { .. }) => Ok(current),
        Err(e) => Err(e.into()),
    }
}

async fn max_timestamp(p: &Partition) -> Result<Found, ApiError> {
    let log_start = p.log_start();
    let cap = p.max_inflated_batch_bytes();
    let best = match p.max_timestamp_batch().await? {
        Some((h, bytes)) => Some((h.max_timestamp, h, bytes)),
        // The engine indexes one batch per segment and skips it once DeleteRecords has cut past it; then the
        // log's own batches have to be compared (only records from the log start on count). Rare, and
        // bounded by the log.
        None if p.high_watermark() > log_start => {
            let mut best: Option<(i64, BatchHeader, Bytes)> = None;
            scan(p, log_start, |h, bytes| {
                let max = if h.base_offset < log_start && !h.is_log_append_time() {
                    match record_times(bytes, cap) {
                        Ok(times) => {
                            let visible = times.iter().filter(|(o, _)| *o >= log_start);
                            visible.map(|(_, t)| *t).max().unwrap_or(-1)
                        }
                        Err(e) => {
                            damaged(p, h, &e);
                            h.max_timestamp
                        }
                    }
                } else {
                    h.max_timestamp
                };
                if best.as_ref().is_none_or(|(m, _, _)| max > *m) {
                    best = Some((max, *h, Bytes::copy_from_slice(bytes)));
                }
                Ok(None::<()>)
            })
            .await?;
            best
        }
        None => None,
    };
    let Some((max, h, bytes)) = best else {
        return Ok(NOT_FOUND);
    };
    let found = first_at_or_after(p, &h, &bytes, max, log_start);
    Ok(found.unwrap_or(Found {
        timestamp: max,
        offset: h.base_offset.max(log_start),
        leader_epoch: h.partition_leader_epoch,
    }))
}

async fn by_timestamp(p: &Partition, ts: i64) -> Result<Found, ApiError> {
    let log_start = p.log_start();
    let Some((h, bytes)) = p.find_by_timestamp(ts).await? else {
        return Ok(NOT_FOUND);
    };
    if let Some(f) = first_at_or_after(p, &h, &bytes, ts, log_start) {
        return Ok(f);
    }
    // The engine's candidate lies (partly) below the log start, after DeleteRecords cut into a segment: go on
    // batch by batch from there. Rare, and bounded by the log end.
    let from = (h.last_offset() + 1).max(log_start);
    let found = scan(p, from, |h, bytes| {
        Ok(first_at_or_after(p, h, bytes, ts, from))
    })
    .await?;
    Ok(found.unwrap_or(NOT_FOUND))
}

/// Calls `f` on every committed batch from the one holding `next` on, until it returns something.
async fn scan<T>(
    p: &Partition,
    mut next: i64,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<Option<T>, ApiError>,
) -> Result<Option<T>, ApiError> {
    loop {
        let r = match p.read(next, SCAN_CHUNK).await {
            Ok(r) if !r.records.is_empty() => r,
            Ok(_) | Err(EngineError::OffsetOutOfRange { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let before = next;
        for item in BatchIter::new(&r.records) {
            let (h, range) = item.map_err(EngineError::from)?;
            if h.last_offset() < next {
                continue;
            }
            if let Some(found) = f(&h, &r.records[range])? {
                return Ok(Some(found));
            }
            next = h.last_offset() + 1;
        }
        if next == before {
            return Ok(None);
        }
    }
}

/// The first record of the batch with offset >= `min_offset` and timestamp >= `ts`. A batch whose records
/// cannot be decoded answers with its own first offset (see the module docs).
fn first_at_or_after(
    p: &Partition,
    h: &BatchHeader,
    bytes: &[u8],
    ts: i64,
    min_offset: i64,
) -> Option<Found> {
    if h.last_offset() < min_offset || h.max_timestamp < ts {
        return None;
    }
    let at = |timestamp, offset| Found {
        timestamp,
        offset,
        leader_epoch: h.partition_leader_epoch,
    };
    // Every record of a LogAppendTime batch carries the batch's timestamp.
    if h.is_log_append_time() {
        return Some(at(h.max_timestamp, h.base_offset.max(min_offset)));
    }
    match record_times(bytes, p.max_inflated_batch_bytes()) {
        Ok(times) => times
            .into_iter()
            .find(|&(o, t)| o >= min_offset && t >= ts)
            .map(|(o, t)| at(t, o)),
        Err(e) => {
            damaged(p, h, &e);
            Some(at(h.max_timestamp, h.base_offset.max(min_offset)))
        }
    }
}

/// Logs and counts a stored batch whose records cannot be decoded.
fn damaged(p: &Partition, h: &BatchHeader, e: &BatchError) {
    metrics::counter!("strait_damaged_batches_total", "reader" => "kafka_list_offsets")
        .increment(1);
    tracing::warn!(topic = p.topic(), partition = p.index(), base_offset = h.base_offset,
        last_offset = h.last_offset(), error = %e, "a stored batch cannot be decoded; answering from its header");
}

/// `(offset, timestamp)` of every record in one stored batch, inflating at most `max_inflated` bytes.
fn record_times(bytes: &[u8], max_inflated: u64) -> Result<Vec<(i64, i64)>, BatchError> {
    let inflated = batch::inflate(bytes, max_inflated)?;
    Ok(inflated
        .records()?
        .iter()
        .map(|r| (r.offset, r.timestamp_ms))
        .collect())
}
