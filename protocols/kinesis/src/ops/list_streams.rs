//! ListStreams: names and summaries, paginated by Limit / ExclusiveStartStreamName / NextToken.

use serde_json::json;

use super::common::{mode_value, page_size};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::tokens::{open_next_token, sign_next_token};
use crate::value::Value;

/// AWS's default page size for ListStreams.
const DEFAULT_LIMIT: usize = 100;
const TOKEN_KIND: &str = "ListStreams";

/// Lists the streams `visible` lets the caller see; pages count only those, so a filtered listing pages like an
/// account that holds just them.
pub(crate) async fn handle(
    k: &Kinesis,
    req: &Value,
    visible: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Value, KinesisError> {
    let now = k.now_ms();
    // AWS returns at most 100 streams per call whatever Limit asks for (1..=10000 is valid): its model says "If you
    // specify a value greater than 100, at most 100 results are returned", and clients page with HasMoreStreams
    // and NextToken. Returning more here would let code that ignores paging pass against Strait and miss streams
    // on AWS.
    let limit = page_size(req, "Limit", DEFAULT_LIMIT).min(DEFAULT_LIMIT);
    let after = match req.str("NextToken") {
        Some(t) => {
            let v = open_next_token(k.inner.store.secret(), TOKEN_KIND, t, now)?;
            v.get("a").and_then(|a| a.as_str()).map(str::to_owned)
        }
        None => req.string("ExclusiveStartStreamName"),
    };
    let mut names = k.inner.store.names(&k.inner.engine);
    names.retain(|n| visible(n));
    // Names are sorted: the page starts right after `after`, found by binary search, and only the page's streams
    // are looked up (a Kafka topic's view is built per lookup), so a call costs the page, not the whole account.
    let first = after
        .as_deref()
        .map_or(0, |a| names.partition_point(|n| n.as_str() <= a));
    let resolve = |name: &str| match k.lookup(name) {
        Ok((_, r)) => Some(r),
        Err(_) => k.inner.store.tombstone(name, now, k.delay_ms()),
    };
    let mut summaries = Vec::new();
    let mut page = Vec::new();
    let mut rest = names[first..].iter();
    for name in rest.by_ref() {
        // A name may have gone (deleted, or its DELETING tombstone expired) since the list was taken.
        let Some(record) = resolve(name) else {
            continue;
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
        if page.len() == limit {
            break;
        }
    }
    let has_more = rest.any(|n| resolve(n).is_some());
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
