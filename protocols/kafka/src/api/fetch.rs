//! Fetch (v4–18): whole stored batches, never decoded, with long polling on `max_wait_ms` / `min_bytes`. (v17 and
//! v18 add only fields a follower sends; a consumer leaves them at their defaults.)
//!
//! - Sizes: the first partition with data always gets at least one whole batch (KIP-74), even past
//!   `partition_max_bytes` or `max_bytes`; later partitions get only what fits in both.
//! - Long poll: read every partition; answer if `min_bytes` are there, something failed or the budget is full;
//!   otherwise wait until any partition's high watermark moves (or `max_wait_ms` passes) and read again.
//! - Transactions: every answer carries the last stable offset (LSO: the first offset of the earliest open
//!   transaction, else the high watermark). READ_COMMITTED fetches get only whole batches below the LSO and the
//!   aborted transactions overlapping what they read, so the client can drop aborted records; READ_UNCOMMITTED
//!   ones get everything up to the high watermark and an empty aborted list (empty, not null, for every client).
//! - Fetch sessions (KIP-227, v7+): the session metadata decides which partitions are read, and an incremental
//!   answer keeps only the partitions with something new (see `fetch_sessions`).
// #[PerformanceCriticalPath]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint,
    PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;
use strait_engine::{EngineError, Partition, PartitionLog as _};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::resolve;
use super::{Ctx, internal_topic};
use crate::broker::Broker;
use crate::error::ApiError;
use crate::fetch_sessions::Plan;

/// Cap on one response, whatever the client asks (Kafka's `fetch.max.bytes` default).
const MAX_RESPONSE_BYTES: usize = 55 << 20;

struct Target {
    index: i32,
    fetch_offset: i64,
    max_bytes: usize,
    last_fetched_epoch: i32,
    partition: Result<Arc<Partition>, ApiError>,
    /// A partition of the virtual `__consumer_offsets` topic: always empty (see `internal_topic`).
    internal: bool,
}

struct TopicTargets {
    name: TopicName,
    id: uuid::Uuid,
    /// The topic's name when it resolved (v13+ requests name it by id only).
    resolved: Option<String>,
    partitions: Vec<Target>,
}

/// One pass over all requested partitions.
#[derive(Default)]
struct Round {
    topics: Vec<FetchableTopicResponse>,
    bytes: usize,
    /// An error, a divergence or a full budget: waiting would not change the answer.
    respond_now: bool,
    /// The leaders named in partitions' `current_leader` (KIP-951), whose endpoints the response lists.
    leaders: Vec<i32>,
    /// Per readable partition, the offset its high watermark must pass for new data to exist.
    waits: Vec<(Arc<Partition>, i64)>,
}

pub async fn handle(ctx: &mut Ctx<'_>, req: FetchRequest) -> FetchResponse {
    let b = ctx.broker;
    let version = ctx.version();
    let plan = if version >= 7 {
        match b
            .fetch_sessions()
            .begin(&ctx.session.principal, version, &req)
        {
            Ok(plan) => plan,
            Err(e) => {
                return FetchResponse::default()
                    .with_error_code(e.code())
                    .with_session_id(0);
            }
        }
    } else {
        Plan {
            session_id: 0,
            incremental: false,
            topics: req.topics.clone(),
        }
    };
    if plan.incremental {
        metrics::counter!("strait_kafka_incremental_fetches_total").increment(1);
    }
    let targets = targets(ctx, &plan.topics, version);
    // isolation_level: 0 READ_UNCOMMITTED, 1 READ_COMMITTED.
    let read_committed = req.isolation_level == 1;
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let max_bytes = (req.max_bytes.max(0) as usize).min(MAX_RESPONSE_BYTES);
    let min_bytes = req.min_bytes.max(0) as usize;
    // Partitions of the virtual internal topic never get data, but a fetch of them still long-polls.
    let any_internal = targets
        .iter()
        .any(|t| t.partitions.iter().any(|p| p.internal));
    let round = loop {
        let round = read_round(b, &targets, max_bytes, version, read_committed).await;
        if round.respond_now
            || round.bytes >= min_bytes
            || (round.waits.is_empty() && !any_internal)
            || Instant::now() >= deadline
        {
            break round;
        }
        wait_for_any(round.waits, deadline).await;
    };
    metrics::counter!("strait_kafka_fetched_bytes_total").increment(round.bytes as u64);
    let mut topics = round.topics;
    b.fetch_sessions().finish(&plan, &mut topics);
    let mut resp = FetchResponse::default()
        .with_session_id(plan.session_id)
        .with_responses(topics);
    if !round.leaders.is_empty() && version >= 16 {
        // KIP-951: name the leaders' endpoints along with NOT_LEADER_OR_FOLLOWER and leader-epoch errors.
        let mut ids = round.leaders;
        ids.sort_unstable();
        ids.dedup();
        resp = resp.with_node_endpoints(
            ids.into_iter()
                .filter_map(|id| super::cluster::broker(b, id))
                .map(|n| {
                    NodeEndpoint::default()
                        .with_node_id(n.id)
                        .with_host(StrBytes::from_string(n.host))
                        .with_port(n.port)
                        .with_rack(n.rack.map(StrBytes::from_string))
                })
                .collect(),
        );
    }
    resp
}

