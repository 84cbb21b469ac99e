//! Fetch: sizes, errors, sessions, topic ids, epochs and long polling, through the wire encoding.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::records::Compression;
use strait_engine::AppendOptions;

async fn fill(t: &mut TestBroker, topic: &str, partition: i32, batches: usize, per: usize) {
    for i in 0..batches {
        let values: Vec<String> = (0..per).map(|j| format!("{partition}-{i}-{j}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let r = t
            .call(
                9,
                &produce(topic, partition, batch(&refs, Compression::None, None), -1),
            )
            .await;
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
}

#[tokio::test]
async fn size_limits_give_whole_batches_and_one_oversized_first() {
    let mut t = TestBroker::new().await;
    let engine = t.broker.engine().clone();
    engine
        .create_topic("sz", 2, BTreeMap::new())
        .await
        .expect("create");
    fill(&mut t, "sz", 0, 3, 10).await;
    fill(&mut t, "sz", 1, 3, 10).await;
    let one = fetched(
        &t.call(11, &fetch("sz", vec![fetch_partition(0, 0, 1 << 20)]))
            .await,
    )
    .len()
        / 3;

    // partition_max_bytes smaller than a batch: the first partition still gets one batch, the second none.
    let r = t
        .call(
            11,
            &fetch(
                "sz",
                vec![fetch_partition(0, 0, 10), fetch_partition(1, 0, 10)],
            ),
        )
        .await;
    let p = &r.responses[0].partitions;
    assert_eq!(p[0].records.as_ref().map(|b| b.len()), Some(one));
    assert_eq!(p[1].records.as_ref().map(|b| b.len()), Some(0));
    assert_eq!(p[1].high_watermark, 30, "offsets are reported without data");

    // max_bytes across partitions: two batches fit, the rest is cut at batch boundaries.
    let mut req = fetch(
        "sz",
        vec![
            fetch_partition(0, 0, 1 << 20),
            fetch_partition(1, 0, 1 << 20),
        ],
    );
    req.max_bytes = (2 * one + 5) as i32;
    let r = t.call(11, &req).await;
    let p = &r.responses[0].partitions;
    assert_eq!(p[0].records.as_ref().map(|b| b.len()), Some(2 * one));
    assert_eq!(p[1].records.as_ref().map(|b| b.len()), Some(0));

    // A fetch from the middle of a batch returns that whole batch; clients skip what they did not ask for.
    let r = t
        .call(11, &fetch("sz", vec![fetch_partition(0, 15, 1)]))
        .await;
    assert_eq!(values(fetched(&r))[0].0, 10);
    t.shutdown().await;
}

#[tokio::test]
async fn errors_sessions_and_epochs() {
    let mut t = TestBroker::new().await;
    fill(&mut t, "e", 0, 2, 2).await;
    let code =
        |r: &kafka_protocol::messages::FetchResponse| r.responses[0].partitions[0].error_code;

    let r = t
        .call(12, &fetch("nope", vec![fetch_partition(0, 0, 100)]))
        .await;
    assert_eq!(code(&r), ResponseError::UnknownTopicOrPartition.code());
    assert_eq!(
        r.responses[0].partitions[0].records,
        Some(bytes::Bytes::new())
    );
    let r = t
        .call(12, &fetch("e", vec![fetch_partition(4, 0, 100)]))
        .await;
    assert_eq!(code(&r), ResponseError::UnknownTopicOrPartition.code());
    let r = t
        .call(12, &fetch("e", vec![fetch_partition(0, 99, 100)]))
        .await;
    assert_eq!(code(&r), ResponseError::OffsetOutOfRange.code());
    let r = t
        .call(4, &fetch("e", vec![fetch_partition(0, 4, 100)]))
        .await;
    assert_eq!(
        (code(&r), fetched(&r).len()),
        (0, 0),
        "fetching at the end is not an error"
    );

    // An incremental fetch of a session the broker does not have is refused (the client starts over with a full
    // fetch, which opens one; sessions have their own tests in fetch_sessions.rs).
    let mut req = fetch("e", vec![fetch_partition(0, 0, 100)]);
    req.session_id = 17;
    req.session_epoch = 3;
    let r = t.call(12, &req).await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
    req.session_epoch = 0;
    let r = t.call(12, &req).await;
    assert_eq!((r.error_code, code(&r)), (0, 0));
    assert!(r.session_id > 0);

    // KIP-320 epochs: ours is 0.
    let mut p = fetch_partition(0, 0, 1 << 20);
    p.current_leader_epoch = 3;
    let r = t.call(12, &fetch("e", vec![p.clone()])).await;
    assert_eq!(code(&r), ResponseError::UnknownLeaderEpoch.code());
    assert_eq!(r.responses[0].partitions[0].current_leader.leader_epoch, 0);
    p.current_leader_epoch = 0;
    p.last_fetched_epoch = 0;
    let r = t.call(12, &fetch("e", vec![p.clone()])).await;
    assert_eq!((code(&r), values(fetched(&r)).len()), (0, 4));
    // A fetcher claiming to be past epoch 1 has diverged: no records, the divergence point instead.
    p.fetch_offset = 4;
    p.last_fetched_epoch = 1;
    let r = t.call(12, &fetch("e", vec![p])).await;
    let d = &r.responses[0].partitions[0].diverging_epoch;
    assert_eq!((d.epoch, d.end_offset), (-1, -1));
    assert_eq!(fetched(&r).len(), 0);
    t.shutdown().await;
}

#[tokio::test]
async fn topic_ids_from_v13() {
    let mut t = TestBroker::new().await;
    fill(&mut t, "byid", 0, 1, 3).await;
    let id = t.broker.engine().topic("byid").expect("topic").id;
    let mut req = fetch("", vec![fetch_partition(0, 0, 1 << 20)]);
    req.topics[0].topic_id = id;
    req.topics.push(
        FetchTopic::default()
            .with_topic_id(uuid::Uuid::new_v4())
            .with_partitions(vec![fetch_partition(0, 0, 100)]),
    );
    let r = t.call(16, &req).await;
    assert_eq!(r.responses[0].topic_id, id);
    assert_eq!(values(fetched(&r)).len(), 3);
    assert_eq!(
        r.responses[1].partitions[0].error_code,
        ResponseError::UnknownTopicId.code()
    );

    // A recreated topic has a new id; the old one is unknown from then on.
    let engine = t.broker.engine().clone();
    engine.delete_topic("byid").await.expect("delete");
    let new_id = engine
        .create_topic("byid", 1, Default::default())
        .await
        .expect("create")
        .id;
    let r = t.call(13, &req).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ResponseError::UnknownTopicId.code()
    );
    req.topics[0].topic_id = new_id;
    let r = t.call(13, &req).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    assert_eq!(fetched(&r).len(), 0);
    t.shutdown().await;
}

#[tokio::test]
async fn long_poll_waits_then_returns_when_data_arrives() {
    let mut t = TestBroker::new().await;
    fill(&mut t, "lp", 0, 1, 1).await;

    // Nothing new: waits for max_wait_ms, then answers with no data.
    let mut req = fetch("lp", vec![fetch_partition(0, 1, 1 << 20)]);
    req.max_wait_ms = 300;
    req.min_bytes = 1;
    let started = Instant::now();
    let r = t.call(12, &req).await;
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(fetched(&r).len(), 0);

    // Data arriving during the wait ends it early.
    req.max_wait_ms = 10_000;
    let p = t.broker.engine().partition("lp", 0).expect("partition");
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let b = batch(&["late"], Compression::Snappy, None);
        p.append(
            bytes::BytesMut::from(&b[..]).into(),
            AppendOptions::default(),
        )
        .await
        .expect("append")
    });
    let started = Instant::now();
    let r = t.call(12, &req).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "waited {waited:?}");
    assert!(
        waited < Duration::from_secs(5),
        "returned early, after {waited:?}"
    );
    assert_eq!(values(fetched(&r)), vec![(1, "late".to_string())]);
    writer.await.expect("writer");

    // Data present but below min_bytes: waits out max_wait_ms, then returns what there is.
    let mut req = fetch("lp", vec![fetch_partition(0, 0, 1 << 20)]);
    req.max_wait_ms = 250;
    req.min_bytes = 1 << 20;
    let started = Instant::now();
    let r = t.call(12, &req).await;
    assert!(started.elapsed() >= Duration::from_millis(240));
    assert_eq!(values(fetched(&r)).len(), 2);

    // An error answers at once, whatever max_wait_ms says.
    let mut req = fetch("lp", vec![fetch_partition(0, 50, 100)]);
    req.max_wait_ms = 10_000;
    req.min_bytes = 1;
    let started = Instant::now();
    let _ = t.call(12, &req).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    t.shutdown().await;
}
