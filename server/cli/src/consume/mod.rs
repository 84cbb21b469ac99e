//! `strait consume`: fetches from each partition's leader and prints records as text (a kcat-style format
//! string) or JSON lines; `--kinesis` reads a stream's shards instead (`kinesis.rs`).
//!
//! `--group G` is a simple (non-member) consumer, like kcat's `-G`-less mode plus commits: it starts from G's
//! committed offsets and commits its position as it goes, without joining the group, so it is meant for a group
//! that no other consumer is using.

mod kinesis;

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetCommitRequest};

use crate::args::{Global, Output, parse_time};
use crate::error::{CliError, Result, check};
use crate::format::{Shown, kafka_json, render};
use crate::kafka::records::decode;
use crate::kafka::{Client, EARLIEST, LATEST, group_id, topic_name};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub global: Global,
    /// The topic (with --kinesis, the stream).
    pub topic: String,
    /// Partitions to read, comma-separated [default: all].
    #[arg(long, short = 'p', value_delimiter = ',')]
    pub partition: Vec<i32>,
    /// Starts at the earliest offset (TRIM_HORIZON with --kinesis) [default: the end, new records only].
    #[arg(long, conflicts_with_all = ["offset", "timestamp", "sequence_number"])]
    pub from_beginning: bool,
    /// Starts at this offset; a negative N starts N records before the end.
    #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["timestamp", "sequence_number"])]
    pub offset: Option<i64>,
    /// Starts at the first record at or after this time (ms since the epoch or RFC 3339).
    #[arg(long, value_parser = parse_time, conflicts_with = "sequence_number")]
    pub timestamp: Option<i64>,
    /// Stops after N records.
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Stops at the end of the log instead of waiting for new records.
    #[arg(long, short = 'e')]
    pub end: bool,
    /// Starts from this group's committed offsets and commits the position (as a simple, non-member consumer).
    #[arg(long, short = 'g', conflicts_with = "kinesis")]
    pub group: Option<String>,
    /// Text output format: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp, %h headers, %K/%S
    /// key/value length, \n \t escapes [default: '%s\n'].
    #[arg(long, short = 'f')]
    pub format: Option<String>,
    /// Reads the Kinesis stream TOPIC through the AWS API instead of the Kafka protocol.
    #[arg(long)]
    pub kinesis: bool,
    /// Shards to read, comma-separated (with --kinesis) [default: all].
    #[arg(long, requires = "kinesis", value_delimiter = ',')]
    pub shard: Vec<String>,
    /// Starts at this sequence number (with --kinesis and one --shard).
    #[arg(long, requires = "shard")]
    pub sequence_number: Option<String>,
}

/// Per partition bytes per fetch; small enough that one slow terminal does not buffer much.
const PARTITION_MAX_BYTES: i32 = 1 << 20;
/// How long a fetch waits for new records at the end of the log.
const MAX_WAIT_MS: i32 = 500;

/// Where records go: stdout in the chosen format, counted against --count.
pub(crate) struct Printer {
    output: Output,
    format: String,
    pub(crate) printed: u64,
    pub(crate) limit: Option<u64>,
    pub(crate) progress: Progress,
}

impl Printer {
    pub(crate) fn new(a: &ConsumeArgs) -> Printer {
        Printer {
            output: a.global.output,
            format: a.format.clone().unwrap_or_else(|| "%s\\n".to_string()),
            printed: 0,
            limit: a.count,
            progress: Progress::new(a.count, "consuming"),
        }
    }

    pub(crate) fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.printed >= n)
    }

    /// Prints one record (JSON through `json`), unless --count is already reached.
    pub(crate) fn print(&mut self, r: &Shown<'_>, json: fn(&Shown<'_>) -> String) -> Result<()> {
        if self.done() {
            return Ok(());
        }
        let line = match self.output {
            Output::Json => json(r) + "\n",
            Output::Table => render(&self.format, r),
        };
        let mut out = std::io::stdout().lock();
        out.write_all(line.as_bytes())?;
        out.flush()?;
        self.printed += 1;
        self.progress.inc(1);
        Ok(())
    }
}

