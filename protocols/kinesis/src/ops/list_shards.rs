//! ListShards: a stream's shards, filtered (ShardFilter) and paginated (MaxResults, NextToken,
//! ExclusiveStartShardId). KCL calls this to discover shards and their lineage.
//!
//! Filters, as AWS documents them (a shard is *retained* while it is open or its data has not aged out):
//! - AT_LATEST: the open shards.
//! - AT_TRIM_HORIZON: retained shards none of whose parents are retained (where a reader starts).
//! - FROM_TRIM_HORIZON: every retained shard.
//! - AT_TIMESTAMP: shards open at the timestamp (the initial shards for a time before the stream existed).
//! - FROM_TIMESTAMP: shards open at the timestamp and every shard created after it.
//! - AFTER_SHARD_ID: shards with an index after the given one.

use serde_json::json;
use strait_shard_map::ShardInfo;

use super::common::{page_size, shard_ref, shard_value};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::StreamRecord;
use crate::tokens::{open_next_token, sign_next_token};
use crate::value::Value;

/// AWS's default page size for ListShards.
const DEFAULT_MAX_RESULTS: usize = 1000;
const TOKEN_KIND: &str = "ListShards";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    None,
    AfterShardId(u32),
    AtTrimHorizon,
    FromTrimHorizon,
    AtLatest,
    AtTimestamp(i64),
    FromTimestamp(i64),
}

impl Filter {
    fn parse(v: Option<&Value>) -> Result<Filter, KinesisError> {
        let Some(f) = v else { return Ok(Filter::None) };
        let ts = || {
            f.timestamp("Timestamp").ok_or_else(|| {
                KinesisError::InvalidArgument(
                    "Timestamp is required for ShardFilter types AT_TIMESTAMP and FROM_TIMESTAMP."
                        .into(),
                )
            })
        };
        Ok(match f.str("Type").unwrap_or_default() {
            "AFTER_SHARD_ID" => {
                let id = f.str("ShardId").ok_or_else(|| {
                    KinesisError::InvalidArgument(
                        "ShardId is required for ShardFilter type AFTER_SHARD_ID.".into(),
                    )
                })?;
                // An id that is not ours cannot name a shard; nothing sorts after it in our numbering
                // except by string order, which shard ids of ours follow anyway.
                Filter::AfterShardId(shard_ref(id).unwrap_or(u32::MAX))
            }
            "AT_TRIM_HORIZON" => Filter::AtTrimHorizon,
            "FROM_TRIM_HORIZON" => Filter::FromTrimHorizon,
            "AT_LATEST" => Filter::AtLatest,
            "AT_TIMESTAMP" => Filter::AtTimestamp(ts()?),
            _ => Filter::FromTimestamp(ts()?),
        })
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Filter::None => json!(null),
            Filter::AfterShardId(i) => json!(["after", i]),
            Filter::AtTrimHorizon => json!(["ath"]),
            Filter::FromTrimHorizon => json!(["fth"]),
            Filter::AtLatest => json!(["al"]),
            Filter::AtTimestamp(t) => json!(["at", t]),
            Filter::FromTimestamp(t) => json!(["ft", t]),
        }
    }

    fn from_json(v: &serde_json::Value) -> Filter {
        let n = |i: usize| v.get(i).and_then(serde_json::Value::as_i64).unwrap_or(0);
        match v.get(0).and_then(serde_json::Value::as_str) {
            Some("after") => Filter::AfterShardId(n(1) as u32),
            Some("ath") => Filter::AtTrimHorizon,
            Some("fth") => Filter::FromTrimHorizon,
            Some("al") => Filter::AtLatest,
            Some("at") => Filter::AtTimestamp(n(1)),
            Some("ft") => Filter::FromTimestamp(n(1)),
            _ => Filter::None,
        }
    }

    fn admits(&self, r: &StreamRecord, s: &ShardInfo, now: i64) -> bool {
        let retained = |i: u32| !r.shard_expired(i, now);
        let open_at =
            |s: &ShardInfo, t: i64| s.created_ms <= t && s.closed.is_none_or(|c| c.closed_ms > t);
        match self {
            Filter::None => true,
            Filter::AfterShardId(i) => s.index > *i,
            Filter::AtLatest => s.is_open(),
            Filter::FromTrimHorizon => retained(s.index),
            Filter::AtTrimHorizon => retained(s.index) && !s.parents().any(retained),
            Filter::AtTimestamp(t) => {
                if *t < r.created_ms {
                    s.parent.is_none()
                } else {
                    open_at(s, *t)
                }
            }
            Filter::FromTimestamp(t) => {
                if *t < r.created_ms {
                    retained(s.index)
                } else {
                    open_at(s, *t) || s.created_ms > *t
                }
            }
        }
    }
}

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let now = k.now_ms();
    let key = k.inner.store.secret();
    // AWS returns at most 1000 shards per call whatever MaxResults asks for.
    let max = page_size(req, "MaxResults", DEFAULT_MAX_RESULTS).min(DEFAULT_MAX_RESULTS);
    let (r, filter, after) = match req.str("NextToken") {
        Some(t) => {
            for conflicting in [
                "StreamName",
                "StreamARN",
                "ExclusiveStartShardId",
                "ShardFilter",
                "StreamCreationTimestamp",
            ] {
                if req.member(conflicting).is_some() {
                    return Err(KinesisError::InvalidArgument(format!(
                        "NextToken and {conflicting} cannot be provided together."
                    )));
                }
            }
            let v = open_next_token(key, TOKEN_KIND, t, now)?;
            let name = v.get("s").and_then(|s| s.as_str()).unwrap_or_default();
            let (_, r) = k.lookup(name)?;
            if v.get("i").and_then(serde_json::Value::as_u64) != Some(u64::from(r.incarnation)) {
                return Err(k.not_found(name));
            }
            let after = v.get("a").and_then(serde_json::Value::as_i64).unwrap_or(-1);
            (r, Filter::from_json(&v["f"]), after)
        }
        None => {
            let (_, r) = k.resolve(req)?;
            if let Some(ts) = req.timestamp("StreamCreationTimestamp")
                && ts.div_euclid(1000) != r.created_ms.div_euclid(1000)
            {
                return Err(k.not_found(&r.name));
            }
            let after = match req.str("ExclusiveStartShardId") {
                Some(id) => shard_ref(id).map_or(i64::MAX, i64::from),
                None => -1,
            };
            (r, Filter::parse(req.member("ShardFilter"))?, after)
        }
    };
    let matching: Vec<&ShardInfo> = r
        .shards
        .shards()
        .iter()
        .filter(|s| i64::from(s.index) > after && filter.admits(&r, s, now))
        .collect();
    let page: Vec<&ShardInfo> = matching.iter().take(max).copied().collect();
    let next = match page.last() {
        Some(last) if matching.len() > page.len() => Some(sign_next_token(
            key,
            TOKEN_KIND,
            &json!({
                "s": r.name,
                "i": r.incarnation,
                "a": last.index,
                "f": filter.to_json(),
                "t": now,
            }),
        )),
        _ => None,
    };
    Ok(Value::map()
        .with(
            "Shards",
            Value::List(page.iter().map(|s| shard_value(&r, s)).collect()),
        )
        .with_opt("NextToken", next))
}
