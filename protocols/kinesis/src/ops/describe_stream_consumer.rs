//! DescribeStreamConsumer: by ConsumerARN, or by StreamARN and ConsumerName.

use crate::consumers::ConsumerInfo;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let c = find(k, req)?;
    let stream_arn = k.stream_arn(&c.stream);
    Ok(Value::map().with(
        "ConsumerDescription",
        Value::map()
            .with("ConsumerName", c.name)
            .with("ConsumerARN", c.arn)
            .with("ConsumerStatus", c.status)
            .with("ConsumerCreationTimestamp", Value::Timestamp(c.created_ms))
            .with("StreamARN", stream_arn),
    ))
}

/// The consumer a Describe/Deregister request names.
pub(crate) fn find(k: &Kinesis, req: &Value) -> Result<ConsumerInfo, KinesisError> {
    if let Some(arn) = req.str("ConsumerARN") {
        return k.consumer_by_arn(arn);
    }
    let (Some(stream_arn), Some(name)) = (req.str("StreamARN"), req.str("ConsumerName")) else {
        return Err(KinesisError::InvalidArgument(
            "Either ConsumerARN or both StreamARN and ConsumerName must be provided.".into(),
        ));
    };
    let stream = k.stream_name_of_arn(stream_arn)?;
    let (_, r) = k.lookup(&stream)?;
    k.stream_consumers(&r)
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Consumer {name} under stream {stream} not found for account {}.",
                k.account()
            ))
        })
}
