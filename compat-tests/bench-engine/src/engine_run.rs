//! `bench-engine engine`: append throughput and latency under `fsync = always` with `wait_durable`, the
//! acks=all path, where concurrent producers of a partition share fsyncs (group commit).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_engine::{AppendOptions, Engine, EngineConfig, FsyncPolicy, Partition};

use crate::fsyncs::FsyncRecorder;
use crate::stats::{mb_per_s, quantile, sorted};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Directory for the engine's data (one fresh subdirectory per run, removed afterwards).
    #[arg(long)]
    dir: PathBuf,
    /// Partition counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    partitions: Vec<u32>,
    /// Concurrent producers per partition, one run each; a producer waits for its append to be durable
    /// before it sends the next.
    #[arg(long, value_delimiter = ',', default_value = "4")]
    producers: Vec<u32>,
    /// Record payload bytes per run (default 1 GiB).
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// 256 MiB per run instead of `--bytes`.
    #[arg(long)]
    quick: bool,
    #[arg(long, default_value_t = 1024)]
    record_bytes: usize,
    #[arg(long, default_value_t = 16)]
    records_per_batch: usize,
    /// Raw sequential write bandwidth of the same disk in MB/s (from dd), for the ratio column.
    #[arg(long)]
    raw_mbps: Option<f64>,
    /// Also writes the results as a Markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

struct Outcome {
    partitions: u32,
    producers: u32,
    appends: u64,
    log_bytes: u64,
    elapsed: Duration,
    fsyncs: u64,
    fsync_ms: Vec<f64>,
    latency_ms: Vec<f64>,
}

pub(crate) async fn run(args: Args, recorder: FsyncRecorder) -> Result<(), BoxError> {
    let payload = if args.quick { 256 << 20 } else { args.bytes };
    let batch = build_batch(args.record_bytes, args.records_per_batch);
    let appends = payload / (args.record_bytes * args.records_per_batch) as u64;
    println!(
        "engine: {} B records, {} per batch ({} B on disk per batch), {appends} appends ({:.0} MiB payload) per run, \
         fsync=always, wait_durable=true",
        args.record_bytes,
        args.records_per_batch,
        batch.len(),
        payload as f64 / (1 << 20) as f64,
    );
    let mut outcomes = Vec::new();
    for &producers in &args.producers {
        for &p in &args.partitions {
            let dir = args.dir.join(format!("engine-p{p}"));
            let o = one_run(&dir, p, producers, appends, &batch, &recorder).await;
            // Removed before the next run so that every run starts from the same free space.
            std::fs::remove_dir_all(&dir)?;
            let o = o?;
            println!("{}", summary(&o, args.raw_mbps));
            outcomes.push(o);
        }
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown(&outcomes, args.raw_mbps))?;
    }
    Ok(())
}

fn build_batch(record_bytes: usize, records: usize) -> BytesMut {
    let value: Vec<u8> = (0..record_bytes).map(|i| (i % 251) as u8).collect();
    let mut b = BatchBuilder::new();
    for _ in 0..records {
        b.push(RecordInput {
            key: None,
            value: Some(&value),
            headers: &[],
            timestamp_ms: 1_700_000_000_000,
        });
    }
    b.finish()
}

async fn one_run(
    dir: &Path,
    partitions: u32,
    producers: u32,
    appends: u64,
    batch: &BytesMut,
    recorder: &FsyncRecorder,
) -> Result<Outcome, BoxError> {
    let engine = Engine::open(EngineConfig {
        data_dir: dir.to_path_buf(),
        fsync: FsyncPolicy::Always,
        ..Default::default()
    })
    .await?;
    engine
        .create_topic("bench", partitions, Default::default())
        .await?;
    let tasks = u64::from(partitions * producers);
    recorder.take();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let part = engine.partition("bench", (t % u64::from(partitions)) as u32)?;
        // Spreads the remainder so the total is exactly `appends`.
        let n = appends / tasks + u64::from(t < appends % tasks);
        set.spawn(produce(part, n, batch.clone()));
    }
    let mut latency_ms = Vec::with_capacity(appends as usize);
    while let Some(res) = set.join_next().await {
        latency_ms.extend(res??);
    }
    let elapsed = started.elapsed();
    let (fsyncs, fsync_secs) = recorder.take();
    engine.shutdown().await?;
    Ok(Outcome {
        partitions,
        producers,
        appends,
        log_bytes: appends * batch.len() as u64,
        elapsed,
        fsyncs,
        fsync_ms: sorted(fsync_secs.into_iter().map(|s| s * 1e3).collect()),
        latency_ms: sorted(latency_ms),
    })
}

/// One producer: `n` appends, one at a time, each waiting until durable; returns each append's latency in ms.
async fn produce(part: Arc<Partition>, n: u64, batch: BytesMut) -> Result<Vec<f64>, BoxError> {
    let opts = AppendOptions {
        leader_epoch: 0,
        wait_durable: true,
        forward: false,
    };
    let mut lat = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        part.append(batch.clone().into(), opts).await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(lat)
}

fn ratio(mbps: f64, raw: Option<f64>) -> String {
    raw.map_or("n/a".into(), |r| format!("{:.2}", mbps / r))
}

fn summary(o: &Outcome, raw: Option<f64>) -> String {
    let mbps = mb_per_s(o.log_bytes, o.elapsed);
    format!(
        "  {} partition(s) x {} producers each: {:.1} MB/s ({} of raw), {:.0} appends/s, {} fsyncs ({:.1} appends per fsync, \
         fsync p50 {:.2} ms p99 {:.2} ms), append latency p50 {:.2} ms p99 {:.2} ms, {:.1} s",
        o.partitions,
        o.producers,
        mbps,
        ratio(mbps, raw),
        o.appends as f64 / o.elapsed.as_secs_f64(),
        o.fsyncs,
        o.appends as f64 / o.fsyncs.max(1) as f64,
        quantile(&o.fsync_ms, 0.5),
        quantile(&o.fsync_ms, 0.99),
        quantile(&o.latency_ms, 0.5),
        quantile(&o.latency_ms, 0.99),
        o.elapsed.as_secs_f64(),
    )
}

fn markdown(outcomes: &[Outcome], raw: Option<f64>) -> String {
    let mut s = String::from(
        "| partitions | producers per partition | engine MB/s | ÷ raw MB/s | appends/s | fsyncs | appends/fsync | fsync p50 / p99 ms | append p50 / p99 ms |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        let mbps = mb_per_s(o.log_bytes, o.elapsed);
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {} | {:.0} | {} | {:.1} | {:.2} / {:.2} | {:.2} / {:.2} |",
            o.partitions,
            o.producers,
            mbps,
            ratio(mbps, raw),
            o.appends as f64 / o.elapsed.as_secs_f64(),
            o.fsyncs,
            o.appends as f64 / o.fsyncs.max(1) as f64,
            quantile(&o.fsync_ms, 0.5),
            quantile(&o.fsync_ms, 0.99),
            quantile(&o.latency_ms, 0.5),
            quantile(&o.latency_ms, 0.99),
        );
    }
    s
}
