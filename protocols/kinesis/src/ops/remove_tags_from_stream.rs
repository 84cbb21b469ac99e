//! RemoveTagsFromStream: removes tags by key; unknown keys are ignored, as on AWS.

use super::add_tags_to_stream::check_tag_chars;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_readable(&r)?;
    let keys = req.strings("TagKeys");
    check_tag_chars(
        k,
        "remove tags from",
        &format!("stream {}", r.name),
        keys.iter().map(String::as_str),
    )?;
    k.inner
        .store
        .update(&h, |rec| {
            for key in &keys {
                rec.tags.remove(key);
            }
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
