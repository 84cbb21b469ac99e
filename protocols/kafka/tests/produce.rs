//! Produce (acks, validation, errors, storage as received) and InitProducerId through the wire encoding.

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_kafka::BrokerConfig;

fn part(r: &ProduceResponse) -> (i16, i64) {
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

#[tokio::test]
async fn all_codecs_round_trip_byte_exact() {
    let mut t = TestBroker::new().await;
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut expected = Vec::new();
    let mut offset = 0;
    for (i, c) in codecs.iter().enumerate() {
        let values: Vec<String> = (0..=i).map(|j| format!("{c:?}-{j}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let b = batch(&refs, *c, None);
        let r = t.call(9, &produce("codecs", 0, b.clone(), -1)).await;
        assert_eq!(part(&r), (0, offset), "{c:?}");
        assert_eq!(r.responses[0].partition_responses[0].log_start_offset, 0);
        assert_eq!(r.responses[0].partition_responses[0].log_append_time_ms, -1);
        expected.extend(stored(&b, offset, 0));
        offset += refs.len() as i64;
    }
    let r = t
        .call(12, &fetch("codecs", vec![fetch_partition(0, 0, 1 << 20)]))
        .await;
    assert_eq!(r.error_code, 0);
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark, p.last_stable_offset),
        (0, 15, 15)
    );
    assert_eq!(p.log_start_offset, 0);
    assert_eq!(p.aborted_transactions, Some(vec![]));
    let got = fetched(&r);
    assert_eq!(
        &got[..],
        &expected[..],
        "compressed batches are stored as received"
    );
    let vals = values(got);
    assert_eq!(vals.len(), 15);
    assert_eq!(vals[14], (14, "Zstd-4".to_string()));
    t.shutdown().await;
}

#[tokio::test]
async fn acks_zero_sends_nothing_and_closes_on_error() {
    let mut t = TestBroker::new().await;
    let b = batch(&["a"], Compression::None, None);
    assert!(
        t.try_call(8, &produce("quiet", 0, b.clone(), 0))
            .await
            .expect("ok")
            .is_none()
    );
    assert!(
        t.try_call(8, &produce("quiet", 7, b.clone(), 0))
            .await
            .is_err()
    );
    let r = t.call(8, &produce("quiet", 0, b.clone(), 2)).await;
    assert_eq!(part(&r).0, ResponseError::InvalidRequiredAcks.code());
    let r = t.call(8, &produce("quiet", 0, b, 1)).await;
    assert_eq!(part(&r), (0, 1), "the acks=0 record was written");
    t.shutdown().await;
}

#[tokio::test]
async fn invalid_batches_get_per_partition_errors() {
    let mut t = TestBroker::new().await;
    let good = batch(&["a", "b"], Compression::None, None);
    let code = |r: ProduceResponse| r.responses[0].partition_responses[0].error_code;

    let mut bad_crc = good.to_vec();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0xff;
    let r = t.call(9, &produce("v", 0, Bytes::from(bad_crc), -1)).await;
    assert_eq!(code(r), ResponseError::CorruptMessage.code());

    let mut v1 = good.to_vec();
    v1[16] = 1;
    let r = t.call(9, &produce("v", 0, Bytes::from(v1), -1)).await;
    assert_eq!(code(r), ResponseError::InvalidRecord.code());

    let mut two = good.to_vec();
    two.extend_from_slice(&good);
    let r = t.call(9, &produce("v", 0, Bytes::from(two), -1)).await;
    assert_eq!(code(r), ResponseError::InvalidRecord.code());

    let r = t
        .call(9, &produce("v", 0, good.slice(..good.len() - 3), -1))
        .await;
    assert_eq!(code(r), ResponseError::CorruptMessage.code());

    let zstd = batch(&["z"], Compression::Zstd, None);
    let r = t.call(6, &produce("v", 0, zstd, -1)).await;
    assert_eq!(code(r), ResponseError::UnsupportedCompressionType.code());

    let r = t.call(9, &produce("v", 3, good.clone(), -1)).await;
    assert_eq!(code(r), ResponseError::UnknownTopicOrPartition.code());

    let r = t.call(9, &produce("v", 0, Bytes::new(), -1)).await;
    assert_eq!(code(r), ResponseError::InvalidRecord.code());

    let mut txn = good.to_vec();
    txn[22] |= 1 << 4; // transactional bit without a producer id; the CRC no longer matters, the check comes first
    let r = t.call(9, &produce("v", 0, Bytes::from(txn), -1)).await;
    assert_eq!(code(r), ResponseError::InvalidRecord.code());

    let r = t.call(9, &produce("v", 0, good, -1)).await;
    assert_eq!(part(&r), (0, 0), "nothing invalid was written");
    let pr = &r.responses[0].partition_responses[0];
    assert!(pr.error_message.is_none());
    t.shutdown().await;
}

#[tokio::test]
async fn message_too_large_log_append_time_and_no_auto_create() {
    let mut t = TestBroker::with_config(BrokerConfig {
        auto_create_topics: false,
        ..Default::default()
    })
    .await;
    let b = batch(&["x"; 40], Compression::None, None);
    let r = t.call(9, &produce("missing", 0, b.clone(), 1)).await;
    assert_eq!(part(&r).0, ResponseError::UnknownTopicOrPartition.code());

    let overrides = BTreeMap::from([
        ("max.message.bytes".to_string(), "200".to_string()),
        (
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        ),
    ]);
    let engine = t.broker.engine().clone();
    engine
        .create_topic("small", 1, overrides)
        .await
        .expect("create");
    let r = t.call(9, &produce("small", 0, b, 1)).await;
    assert_eq!(part(&r).0, ResponseError::MessageTooLarge.code());
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let r = t
        .call(
            9,
            &produce("small", 0, batch(&["y"], Compression::None, None), -1),
        )
        .await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    assert!(p.log_append_time_ms >= before, "LogAppendTime is reported");
    t.shutdown().await;
}

#[tokio::test]
async fn produce_v13_by_topic_id_and_multi_partition() {
    let mut t = TestBroker::new().await;
    let engine = t.broker.engine().clone();
    let info = engine
        .create_topic("ids", 2, BTreeMap::new())
        .await
        .expect("create");
    let data = |i: i32| {
        PartitionProduceData::default()
            .with_index(i)
            .with_records(Some(batch(&["a", "b"], Compression::Lz4, None)))
    };
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_topic_id(info.id)
                .with_partition_data(vec![data(0), data(1), data(2)]),
            TopicProduceData::default()
                .with_topic_id(uuid::Uuid::new_v4())
                .with_partition_data(vec![data(0)]),
        ]);
    let r = t.call(13, &req).await;
    assert_eq!(r.responses[0].topic_id, info.id);
    let codes: Vec<i16> = r.responses[0]
        .partition_responses
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(
        codes,
        vec![0, 0, ResponseError::UnknownTopicOrPartition.code()]
    );
    assert_eq!(
        r.responses[1].partition_responses[0].error_code,
        ResponseError::UnknownTopicId.code()
    );
    t.shutdown().await;
}

