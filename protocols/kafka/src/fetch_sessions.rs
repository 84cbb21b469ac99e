//! Fetch sessions (KIP-227): a consumer (or follower) that fetches many partitions sends the full list once,
//! then only what changed; the broker answers with only the partitions that have something new.
//!
//! A session remembers, per partition, the last request fields the client sent (fetch offset, max bytes, epochs)
//! and the high watermark, last stable offset and log start it was last told. Request metadata, as in Kafka:
//!
//! | session id | epoch | meaning                                                                  |
//! |------------|-------|--------------------------------------------------------------------------|
//! | 0          | -1    | sessionless full fetch                                                   |
//! | 0          | 0     | full fetch that opens a session (id 0 back when the cache has no room)   |
//! | id         | 0     | closes `id`, then as above                                               |
//! | id         | -1    | closes `id`, then a sessionless full fetch                               |
//! | id         | n > 0 | incremental: `n` must be the session's next epoch                        |
//!
//! An incremental answer lists a partition only if it has records, an error, a diverging epoch or leader hint,
//! or a high watermark, last stable offset or log start that differs from what the session last reported.
//! Partitions that returned records move to the end of the session's order, so a budget-limited response does
//! not always favour the same ones (Kafka does the same).
//!
//! The cache holds `slots` sessions. A new one takes a free slot, else evicts the least recently used session
//! idle for over [`EVICTABLE_AFTER`], else the least recently used one with fewer partitions than it; failing
//! that the client stays sessionless (id 0), which every client handles. Sessions are bound to the principal
//! that opened them: another principal's request for the id is answered as for an unknown id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{
    EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch,
};
use kafka_protocol::messages::{FetchRequest, TopicName};
use strait_access::Principal;

/// A session idle this long may be evicted for a new one (Kafka's `min.incremental.fetch.session.eviction.ms`).
pub const EVICTABLE_AFTER: Duration = Duration::from_secs(120);

/// A partition as the session knows it: by topic id from Fetch v13, by name before.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    topic: TopicName,
    id: uuid::Uuid,
    partition: i32,
}

struct Cached {
    request: FetchPartition,
    /// What the session last reported (`None`: never yet).
    reported: Option<Reported>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reported {
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
}

struct Session {
    owner: Principal,
    /// Opened by a v13+ request (topics by id); a request of the other kind cannot use it.
    by_id: bool,
    /// The epoch the next incremental request must carry.
    next_epoch: i32,
    partitions: IndexMap<Key, Cached>,
    last_used: Instant,
}

/// What a Fetch request asks for once its session metadata is applied.
pub struct Plan {
    /// The session id to answer with (0: sessionless).
    pub session_id: i32,
    /// Incremental: answer with changed partitions only.
    pub incremental: bool,
    /// The partitions to read, in the session's order (the request's own for a sessionless fetch).
    pub topics: Vec<FetchTopic>,
}

/// The broker's fetch-session cache.
pub struct FetchSessions {
    slots: usize,
    sessions: Mutex<HashMap<i32, Session>>,
}

fn next_epoch(epoch: i32) -> i32 {
    // Kafka's wrap: after i32::MAX comes 1 (0 and -1 have their own meanings).
    if epoch == i32::MAX { 1 } else { epoch + 1 }
}

/// The session key of `partition` of a topic named `topic` or identified by `id`, whichever the session uses.
fn key(topic: &TopicName, id: uuid::Uuid, by_id: bool, partition: i32) -> Key {
    Key {
        topic: if by_id {
            TopicName::default()
        } else {
            topic.clone()
        },
        id: if by_id { id } else { uuid::Uuid::nil() },
        partition,
    }
}

/// Consecutive partitions of one topic as one `FetchTopic`, in order.
fn topics_of<'a>(partitions: impl Iterator<Item = (&'a Key, &'a Cached)>) -> Vec<FetchTopic> {
    let mut out: Vec<FetchTopic> = Vec::new();
    for (k, c) in partitions {
        match out.last_mut() {
            Some(t) if t.topic == k.topic && t.topic_id == k.id => {
                t.partitions.push(c.request.clone())
            }
            _ => out.push(
                FetchTopic::default()
                    .with_topic(k.topic.clone())
                    .with_topic_id(k.id)
                    .with_partitions(vec![c.request.clone()]),
            ),
        }
    }
    out
}