pub(crate) async fn run(a: ConsumeArgs) -> Result<()> {
    if a.kinesis {
        return kinesis::run(a).await;
    }
    let mut client = Client::connect(&a.global.brokers).await?;
    let mut leaders = client.leaders(&a.topic).await?;
    let parts: Vec<i32> = if a.partition.is_empty() {
        leaders.keys().copied().collect()
    } else {
        a.partition.clone()
    };
    for p in &parts {
        if !leaders.contains_key(p) {
            return Err(CliError::no_partition(&a.topic, *p));
        }
    }
    let mut pos = start_positions(&mut client, &a, &leaders, &parts).await?;
    let mut printer = Printer::new(&a);
    let mut ends = client
        .list_offsets(&a.topic, &leaders, &parts, LATEST)
        .await?;
    let mut committed = pos.clone();
    loop {
        if printer.done()
            || (a.end
                && pos
                    .iter()
                    .all(|(p, o)| *o >= ends.get(p).copied().unwrap_or(0)))
        {
            break;
        }
        let mut by_leader: BTreeMap<i32, Vec<FetchPartition>> = BTreeMap::new();
        for (p, o) in &pos {
            let leader = leaders.get(p).copied().unwrap_or(-1);
            by_leader.entry(leader).or_default().push(
                FetchPartition::default()
                    .with_partition(*p)
                    .with_fetch_offset(*o)
                    .with_current_leader_epoch(-1)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(PARTITION_MAX_BYTES),
            );
        }
        let mut moved = false;
        for (leader, fps) in by_leader {
            let req = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(if a.end { 0 } else { MAX_WAIT_MS })
                .with_min_bytes(1)
                .with_max_bytes(8 << 20)
                .with_session_epoch(-1)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(topic_name(&a.topic))
                        .with_partitions(fps),
                ]);
            // v12 is the newest that names topics (v13 uses topic ids).
            let resp = client.call_node(leader, &req, 12).await?;
            check(resp.error_code, format!("fetch from broker {leader}"), None)?;
            for t in resp.responses {
                for pd in t.partitions {
                    let p = pd.partition_index;
                    if Client::leader_moved(pd.error_code) {
                        moved = true;
                        continue;
                    }
                    check(pd.error_code, format!("{}[{p}]", a.topic), None)?;
                    ends.insert(p, pd.high_watermark);
                    let Some(data) = pd.records else { continue };
                    let (records, next) = decode(data)?;
                    let at = pos.get(&p).copied().unwrap_or(0);
                    for r in records.iter().filter(|r| r.offset >= at) {
                        let shown = Shown {
                            topic: &a.topic,
                            partition: p.to_string(),
                            offset: r.offset.to_string(),
                            timestamp: r.timestamp,
                            key: r.key.as_ref(),
                            value: r.value.as_ref(),
                            headers: &r.headers,
                        };
                        if printer.done() {
                            break;
                        }
                        printer.print(&shown, kafka_json)?;
                        pos.insert(p, r.offset + 1);
                    }
                    // Past control-only batches, unless --count stopped us inside this one.
                    if let Some(n) = next
                        && !printer.done()
                    {
                        pos.insert(p, n.max(at));
                    }
                }
            }
        }
        if moved {
            // The partition's leader changed (an election on a cluster): fetch from the new one next round.
            leaders = client.leaders(&a.topic).await?;
        }
        if let Some(g) = &a.group
            && pos != committed
        {
            commit(&mut client, g, &a.topic, &pos).await?;
            committed = pos.clone();
        }
    }
    printer.progress.finish();
    Ok(())
}

/// Each partition's first offset to read, from the flags (default: the end) or the group's commits.
async fn start_positions(
    client: &mut Client,
    a: &ConsumeArgs,
    leaders: &BTreeMap<i32, i32>,
    parts: &[i32],
) -> Result<BTreeMap<i32, i64>> {
    let starts = client
        .list_offsets(&a.topic, leaders, parts, EARLIEST)
        .await?;
    let ends = client
        .list_offsets(&a.topic, leaders, parts, LATEST)
        .await?;
    let at = match a.timestamp {
        Some(ts) => Some(client.list_offsets(&a.topic, leaders, parts, ts).await?),
        None => None,
    };
    let committed = match &a.group {
        Some(g) => {
            let coord = client.coordinator(g).await?;
            crate::group::committed(client, coord, g).await?
        }
        None => BTreeMap::new(),
    };
    let mut pos = BTreeMap::new();
    for p in parts {
        let (start, end) = (
            starts.get(p).copied().unwrap_or(0),
            ends.get(p).copied().unwrap_or(0),
        );
        let o = if let Some(c) = committed.get(&(a.topic.clone(), *p)) {
            *c
        } else if a.from_beginning {
            start
        } else if let Some(o) = a.offset {
            if o < 0 { (end + o).max(start) } else { o }
        } else if let Some(m) = &at {
            m.get(p).copied().filter(|o| *o >= 0).unwrap_or(end)
        } else {
            end
        };
        pos.insert(*p, o);
    }
    Ok(pos)
}

/// Commits `pos` for `group` as a simple consumer (generation -1, no member id).
async fn commit(
    client: &mut Client,
    group: &str,
    topic: &str,
    pos: &BTreeMap<i32, i64>,
) -> Result<()> {
    let coord = client.coordinator(group).await?;
    let req = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(
                    pos.iter()
                        .map(|(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(*o)
                                .with_committed_leader_epoch(-1)
                        })
                        .collect(),
                ),
        ]);
    let resp = client.call_node(coord, &req, 8).await?;
    for t in resp.topics {
        for p in t.partitions {
            check(
                p.error_code,
                format!("commit {topic}[{}] for group {group}", p.partition_index),
                None,
            )?;
        }
    }
    Ok(())
}
