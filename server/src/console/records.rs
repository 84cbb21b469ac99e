//! `/api/records`: up to [`MAX_RECORDS`] records of one partition from an offset, a timestamp or (for a Kinesis
//! stream) a sequence number, each with its Kafka key, headers and value, and for a Kinesis stream its
//! PartitionKey and sequence number as GetRecords gives them (`strait_kinesis::read::read_shard`, so the
//! mapping is the front end's own).
//!
//! The browser reads what a Kafka consumer would read up to the high watermark: transaction markers are left
//! out; records of aborted transactions are shown (a Kinesis reader skips them, so they have no sequence number).

use std::collections::HashMap;

use serde_json::{Value, json};
use strait_engine::Partition;
use strait_engine::batch::{BatchIter, inflate};
use strait_shard_map::SequenceNumber;

use super::Console;
use super::topics::engine_error;
use super::web::{ApiError, ApiResult, Query, show_bytes};

/// Most records one request returns.
pub(super) const MAX_RECORDS: usize = 100;
/// Records returned when the request does not say.
const DEFAULT_RECORDS: usize = 20;
/// Bytes of a key, value or header value shown; the rest is cut (`truncated`), its size still reported.
const MAX_SHOWN_BYTES: usize = 4096;
/// Bytes asked of the engine per read; stored batches come back whole.
const CHUNK: usize = 1024 * 1024;
/// Reads per request: a run of transaction markers cannot keep a request reading.
const MAX_ROUNDS: usize = 16;

pub(super) async fn browse(c: &Console, q: &Query) -> ApiResult {
    let engine = c.engine()?;
    let topic = q
        .get("topic")
        .ok_or_else(|| ApiError::bad_request("topic is required"))?;
    let index: u32 = q
        .int("partition")?
        .ok_or_else(|| ApiError::bad_request("partition is required"))?;
    let limit = q
        .int::<usize>("limit")?
        .unwrap_or(DEFAULT_RECORDS)
        .clamp(1, MAX_RECORDS);
    let t = engine
        .topic(topic)
        .ok_or_else(|| ApiError::not_found(format!("topic {topic} does not exist")))?;
    let partition = engine.partition(topic, index).map_err(engine_error)?;
    let stream = super::kinesis::stream_record(c, &t);
    let from = if let Some(o) = q.int::<i64>("offset")? {
        o
    } else if let Some(ts) = q.int::<i64>("timestamp")? {
        strait_kinesis::read::offset_at_timestamp(&partition, ts)
            .await
            .map_err(|e| ApiError::internal(format!("{e:?}")))?
            .unwrap_or_else(|| partition.high_watermark())
    } else if let Some(s) = q.get("sequence") {
        let r = stream
            .as_ref()
            .ok_or_else(|| ApiError::bad_request(format!("{topic} is not a Kinesis stream")))?;
        let seq = SequenceNumber::decode(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if seq.shard != index || seq.incarnation != r.incarnation {
            return Err(ApiError::bad_request(format!(
                "sequence number {s} is not of shard {} of stream {topic}",
                strait_shard_map::shard_id(index)
            )));
        }
        seq.offset
    } else {
        partition.log_start()
    };
    let o = partition.offsets();
    let mut records = read(&partition, from, limit).await?;
    if let Some(r) = &stream {
        let read =
            strait_kinesis::read::read_shard(&partition, r.incarnation, index, from, None, limit)
                .await
                .map_err(|e| ApiError::internal(format!("{e:?}")))?;
        let by_offset: HashMap<i64, _> = read.records.into_iter().map(|k| (k.offset, k)).collect();
        for rec in &mut records {
            if let Some(k) = rec["offset"].as_i64().and_then(|o| by_offset.get(&o)) {
                rec["sequence_number"] = json!(k.sequence_number);
                rec["partition_key"] = json!(k.partition_key);
            }
        }
    }
    let next = records
        .last()
        .and_then(|r| r["offset"].as_i64())
        .map_or(from.max(o.log_start), |l| l + 1);
    Ok(json!({
        "topic": topic,
        "partition": index,
        "kinesis": stream.is_some(),
        "log_start": o.log_start,
        "high_watermark": o.high_watermark,
        "from": from,
        "next_offset": next,
        "records": records,
    }))
}

/// Up to `limit` records at or after `from`, below the high watermark.
async fn read(partition: &Partition, from: i64, limit: usize) -> Result<Vec<Value>, ApiError> {
    let mut pos = from.max(partition.log_start());
    let hw = partition.high_watermark();
    let mut out = Vec::new();
    for _ in 0..MAX_ROUNDS {
        if pos >= hw || out.len() >= limit {
            break;
        }
        let chunk = match partition.read(pos, CHUNK).await {
            Ok(r) => r.records,
            // Retention moved the log start since the check: go on from the new start.
            Err(strait_engine::EngineError::OffsetOutOfRange { log_start, .. })
                if pos < log_start =>
            {
                pos = log_start;
                continue;
            }
            Err(e) => return Err(engine_error(e)),
        };
        let before = pos;
        for item in BatchIter::new(&chunk) {
            let (header, range) = item
                .map_err(|e| ApiError::internal(format!("stored batch near offset {pos}: {e}")))?;
            if header.last_offset() < pos || header.base_offset >= hw {
                continue;
            }
            pos = header.last_offset() + 1;
            if header.is_control() {
                continue;
            }
            let inflated =
                inflate(&chunk[range], partition.max_inflated_batch_bytes()).map_err(|e| {
                    ApiError::internal(format!("batch at offset {}: {e}", header.base_offset))
                })?;
            let decoded = inflated.records().map_err(|e| {
                ApiError::internal(format!("batch at offset {}: {e}", header.base_offset))
            })?;
            for r in decoded {
                if r.offset < from || r.offset >= hw || out.len() >= limit {
                    continue;
                }
                let headers: Vec<Value> = r
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        json!({ "key": String::from_utf8_lossy(k), "value": v.map(|v| show_bytes(v, MAX_SHOWN_BYTES)) })
                    })
                    .collect();
                out.push(json!({
                    "offset": r.offset,
                    "timestamp_ms": r.timestamp_ms,
                    "key": r.key.map(|k| show_bytes(k, MAX_SHOWN_BYTES)),
                    "value": r.value.map(|v| show_bytes(v, MAX_SHOWN_BYTES)),
                    "headers": headers,
                }));
            }
            if out.len() >= limit {
                break;
            }
        }
        if pos == before {
            break;
        }
    }
    Ok(out)
}
