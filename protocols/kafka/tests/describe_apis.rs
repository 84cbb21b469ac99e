//! DescribeTopicPartitions (pagination, cursor, errors) and DescribeProducers (idempotent producers' state, errors)
//! through the wire encoding.

mod common;

use std::collections::BTreeMap;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_request::TopicRequest as ProducersTopic;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    InitProducerIdRequest,
};
use kafka_protocol::records::Compression;

/// A topic of an answer: (name, error code, partitions listed).
type Listed = (String, i16, Vec<i32>);

/// Each topic of the answer, and its next cursor.
fn pages(r: &DescribeTopicPartitionsResponse) -> (Vec<Listed>, Option<(String, i32)>) {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                t.error_code,
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let cursor = r
        .next_cursor
        .as_ref()
        .map(|c| (c.topic_name.0.to_string(), c.partition_index));
    (topics, cursor)
}

#[tokio::test]
async fn describe_topic_partitions_pages_through_sorted_topics_with_a_cursor() {
    let mut t = TestBroker::new().await;
    let engine = t.broker.engine().clone();
    for (name, n) in [("a", 3), ("b", 2), ("c", 1)] {
        engine
            .create_topic(name, n, BTreeMap::new())
            .await
            .expect("create");
    }
    let named = |names: &[&str]| -> Vec<TopicRequest> {
        names
            .iter()
            .map(|n| TopicRequest::default().with_name(name(n)))
            .collect()
    };
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(named(&["c", "nope", "a", "b"]))
        .with_response_partition_limit(4);
    let r = t.call(0, &req).await;
    let (topics, cursor) = pages(&r);
    assert_eq!(
        topics,
        [("a".into(), 0, vec![0, 1, 2]), ("b".into(), 0, vec![0])]
    );
    assert_eq!(cursor, Some(("b".into(), 1)));
    let a = &r.topics[0];
    assert_eq!(a.topic_id, engine.topic("a").expect("a").id);
    assert!(!a.is_internal);
    let p = &a.partitions[0];
    assert_eq!((p.leader_id.0, p.leader_epoch), (1, 0));
    assert_eq!(p.replica_nodes.iter().map(|b| b.0).collect::<Vec<_>>(), [1]);
    assert_eq!(p.isr_nodes.iter().map(|b| b.0).collect::<Vec<_>>(), [1]);
    assert!(
        a.topic_authorized_operations > 0,
        "authorized operations are filled"
    );

    // The next page starts at the cursor; the unknown topic is reported by name.
    let req = req.with_cursor(Some(
        Cursor::default()
            .with_topic_name(name("b"))
            .with_partition_index(1),
    ));
    let (topics, cursor) = pages(&t.call(0, &req).await);
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(
        topics,
        [
            ("b".into(), 0, vec![1]),
            ("c".into(), 0, vec![0]),
            ("nope".into(), unknown, vec![])
        ]
    );
    assert_eq!(cursor, None);

    // No names: every topic, the internal offsets topic first (sorted by name), capped at 2000 partitions.
    let r = t.call(0, &DescribeTopicPartitionsRequest::default()).await;
    let (topics, cursor) = pages(&r);
    let names: Vec<&str> = topics.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, ["__consumer_offsets", "a", "b", "c"]);
    assert!(r.topics[0].is_internal);
    assert_eq!(cursor, None);
    t.shutdown().await;
}

#[tokio::test]
async fn describe_producers_lists_each_idempotent_producers_last_sequence() {
    let mut t = TestBroker::new().await;
    let mut pids = Vec::new();
    for _ in 0..2 {
        let r = t
            .call(
                4,
                &InitProducerIdRequest::default().with_transactional_id(None),
            )
            .await;
        assert_eq!(r.error_code, 0);
        pids.push(r.producer_id.0);
    }
    // Producer 0 writes sequences 0..=4 in two batches, producer 1 sequences 0..=1.
    for (pid, seq, n) in [(pids[0], 0, 3), (pids[0], 3, 2), (pids[1], 0, 2)] {
        let values: Vec<String> = (0..n).map(|i| format!("{pid}-{}", seq + i)).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let b = batch(&refs, Compression::None, Some((pid, 0, seq)));
        let r = t.call(9, &produce("prod", 0, b, -1)).await;
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let req = DescribeProducersRequest::default().with_topics(vec![
        ProducersTopic::default()
            .with_name(name("prod"))
            .with_partition_indexes(vec![0, 7]),
        ProducersTopic::default()
            .with_name(name("missing"))
            .with_partition_indexes(vec![0]),
    ]);
    let r = t.call(0, &req).await;
    let p0 = &r.topics[0].partitions[0];
    assert_eq!(p0.error_code, 0);
    let got: Vec<(i64, i32, i32, i64)> = p0
        .active_producers
        .iter()
        .map(|s| {
            (
                s.producer_id.0,
                s.producer_epoch,
                s.last_sequence,
                s.current_txn_start_offset,
            )
        })
        .collect();
    let mut want = vec![(pids[0], 0, 4, -1), (pids[1], 0, 1, -1)];
    want.sort();
    assert_eq!(got, want);
    assert!(p0.active_producers.iter().all(|s| s.last_timestamp > 0));
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(r.topics[0].partitions[1].error_code, unknown);
    assert_eq!(r.topics[1].partitions[0].error_code, unknown);
    t.shutdown().await;
}
