//! `subscribe-latency`: SubscribeToShard (enhanced fan-out) delivery latency. Creates a stream, registers a
//! consumer, subscribes to every shard from LATEST, then puts records at a fixed rate, each carrying its send time;
//! every subscriber records receive time − send time. A subscription that ends (AWS ends them after 5 minutes, a
//! server may end them sooner) is renewed from the last continuation sequence number, and every record sent must
//! arrive exactly once (a lost record fails the run). Optionally a GetRecords poller per shard measures the same
//! records, for comparison with the polling API.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ConsumerStatus, Record, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use tokio::sync::Mutex;

use crate::client::shard_ids;
use crate::create::create_active;
use crate::error::BenchError;
use crate::latency::percentile_ms;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    stream: String,
    #[arg(long, default_value_t = 2)]
    shards: i32,
    /// Records per second put (one PutRecord call each, open loop: a slow call does not delay the next).
    #[arg(long, default_value_t = 200)]
    rate: u64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    /// Also read the same records with one GetRecords poller per shard, polling every this many ms (0: no).
    #[arg(long, default_value_t = 200)]
    poll_ms: u64,
    /// How long to wait, after the last put, for every record to arrive.
    #[arg(long, default_value_t = 30)]
    drain_s: u64,
}

/// What a reader (subscriber or poller) saw: one latency per distinct record, and the record ids seen.
#[derive(Default)]
struct Seen {
    ids: HashSet<u64>,
    latencies: Vec<Duration>,
    duplicates: u64,
}

impl Seen {
    /// Records from one event or GetRecords answer, received at `at` (time since `epoch`).
    fn take(&mut self, records: &[Record], at: Duration) {
        for r in records {
            let d = r.data().as_ref();
            // Bytes 0..8: send time in ns since the shared epoch; 8..16: the record's id (see `payload`).
            let (Some(sent), Some(id)) = (read_u64(d, 0), read_u64(d, 8)) else {
                continue;
            };
            if self.ids.insert(id) {
                self.latencies
                    .push(at.saturating_sub(Duration::from_nanos(sent)));
            } else {
                self.duplicates += 1;
            }
        }
    }
}

fn read_u64(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
}

struct Shared {
    epoch: Instant,
    stop: AtomicBool,
    renewals: AtomicU64,
}

