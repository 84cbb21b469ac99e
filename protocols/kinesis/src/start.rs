//! Where a read starts: the five starting-position types of GetShardIterator (ShardIteratorType +
//! StartingSequenceNumber + Timestamp) and SubscribeToShard (StartingPosition Type + SequenceNumber + Timestamp),
//! resolved to a partition offset with AWS's rules and messages. One implementation so both APIs agree.

use strait_engine::Partition;
use strait_shard_map::{SequenceNumber, shard_id};

use crate::error::KinesisError;
use crate::read::offset_at_timestamp;

/// A starting position as the request gave it.
pub(crate) struct StartingPosition<'a> {
    /// TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP (validated by the model).
    pub kind: &'a str,
    pub sequence_number: Option<&'a str>,
    /// Unix ms.
    pub timestamp: Option<i64>,
}

/// The shard the position is resolved against.
pub(crate) struct ShardContext<'a> {
    /// The calling API, as AWS names it in messages (`GetShardIterator`, `SubscribeToShard`).
    pub api: &'static str,
    /// The request member holding the sequence number (`StartingSequenceNumber` or `SequenceNumber`).
    pub sequence_member: &'static str,
    pub stream: &'a str,
    pub incarnation: u32,
    pub account: &'a str,
    pub shard: u32,
    pub shard_id: &'a str,
    pub partition: &'a Partition,
    /// Where reads stop: the sealed end offset of a closed shard, else the high watermark.
    pub tip: i64,
}

/// The partition offset `pos` designates: at most `tip`, at least the log start (records before it are gone).
pub(crate) async fn resolve(
    cx: &ShardContext<'_>,
    pos: &StartingPosition<'_>,
    now_ms: i64,
) -> Result<i64, KinesisError> {
    let kind = pos.kind;
    let member = cx.sequence_member;
    let combination = |has: &str| {
        KinesisError::InvalidArgument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and {member} or (2) \
             TRIM_HORIZON or LATEST and no {member}. Request specified {kind} and {has}."
        ))
    };
    match kind {
        "TRIM_HORIZON" | "LATEST" => {
            if pos.sequence_number.is_some() {
                return Err(combination(&format!("also a {member}")));
            }
            Ok(if kind == "LATEST" {
                // Not past records of a Kafka transaction still open: they become visible when it commits.
                cx.tip.min(cx.partition.last_stable_offset())
            } else {
                cx.partition.log_start()
            })
        }
        "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
            let Some(s) = pos.sequence_number else {
                return Err(combination(&format!("no {member}")));
            };
            let invalid = |why: &str| {
                KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in {} on shard {} in stream {} under account {} is \
                     invalid{why}.",
                    cx.api, cx.shard_id, cx.stream, cx.account
                ))
            };
            let n = SequenceNumber::decode(s).map_err(|_| invalid(""))?;
            if n.incarnation != cx.incarnation {
                return Err(invalid(" because it did not come from this stream"));
            }
            if n.shard != cx.shard {
                return Err(KinesisError::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with \
                     {}",
                    shard_id(n.shard),
                    cx.shard_id
                )));
            }
            let at = if kind == "AT_SEQUENCE_NUMBER" {
                n.offset
            } else {
                n.offset.saturating_add(1)
            };
            // A shard's starting number decodes to offset -1; records below the log start are gone (retention).
            Ok(at.max(cx.partition.log_start()).min(cx.tip))
        }
        // AT_TIMESTAMP (the model's enum admits nothing else).
        _ => {
            let Some(ts) = pos.timestamp else {
                return Err(KinesisError::InvalidArgument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request \
                     has no timestamp parameter."
                        .into(),
                ));
            };
            if ts > now_ms {
                return Err(KinesisError::InvalidArgument(format!(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. \
                     timestampInMillis: {ts}, currentTimestampInMillis: {now_ms}"
                )));
            }
            Ok(offset_at_timestamp(cx.partition, ts)
                .await?
                .unwrap_or(cx.tip)
                .min(cx.tip))
        }
    }
}
