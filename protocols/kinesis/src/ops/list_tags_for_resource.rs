//! ListTagsForResource: the tags of a stream or consumer by ARN.

use super::list_tags_for_stream::tag;
use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (_, r, target) = k.resource(arn)?;
    let tags = match &target {
        Target::Stream => r.tags.clone(),
        Target::Consumer(name) => r
            .consumers
            .iter()
            .find(|c| &c.name == name)
            .map(|c| c.tags.clone())
            .unwrap_or_default(),
    };
    Ok(Value::map().with(
        "Tags",
        Value::List(tags.iter().map(|(k, v)| tag(k, v)).collect()),
    ))
}