impl FetchSessions {
    pub fn new(slots: usize) -> FetchSessions {
        FetchSessions {
            slots,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sessions cached now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies a v7+ request's session metadata: the plan to read, or the top-level error to answer with.
    pub fn begin(
        &self,
        owner: &Principal,
        version: i16,
        req: &FetchRequest,
    ) -> Result<Plan, ResponseError> {
        let by_id = version >= 13;
        let (id, epoch) = (req.session_id, req.session_epoch);
        let mut sessions = self.lock();
        if epoch > 0 {
            let Some(s) = sessions.get_mut(&id).filter(|s| &s.owner == owner) else {
                return Err(ResponseError::FetchSessionIdNotFound);
            };
            if s.by_id != by_id {
                return Err(if by_id {
                    ResponseError::FetchSessionTopicIdError
                } else {
                    ResponseError::FetchSessionIdNotFound
                });
            }
            if s.next_epoch != epoch {
                return Err(ResponseError::InvalidFetchSessionEpoch);
            }
            s.next_epoch = next_epoch(epoch);
            s.last_used = Instant::now();
            for t in &req.forgotten_topics_data {
                for &p in &t.partitions {
                    s.partitions
                        .shift_remove(&key(&t.topic, t.topic_id, by_id, p));
                }
            }
            for t in &req.topics {
                for p in &t.partitions {
                    let k = key(&t.topic, t.topic_id, by_id, p.partition);
                    match s.partitions.get_mut(&k) {
                        Some(c) => c.request = p.clone(),
                        None => {
                            s.partitions.insert(
                                k,
                                Cached {
                                    request: p.clone(),
                                    reported: None,
                                },
                            );
                        }
                    }
                }
            }
            return Ok(Plan {
                session_id: id,
                incremental: true,
                topics: topics_of(s.partitions.iter()),
            });
        }
        // A full fetch: it closes the session it names (if the caller owns it).
        if id != 0 && sessions.get(&id).is_some_and(|s| &s.owner == owner) {
            sessions.remove(&id);
            metrics::gauge!("strait_kafka_fetch_sessions").set(sessions.len() as f64);
        }
        let sessionless = Plan {
            session_id: 0,
            incremental: false,
            topics: req.topics.clone(),
        };
        if epoch < 0 {
            return Ok(sessionless);
        }
        let mut partitions = IndexMap::new();
        for t in &req.topics {
            for p in &t.partitions {
                partitions.insert(
                    key(&t.topic, t.topic_id, by_id, p.partition),
                    Cached {
                        request: p.clone(),
                        reported: None,
                    },
                );
            }
        }
        if !self.make_room(&mut sessions, partitions.len()) {
            return Ok(sessionless);
        }
        let id = loop {
            let candidate = (uuid::Uuid::new_v4().as_u128() as i32) & i32::MAX;
            if candidate != 0 && !sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        let topics = topics_of(partitions.iter());
        sessions.insert(
            id,
            Session {
                owner: owner.clone(),
                by_id,
                next_epoch: 1,
                partitions,
                last_used: Instant::now(),
            },
        );
        metrics::gauge!("strait_kafka_fetch_sessions").set(sessions.len() as f64);
        Ok(Plan {
            session_id: id,
            incremental: false,
            topics,
        })
    }

    /// Frees a slot for a session of `size` partitions, evicting if need be; false if none can be had.
    fn make_room(&self, sessions: &mut HashMap<i32, Session>, size: usize) -> bool {
        if sessions.len() < self.slots {
            return true;
        }
        let now = Instant::now();
        let lru = |pred: &dyn Fn(&Session) -> bool| {
            sessions
                .iter()
                .filter(|(_, s)| pred(s))
                .min_by_key(|(_, s)| s.last_used)
                .map(|(&id, _)| id)
        };
        let victim = lru(&|s| now.duration_since(s.last_used) > EVICTABLE_AFTER)
            .or_else(|| lru(&|s| s.partitions.len() < size));
        match victim {
            Some(id) => {
                sessions.remove(&id);
                metrics::counter!("strait_kafka_fetch_session_evictions_total").increment(1);
                true
            }
            None => false,
        }
    }

    /// Records what the answer reports and, for an incremental fetch, drops the partitions with nothing new.
    pub fn finish(&self, plan: &Plan, topics: &mut Vec<FetchableTopicResponse>) {
        if plan.session_id == 0 {
            return;
        }
        let mut sessions = self.lock();
        let Some(s) = sessions.get_mut(&plan.session_id) else {
            // Closed or evicted meanwhile: the answer still stands, nothing to remember.
            return;
        };
        let mut moved = Vec::new();
        for t in topics.iter_mut() {
            t.partitions.retain(|p| {
                let k = key(&t.topic, t.topic_id, s.by_id, p.partition_index);
                let Some(c) = s.partitions.get_mut(&k) else {
                    return true;
                };
                let now = Reported {
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                };
                let has_records = p.records.as_ref().is_some_and(|r| !r.is_empty());
                let news = has_records
                    || p.error_code != 0
                    || p.diverging_epoch != EpochEndOffset::default()
                    || p.current_leader != LeaderIdAndEpoch::default()
                    || c.reported != Some(now);
                c.reported = Some(now);
                if has_records {
                    moved.push(k);
                }
                news || !plan.incremental
            });
        }
        if plan.incremental {
            topics.retain(|t| !t.partitions.is_empty());
        }
        for k in moved {
            if let Some(c) = s.partitions.shift_remove(&k) {
                s.partitions.insert(k, c);
            }
        }
    }
}
