//! UntagResource: removes tags from a stream or consumer by ARN.

use super::add_tags_to_stream::check_tag_chars;
use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (h, _, target) = k.resource(arn)?;
    let keys = req.strings("TagKeys");
    check_tag_chars(k, "remove tags from", arn, keys.iter().map(String::as_str))?;
    k.inner
        .store
        .update(&h, |rec| {
            let tags = match &target {
                Target::Stream => &mut rec.tags,
                Target::Consumer(name) => {
                    match rec.consumers.iter_mut().find(|c| &c.name == name) {
                        Some(c) => &mut c.tags,
                        None => return Ok(()),
                    }
                }
            };
            for key in &keys {
                tags.remove(key);
            }
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