fn targets(ctx: &Ctx<'_>, topics: &[FetchTopic], version: i16) -> Vec<TopicTargets> {
    let b = ctx.broker;
    topics
        .iter()
        .map(|t| {
            let internal = if version >= 13 {
                t.topic_id == internal_topic::CONSUMER_OFFSETS_ID
            } else {
                internal_topic::is_internal(&t.topic)
            };
            let topic = if version >= 13 {
                b.topic_ids().lookup(b.engine(), &t.topic_id)
            } else {
                resolve::topic(b, &t.topic)
            }
            .and_then(|info| super::authz::topic(ctx, Operation::Read, &info.name).map(|()| info));
            // The internal topic is virtual: authorized by its name before it is served.
            let internal_denied = internal
                .then(|| {
                    super::authz::topic(ctx, Operation::Read, internal_topic::CONSUMER_OFFSETS)
                        .err()
                })
                .flatten();
            let internal = internal && internal_denied.is_none();
            let topic = match internal_denied {
                Some(e) => Err(e),
                None => topic,
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| Target {
                    index: p.partition,
                    fetch_offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes.max(0) as usize,
                    last_fetched_epoch: p.last_fetched_epoch,
                    internal: internal
                        && internal_topic::has_partition(
                            b.config().offsets_topic_partitions,
                            p.partition,
                        ),
                    partition: topic.as_ref().map_err(Clone::clone).and_then(|t| {
                        resolve::partition_at(b, t, p.partition, p.current_leader_epoch)
                    }),
                })
                .collect();
            TopicTargets {
                name: t.topic.clone(),
                id: t.topic_id,
                resolved: topic.as_ref().ok().map(|info| info.name.clone()),
                partitions,
            }
        })
        .collect()
}

async fn read_round(
    b: &Broker,
    targets: &[TopicTargets],
    max_bytes: usize,
    version: i16,
    read_committed: bool,
) -> Round {
    let mut round = Round::default();
    let mut budget = max_bytes;
    for t in targets {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for target in &t.partitions {
            parts.push(
                read_partition(
                    b,
                    t,
                    target,
                    &mut budget,
                    &mut round,
                    version,
                    read_committed,
                )
                .await,
            );
        }
        round.topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.name.clone())
                .with_topic_id(t.id)
                .with_partitions(parts),
        );
    }
    round
}

fn empty(index: i32) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(Some(Vec::new()))
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()))
}

fn failed(index: i32, e: &ApiError, round: &mut Round) -> PartitionData {
    round.respond_now = true;
    empty(index).with_error_code(e.code.code())
}

/// A partition that cannot be read here. A leader-epoch error names the current leader (in every version with
/// the field, as Strait always has); from v16, NOT_LEADER_OR_FOLLOWER does too (KIP-951, as Kafka).
fn refused(
    b: &Broker,
    topic: &TopicTargets,
    t: &Target,
    e: &ApiError,
    round: &mut Round,
    version: i16,
) -> PartitionData {
    let out = failed(t.index, e, round);
    let hinted = match e.code {
        ResponseError::FencedLeaderEpoch | ResponseError::UnknownLeaderEpoch => true,
        ResponseError::NotLeaderOrFollower => version >= 16,
        _ => false,
    };
    if !hinted {
        return out;
    }
    // A topic that did not resolve has no leader to name.
    let Some(name) = &topic.resolved else {
        return out;
    };
    let hint = super::cluster::leader_hint(b, name, t.index);
    if hint.node.is_some() {
        round.leaders.push(hint.id.0);
    }
    out.with_current_leader(
        LeaderIdAndEpoch::default()
            .with_leader_id(hint.id)
            .with_leader_epoch(hint.epoch),
    )
}

