//! `crash-writer write`: concurrent writer tasks appending numbered records until the process is killed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strait_crash_test::TOPIC;
use strait_crash_test::payload::RecordId;
use strait_crash_test::report::{BatchRef, Line};
use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_engine::{AppendOptions, Engine, EngineConfig, EngineError, FsyncPolicy, Partition};

use crate::BoxError;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    data_dir: PathBuf,
    /// Partitions of the topic when this run creates it (an existing topic keeps its count).
    #[arg(long, default_value_t = 3)]
    partitions: u32,
    /// Concurrent writer tasks; each picks a random partition for every batch.
    #[arg(long, default_value_t = 6)]
    writers: u32,
    /// Goes into every key, so records of different runs of the writer never look alike.
    #[arg(long)]
    round: u32,
    /// Seeds batch sizes and partition choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// `segment.bytes` for a topic this run creates: small, so that segments roll and index files exist.
    #[arg(long, default_value_t = 1 << 20)]
    segment_bytes: u64,
    /// Stops cleanly after this long (0: run until killed).
    #[arg(long, default_value_t = 0)]
    duration_ms: u64,
}

pub(crate) async fn run(args: Args) -> Result<(), BoxError> {
    let engine = Engine::open(EngineConfig {
        data_dir: args.data_dir.clone(),
        fsync: FsyncPolicy::Always,
        ..Default::default()
    })
    .await?;
    let partitions = match engine.topic(TOPIC) {
        Some(t) => t.partitions,
        None => {
            let overrides = BTreeMap::from([
                ("segment.bytes".to_string(), args.segment_bytes.to_string()),
                // Retention must never remove what the test will look for.
                ("retention.ms".to_string(), "-1".to_string()),
            ]);
            engine
                .create_topic(TOPIC, args.partitions, overrides)
                .await?
                .partitions
        }
    };
    let parts: Vec<Arc<Partition>> = (0..partitions)
        .map(|p| engine.partition(TOPIC, p))
        .collect::<Result<_, EngineError>>()?;
    print_line(&Line::Ready)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..args.writers {
        let rng =
            StdRng::seed_from_u64(args.seed ^ (u64::from(args.round) << 32) ^ u64::from(writer));
        tasks.spawn(write_loop(
            parts.clone(),
            args.round,
            writer,
            rng,
            stop.clone(),
        ));
    }
    if args.duration_ms > 0 {
        tokio::time::sleep(Duration::from_millis(args.duration_ms)).await;
        stop.store(true, Ordering::Release);
    }
    while let Some(res) = tasks.join_next().await {
        res??;
    }
    engine.shutdown().await?;
    Ok(())
}

/// One writer task: builds a batch of the next 1..=20 seqs, appends it, waits for durability, prints the ack.
async fn write_loop(
    parts: Vec<Arc<Partition>>,
    round: u32,
    writer: u32,
    mut rng: StdRng,
    stop: Arc<AtomicBool>,
) -> Result<(), BoxError> {
    let mut seq = 0u64;
    let opts = AppendOptions {
        leader_epoch: 0,
        wait_durable: true,
        forward: false,
    };
    while !stop.load(Ordering::Acquire) {
        let partition = rng.random_range(0..parts.len());
        let count = rng.random_range(1..=20u32);
        let batch = build_batch(round, writer, seq, count);
        let info = parts[partition].append(batch.into(), opts).await?;
        if info.last_offset - info.base_offset + 1 != i64::from(count) {
            return Err(format!(
                "append of {count} records was given offsets {}..={}",
                info.base_offset, info.last_offset
            )
            .into());
        }
        let ack = BatchRef {
            partition: partition as u32,
            base_offset: info.base_offset,
            count,
            round,
            writer,
            first_seq: seq,
        };
        print_line(&Line::Ack(ack))?;
        seq += u64::from(count);
    }
    Ok(())
}

fn build_batch(round: u32, writer: u32, first_seq: u64, count: u32) -> bytes::BytesMut {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let ids: Vec<RecordId> = (0..u64::from(count))
        .map(|i| RecordId {
            round,
            writer,
            seq: first_seq + i,
        })
        .collect();
    let keys: Vec<Vec<u8>> = ids.iter().map(RecordId::key).collect();
    let values: Vec<Vec<u8>> = ids.iter().map(RecordId::value).collect();
    let mut b = BatchBuilder::new();
    for (k, v) in keys.iter().zip(&values) {
        b.push(RecordInput {
            key: Some(k),
            value: Some(v),
            headers: &[],
            timestamp_ms: now,
        });
    }
    b.finish()
}

/// Prints and flushes at once: a line still in a buffer when SIGKILL lands would be an ack the test never sees,
/// which is safe but weakens the test.
fn print_line(line: &Line) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
