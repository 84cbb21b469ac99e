//! ListStreamConsumers: a stream's consumers, paginated by MaxResults and NextToken.

use serde_json::json;

use super::common::page_size;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::tokens::{open_next_token, sign_next_token};
use crate::value::Value;

const DEFAULT_MAX_RESULTS: usize = 100;
const TOKEN_KIND: &str = "ListStreamConsumers";

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let now = k.now_ms();
    let key = k.inner.store.secret();
    let stream = k.stream_name_of_arn(req.str("StreamARN").unwrap_or_default())?;
    let (_, r) = k.lookup(&stream)?;
    if let Some(ts) = req.timestamp("StreamCreationTimestamp")
        && ts.div_euclid(1000) != r.created_ms.div_euclid(1000)
    {
        return Err(k.not_found(&stream));
    }
    let skip = match req.str("NextToken") {
        Some(t) => {
            let v = open_next_token(key, TOKEN_KIND, t, now)?;
            if v.get("s").and_then(|s| s.as_str()) != Some(stream.as_str()) {
                return Err(KinesisError::InvalidArgument(format!(
                    "Invalid NextToken: {t}"
                )));
            }
            v.get("n").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize
        }
        None => 0,
    };
    let max = page_size(req, "MaxResults", DEFAULT_MAX_RESULTS);
    let all = k.stream_consumers(&r);
    let page: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(max)
        .map(|c| {
            Value::map()
                .with("ConsumerName", c.name.as_str())
                .with("ConsumerARN", c.arn.as_str())
                .with("ConsumerStatus", c.status)
                .with("ConsumerCreationTimestamp", Value::Timestamp(c.created_ms))
        })
        .collect();
    let next = (all.len() > skip + page.len()).then(|| {
        sign_next_token(
            key,
            TOKEN_KIND,
            &json!({ "s": stream, "n": skip + page.len(), "t": now }),
        )
    });
    Ok(Value::map()
        .with("Consumers", Value::List(page))
        .with_opt("NextToken", next))
}
