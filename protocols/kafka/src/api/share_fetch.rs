//! ShareFetch (v1–2, KIP-932 and KIP-1206): share sessions, piggy-backed acknowledgements and acquisition of
//! records for a share-group member. The `kafka-protocol` crate stops at v1, so requests and responses go
//! through `share::wire` instead of the generated codec (see [`super::dispatch`]).
//!
//! Per request: check the session epoch (0 opens a session, -1 closes it after applying the acknowledgements,
//! any other must be the session's next one), add the listed partitions to the session and drop the forgotten
//! ones, apply acknowledgements, then acquire up to `MaxRecords` records across the session's partitions. Each
//! partition's log is read unlocked; acquisition then takes the coordinator lock and rechecks record states, so
//! two members reading the same batch never both acquire a record. Whole stored batches are returned with the
//! acquired ranges; the client drops records outside them. With nothing acquired (and no acknowledgements to
//! answer) the request long-polls on the partitions' high watermarks until `MaxWaitMs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use strait_engine::batch::peek_offset_and_len;
use strait_engine::{Partition, PartitionLog as _};

use crate::broker::Broker;
use crate::codec::share_wire::{PartitionResp, ShareRequest, ShareResponse, TopicResp};
use crate::coordinator::share::ShareSession;
use crate::coordinator::share::ops;
use crate::coordinator::share::partition::BatchSpan;
use crate::coordinator::share::session::SessionError;

/// Cap on one response's record bytes, whatever the client asks (Kafka's `fetch.max.bytes` default).
const MAX_RESPONSE_BYTES: usize = 55 << 20;
/// Lock expiry and releases by other members do not move a high watermark; re-check this often while polling.
const RECHECK: Duration = Duration::from_millis(200);

fn top_error(code: ResponseError, msg: impl Into<String>, lock_ms: i32) -> ShareResponse {
    ShareResponse {
        error_code: code.code(),
        error_message: Some(msg.into()),
        acquisition_lock_timeout_ms: lock_ms,
        ..Default::default()
    }
}

pub(crate) fn session_error(e: SessionError) -> ResponseError {
    match e {
        SessionError::NotFound => ResponseError::ShareSessionNotFound,
        SessionError::InvalidEpoch => ResponseError::InvalidShareSessionEpoch,
    }
}

