//! ListTagsForStream: tags in key order, paginated by ExclusiveStartTagKey and Limit (HasMoreTags).

use super::common::page_size;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

/// AWS's default (and largest) Limit.
const DEFAULT_LIMIT: usize = 50;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (_, r) = k.resolve(req)?;
    let limit = page_size(req, "Limit", DEFAULT_LIMIT);
    let after = req.str("ExclusiveStartTagKey");
    let matching: Vec<(&String, &String)> = r
        .tags
        .iter()
        .filter(|(key, _)| after.is_none_or(|a| key.as_str() > a))
        .collect();
    Ok(Value::map()
        .with(
            "Tags",
            Value::List(
                matching
                    .iter()
                    .take(limit)
                    .map(|(k, v)| tag(k, v))
                    .collect(),
            ),
        )
        .with("HasMoreTags", matching.len() > limit))
}

/// The `Tag` shape.
pub(crate) fn tag(key: &str, value: &str) -> Value {
    Value::map().with("Key", key).with("Value", value)
}
