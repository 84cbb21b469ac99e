//! Starting a subscription: decoding and validating the request, resolving consumer, stream and shard, the
//! starting position, and the takeover rule. Everything that fails here is an ordinary error response; once a
//! [`Subscription`] exists the response is an event stream.

use tokio::sync::watch;

use super::FanOut;
use super::lease::LeaseKey;
use super::subscription::Subscription;
use crate::codec;
use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::model;
use crate::operation::Operation;
use crate::start::{ShardContext, StartingPosition, resolve};
use crate::value::Value;

pub(super) async fn subscribe(
    fo: &FanOut,
    format: WireFormat,
    body: &[u8],
    shutdown: watch::Receiver<bool>,
) -> Result<Subscription, KinesisError> {
    let k = &fo.kinesis;
    let mut req = codec::decode(format, body)?;
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
    let view = k.shard_view(&consumer.stream, req.str("ShardId").unwrap_or_default())?;
    // Messages name the shard by its canonical id, whatever spelling the request used.
    let shard_name = view.shard.shard_id();
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
    let cx = ShardContext {
        api: "SubscribeToShard",
        sequence_member: "SequenceNumber",
        stream: &r.name,
        incarnation: r.incarnation,
        account: k.account(),
        shard: view.shard.index,
        shard_id: id,
        partition,
        tip: view
            .end_offset()
            .unwrap_or_else(|| partition.high_watermark()),
    };
    let start = StartingPosition {
        kind: pos.str("Type").unwrap_or_default(),
        sequence_number: pos.str("SequenceNumber"),
        timestamp: pos.timestamp("Timestamp"),
    };
    resolve(&cx, &start, now).await
}
