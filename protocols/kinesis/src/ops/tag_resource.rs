//! TagResource: tags a stream or consumer by ARN.

use super::add_tags_to_stream::{merge, parse_tags};
use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (h, _, target) = k.resource(arn)?;
    let add = parse_tags(k, arn, req)?;
    k.inner
        .store
        .update(&h, |rec| match &target {
            Target::Stream => merge(k, arn, &mut rec.tags, add),
            Target::Consumer(name) => match rec.consumers.iter_mut().find(|c| &c.name == name) {
                Some(c) => merge(k, arn, &mut c.tags, add),
                None => Err(KinesisError::ResourceNotFound(format!(
                    "Resource {arn} under account {} not found.",
                    k.account()
                ))),
            },
        })
        .await?;
    Ok(Value::map())
}