pub async fn handle(b: &Broker, q: ShareRequest) -> ShareResponse {
    let shares = b.shares();
    let group = q.group_id.clone().unwrap_or_default();
    let member = q.member_id.clone().unwrap_or_default();
    let lock_ms = {
        let st = shares.lock();
        shares.lock_duration(&st, &group).as_millis() as i32
    };
    if group.is_empty() || member.is_empty() {
        return top_error(
            ResponseError::InvalidRequest,
            "GroupId and MemberId are required",
            lock_ms,
        );
    }
    let key = (group.clone(), member.clone());
    let has_acks = q
        .topics
        .iter()
        .any(|t| t.partitions.iter().any(|p| !p.acks.is_empty()));
    // Session bookkeeping and acknowledgements, under one lock.
    let (mut topics, partitions) = {
        let mut st = shares.lock();
        match q.session_epoch {
            0 => {
                if has_acks {
                    return top_error(
                        ResponseError::InvalidRequest,
                        "Acknowledge data present in the initial share fetch request",
                        lock_ms,
                    );
                }
                let known = st
                    .groups
                    .get(&group)
                    .is_some_and(|g| g.members.contains_key(&member));
                if !known {
                    return top_error(
                        ResponseError::UnknownMemberId,
                        format!("Member {member} is not a member of share group {group}"),
                        lock_ms,
                    );
                }
                // A new session replaces the old one; what the old one held goes back to the group.
                shares.release_member(&mut st, &group, &member);
                st.sessions.insert(key.clone(), ShareSession::new());
            }
            -1 => {
                if !st.sessions.contains_key(&key) {
                    return top_error(
                        ResponseError::ShareSessionNotFound,
                        "The share session was not found",
                        lock_ms,
                    );
                }
            }
            epoch => {
                let r = match st.sessions.get_mut(&key) {
                    None => Err(SessionError::NotFound),
                    Some(s) => s.advance(epoch),
                };
                if let Err(e) = r {
                    return top_error(session_error(e), e.to_string(), lock_ms);
                }
            }
        }
        let acked = super::share_acknowledge::acknowledge_all(
            b,
            &mut st,
            &group,
            &member,
            &q.topics,
            q.is_renew_ack,
        );
        if q.session_epoch == -1 {
            shares.release_member(&mut st, &group, &member);
            shares.persist_dirty(&mut st);
            return ShareResponse {
                acquisition_lock_timeout_ms: lock_ms,
                topics: acked,
                ..Default::default()
            };
        }
        let max = shares.cfg.max_delivery_attempts;
        let mut forgotten = Vec::new();
        if let Some(s) = st.sessions.get_mut(&key) {
            for t in &q.topics {
                for p in &t.partitions {
                    s.partitions.insert((t.topic_id, p.partition));
                }
            }
            for (id, ps) in &q.forgotten {
                for p in ps {
                    if s.partitions.remove(&(*id, *p)) {
                        forgotten.push((group.clone(), *id, *p));
                    }
                }
            }
        }
        for k in &forgotten {
            if let Some(sp) = st.partitions.get_mut(k) {
                sp.release_member(&member, max);
            }
        }
        shares.persist_dirty(&mut st);
        let parts: Vec<(uuid::Uuid, i32)> = st
            .sessions
            .get(&key)
            .map(|s| s.partitions.iter().copied().collect())
            .unwrap_or_default();
        (acked, parts)
    };
    // A renew-only request (KIP-1222) fetches nothing.
    if q.is_renew_ack {
        return ShareResponse {
            acquisition_lock_timeout_ms: lock_ms,
            topics,
            ..Default::default()
        };
    }
    let mut targets = Vec::new();
    for (id, idx) in partitions {
        let resolved = b
            .topic_ids()
            .lookup(b.engine(), &id)
            .and_then(|t| super::resolve::partition(b, &t, idx));
        match resolved {
            Ok(p) => targets.push((id, idx, p)),
            Err(e) => merge(
                &mut topics,
                id,
                PartitionResp {
                    partition: idx,
                    error_code: e.code.code(),
                    error_message: Some(e.message),
                    leader_id: b.cluster().local_node(),
                    ..Default::default()
                },
            ),
        }
    }
    let max_records = usize::try_from(q.max_records)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(500);
    let max_bytes = usize::try_from(q.max_bytes)
        .unwrap_or(0)
        .clamp(1, MAX_RESPONSE_BYTES);
    let deadline = Instant::now() + Duration::from_millis(q.max_wait_ms.max(0) as u64);
    loop {
        let got = acquire_round(b, &group, &member, &targets, max_records, max_bytes).await;
        let any = !got.is_empty();
        for (id, resp) in got {
            merge(&mut topics, id, resp);
        }
        let now = Instant::now();
        if any || has_acks || targets.is_empty() || now >= deadline {
            break;
        }
        // The member may have left or reset its session meanwhile: then stop polling.
        if !shares.lock().sessions.contains_key(&key) {
            break;
        }
        let until = deadline.min(now + RECHECK);
        wait_for_any(b, &group, &targets, until).await;
    }
    ShareResponse {
        acquisition_lock_timeout_ms: lock_ms,
        topics,
        ..Default::default()
    }
}

fn merge(topics: &mut Vec<TopicResp>, id: uuid::Uuid, resp: PartitionResp) {
    let t = match topics.iter_mut().position(|t| t.topic_id == id) {
        Some(i) => &mut topics[i],
        None => {
            topics.push(TopicResp {
                topic_id: id,
                partitions: Vec::new(),
            });
            let last = topics.len() - 1;
            &mut topics[last]
        }
    };
    match t
        .partitions
        .iter_mut()
        .find(|p| p.partition == resp.partition)
    {
        // The partition already answers an acknowledgement: add the fetch half.
        Some(p) => {
            p.error_code = resp.error_code;
            p.error_message = resp.error_message;
            p.records = resp.records;
            p.acquired = resp.acquired;
        }
        None => t.partitions.push(resp),
    }
}

