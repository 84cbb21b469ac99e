//! `/api/overview`, `/api/topics`, `/api/topics/{name}` and `/api/throughput`: what the engine knows of each
//! topic (a Kinesis stream is a topic; its shards are partitions), read from live state at each request.

use hyper::StatusCode;
use serde_json::{Value, json};
use strait_engine::{Engine, EngineError, TopicInfo};
use strait_kafka::api::config_catalog::{SOURCE_DEFAULT, SOURCE_DYNAMIC_TOPIC};

use super::Console;
use super::web::{ApiError, ApiResult};

/// Most topics `/api/topics` lists (the rest are counted in `more`).
pub(super) const MAX_TOPICS: usize = 1000;

/// The console's answer to an engine failure.
pub(super) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::UnknownTopic(t) => ApiError::not_found(format!("topic {t} does not exist")),
        EngineError::UnknownPartition { topic, partition } => {
            ApiError::not_found(format!("topic {topic} has no partition {partition}"))
        }
        EngineError::InvalidTopicName { name, reason } => {
            ApiError::bad_request(format!("invalid topic name {name:?}: {reason}"))
        }
        EngineError::ShuttingDown => ApiError::unavailable("the node is shutting down"),
        e => ApiError::internal(e.to_string()),
    }
}

/// The topics clients see (not the node's reserved internal ones), by name.
pub(super) fn visible_topics(engine: &Engine) -> Vec<TopicInfo> {
    // The engine already leaves its reserved topics out.
    let mut topics: Vec<TopicInfo> = engine.list_topics();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    topics
}

pub(super) fn overview(c: &Console, health: (StatusCode, String)) -> Value {
    let (status, text) = health;
    let listeners: Vec<Value> = c
        .listeners
        .iter()
        .map(
            |l| json!({ "name": l.name, "address": l.address.to_string(), "protocol": l.protocol }),
        )
        .collect();
    let mut out = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "health": { "status": status.as_u16(), "ready": status == StatusCode::OK, "text": text },
        "listeners": listeners,
        "time_ms": super::now_ms(),
    });
    if let Ok(engine) = c.engine() {
        let topics = visible_topics(engine);
        let streams = super::kinesis::stream_names(c);
        out["topics"] = json!(topics.len());
        out["partitions"] = json!(topics.iter().map(|t| u64::from(t.partitions)).sum::<u64>());
        out["kinesis_streams"] = json!(topics.iter().filter(|t| streams.contains(&t.name)).count());
    }
    out
}

pub(super) fn list(c: &Console) -> ApiResult {
    let engine = c.engine()?;
    let topics = visible_topics(engine);
    let streams = super::kinesis::stream_names(c);
    let mut out = Vec::new();
    for t in topics.iter().take(MAX_TOPICS) {
        // A topic deleted since the listing is simply left out.
        let Ok(parts) = engine.partitions(&t.name) else {
            continue;
        };
        let (mut size, mut records) = (0u64, 0i64);
        for p in &parts {
            let o = p.offsets();
            size += p.size_bytes();
            records += (o.high_watermark - o.log_start).max(0);
        }
        out.push(json!({
            "name": t.name,
            "id": t.id.to_string(),
            "partitions": t.partitions,
            "size_bytes": size,
            "records": records,
            "kinesis": streams.contains(&t.name),
            "created_ms": t.created_ms,
        }));
    }
    Ok(json!({ "topics": out, "more": topics.len().saturating_sub(MAX_TOPICS) }))
}

pub(super) fn detail(c: &Console, name: &str) -> ApiResult {
    let engine = c.engine()?;
    let t = engine
        .topic(name)
        .ok_or_else(|| ApiError::not_found(format!("topic {name} does not exist")))?;
    let parts = engine.partitions(name).map_err(engine_error)?;
    let partitions: Vec<Value> = parts
        .iter()
        .map(|p| {
            let o = p.offsets();
            let tr = p.traffic().totals();
            json!({
                "partition": p.index(),
                "log_start": o.log_start,
                "high_watermark": o.high_watermark,
                "log_end": o.log_end,
                "records": (o.high_watermark - o.log_start).max(0),
                "size_bytes": p.size_bytes(),
                "records_in": tr.records_in,
                "records_out": tr.records_out,
                "bytes_in": tr.bytes_in,
                "bytes_out": tr.bytes_out,
            })
        })
        .collect();
    let overrides = strait_kafka::api::topic_configs::overrides(engine, &t)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let configs: Vec<Value> = strait_kafka::api::topic_configs::describe_topic(
        &engine.config().topic_defaults,
        &overrides,
    )
    .into_iter()
    .map(|d| {
        let source = match d.source {
            SOURCE_DYNAMIC_TOPIC => "override",
            SOURCE_DEFAULT => "default",
            _ => "server default",
        };
        json!({ "name": d.name, "value": d.value, "source": source })
    })
    .collect();
    Ok(json!({
        "name": t.name,
        "id": t.id.to_string(),
        "partitions": partitions,
        "configs": configs,
        "created_ms": t.created_ms,
        "kinesis": super::kinesis::stream_view(c, &t),
    }))
}

/// The traffic counters of every topic, summed over its partitions; the page samples them every few seconds and
/// draws rates from the differences.
pub(super) fn throughput(c: &Console) -> ApiResult {
    let engine = c.engine()?;
    let mut out = Vec::new();
    for t in visible_topics(engine).iter().take(MAX_TOPICS) {
        let Ok(parts) = engine.partitions(&t.name) else {
            continue;
        };
        let mut sum = [0u64; 4];
        for p in &parts {
            let tr = p.traffic().totals();
            for (s, v) in
                sum.iter_mut()
                    .zip([tr.records_in, tr.records_out, tr.bytes_in, tr.bytes_out])
            {
                *s += v;
            }
        }
        out.push(json!({
            "topic": t.name,
            "records_in": sum[0],
            "records_out": sum[1],
            "bytes_in": sum[2],
            "bytes_out": sum[3],
        }));
    }
    Ok(json!({ "time_ms": super::now_ms(), "topics": out }))
}
