//! ApiVersions (incl. KIP-511) and Metadata (incl. auto-creation) through the wire encoding.

mod common;

use bytes::{BufMut, BytesMut};
use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

#[tokio::test]
async fn api_versions_lists_implemented_apis() {
    let mut t = TestBroker::new().await;
    for v in 0..=4 {
        let r = t.call(v, &ApiVersionsRequest::default()).await;
        assert_eq!(r.error_code, 0);
        let m = r
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Metadata as i16)
            .expect("metadata advertised");
        assert!(m.max_version >= 9);
    }
    t.shutdown().await;
}

#[tokio::test]
async fn api_versions_newer_than_supported_gets_kip_511_answer() {
    let t = TestBroker::new().await;
    let mut s = strait_kafka::Session::default();
    let mut frame = BytesMut::new();
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(1234);
    frame.put_i16(-1);
    let resp = t
        .broker
        .handle(&mut s, frame.freeze())
        .await
        .expect("handled")
        .expect("response");
    // correlation id, then a v0 body starting with the error code
    assert_eq!(&resp[0..4], &1234i32.to_be_bytes());
    assert_eq!(
        &resp[4..6],
        &ResponseError::UnsupportedVersion.code().to_be_bytes()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn garbage_and_unknown_apis_close_the_connection() {
    let t = TestBroker::new().await;
    let mut s = strait_kafka::Session::default();
    assert!(
        t.broker
            .handle(&mut s, bytes::Bytes::from_static(b"\x00\x03"))
            .await
            .is_err()
    );
    assert!(
        t.broker
            .handle(
                &mut s,
                bytes::Bytes::from_static(b"\x7f\x00\x00\x01\x00\x00\x00\x01\xff\xff")
            )
            .await
            .is_err()
    );
    // a Metadata v9 header followed by a truncated body
    assert!(
        t.broker
            .handle(
                &mut s,
                bytes::Bytes::from_static(b"\x00\x03\x00\x09\x00\x00\x00\x01\x00\x00\x00\x05")
            )
            .await
            .is_err()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn metadata_auto_creates_and_describes() {
    let mut t = TestBroker::new().await;
    let topic = |n: &str| {
        MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(n.into()))))
    };
    let r = t
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![topic("orders")]))
                .with_allow_auto_topic_creation(true),
        )
        .await;
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 1);
    assert_ne!(r.topics[0].topic_id, uuid::Uuid::nil());
    let r = t
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![topic("nope")]))
                .with_allow_auto_topic_creation(false),
        )
        .await;
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    let r = t
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![topic("bad name!")]))
                .with_allow_auto_topic_creation(true),
        )
        .await;
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    let r = t
        .call(1, &MetadataRequest::default().with_topics(None))
        .await;
    // The auto-created topic plus the virtual internal `__consumer_offsets`.
    let names = |r: &kafka_protocol::messages::MetadataResponse| {
        let mut n: Vec<String> = r
            .topics
            .iter()
            .map(|t| t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&r).len(),
        2,
        "all topics: the auto-created one and __consumer_offsets"
    );
    assert_eq!(names(&r)[0], "__consumer_offsets");
    let r = t
        .call(0, &MetadataRequest::default().with_topics(Some(vec![])))
        .await;
    assert_eq!(names(&r).len(), 2, "v0 empty list means all topics");
    t.shutdown().await;
}
