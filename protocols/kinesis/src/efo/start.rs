//! Starting a subscription: decoding and validating the request, resolving consumer, stream and shard, the
//! starting position, and the takeover rule. Everything that fails here is an ordinary error response; once a
//! [`Subscription`] exists the response is an event stream.

use strait_shard_map::{SequenceNumber, shard_id};
use tokio::sync::watch;

use super::FanOut;
use super::lease::LeaseKey;
use super::subscription::Subscription;
use crate::codec;
use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::model;
use crate::operation::Operation;
use crate::read::offset_at_timestamp;
use crate::value::Value;

pub(super) async fn subscribe(
    fo: &FanOut,
    format: WireFormat,
    body: &[u8],
    shutdown: watch::Receiver<bool>,
) -> Result<Subscription, KinesisError> {
    let k = &fo.kinesis;
    let mut req = codec::decode(format, body).map_err(|e| KinesisError::Serialization(e.0))?;
    model::validate(Operation::SubscribeToShard, format, &mut req)?;
    let consumer = k.consumer_by_arn(req.str("ConsumerARN").unwrap_or_default())?;
    // The canonical ARN: the region part of an ARN is not checked, so two spellings can name one consumer, and
    // the takeover rule must see them as one.
    let consumer_arn = consumer.arn.clone();
    if consumer.status != "ACTIVE" {
        // AWS's wording, space before the comma included.
        return Err(KinesisError::ResourceInUse(format!(
            "Consumer {} with creation timestamp {} under stream: {} , account {} is not in ACTIVE status.",
            consumer.name,
            consumer.created_ms.div_euclid(1000),
            consumer.stream,
            k.account()
        )));
    }
    let shard_name = req.str("ShardId").unwrap_or_default().to_string();
    let view = k.shard_view(&consumer.stream, &shard_name)?;
    let r = view.stream.clone();
    if r.incarnation != consumer.stream_incarnation {
        return Err(k.not_found(&r.name));
    }
    let shard = view.shard.index;
    let now = k.now_ms();
    if r.shard_expired(shard, now) {
        return Err(KinesisError::ResourceNotFound(format!(
            "Shard {shard_name} in stream {} under account {} has expired.",
            r.name,
            k.account()
        )));
    }
    let pos = req
        .member("StartingPosition")
        .cloned()
        .unwrap_or(Value::Null);
    let offset = starting_offset(fo, &view, &shard_name, &pos, now).await?;
    let lease = fo
        .leases
        .acquire(
            LeaseKey {
                consumer_arn: consumer_arn.clone(),
                incarnation: r.incarnation,
                shard,
            },
            now,
            fo.cfg.takeover_window.as_millis() as i64,
        )
        .map_err(|_| {
            // AWS's message starts so; clients match on it (it is the routine answer to resubscribing too fast).
            KinesisError::ResourceInUse(format!(
                "Another active subscription exists for this consumer: {}:{}:{shard_name}:{}",
                k.account(),
                r.name,
                consumer.name
            ))
        })?;
    Ok(Subscription::new(
        fo,
        format,
        consumer_arn,
        r,
        shard,
        offset,
        lease,
        shutdown,
    ))
}

/// The partition offset a StartingPosition designates, with GetShardIterator's rules and messages.
async fn starting_offset(
    fo: &FanOut,
    view: &crate::consumers::ShardView,
    id: &str,
    pos: &Value,
    now: i64,
) -> Result<i64, KinesisError> {
    let k = &fo.kinesis;
    let r = &view.stream;
    let partition = &view.partition;
    let tip = view
        .end_offset()
        .unwrap_or_else(|| partition.high_watermark());
    let kind = pos.str("Type").unwrap_or_default();
    let seq = pos.str("SequenceNumber");
    let combination = |has: &str| {
        KinesisError::InvalidArgument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and SequenceNumber or (2) \
             TRIM_HORIZON or LATEST and no SequenceNumber. Request specified {kind} and {has}."
        ))
    };
    match kind {
        "TRIM_HORIZON" | "LATEST" => {
            if seq.is_some() {
                return Err(combination("also a SequenceNumber"));
            }
            Ok(if kind == "LATEST" {
                tip
            } else {
                partition.log_start()
            })
        }
        "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
            let Some(s) = seq else {
                return Err(combination("no SequenceNumber"));
            };
            let invalid = |why: &str| {
                KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in SubscribeToShard on shard {id} in stream {} under \
                     account {} is invalid{why}.",
                    r.name,
                    k.account()
                ))
            };
            let n = SequenceNumber::decode(s).map_err(|_| invalid(""))?;
            if n.incarnation != r.incarnation {
                return Err(invalid(" because it did not come from this stream"));
            }
            if n.shard != view.shard.index {
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
            Ok(at.max(partition.log_start()).min(tip))
        }
        // AT_TIMESTAMP (the model's enum admits nothing else).
        _ => {
            let Some(ts) = pos.timestamp("Timestamp") else {
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
            Ok(offset_at_timestamp(partition, ts)
                .await?
                .unwrap_or(tip)
                .min(tip))
        }
    }
}
