//! DeregisterStreamConsumer: the consumer is DELETING for the status delay, then gone.

use super::describe_stream_consumer::find;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let c = find(k, req)?;
    let (h, _) = k.lookup(&c.stream)?;
    let now = k.now_ms();
    k.inner
        .store
        .update(&h, |rec| {
            if let Some(x) = rec
                .consumers
                .iter_mut()
                .find(|x| x.name == c.name && x.created_ms == c.created_ms)
                && x.deleting_since_ms.is_none()
            {
                x.deleting_since_ms = Some(now);
            }
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
