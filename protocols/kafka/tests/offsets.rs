//! ListOffsets and OffsetForLeaderEpoch through the wire encoding.

mod common;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
};
use kafka_protocol::records::Compression;

/// `(error, timestamp, offset, leader epoch)` of the single answer.
fn answer(r: &ListOffsetsResponse) -> (i16, i64, i64, i32) {
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.timestamp, p.offset, p.leader_epoch)
}

async fn at(t: &mut TestBroker, version: i16, ts: i64) -> (i16, i64, i64, i32) {
    answer(&t.call(version, &list_offsets("ts", 0, ts)).await)
}

#[tokio::test]
async fn list_offsets_by_special_and_exact_timestamps() {
    let mut t = TestBroker::new().await;
    assert_eq!(
        at(&mut t, 1, -3).await.0,
        ResponseError::UnknownTopicOrPartition.code()
    );
    let batches = [
        (vec![100, 200, 300], Compression::Gzip),
        (vec![250, 900, 400], Compression::Zstd),
        (vec![500, 900], Compression::None),
    ];
    for (ts, c) in &batches {
        let vals: Vec<String> = ts.iter().map(|x| format!("v{x}")).collect();
        let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
        let r = t
            .call(9, &produce("ts", 0, batch_at(&refs, ts, *c, None), -1))
            .await;
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    // offsets: 0..=2 → 100,200,300 | 3..=5 → 250,900,400 | 6..=7 → 500,900
    assert_eq!(at(&mut t, 9, -1).await, (0, -1, 8, 0));
    assert_eq!(at(&mut t, 9, -2).await, (0, -1, 0, 0));
    assert_eq!(at(&mut t, 9, -4).await, (0, -1, 0, 0));
    assert_eq!(at(&mut t, 9, -5).await, (0, -1, -1, -1));
    assert_eq!(
        at(&mut t, 7, -3).await,
        (0, 900, 4, 0),
        "first record with the max timestamp"
    );
    assert_eq!(at(&mut t, 4, 50).await, (0, 100, 0, 0));
    assert_eq!(at(&mut t, 4, 150).await, (0, 200, 1, 0));
    assert_eq!(
        at(&mut t, 4, 260).await,
        (0, 300, 2, 0),
        "inside a compressed batch"
    );
    assert_eq!(
        at(&mut t, 4, 301).await,
        (0, 900, 4, 0),
        "not the 250 at offset 3"
    );
    assert_eq!(at(&mut t, 4, 450).await, (0, 900, 4, 0));
    assert_eq!(at(&mut t, 10, 901).await, (0, -1, -1, -1));
    assert_eq!(at(&mut t, 1, 500).await.2, 4);

    // After DeleteRecords cuts into the first batch, answers start at the new log start.
    let p = t.broker.engine().partition("ts", 0).expect("partition");
    p.delete_records(2).await.expect("delete records");
    assert_eq!(at(&mut t, 9, -2).await, (0, -1, 2, 0));
    assert_eq!(at(&mut t, 9, 50).await, (0, 300, 2, 0));
    p.delete_records(5).await.expect("delete records");
    assert_eq!(at(&mut t, 9, 250).await, (0, 400, 5, 0));
    assert_eq!(at(&mut t, 9, -3).await, (0, 900, 7, 0));
    t.shutdown().await;
}

#[tokio::test]
async fn list_offsets_errors_and_epochs() {
    let mut t = TestBroker::new().await;
    let r = t
        .call(
            9,
            &produce("ep", 0, batch(&["a"], Compression::None, None), -1),
        )
        .await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    let mut req = list_offsets("ep", 0, -1);
    req.topics[0].partitions[0].current_leader_epoch = 1;
    assert_eq!(
        answer(&t.call(9, &req).await).0,
        ResponseError::UnknownLeaderEpoch.code()
    );
    req.topics[0].partitions[0].current_leader_epoch = 0;
    assert_eq!(answer(&t.call(9, &req).await), (0, -1, 1, 0));
    let r = t.call(9, &list_offsets("ep", 5, -1)).await;
    assert_eq!(answer(&r).0, ResponseError::UnknownTopicOrPartition.code());

    let dup = list_offsets("ep", 0, -1);
    let mut req: ListOffsetsRequest = dup.clone();
    req.topics.push(dup.topics[0].clone());
    let r = t.call(5, &req).await;
    for topic in &r.topics {
        assert_eq!(
            topic.partitions[0].error_code,
            ResponseError::InvalidRequest.code()
        );
    }
    t.shutdown().await;
}

#[tokio::test]
async fn offset_for_leader_epoch() {
    let mut t = TestBroker::new().await;
    let ask = |topic: &str, epoch: i32, current: i32| {
        OffsetForLeaderEpochRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(name(topic))
                    .with_partitions(vec![
                        OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_current_leader_epoch(current)
                            .with_leader_epoch(epoch),
                    ]),
            ])
    };
    let r = t
        .call(
            4,
            &produce(
                "ofl",
                0,
                batch(&["a", "b", "c"], Compression::None, None),
                1,
            ),
        )
        .await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    let get = |r: kafka_protocol::messages::OffsetForLeaderEpochResponse| {
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.leader_epoch, p.end_offset)
    };
    assert_eq!(get(t.call(4, &ask("ofl", 0, -1)).await), (0, 0, 3));
    assert_eq!(get(t.call(3, &ask("ofl", 0, 0)).await), (0, 0, 3));
    assert_eq!(
        get(t.call(2, &ask("ofl", 7, -1)).await),
        (0, -1, -1),
        "future epoch"
    );
    assert_eq!(get(t.call(2, &ask("ofl", -1, -1)).await), (0, -1, -1));
    assert_eq!(
        get(t.call(4, &ask("ofl", 0, 2)).await).0,
        ResponseError::UnknownLeaderEpoch.code()
    );
    assert_eq!(
        get(t.call(4, &ask("none", 0, -1)).await),
        (ResponseError::UnknownTopicOrPartition.code(), -1, -1)
    );
    t.shutdown().await;
}
