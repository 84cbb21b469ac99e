//! The write path shared by PutRecord and PutRecords: route each record by MD5 (or ExplicitHashKey) to an open
//! shard, build one Kafka v2 batch per shard (key = partition key, value = data, timestamp = arrival time),
//! append the batches in parallel and wait until they are durable.
// #[PerformanceCriticalPath]

use std::collections::BTreeMap;

use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_engine::{AppendOptions, Partition};
use strait_shard_map::{SequenceNumber, hash_key, parse_explicit_hash_key, shard_id};

use crate::error::KinesisError;
use crate::read::engine_error;
use crate::state::Kinesis;
use crate::store::StreamRecord;

/// Largest batch a stream's topic accepts (`max.message.bytes`): one shard's share of a 10 MiB PutRecords call
/// plus record overhead fits with room to spare.
pub(crate) const MAX_BATCH_BYTES: u32 = 16 * 1024 * 1024;
/// Most data (Data plus partition keys) one PutRecords call may carry, as on AWS.
pub(crate) const MAX_REQUEST_DATA_BYTES: usize = 10 * 1024 * 1024;

/// One record to write.
pub(crate) struct Entry {
    pub(crate) data: Vec<u8>,
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<String>,
}

/// What happened to one record.
pub(crate) enum Outcome {
    Written {
        shard: u32,
        sequence_number: String,
    },
    Throttled {
        message: String,
    },
    /// The record was not written; `error` says why (its text is the per-record ErrorMessage of PutRecords).
    Failed {
        error: KinesisError,
    },
}

/// The hash key of an entry, or AWS's InvalidArgumentException for an out-of-range ExplicitHashKey.
fn entry_hash(e: &Entry) -> Result<u128, KinesisError> {
    match &e.explicit_hash_key {
        Some(s) => parse_explicit_hash_key(s).map_err(|_| {
            KinesisError::InvalidArgument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \
                 {s}"
            ))
        }),
        None => Ok(hash_key(e.partition_key.as_bytes())),
    }
}

/// Checks a record against the stream's MaxRecordSizeInKiB.
fn check_size(k: &Kinesis, r: &StreamRecord, e: &Entry) -> Result<(), KinesisError> {
    let max = r.max_record_size_kib as usize * 1024;
    let size = e.data.len() + e.partition_key.len();
    if size > max {
        return Err(KinesisError::InvalidArgument(format!(
            "Record size {size} bytes exceeds the maximum record size of {} KiB for stream {} under account {}.",
            r.max_record_size_kib,
            r.name,
            k.account()
        )));
    }
    Ok(())
}

/// Writes `entries` to the stream `name`, returning one outcome per entry in request order. Errors that AWS
/// answers for the whole call (unknown stream, invalid hash key, oversize record) fail the call; storage
/// failures and throttling fail only the affected records.
pub(crate) async fn write(
    k: &Kinesis,
    name: &str,
    entries: Vec<Entry>,
) -> Result<(Vec<Outcome>, &'static str), KinesisError> {
    let (h, _) = k.lookup(name)?;
    // Shared with other writers, exclusive with resharding: the map read below stays the routing truth until
    // every append of this call has landed.
    let _io = h.io.read().await;
    let r = h.record();
    k.require_readable(&r)?;
    let total: usize = entries
        .iter()
        .map(|e| e.data.len() + e.partition_key.len())
        .sum();
    if total > MAX_REQUEST_DATA_BYTES {
        return Err(KinesisError::InvalidArgument(format!(
            "Records size exceeds 10 MiB limit: {total} bytes in the request."
        )));
    }
    let mut by_shard: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        check_size(k, &r, e)?;
        by_shard
            .entry(r.shards.route(entry_hash(e)?))
            .or_default()
            .push(i);
    }
    let now = k.now_ms();
    let mut outcomes: Vec<Option<Outcome>> = entries.iter().map(|_| None).collect();
    let mut appends = tokio::task::JoinSet::new();
    for (shard, idx) in by_shard {
        let bytes: u64 = idx
            .iter()
            .map(|&i| (entries[i].data.len() + entries[i].partition_key.len()) as u64)
            .sum();
        let admitted = k.inner.limits.admit_write(
            (r.name.clone(), r.incarnation, shard),
            idx.len() as u64,
            bytes,
            now,
        );
        if !admitted {
            for &i in &idx {
                outcomes[i] = Some(Outcome::Throttled {
                    message: format!(
                        "Rate exceeded for shard {} in stream {} under account {}.",
                        shard_id(shard),
                        r.name,
                        k.account()
                    ),
                });
            }
            continue;
        }
        let partition = k
            .inner
            .engine
            .partition(&r.name, shard)
            .map_err(engine_error)?;
        let mut b = BatchBuilder::with_capacity(
            bytes as usize + idx.len() * BatchBuilder::record_overhead(),
        );
        for &i in &idx {
            b.push(RecordInput {
                key: Some(entries[i].partition_key.as_bytes()),
                value: Some(&entries[i].data),
                headers: &[],
                timestamp_ms: now,
            });
        }
        let batch = b.finish();
        appends.spawn(async move {
            let res = append(&partition, batch).await;
            (shard, idx, res)
        });
    }
    while let Some(joined) = appends.join_next().await {
        let (shard, idx, res) =
            joined.map_err(|e| KinesisError::Internal(format!("append task failed: {e}")))?;
        match res {
            Ok(base) => {
                for (j, &i) in idx.iter().enumerate() {
                    outcomes[i] = Some(Outcome::Written {
                        shard,
                        sequence_number: SequenceNumber {
                            incarnation: r.incarnation,
                            shard,
                            offset: base + j as i64,
                        }
                        .encode(),
                    });
                }
            }
            Err(e) => {
                // The reason (a full disk, say) goes to the client: AWS's bare "Internal service failure." would
                // leave the operator guessing why every retry fails.
                for &i in &idx {
                    outcomes[i] = Some(Outcome::Failed { error: e.clone() });
                }
            }
        }
    }
    let outcomes = outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or(Outcome::Failed {
                error: KinesisError::Internal("Internal service failure.".into()),
            })
        })
        .collect();
    Ok((outcomes, r.encryption_type()))
}

async fn append(p: &Partition, batch: bytes::BytesMut) -> Result<i64, KinesisError> {
    // Kinesis clients know one endpoint: in a cluster, a node that does not lead the shard's partition hands
    // the append to the leader rather than refuse it.
    let opts = AppendOptions {
        forward: true,
        ..AppendOptions::default()
    };
    p.append(batch.into(), opts)
        .await
        .map(|info| info.base_offset)
        .map_err(|e| {
            // An offline partition refuses every put until it recovers; the engine logged that transition once.
            if matches!(e, strait_engine::EngineError::PartitionFailed { .. }) {
                tracing::debug!(topic = p.topic(), partition = p.index(), error = %e, "Kinesis append refused");
            } else {
                tracing::warn!(topic = p.topic(), partition = p.index(), error = %e, "Kinesis append failed");
            }
            engine_error(e)
        })
}

/// `EncryptionType` as PutRecord(s) report it: AWS leaves the member out for an unencrypted stream (kinesalite's
/// suite, run against AWS, expects no `EncryptionType` there) and says `KMS` for an encrypted one.
pub(crate) fn reported_encryption(encryption: &'static str) -> Option<&'static str> {
    (encryption != "NONE").then_some(encryption)
}
