//! `get`: a catch-up read. One task per shard reads from TRIM_HORIZON with GetRecords (up to `limit` records a
//! call) until the shard is drained (an empty answer with MillisBehindLatest 0, or no next iterator), and the run
//! ends when every shard is drained and at least `records` were read, or fails after `timeout_s`.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;

use crate::client::shard_ids;
use crate::error::BenchError;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    stream: String,
    /// Records expected in the stream; fewer after draining every shard (and retrying until the timeout) is an
    /// error, so a server that loses or hides records cannot look fast.
    #[arg(long)]
    records: u64,
    /// Records per GetRecords call (AWS allows up to 10,000).
    #[arg(long, default_value_t = 10_000)]
    limit: i32,
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
}

struct ShardRead {
    records: u64,
    bytes: u64,
    calls: u64,
}

pub(crate) async fn run(client: &Client, a: Args) -> Result<serde_json::Value, BenchError> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.timeout_s);
    let shards = shard_ids(client, &a.stream).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for shard in shards.iter().cloned() {
        let (client, stream, limit) = (client.clone(), a.stream.clone(), a.limit);
        tasks.spawn(async move { read_shard(client, stream, shard, limit, deadline).await });
    }
    let (mut records, mut bytes, mut calls) = (0u64, 0u64, 0u64);
    while let Some(joined) = tasks.join_next().await {
        let r = joined.map_err(|e| BenchError::Unexpected(format!("reader task: {e}")))??;
        records += r.records;
        bytes += r.bytes;
        calls += r.calls;
    }
    let seconds = started.elapsed().as_secs_f64();
    if records < a.records {
        return Err(BenchError::Unexpected(format!(
            "read {records} records from {}, expected {}",
            a.stream, a.records
        )));
    }
    Ok(serde_json::json!({
        "op": "get", "stream": a.stream, "shards": shards.len(), "records": records, "bytes": bytes,
        "calls": calls, "seconds": seconds,
        "records_per_s": records as f64 / seconds, "mb_per_s": bytes as f64 / seconds / 1e6,
    }))
}

async fn read_shard(
    client: Client,
    stream: String,
    shard: String,
    limit: i32,
    deadline: Instant,
) -> Result<ShardRead, BenchError> {
    let it = client
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .map_err(|e| BenchError::sdk("GetShardIterator", e))?;
    let mut iterator = it.shard_iterator().map(str::to_string);
    let mut r = ShardRead {
        records: 0,
        bytes: 0,
        calls: 0,
    };
    while let Some(current) = iterator {
        if Instant::now() > deadline {
            return Err(BenchError::Timeout(format!(
                "{shard}: still reading at the deadline"
            )));
        }
        let out = client
            .get_records()
            .shard_iterator(current)
            .limit(limit)
            .send()
            .await
            .map_err(|e| BenchError::sdk("GetRecords", e))?;
        r.calls += 1;
        let got = out.records();
        r.records += got.len() as u64;
        r.bytes += got
            .iter()
            .map(|rec| rec.data().as_ref().len() as u64)
            .sum::<u64>();
        if got.is_empty() && out.millis_behind_latest().unwrap_or(0) == 0 {
            break;
        }
        iterator = out.next_shard_iterator().map(str::to_string);
    }
    Ok(r)
}
