//! ListStreams: names and summaries, paginated by Limit / ExclusiveStartStreamName / NextToken.

use serde_json::json;

use super::common::{mode_value, page_size};
use crate::error::KinesisError;
use crate::service::Kinesis;
use crate::tokens::{open_next_token, sign_next_token};
use crate::value::Value;

/// AWS's default page size for ListStreams.
const DEFAULT_LIMIT: usize = 100;
const TOKEN_KIND: &str = "ListStreams";

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let now = k.now_ms();
    // AWS returns at most 100 streams per call whatever Limit asks for.
    let limit = page_size(req, "Limit", DEFAULT_LIMIT).min(DEFAULT_LIMIT);
    let after = match req.str("NextToken") {
        Some(t) => {
            let v = open_next_token(k.inner.store.secret(), TOKEN_KIND, t, now)?;
            v.get("a").and_then(|a| a.as_str()).map(str::to_owned)
        }
        None => req.string("ExclusiveStartStreamName"),
    };
    let names: Vec<String> = k
        .inner
        .store
        .names(&k.inner.engine)
        .into_iter()
        .filter(|n| after.as_deref().is_none_or(|a| n.as_str() > a))
        .collect();
    let mut summaries = Vec::new();
    let mut page = Vec::new();
    for name in &names {
        if page.len() == limit {
            break;
        }
        let record = match k.lookup(name) {
            Ok((_, r)) => r,
            Err(_) => match k.inner.store.tombstone(name, now, k.delay_ms()) {
                Some(r) => r,
                None => continue,
            },
        };
        page.push(Value::Str(name.clone()));
        summaries.push(
            Value::map()
                .with("StreamName", name.as_str())
                .with("StreamARN", k.stream_arn(name))
                .with("StreamStatus", k.status(&record).as_str())
                .with("StreamModeDetails", mode_value(&record))
                .with(
                    "StreamCreationTimestamp",
                    Value::Timestamp(record.created_ms),
                ),
        );
    }
    let has_more = names.len() > page.len();
    let next = match (has_more, page.last()) {
        (true, Some(Value::Str(last))) => Some(sign_next_token(
            k.inner.store.secret(),
            TOKEN_KIND,
            &json!({ "a": last, "t": now }),
        )),
        _ => None,
    };
    Ok(Value::map()
        .with("StreamNames", Value::List(page))
        .with("HasMoreStreams", has_more)
        .with_opt("NextToken", next)
        .with("StreamSummaries", Value::List(summaries)))
}