/// The generated default carries an empty transactional id, which Kafka rejects; clients send null.
fn idempotent() -> InitProducerIdRequest {
    InitProducerIdRequest::default().with_transactional_id(None)
}

#[tokio::test]
async fn init_producer_id_allocates_durably() {
    let mut t = TestBroker::new().await;
    let mut ids = Vec::new();
    for v in [0, 2, 4, 5] {
        let r = t.call(v, &idempotent()).await;
        assert_eq!((r.error_code, r.producer_epoch), (0, 0));
        ids.push(r.producer_id.0);
    }
    // A v3+ client resending its id gets a new one, as from Kafka for non-transactional producers.
    let r = t
        .call(
            4,
            &idempotent()
                .with_producer_id(ids[0].into())
                .with_producer_epoch(0),
        )
        .await;
    ids.push(r.producer_id.0);
    // A transactional id gets its own producer id from the transaction coordinator (tests/transactions.rs);
    // without a valid transaction timeout it is refused.
    let r = t
        .call(
            4,
            &idempotent().with_transactional_id(Some(StrBytes::from_static_str("tx-1").into())),
        )
        .await;
    assert_eq!(
        r.error_code,
        ResponseError::InvalidTransactionTimeout.code()
    );
    let r = t
        .call(
            4,
            &idempotent()
                .with_transactional_id(Some(StrBytes::from_static_str("tx-1").into()))
                .with_transaction_timeout_ms(60_000),
        )
        .await;
    assert_eq!((r.error_code, r.producer_epoch), (0, 0));
    ids.push(r.producer_id.0);
    let r = t.call(4, &idempotent().with_producer_epoch(3)).await;
    assert_eq!(r.error_code, ResponseError::InvalidRequest.code());

    let mut t = t.restart().await;
    let r = t.call(5, &idempotent()).await;
    ids.push(r.producer_id.0);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are never reused: {ids:?}");
    assert!(ids.last() > ids.first());
    t.shutdown().await;
}
