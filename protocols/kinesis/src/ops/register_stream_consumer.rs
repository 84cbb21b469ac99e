//! RegisterStreamConsumer: a new enhanced fan-out consumer, CREATING for the status delay.

use super::add_tags_to_stream::parse_tags;
use crate::consumers::MAX_CONSUMERS_PER_STREAM;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::ConsumerRecord;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let name = k.stream_name_of_arn(req.str("StreamARN").unwrap_or_default())?;
    let (h, r) = k.lookup(&name)?;
    k.require_readable(&r)?;
    let consumer = req.string("ConsumerName").unwrap_or_default();
    let tags = parse_tags(k, &format!("consumer {consumer}"), req)?;
    let now = k.now_ms();
    let delay = k.delay_ms();
    let account = k.account().to_string();
    let record = k
        .inner
        .store
        .update(&h, |rec| {
            // Consumers whose deletion has completed are dropped from the record here.
            rec.consumers
                .retain(|c| c.deleting_since_ms.is_none_or(|s| now < s.saturating_add(delay)));
            if rec.consumers.iter().any(|c| c.name == consumer) {
                return Err(KinesisError::ResourceInUse(format!(
                    "Consumer {consumer} under stream {name} already exists for account {account}."
                )));
            }
            if rec.consumers.len() >= MAX_CONSUMERS_PER_STREAM {
                return Err(KinesisError::LimitExceeded(format!(
                    "Stream {name} under account {account} already has {MAX_CONSUMERS_PER_STREAM} registered \
                     consumers, the most allowed."
                )));
            }
            let c = ConsumerRecord {
                name: consumer.clone(),
                created_ms: now,
                deleting_since_ms: None,
                tags,
                policy: None,
            };
            rec.consumers.push(c.clone());
            Ok(c)
        })
        .await?;
    let info = k.consumer_info(&r, &record);
    Ok(Value::map().with(
        "Consumer",
        Value::map()
            .with("ConsumerName", info.name)
            .with("ConsumerARN", info.arn)
            .with("ConsumerStatus", info.status)
            .with(
                "ConsumerCreationTimestamp",
                Value::Timestamp(info.created_ms),
            ),
    ))
}
