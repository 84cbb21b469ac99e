//! Idempotent producers: duplicates, sequence and epoch errors, concurrency and restarts.

mod common;

use bytes::{Bytes, BytesMut};
use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    InitProducerIdRequest, ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request};
use kafka_protocol::records::Compression;
use strait_engine::MetaOp;
use strait_kafka::{Broker, Session};

const TOPIC: &str = "idem";

/// (error code, base offset) of a produce of `n` records with the given idempotence fields.
async fn send(t: &mut TestBroker, pid: i64, epoch: i16, seq: i32, n: usize) -> (i16, i64) {
    let r = t.call(9, &req(pid, epoch, seq, n)).await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn req(pid: i64, epoch: i16, seq: i32, n: usize) -> ProduceRequest {
    let values: Vec<String> = (0..n)
        .map(|i| format!("{pid}/{epoch}/{}", seq + i as i32))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let b = batch(&refs, Compression::Snappy, Some((pid, epoch, seq)));
    produce(TOPIC, 0, b, -1)
}

async fn log_end(t: &mut TestBroker) -> i64 {
    t.call(9, &list_offsets(TOPIC, 0, -1)).await.topics[0].partitions[0].offset
}

async fn new_producer(t: &mut TestBroker) -> i64 {
    let r = t
        .call(
            4,
            &InitProducerIdRequest::default().with_transactional_id(None),
        )
        .await;
    assert_eq!(r.error_code, 0);
    r.producer_id.0
}

/// A produce through another connection, for concurrent requests.
async fn produce_on(broker: Broker, req: ProduceRequest) -> ProduceResponse {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ProduceRequest::KEY)
        .with_request_api_version(9)
        .encode(&mut buf, ProduceRequest::header_version(9))
        .expect("header");
    req.encode(&mut buf, 9).expect("body");
    let mut session = Session::default();
    let mut resp: Bytes = broker
        .handle(&mut session, buf.freeze())
        .await
        .expect("handled")
        .expect("response");
    ResponseHeader::decode(&mut resp, ProduceResponse::header_version(9)).expect("header");
    ProduceResponse::decode(&mut resp, 9).expect("body")
}

const OOO: i16 = ResponseError::OutOfOrderSequenceNumber.code();
const FENCED: i16 = ResponseError::InvalidProducerEpoch.code();

#[tokio::test]
async fn duplicates_sequences_and_epochs() {
    let mut t = TestBroker::new().await;
    let pid = new_producer(&mut t).await;
    assert_eq!(send(&mut t, pid, 0, 0, 3).await, (0, 0));
    assert_eq!(send(&mut t, pid, 0, 3, 2).await, (0, 3));
    // Retries of either cached batch are acknowledged with their first offsets and not written again.
    assert_eq!(send(&mut t, pid, 0, 0, 3).await, (0, 0));
    assert_eq!(send(&mut t, pid, 0, 3, 2).await, (0, 3));
    assert_eq!(log_end(&mut t).await, 5);
    assert_eq!(send(&mut t, pid, 0, 9, 1).await.0, OOO, "gap");
    assert_eq!(
        send(&mut t, pid, 0, 1, 4).await.0,
        OOO,
        "overlap, not a duplicate"
    );
    // KIP-360: a bumped epoch must restart at sequence 0; the old epoch is then fenced.
    assert_eq!(send(&mut t, pid, 1, 5, 1).await.0, OOO);
    assert_eq!(send(&mut t, pid, 1, 0, 2).await, (0, 5));
    assert_eq!(send(&mut t, pid, 0, 5, 1).await.0, FENCED);
    // A producer the broker has never seen may start anywhere (its records may have been deleted).
    assert_eq!(send(&mut t, 424_242, 3, 17, 1).await, (0, 7));
    assert_eq!(log_end(&mut t).await, 8);
    t.shutdown().await;
}