/// One pass: acquires what is available on each partition (shared budget of records and bytes).
async fn acquire_round(
    b: &Broker,
    group: &str,
    member: &str,
    targets: &[(uuid::Uuid, i32, Arc<Partition>)],
    mut max_records: usize,
    mut max_bytes: usize,
) -> Vec<(uuid::Uuid, PartitionResp)> {
    let shares = b.shares();
    let mut out = Vec::new();
    for (id, idx, p) in targets {
        if max_records == 0 || max_bytes == 0 {
            break;
        }
        let key = (group.to_string(), *id, *idx);
        let from = {
            let mut st = shares.lock();
            let max = shares.cfg.max_delivery_attempts;
            let sp = ops::partition_state(shares, &mut st, &key, p);
            sp.expire_locks(Instant::now(), max);
            sp.next_fetch_offset()
        };
        if from >= p.high_watermark() {
            continue;
        }
        let data = match p.read(from, max_bytes).await {
            Ok(r) => r.records,
            Err(e) => {
                let (code, msg) = crate::error::code_and_message(&e);
                out.push((
                    *id,
                    PartitionResp {
                        partition: *idx,
                        error_code: code,
                        error_message: msg,
                        leader_id: b.cluster().local_node(),
                        ..Default::default()
                    },
                ));
                continue;
            }
        };
        let batches = split_batches(&data);
        let spans: Vec<BatchSpan> = batches.iter().map(|(s, _)| *s).collect();
        let (acquired, used) = {
            let mut st = shares.lock();
            // The member may have left (or its session closed) while the log was read: acquire nothing for it.
            if !st
                .sessions
                .contains_key(&(group.to_string(), member.to_string()))
            {
                break;
            }
            let lock = shares.lock_duration(&st, group);
            let limits = (max_records, shares.cfg.max_record_locks);
            let sp = ops::partition_state(shares, &mut st, &key, p);
            sp.acquire(member, &spans, limits, lock, Instant::now())
        };
        if acquired.is_empty() {
            continue;
        }
        let mut records = BytesMut::new();
        for i in used {
            records.extend_from_slice(&batches[i].1);
        }
        let n: i64 = acquired
            .iter()
            .map(|a| a.last_offset - a.first_offset + 1)
            .sum();
        max_records = max_records.saturating_sub(n as usize);
        max_bytes = max_bytes.saturating_sub(records.len());
        metrics::counter!("strait_kafka_share_acquired_records_total").increment(n as u64);
        p.traffic().delivered(records.len() as u64, n as u64);
        out.push((
            *id,
            PartitionResp {
                partition: *idx,
                leader_id: b.cluster().local_node(),
                leader_epoch: super::resolve::leader_epoch(b, p),
                records: Some(records.freeze()),
                acquired,
                ..Default::default()
            },
        ));
    }
    out
}

/// Splits stored bytes into whole batches with their offset spans; a torn tail is ignored.
fn split_batches(data: &Bytes) -> Vec<(BatchSpan, Bytes)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let Ok((base, len)) = peek_offset_and_len(&data[at..]) else {
            break;
        };
        if at + len > data.len() {
            break;
        }
        let Ok(h) = strait_engine::batch::BatchHeader::parse(&data[at..]) else {
            break;
        };
        out.push((
            BatchSpan {
                base_offset: base,
                last_offset: h.last_offset(),
            },
            data.slice(at..at + len),
        ));
        at += len;
    }
    out
}

/// Waits until any partition has data past what the group has already taken, or `until`.
async fn wait_for_any(
    b: &Broker,
    group: &str,
    targets: &[(uuid::Uuid, i32, Arc<Partition>)],
    until: Instant,
) {
    let ends: Vec<(Arc<Partition>, i64)> = {
        let st = b.shares().lock();
        targets
            .iter()
            .map(|(id, idx, p)| {
                let end = st
                    .partitions
                    .get(&(group.to_string(), *id, *idx))
                    .map_or_else(|| p.high_watermark(), |sp| sp.end());
                (p.clone(), end)
            })
            .collect()
    };
    // Data past `end` that this pass did not acquire (the in-flight window is full): only time (lock expiry,
    // acknowledgements by others) can change that, so sleep instead of waking at once.
    if ends.iter().any(|(p, end)| p.high_watermark() > *end) {
        tokio::time::sleep_until(until.into()).await;
        return;
    }
    let timeout = until.saturating_duration_since(Instant::now());
    let mut set = tokio::task::JoinSet::new();
    for (p, end) in ends {
        set.spawn(async move { p.wait_for_data(end, timeout).await });
    }
    // The first partition with new data (or the timeout) ends the wait; the rest are dropped.
    let _ = set.join_next().await;
}
