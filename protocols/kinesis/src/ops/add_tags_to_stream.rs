//! AddTagsToStream: adds or overwrites tags (at most 50 per stream).

use std::collections::BTreeMap;

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

/// AWS allows 50 tags per stream.
pub(crate) const MAX_TAGS: usize = 50;

/// The `Tags` map of a request, with AWS's check on the reserved `aws:` prefix.
pub(crate) fn parse_tags(req: &Value) -> Result<BTreeMap<String, String>, KinesisError> {
    let mut out = BTreeMap::new();
    for (k, v) in req.entries("Tags") {
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(KinesisError::InvalidArgument(format!(
                "Tag key {k} uses the reserved prefix 'aws:'."
            )));
        }
        let v = match v {
            Value::Str(s) => s.clone(),
            _ => String::new(),
        };
        out.insert(k.clone(), v);
    }
    if out.len() > MAX_TAGS {
        return Err(KinesisError::InvalidArgument(format!(
            "A resource cannot have more than {MAX_TAGS} tags; the request has {}.",
            out.len()
        )));
    }
    Ok(out)
}

/// Merges `add` into `tags`, failing when the result would exceed [`MAX_TAGS`].
pub(crate) fn merge(
    k: &Kinesis,
    what: &str,
    tags: &mut BTreeMap<String, String>,
    add: BTreeMap<String, String>,
) -> Result<(), KinesisError> {
    let mut merged = tags.clone();
    merged.extend(add);
    if merged.len() > MAX_TAGS {
        return Err(KinesisError::LimitExceeded(format!(
            "Failed to add tags to {what} under account {} because a given resource cannot have more than \
             {MAX_TAGS} tags.",
            k.account()
        )));
    }
    *tags = merged;
    Ok(())
}

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_readable(&r)?;
    let add = parse_tags(req)?;
    let what = format!("stream {}", r.name);
    k.inner
        .store
        .update(&h, |rec| merge(k, &what, &mut rec.tags, add))
        .await?;
    Ok(Value::map())
}
