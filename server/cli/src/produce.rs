//! `strait produce`: records from `--value` or from stdin, one per line, to a Kafka topic (Produce to each
//! partition's leader) or, with `--kinesis`, to a stream (PutRecords). Stdin is read on a thread and whatever
//! lines have arrived are sent together, so a pipe is batched and an interactive terminal sends each line at once.

use std::collections::BTreeMap;
use std::io::BufRead;

use bytes::Bytes;
use clap::Args;
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::args::{Global, Output, parse_key_value};
use crate::error::{CliError, Result, check};
use crate::kafka::records::{OutRecord, encode_batch, partition_for_key};
use crate::kafka::{Client, topic_name};
use crate::output::{Table, emit};
use crate::progress::Progress;

/// At most this many records go into one request.
const MAX_BATCH: usize = 500;

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub global: Global,
    /// The topic (with --kinesis, the stream).
    pub topic: String,
    /// One record with this value; without it, each line of stdin is a record.
    #[arg(long)]
    pub value: Option<String>,
    /// The record key (Kafka); with --kinesis, the partition key unless --partition-key is given.
    #[arg(long, short = 'k')]
    pub key: Option<String>,
    /// A record header, name=value; repeatable (Kafka only).
    #[arg(long = "header", short = 'H', value_parser = parse_key_value)]
    pub headers: Vec<(String, String)>,
    /// The partition [default: by key hash as the Java client does, round-robin without a key].
    #[arg(long, short = 'p')]
    pub partition: Option<i32>,
    /// Acknowledgements to wait for: -1 (all in-sync replicas) or 1 (the leader).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_parser = parse_acks)]
    pub acks: i16,
    /// Writes to the Kinesis stream TOPIC through the AWS API instead of the Kafka protocol.
    #[arg(long, conflicts_with_all = ["headers", "partition"])]
    pub kinesis: bool,
    /// The Kinesis partition key (with --kinesis).
    #[arg(long, requires = "kinesis")]
    pub partition_key: Option<String>,
}

/// acks=0 is refused: the broker sends no response, so the CLI could not report offsets or errors.
fn parse_acks(s: &str) -> std::result::Result<i16, String> {
    match s {
        "-1" | "all" => Ok(-1),
        "1" => Ok(1),
        _ => Err("expected -1 (all) or 1".into()),
    }
}

/// Lines of stdin (or the one `--value`), read on a thread since stdin blocks.
fn input(value: Option<String>) -> mpsc::UnboundedReceiver<std::io::Result<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    match value {
        Some(v) => {
            let _ = tx.send(Ok(v));
        }
        None => {
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
    }
    rx
}

/// The next batch: waits for one line, then takes whatever else has already arrived (up to [`MAX_BATCH`]).
async fn next_batch(
    rx: &mut mpsc::UnboundedReceiver<std::io::Result<String>>,
) -> Result<Option<Vec<String>>> {
    let Some(first) = rx.recv().await else {
        return Ok(None);
    };
    let mut batch = vec![first?];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(line) => batch.push(line?),
            Err(_) => break,
        }
    }
    Ok(Some(batch))
}

pub(crate) async fn run(a: ProduceArgs) -> Result<()> {
    if a.kinesis {
        return kinesis(a).await;
    }
    let mut client = Client::connect(&a.global.brokers).await?;
    let mut leaders = client.leaders(&a.topic).await?;
    let count = leaders.len() as i32;
    if let Some(p) = a.partition
        && !leaders.contains_key(&p)
    {
        return Err(CliError::no_partition(&a.topic, p));
    }
    let headers: Vec<(String, Bytes)> = a
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Bytes::from(v.clone())))
        .collect();
    let key = a.key.clone().map(Bytes::from);
    // Round-robin start: spread single-record runs over the partitions too.
    let mut next = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        % count.max(1) as u32) as i32;
    let progress = Progress::new(None, "producing");
    // partition -> (records, first offset, last offset)
    let mut summary: BTreeMap<i32, (u64, i64, i64)> = BTreeMap::new();
    let mut rx = input(a.value.clone());
    while let Some(lines) = next_batch(&mut rx).await? {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut by_partition: BTreeMap<i32, Vec<OutRecord>> = BTreeMap::new();
        for line in lines {
            let p = match (a.partition, &key) {
                (Some(p), _) => p,
                (None, Some(k)) => partition_for_key(k, count),
                (None, None) => {
                    next = (next + 1) % count.max(1);
                    next
                }
            };
            by_partition.entry(p).or_default().push(OutRecord {
                key: key.clone(),
                value: Some(Bytes::from(line)),
                headers: headers.clone(),
                timestamp: now,
            });
        }
        for (p, base) in send(&mut client, &a, &mut leaders, by_partition.clone()).await? {
            let n = by_partition.get(&p).map_or(0, |r| r.len() as u64);
            let e = summary.entry(p).or_insert((0, base, base));
            e.0 += n;
            e.2 = base + n as i64 - 1;
            progress.inc(n);
        }
    }
    progress.finish();
    let json = Value::Array(
        summary
            .iter()
            .map(|(p, (n, f, l))| json!({"topic": a.topic, "partition": p, "records": n, "first_offset": f, "last_offset": l}))
            .collect(),
    );
    report(
        a.global.output,
        &json,
        &[
            "TOPIC",
            "PARTITION",
            "RECORDS",
            "FIRST-OFFSET",
            "LAST-OFFSET",
        ],
        |v| {
            vec![
                a.topic.clone(),
                v["partition"].to_string(),
                v["records"].to_string(),
                v["first_offset"].to_string(),
                v["last_offset"].to_string(),
            ]
        },
    )
}