pub(crate) async fn run(client: &Client, a: Args) -> Result<serde_json::Value, BenchError> {
    let stream_arn = create_active(client, &a.stream, a.shards).await?;
    let consumer_arn = register_consumer(client, &stream_arn).await?;
    let shards = shard_ids(client, &a.stream).await?;
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        stop: AtomicBool::new(false),
        renewals: AtomicU64::new(0),
    });
    let efo = Arc::new(Mutex::new(Seen::default()));
    let polled = Arc::new(Mutex::new(Seen::default()));
    let mut readers = tokio::task::JoinSet::new();
    // Every subscription (and poller iterator) is in place before the first put, so LATEST misses nothing.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(shards.len() * 2);
    for shard in &shards {
        let (c, arn, sh, seen, tx) = (
            client.clone(),
            consumer_arn.clone(),
            shard.clone(),
            efo.clone(),
            ready_tx.clone(),
        );
        let sub_shared = shared.clone();
        readers.spawn(async move { subscriber(c, arn, sh, seen, sub_shared, tx).await });
        if a.poll_ms > 0 {
            let (c, st, sh, seen, tx) = (
                client.clone(),
                a.stream.clone(),
                shard.clone(),
                polled.clone(),
                ready_tx.clone(),
            );
            let (shared, every) = (shared.clone(), Duration::from_millis(a.poll_ms));
            readers.spawn(async move { poller(c, st, sh, every, seen, shared, tx).await });
        }
    }
    drop(ready_tx);
    let want = shards.len() * if a.poll_ms > 0 { 2 } else { 1 };
    for _ in 0..want {
        tokio::select! {
            got = ready_rx.recv() => if got.is_none() { break },
            // A reader that fails before it is ready ends the run with its error.
            Some(joined) = readers.join_next() => {
                joined.map_err(|e| BenchError::Unexpected(format!("reader task: {e}")))??;
            }
        }
    }
    let sent = put_at_rate(client, &a, &shared).await?;
    let drain_until = Instant::now() + Duration::from_secs(a.drain_s);
    while Instant::now() < drain_until {
        let done_efo = efo.lock().await.ids.len() as u64 >= sent;
        let done_poll = a.poll_ms == 0 || polled.lock().await.ids.len() as u64 >= sent;
        if done_efo && done_poll {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(50), readers.join_next()).await {
            // A reader that failed ends the run with its error.
            Ok(Some(joined)) => {
                joined.map_err(|e| BenchError::Unexpected(format!("reader task: {e}")))??
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(_) => {}
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    readers.abort_all();
    let mut efo = std::mem::take(&mut *efo.lock().await);
    let got = efo.ids.len() as u64;
    if got < sent {
        return Err(BenchError::Unexpected(format!(
            "SubscribeToShard delivered {got} of {sent} records within {} s of the last put",
            a.drain_s
        )));
    }
    let mut out = serde_json::json!({
        "op": "subscribe-latency", "stream": a.stream, "shards": shards.len(), "rate": a.rate,
        "seconds": a.seconds, "record_size": a.record_size, "sent": sent,
        "renewals": shared.renewals.load(Ordering::Relaxed),
    });
    merge(&mut out, summary(&mut efo));
    if a.poll_ms > 0 {
        let mut p = std::mem::take(&mut *polled.lock().await);
        let mut s = summary(&mut p);
        s["poll_ms"] = a.poll_ms.into();
        if (p.ids.len() as u64) < sent {
            s["error"] = format!("GetRecords read {} of {sent} records", p.ids.len()).into();
        }
        out["getrecords"] = s;
    }
    Ok(out)
}

fn summary(seen: &mut Seen) -> serde_json::Value {
    seen.latencies.sort_unstable();
    let l = &seen.latencies;
    serde_json::json!({
        "count": l.len(), "duplicates": seen.duplicates,
        "p50_ms": percentile_ms(l, 50.0), "p99_ms": percentile_ms(l, 99.0),
        "p999_ms": percentile_ms(l, 99.9), "max_ms": l.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    })
}

fn merge(out: &mut serde_json::Value, add: serde_json::Value) {
    if let (Some(o), serde_json::Value::Object(m)) = (out.as_object_mut(), add) {
        for (k, v) in m {
            o.insert(k, v);
        }
    }
}

async fn register_consumer(client: &Client, stream_arn: &str) -> Result<String, BenchError> {
    let out = client
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name("bench-efo")
        .send()
        .await
        .map_err(|e| BenchError::sdk("RegisterStreamConsumer", e))?;
    let arn = out
        .consumer()
        .map(|c| c.consumer_arn().to_string())
        .ok_or_else(|| BenchError::Unexpected("RegisterStreamConsumer: no consumer".into()))?;
    // AWS takes seconds to make a consumer ACTIVE; SubscribeToShard before that is refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = client
            .describe_stream_consumer()
            .consumer_arn(&arn)
            .send()
            .await
            .map_err(|e| BenchError::sdk("DescribeStreamConsumer", e))?;
        if d.consumer_description()
            .is_some_and(|c| *c.consumer_status() == ConsumerStatus::Active)
        {
            return Ok(arn);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout(format!(
                "consumer {arn} not ACTIVE after 60 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One shard's subscriber: subscribes, reads events until the subscription ends, renews it after the last
/// continuation sequence number, until stopped (it is aborted at the end of the run).
async fn subscriber(
    client: Client,
    consumer_arn: String,
    shard: String,
    seen: Arc<Mutex<Seen>>,
    shared: Arc<Shared>,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Result<(), BenchError> {
    let mut after: Option<String> = None;
    let mut ready = Some(ready);
    let mut refused = 0u32;
    while !shared.stop.load(Ordering::Relaxed) {
        let position = match &after {
            Some(seq) => StartingPosition::builder()
                .r#type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq)
                .build(),
            None => StartingPosition::builder()
                .r#type(ShardIteratorType::Latest)
                .build(),
        }
        .map_err(|e| BenchError::Unexpected(format!("StartingPosition: {e}")))?;
        let sub = client
            .subscribe_to_shard()
            .consumer_arn(&consumer_arn)
            .shard_id(&shard)
            .starting_position(position)
            .send()
            .await;
        let mut out = match sub {
            Ok(out) => out,
            Err(e) => {
                // AWS allows one subscription per shard and consumer, and one call per second: a renewal right
                // after the end of the previous subscription may be refused for a moment.
                let retry = e.as_service_error().is_some_and(|s| {
                    s.is_resource_in_use_exception() || s.is_limit_exceeded_exception()
                });
                refused += 1;
                if !retry || refused > 30 {
                    return Err(BenchError::sdk("SubscribeToShard", e));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        refused = 0;
        if after.is_some() {
            shared.renewals.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(tx) = ready.take() {
            let _ = tx.send(()).await;
        }
        loop {
            match out.event_stream.recv().await {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(ev))) => {
                    let at = shared.epoch.elapsed();
                    seen.lock().await.take(ev.records(), at);
                    after = Some(ev.continuation_sequence_number().to_string());
                }
                Ok(Some(_)) => {}
                // The subscription ended: renew it.
                Ok(None) => break,
                Err(e) => {
                    if shared.stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    // A modeled error event (the stream or consumer went away) cannot be renewed around.
                    if e.as_service_error().is_some() {
                        return Err(BenchError::sdk("SubscribeToShard event stream", e));
                    }
                    break;
                }
            }
        }
    }
    Ok(())
}

/// One shard's GetRecords poller from LATEST, polling every `every` (AWS allows 5 calls a second per shard).
async fn poller(
    client: Client,
    stream: String,
    shard: String,
    every: Duration,
    seen: Arc<Mutex<Seen>>,
    shared: Arc<Shared>,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Result<(), BenchError> {
    let it = client
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .map_err(|e| BenchError::sdk("GetShardIterator", e))?;
    let _ = ready.send(()).await;
    drop(ready);
    let mut iterator = it.shard_iterator().map(str::to_string);
    while let Some(current) = iterator {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let out = client
            .get_records()
            .shard_iterator(current)
            .send()
            .await
            .map_err(|e| BenchError::sdk("GetRecords", e))?;
        let at = shared.epoch.elapsed();
        seen.lock().await.take(out.records(), at);
        iterator = out.next_shard_iterator().map(str::to_string);
        if out.records().is_empty() {
            tokio::time::sleep(every).await;
        }
    }
    Ok(())
}

/// The record's bytes: send time (ns since the epoch), id, then filler up to `size`.
fn payload(size: usize, sent_ns: u64, id: u64) -> Vec<u8> {
    let mut d = Vec::with_capacity(size.max(16));
    d.extend_from_slice(&sent_ns.to_le_bytes());
    d.extend_from_slice(&id.to_le_bytes());
    d.extend((16..size).map(|i| (i as u64 ^ id) as u8));
    d
}

/// PutRecord calls at `rate` per second for `seconds`, open loop; the number of records accepted.
async fn put_at_rate(client: &Client, a: &Args, shared: &Arc<Shared>) -> Result<u64, BenchError> {
    let total = (a.rate as f64 * a.seconds).round() as u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut puts = tokio::task::JoinSet::new();
    for id in 0..total {
        tick.tick().await;
        let (client, stream, size, epoch) = (
            client.clone(),
            a.stream.clone(),
            a.record_size,
            shared.epoch,
        );
        puts.spawn(async move {
            let sent = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            client
                .put_record()
                .stream_name(stream)
                .partition_key(format!("k{id}"))
                .data(Blob::new(payload(size, sent, id)))
                .send()
                .await
                .map_err(|e| BenchError::sdk("PutRecord", e))
        });
        // Surface a failed put early instead of after the whole run.
        while let Some(done) = puts.try_join_next() {
            done.map_err(|e| BenchError::Unexpected(format!("put task: {e}")))??;
        }
    }
    while let Some(done) = puts.join_next().await {
        done.map_err(|e| BenchError::Unexpected(format!("put task: {e}")))??;
    }
    // Any failed call ended the run above: every record was accepted.
    Ok(total)
}
