//! A topic's Kinesis side: whether it is a Kinesis stream (it has a stream record), its shards with their hash
//! key ranges and lineage, and its enhanced fan-out consumers as ListStreamConsumers lists them.

use std::collections::HashSet;

use serde_json::{Value, json};
use strait_engine::TopicInfo;
use strait_kinesis::store::StreamRecord;
use strait_shard_map::schema::record_belongs_to;

use super::Console;

/// The names of the Kinesis streams (topics with a stream record).
pub(super) fn stream_names(c: &Console) -> HashSet<String> {
    c.kinesis()
        .map(|(_, cache)| cache.snapshot().into_keys().collect())
        .unwrap_or_default()
}

/// The stream record of topic `t`, when it is a Kinesis stream (a record left behind by an earlier topic of the
/// same name does not count).
pub(super) fn stream_record(c: &Console, t: &TopicInfo) -> Option<StreamRecord> {
    let (_, cache) = c.kinesis()?;
    let r = cache.snapshot().remove(&t.name)?;
    let recorded = r.topic_id.map(|u| u.to_string());
    record_belongs_to(recorded.as_deref(), &t.id.to_string()).then_some(r)
}

/// The Kinesis view of a topic for the topic page, or `null` when it is not a Kinesis stream.
pub(super) fn stream_view(c: &Console, t: &TopicInfo) -> Value {
    let (Some((kinesis, _)), Some(r)) = (c.kinesis(), stream_record(c, t)) else {
        return Value::Null;
    };
    let delay = kinesis.config().status_delay.as_millis() as i64;
    let shards: Vec<Value> = r
        .shards
        .shards()
        .iter()
        .map(|s| {
            json!({
                "shard_id": s.shard_id(),
                "partition": s.index,
                "starting_hash_key": s.hash_range.starting_hash_key(),
                "ending_hash_key": s.hash_range.ending_hash_key(),
                "open": s.is_open(),
                "parent": s.parent.map(strait_shard_map::shard_id),
                "adjacent_parent": s.adjacent_parent.map(strait_shard_map::shard_id),
                "starting_sequence_number": s.starting_sequence_number(r.incarnation),
                "ending_sequence_number": s.ending_sequence_number(r.incarnation),
            })
        })
        .collect();
    let consumers: Vec<Value> = kinesis
        .stream_consumers(&r)
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "arn": c.arn,
                "status": c.status,
                "created_ms": c.created_ms,
            })
        })
        .collect();
    json!({
        "stream_name": r.name,
        "stream_arn": strait_kinesis::arn::stream_arn(kinesis.config(), &r.name),
        "status": r.status(super::now_ms(), delay).as_str(),
        "mode": r.mode.as_str(),
        "retention_hours": r.retention_hours,
        "shards": shards,
        "consumers": consumers,
    })
}
