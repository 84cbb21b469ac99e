//! DeleteStream: the topic and the record go at once (the topic's deletion also drops the stream from the cache and,
//! through the KCL bridge, the consumer groups' offsets of the topic); the stream stays visible as DELETING for the
//! status delay.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (_, r) = k.resolve(req)?;
    let now = k.now_ms();
    let consumers = r.live_consumers(now, k.delay_ms()).count();
    if consumers > 0 && req.bool("EnforceConsumerDeletion") != Some(true) {
        return Err(KinesisError::ResourceInUse(format!(
            "Stream {} under account {} has registered consumers. To delete this stream, please set \
             EnforceConsumerDeletion to true.",
            r.name,
            k.account()
        )));
    }
    let _lifecycle = k.inner.store.lifecycle.lock().await;
    match k.inner.engine.delete_topic(&r.name).await {
        Ok(()) | Err(strait_engine::EngineError::UnknownTopic(_)) => {}
        Err(e) => return Err(crate::read::engine_error(e)),
    }
    k.inner.store.remove(&r, now).await?;
    Ok(Value::map())
}