#[tokio::test]
async fn concurrent_retries_are_written_once() {
    let mut t = TestBroker::new().await;
    let pid = new_producer(&mut t).await;
    assert_eq!(send(&mut t, pid, 0, 0, 1).await, (0, 0));
    let tasks: Vec<_> = (0..8)
        .map(|_| tokio::spawn(produce_on(t.broker.clone(), req(pid, 0, 1, 3))))
        .collect();
    for task in tasks {
        let r = task.await.expect("task");
        let p = &r.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, 1));
    }
    assert_eq!(log_end(&mut t).await, 4);
    t.shutdown().await;
}

#[tokio::test]
async fn state_survives_restarts() {
    let mut t = TestBroker::new().await;
    let pid = new_producer(&mut t).await;
    assert_eq!(send(&mut t, pid, 0, 0, 3).await, (0, 0));
    let plain = batch(&["no producer"], Compression::Gzip, None);
    t.call(9, &produce(TOPIC, 0, plain.clone(), 1)).await;
    assert_eq!(send(&mut t, pid, 0, 3, 2).await, (0, 4));
    assert_eq!(send(&mut t, pid, 1, 0, 1).await, (0, 6));

    // The first idempotent append wrote a snapshot; the batches after it come from scanning the tail.
    let mut t = t.restart().await;
    assert_eq!(
        send(&mut t, pid, 1, 0, 1).await,
        (0, 6),
        "duplicate after restart"
    );
    assert_eq!(send(&mut t, pid, 1, 5, 1).await.0, OOO);
    assert_eq!(send(&mut t, pid, 0, 5, 1).await.0, FENCED);
    assert_eq!(send(&mut t, pid, 1, 1, 2).await, (0, 7));
    let key = format!("{TOPIC}\0{:010}", 0).into_bytes();

    // The rebuild wrote a fresh snapshot; the next restart starts from it plus the tail after it.
    let mut t = t.restart().await;
    let snap = meta_get(&t, &key);
    assert!(snap.is_some(), "a snapshot exists");
    assert_eq!(send(&mut t, pid, 1, 1, 2).await, (0, 7));
    assert_eq!(send(&mut t, pid, 1, 3, 1).await, (0, 9));

    // A snapshot that names a batch the log does not hold is ignored in favour of a full scan.
    let id = t.broker.engine().topic(TOPIC).expect("topic").id;
    let bogus = format!(
        r#"{{"topic_id":"{id}","end_offset":10,"anchor":{{"base_offset":9,"producer_id":1,"producer_epoch":0,"base_sequence":0,"record_count":1}},"producers":[[{pid},{{"epoch":7,"batches":[],"last_seen_ms":{}}}]]}}"#,
        i64::MAX / 2
    );
    t.broker
        .engine()
        .meta()
        .commit(vec![MetaOp::Put {
            table: "kafka_producer_state".into(),
            key: key.clone(),
            value: bogus.into_bytes(),
        }])
        .await
        .expect("put");
    let mut t = t.restart().await;
    assert_eq!(
        send(&mut t, pid, 1, 3, 1).await,
        (0, 9),
        "epoch 7 from the bogus snapshot was not used"
    );
    assert_eq!(send(&mut t, pid, 1, 4, 1).await, (0, 10));
    t.shutdown().await;
}

#[tokio::test]
async fn a_recreated_topic_starts_with_fresh_state() {
    let mut t = TestBroker::new().await;
    let pid = new_producer(&mut t).await;
    assert_eq!(send(&mut t, pid, 0, 0, 2).await, (0, 0));
    assert_eq!(send(&mut t, pid, 0, 2, 2).await, (0, 2));
    let engine = t.broker.engine().clone();
    engine.delete_topic(TOPIC).await.expect("delete");
    // Auto-created again on produce: the old batches are gone, so seq 0 is new data, not a duplicate.
    assert_eq!(send(&mut t, pid, 0, 0, 2).await, (0, 0));
    assert_eq!(log_end(&mut t).await, 2);
    t.shutdown().await;
}

fn meta_get(t: &TestBroker, key: &[u8]) -> Option<Vec<u8>> {
    t.broker
        .engine()
        .meta()
        .get("kafka_producer_state", key)
        .expect("meta get")
}
