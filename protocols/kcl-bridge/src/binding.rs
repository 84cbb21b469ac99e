//! Which stream and shard a lease belongs to, and what the bridge reads of that shard.
//!
//! In multi-stream mode the lease says (`streamName`); in single-stream mode it is, in order, the one stream with
//! an enhanced fan-out consumer named after the application (KCL's default), the one stream the group already
//! has offsets on, or the one stream that has the lease's shard with the lease's hash-key range. With none or
//! several the lease is left alone (logged at debug). The rules as users read them are in docs/migration.md.

use strait_kafka::GroupOffsets;
use strait_kinesis::Kinesis;
use strait_kinesis::read::read_shard;
use strait_shard_map::kpl::aggregated_record_count;
use strait_shard_map::parse_shard_id;
use tracing::{debug, warn};

use crate::lease::Lease;

/// Where a lease's shard lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub stream: String,
    pub incarnation: u32,
    pub shard: u32,
}

impl Target {
    /// The shard as a Kafka partition number.
    pub fn partition(&self) -> Option<i32> {
        i32::try_from(self.shard).ok()
    }
}

/// Resolves the lease's stream and shard (see the module documentation for the order of the rules).
pub fn target(
    kinesis: &Kinesis,
    offsets: &GroupOffsets,
    group: &str,
    lease: &Lease,
) -> Option<Target> {
    let shard = parse_shard_id(&lease.shard_id).ok()?;
    let stream = match &lease.stream {
        Some(s) => s.clone(),
        None => bind(kinesis, offsets, group, shard, lease)?,
    };
    let record = kinesis.stream(&stream)?;
    record.shards.shard(shard).ok()?;
    Some(Target {
        stream,
        incarnation: record.incarnation,
        shard,
    })
}

fn bind(
    kinesis: &Kinesis,
    offsets: &GroupOffsets,
    group: &str,
    shard: u32,
    lease: &Lease,
) -> Option<String> {
    let streams: Vec<_> = kinesis
        .stream_names()
        .into_iter()
        .filter_map(|n| kinesis.stream(&n))
        .filter(|r| r.shards.shard(shard).is_ok())
        .collect();
    let one = |v: Vec<String>| {
        if v.len() == 1 {
            v.into_iter().next()
        } else {
            None
        }
    };
    let by_consumer = streams
        .iter()
        .filter(|r| kinesis.has_consumer(r, group))
        .map(|r| r.name.clone())
        .collect();
    if let Some(s) = one(by_consumer) {
        return Some(s);
    }
    let with_offsets = topics_with_offsets(offsets, group);
    let by_offsets = streams
        .iter()
        .filter(|r| with_offsets.contains(&r.name))
        .map(|r| r.name.clone())
        .collect();
    if let Some(s) = one(by_offsets) {
        return Some(s);
    }
    let by_range = streams
        .iter()
        .filter(|r| {
            lease.hash_range.as_ref().is_none_or(|(start, end)| {
                r.shards.shard(shard).is_ok_and(|s| {
                    s.hash_range.start.to_string() == *start && s.hash_range.end.to_string() == *end
                })
            })
        })
        .map(|r| r.name.clone())
        .collect();
    let found = one(by_range);
    if found.is_none() {
        debug!(group, shard = %lease.shard_id, "cannot tell which stream this lease table reads");
    }
    found
}

/// The topics `group` has committed offsets on.
fn topics_with_offsets(offsets: &GroupOffsets, group: &str) -> Vec<String> {
    match offsets.committed_in_group(group) {
        Ok(rows) => {
            let mut topics: Vec<String> = rows.into_iter().map(|(t, _, _)| t).collect();
            topics.dedup();
            topics
        }
        Err(e) => {
            warn!(group, error = %e, "reading committed offsets failed");
            Vec::new()
        }
    }
}

/// The sealed end offset of the target's shard, `None` while it is open.
pub fn shard_end(kinesis: &Kinesis, t: &Target) -> Option<i64> {
    let r = kinesis.stream(&t.stream)?;
    r.shards.shard(t.shard).ok()?.closed.map(|c| c.end_offset)
}

/// The number of KPL sub-records in the record at `offset`, `None` for an ordinary (or unreadable) record.
pub async fn aggregate_len(kinesis: &Kinesis, t: &Target, offset: i64) -> Option<usize> {
    if offset < 0 {
        return None;
    }
    let view = kinesis
        .shard_view(&t.stream, &strait_shard_map::shard_id(t.shard))
        .ok()?;
    let read = read_shard(
        &view.partition,
        t.incarnation,
        t.shard,
        offset,
        view.end_offset(),
        1,
    )
    .await
    .ok()?;
    let record = read.records.first().filter(|r| r.offset == offset)?;
    aggregated_record_count(&record.data)
}
