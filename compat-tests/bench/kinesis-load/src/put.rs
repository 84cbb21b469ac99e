//! `put`: W concurrent writers, each sending PutRecords calls of `batch` records back to back (one call in flight
//! per writer), until `seconds` pass or `max_records` are sent. Records a server rejects in a call
//! (FailedRecordCount) are counted as failed, not retried, so the figure is accepted records only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use crate::error::BenchError;
use crate::latency::percentile_ms;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    stream: String,
    /// Concurrent writers, each with one PutRecords call in flight.
    #[arg(long, default_value_t = 4)]
    writers: u64,
    /// Records per PutRecords call (AWS allows up to 500).
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// Bytes of data per record.
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Stop after this many records in all (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_records: u64,
}

struct WriterResult {
    ok: u64,
    failed: u64,
    latencies: Vec<Duration>,
}

pub(crate) async fn run(client: &Client, a: Args) -> Result<serde_json::Value, BenchError> {
    let budget = Arc::new(AtomicU64::new(if a.max_records == 0 {
        u64::MAX
    } else {
        a.max_records
    }));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(a.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..a.writers {
        let (client, budget, stream) = (client.clone(), budget.clone(), a.stream.clone());
        let (batch, size) = (a.batch, a.record_size);
        tasks.spawn(async move { writer(client, stream, w, batch, size, deadline, budget).await });
    }
    let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let r = joined.map_err(|e| BenchError::Unexpected(format!("writer task: {e}")))??;
        ok += r.ok;
        failed += r.failed;
        latencies.extend(r.latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let bytes = ok * a.record_size as u64;
    Ok(serde_json::json!({
        "op": "put", "stream": a.stream, "writers": a.writers, "batch": a.batch,
        "record_size": a.record_size, "records": ok, "failed": failed, "bytes": bytes,
        "calls": latencies.len(), "seconds": seconds,
        "records_per_s": ok as f64 / seconds, "mb_per_s": bytes as f64 / seconds / 1e6,
        "call_p50_ms": percentile_ms(&latencies, 50.0), "call_p99_ms": percentile_ms(&latencies, 99.0),
    }))
}

/// Takes up to `want` records from the shared budget; 0 when it is spent.
fn reserve(budget: &AtomicU64, want: u64) -> u64 {
    let mut have = budget.load(Ordering::Relaxed);
    loop {
        let take = have.min(want);
        if take == 0 {
            return 0;
        }
        match budget.compare_exchange_weak(have, have - take, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => return take,
            Err(now) => have = now,
        }
    }
}

async fn writer(
    client: Client,
    stream: String,
    id: u64,
    batch: u64,
    size: usize,
    deadline: Instant,
    budget: Arc<AtomicU64>,
) -> Result<WriterResult, BenchError> {
    // Distinct bytes per writer so no layer can shortcut identical payloads.
    let payload: Vec<u8> = (0..size).map(|i| (i as u64 ^ id) as u8).collect();
    let mut r = WriterResult {
        ok: 0,
        failed: 0,
        latencies: Vec::new(),
    };
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let n = reserve(&budget, batch);
        if n == 0 {
            break;
        }
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            // Distinct partition keys spread the records over every shard by MD5, as real traffic does.
            let entry = PutRecordsRequestEntry::builder()
                .partition_key(format!("w{id}-{seq}"))
                .data(Blob::new(payload.clone()))
                .build()
                .map_err(|e| BenchError::Unexpected(format!("PutRecordsRequestEntry: {e}")))?;
            entries.push(entry);
            seq += 1;
        }
        let sent = Instant::now();
        let out = client
            .put_records()
            .stream_name(&stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| BenchError::sdk("PutRecords", e))?;
        r.latencies.push(sent.elapsed());
        let failed = u64::try_from(out.failed_record_count().unwrap_or(0)).unwrap_or(0);
        r.failed += failed;
        r.ok += n - failed.min(n);
    }
    Ok(r)
}