async fn read_partition(
    b: &Broker,
    topic: &TopicTargets,
    t: &Target,
    budget: &mut usize,
    round: &mut Round,
    version: i16,
    read_committed: bool,
) -> PartitionData {
    if t.internal {
        let empty_log = empty(t.index)
            .with_high_watermark(0)
            .with_last_stable_offset(0)
            .with_log_start_offset(0);
        if t.fetch_offset == 0 {
            return empty_log;
        }
        round.respond_now = true;
        return empty_log.with_error_code(ResponseError::OffsetOutOfRange.code());
    }
    let p = match &t.partition {
        Ok(p) => p,
        Err(e) => return refused(b, topic, t, e, round, version),
    };
    let offsets = |hw: i64, log_start: i64| {
        empty(t.index)
            .with_high_watermark(hw)
            .with_last_stable_offset(hw)
            .with_log_start_offset(log_start)
    };
    // KIP-320/595: a fetcher whose last fetched epoch ended earlier on this leader has diverged; tell it where
    // instead of handing it records on top of a log it must truncate first.
    if version >= 12 && t.last_fetched_epoch >= 0 {
        let (epoch, end) = resolve::epoch_end_offset(b, p, t.last_fetched_epoch);
        if epoch < t.last_fetched_epoch || end < t.fetch_offset {
            round.respond_now = true;
            return offsets(p.high_watermark(), p.log_start()).with_diverging_epoch(
                EpochEndOffset::default()
                    .with_epoch(epoch)
                    .with_end_offset(end),
            );
        }
    }
    let limit = t.max_bytes.min(*budget);
    let taken_before = round.bytes > 0;
    if taken_before && limit == 0 {
        round.respond_now = true;
        return offsets(p.high_watermark(), p.log_start());
    }
    match p.read(t.fetch_offset, limit).await {
        Ok(r) => {
            round
                .waits
                .push((p.clone(), r.high_watermark.max(t.fetch_offset)));
            // The engine's LSO may be computed against a newer high watermark than the read's; it is never
            // reported above the read's.
            let lso = p.last_stable_offset().min(r.high_watermark);
            let mut records = r.records;
            let mut aborted = Vec::new();
            if read_committed {
                records = stable_prefix(records, lso);
                aborted = p
                    .aborted_transactions(t.fetch_offset, lso)
                    .into_iter()
                    .map(|a| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(a.producer_id))
                            .with_first_offset(a.first_offset)
                    })
                    .collect();
            }
            if taken_before && records.len() > limit {
                // Only the first partition with data may exceed the limits.
                records = Bytes::new();
                round.respond_now = true;
            }
            round.bytes += records.len();
            *budget = budget.saturating_sub(records.len());
            p.traffic().delivered_batches(&records);
            offsets(r.high_watermark, r.log_start)
                .with_last_stable_offset(lso)
                .with_aborted_transactions(Some(aborted))
                .with_records(Some(records))
        }
        Err(EngineError::OffsetOutOfRange {
            log_start,
            high_watermark,
            ..
        }) => {
            // Between the high watermark and the log end (written, not yet durable) Kafka answers with no data
            // rather than an error; the records become visible shortly.
            if t.fetch_offset >= log_start && t.fetch_offset <= p.offsets().log_end {
                round.waits.push((p.clone(), t.fetch_offset));
                return offsets(high_watermark, log_start);
            }
            round.respond_now = true;
            offsets(high_watermark, log_start)
                .with_error_code(ResponseError::OffsetOutOfRange.code())
        }
        Err(e) => failed(t.index, &ApiError::from(e), round),
    }
}

/// The whole batches of `records` that start below `lso` (READ_COMMITTED). Batches never straddle the LSO: it
/// is a batch boundary, the log end when a transaction's first batch was about to be appended.
fn stable_prefix(records: Bytes, lso: i64) -> Bytes {
    let mut end = 0;
    while end < records.len() {
        match strait_engine::batch::peek_offset_and_len(&records[end..]) {
            Ok((base, len)) if base < lso && end + len <= records.len() => end += len,
            _ => break,
        }
    }
    records.slice(..end)
}

/// Returns when any partition's high watermark passes its offset, or at `deadline`.
async fn wait_for_any(waits: Vec<(Arc<Partition>, i64)>, deadline: Instant) {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if waits.is_empty() {
        tokio::time::sleep_until(deadline).await;
        return;
    }
    let mut set = JoinSet::new();
    for (p, offset) in waits {
        set.spawn(async move { p.wait_for_data(offset, remaining).await });
    }
    let _ = tokio::time::timeout_at(deadline, set.join_next()).await;
    // Dropping the set aborts the waits still pending.
}
