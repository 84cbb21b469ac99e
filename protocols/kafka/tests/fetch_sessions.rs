//! Fetch sessions (KIP-227) through the wire encoding: a full fetch opens a session, incremental fetches carry
//! and return only what changed, epochs are checked, partitions are forgotten, sessions close, are bound to
//! their principal and compete for the cache's slots.

mod common;

use std::collections::BTreeMap;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::records::Compression;
use strait_access::{AuthMechanism, Principal};
use strait_kafka::BrokerConfig;

async fn put(t: &mut TestBroker, topic: &str, partition: i32, values: &[&str]) {
    let r = t
        .call(
            9,
            &produce(topic, partition, batch(values, Compression::None, None), -1),
        )
        .await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
}

/// A request of session `id` at `epoch` listing `partitions` (partition, fetch offset) of `topic`.
fn session_fetch(topic: &str, id: i32, epoch: i32, partitions: &[(i32, i64)]) -> FetchRequest {
    let mut req = fetch(
        topic,
        partitions
            .iter()
            .map(|&(p, o)| fetch_partition(p, o, 1 << 20))
            .collect(),
    );
    if partitions.is_empty() {
        req.topics.clear();
    }
    req.session_id = id;
    req.session_epoch = epoch;
    req
}

/// (partition, record values) of every partition in the answer, in order.
fn listed(r: &FetchResponse) -> Vec<(i32, Vec<String>)> {
    r.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| {
            let records = p.records.clone().unwrap_or_default();
            let vs = values(records).into_iter().map(|(_, v)| v).collect();
            (p.partition_index, vs)
        })
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn incremental_fetches_carry_and_return_only_what_changed() {
    let mut t = TestBroker::new().await;
    let engine = t.broker.engine().clone();
    engine
        .create_topic("s", 3, BTreeMap::new())
        .await
        .expect("create");
    put(&mut t, "s", 0, &["a", "b"]).await;

    // Epoch 0 opens a session; the full answer lists every partition.
    let r = t
        .call(12, &session_fetch("s", 0, 0, &[(0, 0), (1, 0), (2, 0)]))
        .await;
    let id = r.session_id;
    assert!(id > 0, "a session was opened");
    assert_eq!(
        listed(&r),
        [(0, strings(&["a", "b"])), (1, vec![]), (2, vec![])]
    );
    assert_eq!(t.broker.fetch_sessions().len(), 1);

    // The client moved partition 0 on and lists only it; nothing else changed, so nothing is listed.
    let r = t.call(12, &session_fetch("s", id, 1, &[(0, 2)])).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    assert!(listed(&r).is_empty(), "nothing new: {:?}", listed(&r));

    // New records on partition 1, which the client does not list: the session's offset for it is used.
    put(&mut t, "s", 1, &["c"]).await;
    let r = t.call(12, &session_fetch("s", id, 2, &[])).await;
    assert_eq!(listed(&r), [(1, strings(&["c"]))]);
    assert_eq!(r.responses[0].partitions[0].high_watermark, 1);

    // A wrong epoch is refused at the top level and does not end the session.
    let r = t.call(12, &session_fetch("s", id, 2, &[(1, 1)])).await;
    assert_eq!(r.error_code, ResponseError::InvalidFetchSessionEpoch.code());
    let r = t.call(12, &session_fetch("s", id, 3, &[(1, 1)])).await;
    assert_eq!((r.error_code, listed(&r)), (0, vec![]));

    // Forgotten partitions leave the session: records on partition 2 are no longer fetched.
    let mut req = session_fetch("s", id, 4, &[]);
    req.forgotten_topics_data = vec![
        ForgottenTopic::default()
            .with_topic(name("s"))
            .with_partitions(vec![2]),
    ];
    let r = t.call(12, &req).await;
    assert_eq!(r.error_code, 0);
    put(&mut t, "s", 2, &["d"]).await;
    put(&mut t, "s", 0, &["e"]).await;
    let r = t.call(12, &session_fetch("s", id, 5, &[])).await;
    assert_eq!(listed(&r), [(0, strings(&["e"]))]);

    // Epoch -1 closes the session and fetches sessionlessly; the id is unknown from then on.
    let r = t.call(12, &session_fetch("s", id, -1, &[(2, 0)])).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(listed(&r), [(2, strings(&["d"]))]);
    let r = t.call(12, &session_fetch("s", id, 6, &[])).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    assert_eq!(t.broker.fetch_sessions().len(), 0);
    t.shutdown().await;
}

#[tokio::test]
async fn sessions_by_topic_id_belong_to_their_principal() {
    let mut t = TestBroker::new().await;
    put(&mut t, "ids", 0, &["x"]).await;
    let topic_id = t.broker.engine().topic("ids").expect("topic").id;
    let mut req = session_fetch("", 0, 0, &[(0, 0)]);
    req.topics[0].topic_id = topic_id;
    let r = t.call(13, &req).await;
    let id = r.session_id;
    assert!(id > 0);
    assert_eq!(r.responses[0].topic_id, topic_id);
    assert_eq!(listed(&r), [(0, strings(&["x"]))]);

    // The same session from a request naming topics (v12) cannot be used.
    let r = t.call(12, &session_fetch("ids", id, 1, &[])).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());

    // Another principal's request for the id is answered as for an unknown id, and cannot close it.
    let owner = t.session.principal.clone();
    t.session.principal = Principal {
        principal_type: "User".into(),
        name: "mallory".into(),
        mechanism: AuthMechanism::None,
    };
    let mut req = session_fetch("", id, 1, &[]);
    req.topics = vec![FetchTopic::default().with_topic_id(topic_id)];
    let r = t.call(13, &req).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    let r = t.call(13, &session_fetch("", id, -1, &[])).await;
    assert_eq!(r.error_code, 0);
    t.session.principal = owner;
    put(&mut t, "ids", 0, &["y"]).await;
    let r = t.call(13, &session_fetch("", id, 1, &[])).await;
    assert_eq!((r.error_code, r.responses[0].topic_id), (0, topic_id));
    assert_eq!(listed(&r), [(0, strings(&["x", "y"]))]);
    t.shutdown().await;
}

#[tokio::test]
async fn a_full_cache_evicts_a_smaller_session_or_leaves_the_client_sessionless() {
    let mut t = TestBroker::with_config(BrokerConfig {
        fetch_session_cache_slots: 1,
        ..Default::default()
    })
    .await;
    let engine = t.broker.engine().clone();
    engine
        .create_topic("c", 3, BTreeMap::new())
        .await
        .expect("create");
    let two = t
        .call(12, &session_fetch("c", 0, 0, &[(0, 0), (1, 0)]))
        .await
        .session_id;
    assert!(two > 0);
    // Not larger than the cached (and recently used) one: no slot, no session.
    let r = t.call(12, &session_fetch("c", 0, 0, &[(2, 0)])).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(listed(&r), [(2, vec![])]);
    // Larger: the smaller session is evicted.
    let three = t
        .call(12, &session_fetch("c", 0, 0, &[(0, 0), (1, 0), (2, 0)]))
        .await
        .session_id;
    assert!(three > 0 && three != two);
    let r = t.call(12, &session_fetch("c", two, 1, &[])).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    let r = t.call(12, &session_fetch("c", three, 1, &[])).await;
    assert_eq!(r.error_code, 0);

    // No slots: every client stays sessionless.
    let mut off = TestBroker::with_config(BrokerConfig {
        fetch_session_cache_slots: 0,
        ..Default::default()
    })
    .await;
    let r = off.call(12, &session_fetch("c", 0, 0, &[(0, 0)])).await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    off.shutdown().await;
    t.shutdown().await;
}