/// How often a batch is re-sent after its partition's leader moved.
const LEADER_RETRIES: usize = 5;

/// Produces each partition's batch to its leader and returns partition -> base offset. A partition whose leader
/// moved (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE) is re-sent after a metadata refresh; nothing was
/// written for it, so the retry cannot duplicate.
async fn send(
    client: &mut Client,
    a: &ProduceArgs,
    leaders: &mut BTreeMap<i32, i32>,
    mut pending: BTreeMap<i32, Vec<OutRecord>>,
) -> Result<BTreeMap<i32, i64>> {
    let mut done = BTreeMap::new();
    for attempt in 0..=LEADER_RETRIES {
        let mut by_leader: BTreeMap<i32, Vec<PartitionProduceData>> = BTreeMap::new();
        for (p, recs) in &pending {
            let leader = leaders
                .get(p)
                .copied()
                .ok_or_else(|| CliError::no_partition(&a.topic, *p))?;
            by_leader.entry(leader).or_default().push(
                PartitionProduceData::default()
                    .with_index(*p)
                    .with_records(Some(encode_batch(recs)?)),
            );
        }
        let mut moved = false;
        for (leader, parts) in by_leader {
            let req = ProduceRequest::default()
                .with_acks(a.acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(topic_name(&a.topic))
                        .with_partition_data(parts),
                ]);
            // v12 is the newest that names topics (v13 uses topic ids).
            let resp = client.call_node(leader, &req, 12).await?;
            for t in resp.responses {
                for p in t.partition_responses {
                    if Client::leader_moved(p.error_code) && attempt < LEADER_RETRIES {
                        moved = true;
                        continue;
                    }
                    check(
                        p.error_code,
                        format!("{}[{}]", a.topic, p.index),
                        p.error_message.as_deref(),
                    )?;
                    pending.remove(&p.index);
                    done.insert(p.index, p.base_offset);
                }
            }
        }
        if pending.is_empty() {
            break;
        }
        if moved {
            *leaders = client.leaders(&a.topic).await?;
        }
    }
    Ok(done)
}

/// The summary goes to stderr in table mode (stdout stays free for a pipeline), to stdout as JSON.
fn report(
    output: Output,
    json: &Value,
    header: &[&str],
    row: impl Fn(&Value) -> Vec<String>,
) -> Result<()> {
    match output {
        Output::Json => emit(output, json, String::new),
        Output::Table => {
            let mut t = Table::new(header);
            for v in json.as_array().into_iter().flatten() {
                t.row(row(v));
            }
            eprint!("{}", t.render());
            Ok(())
        }
    }
}

async fn kinesis(a: ProduceArgs) -> Result<()> {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::PutRecordsRequestEntry;
    let Some(pk) = a.partition_key.clone().or(a.key.clone()) else {
        return Err(CliError::Usage(
            "--kinesis needs --partition-key (or --key)".into(),
        ));
    };
    let ep = a.global.aws_endpoint.clone();
    let k = crate::kinesis::client(&ep);
    let progress = Progress::new(None, "producing");
    // shard -> (records, first sequence number, last sequence number)
    let mut summary: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
    let mut rx = input(a.value.clone());
    while let Some(lines) = next_batch(&mut rx).await? {
        let mut entries = Vec::new();
        for line in lines {
            let e = PutRecordsRequestEntry::builder()
                .data(Blob::new(line))
                .partition_key(&pk)
                .build();
            entries.push(e.map_err(|e| CliError::Usage(e.to_string()))?);
        }
        let resp = k
            .put_records()
            .stream_name(&a.topic)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| crate::kinesis::error(&ep, e))?;
        for r in resp.records() {
            if let Some(code) = r.error_code() {
                return Err(CliError::Aws {
                    code: code.to_string(),
                    message: r.error_message().unwrap_or("").to_string(),
                });
            }
            let (shard, seq) = (
                r.shard_id().unwrap_or("-").to_string(),
                r.sequence_number().unwrap_or("-").to_string(),
            );
            let e = summary
                .entry(shard)
                .or_insert((0, seq.clone(), seq.clone()));
            e.0 += 1;
            e.2 = seq;
            progress.inc(1);
        }
    }
    progress.finish();
    let json = Value::Array(
        summary
            .iter()
            .map(|(s, (n, f, l))| json!({"stream": a.topic, "shard_id": s, "records": n, "first_sequence_number": f, "last_sequence_number": l}))
            .collect(),
    );
    let cell = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    report(
        a.global.output,
        &json,
        &[
            "STREAM",
            "SHARD",
            "RECORDS",
            "FIRST-SEQUENCE-NUMBER",
            "LAST-SEQUENCE-NUMBER",
        ],
        |v| {
            vec![
                a.topic.clone(),
                cell(&v["shard_id"]),
                cell(&v["records"]),
                cell(&v["first_sequence_number"]),
                cell(&v["last_sequence_number"]),
            ]
        },
    )
}
