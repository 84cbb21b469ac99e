//! DescribeLogDirs (v1–4): the engine's one data directory, the size of each partition in it, and (v4) the
//! size and free space of its volume.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let engine = ctx.broker.engine();
    // A null list means every partition; otherwise only the named ones, and names we do not host are simply
    // absent from the answer (Kafka reports what each log dir holds, not errors per partition).
    let wanted: Option<HashMap<String, HashSet<i32>>> = req.topics.map(|ts| {
        let mut m: HashMap<String, HashSet<i32>> = HashMap::new();
        for t in ts {
            m.entry(t.topic.0.to_string())
                .or_default()
                .extend(t.partitions);
        }
        m
    });
    let mut topics = Vec::new();
    for t in engine.list_topics() {
        let want = match &wanted {
            None => None,
            Some(m) => match m.get(&t.name) {
                Some(set) => Some(set),
                None => continue,
            },
        };
        let Ok(parts) = engine.partitions(&t.name) else {
            continue; // deleted since it was listed
        };
        let partitions: Vec<DescribeLogDirsPartition> = parts
            .iter()
            .filter(|p| want.is_none_or(|w| w.contains(&(p.index() as i32))))
            .map(|p| {
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index() as i32)
                    .with_partition_size(i64::try_from(p.size_bytes()).unwrap_or(i64::MAX))
                    // No replicas and no future (moving) logs: the log end is the high watermark's only
                    // reference, so the lag is 0.
                    .with_offset_lag(0)
                    .with_is_future_key(false)
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(t.name)))
                    .with_partitions(partitions),
            );
        }
    }
    let data_dir = &engine.config().data_dir;
    let shown = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.clone());
    let (total, usable) = volume_space(data_dir);
    let dir = DescribeLogDirsResult::default()
        .with_error_code(0)
        .with_log_dir(StrBytes::from_string(shown.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(total)
        .with_usable_bytes(usable);
    DescribeLogDirsResponse::default()
        .with_error_code(0)
        .with_results(vec![dir])
}

/// Total and available bytes of the volume holding `dir`, or -1 (Kafka's "unknown") if it cannot be read.
fn volume_space(dir: &Path) -> (i64, i64) {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let bytes =
                |blocks: u64| i64::try_from(blocks.saturating_mul(s.f_frsize)).unwrap_or(i64::MAX);
            (bytes(s.f_blocks), bytes(s.f_bavail))
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "statvfs failed; reporting unknown volume size");
            (-1, -1)
        }
    }
}
