//! AddTagsToStream: adds or overwrites tags (at most 50 per stream).

use std::collections::BTreeMap;

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

/// AWS allows 50 tags per stream.
pub(crate) const MAX_TAGS: usize = 50;

/// Whether AWS accepts `c` in a tag key or value: Unicode letters (as AWS counts them: U+00C0-U+1FFF and
/// U+2C00-U+D7FF beyond ASCII), digits, space and `_ . / = + - % @` (kinesalite's rule, its suite run against AWS).
fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '/' | '=' | '+' | '-' | ' ' | '@' | '%')
        || ('\u{C0}'..='\u{1FFF}').contains(&c)
        || ('\u{2C00}'..='\u{D7FF}').contains(&c)
}

/// AWS's two character checks on tag keys and values, in its order: characters outside its set, then `%`, which
/// the set lists but the operation refuses (`action` is "add tags to" or "remove tags from", `what` the resource
/// as the message names it).
pub(crate) fn check_tag_chars<'a>(
    k: &Kinesis,
    action: &str,
    what: &str,
    strings: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), KinesisError> {
    if strings.clone().any(|s| !s.chars().all(tag_char)) {
        return Err(KinesisError::InvalidArgument(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = \
             + - % @."
                .into(),
        ));
    }
    if strings.clone().any(|s| s.contains('%')) {
        return Err(KinesisError::InvalidArgument(format!(
            "Failed to {action} {what} under account {} because some tags contained illegal characters. The \
             allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.",
            k.account()
        )));
    }
    Ok(())
}

/// The `Tags` map of a request, with AWS's checks on characters and the reserved `aws:` prefix (`what` names the
/// resource in messages).
pub(crate) fn parse_tags(
    k: &Kinesis,
    what: &str,
    req: &Value,
) -> Result<BTreeMap<String, String>, KinesisError> {
    let strings = req.entries("Tags").iter().flat_map(|(key, v)| {
        let value = match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        };
        std::iter::once(key.as_str()).chain(value)
    });
    check_tag_chars(k, "add tags to", what, strings)?;
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
    let what = format!("stream {}", r.name);
    let add = parse_tags(k, &what, req)?;
    k.inner
        .store
        .update(&h, |rec| merge(k, &what, &mut rec.tags, add))
        .await?;
    Ok(Value::map())
}
