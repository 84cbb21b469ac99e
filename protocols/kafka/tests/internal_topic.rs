//! The virtual `__consumer_offsets` topic: listed as internal in Metadata (so consumers leave it out of regex
//! subscriptions), never writable, creatable or deletable by clients, and harmless to read (an empty log).

mod common;

use bytes::Bytes;
use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest,
    ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_kafka::BrokerConfig;

const OFFSETS: &str = "__consumer_offsets";

fn name(n: &str) -> TopicName {
    TopicName(StrBytes::from_string(n.into()))
}

#[tokio::test]
async fn metadata_lists_consumer_offsets_as_internal() {
    let mut t = TestBroker::with_config(BrokerConfig {
        offsets_topic_partitions: 7,
        ..Default::default()
    })
    .await;
    // All topics (null list): the internal topic is there, flagged, with the configured partition count.
    let all = t
        .call(12, &MetadataRequest::default().with_topics(None))
        .await;
    let off = all
        .topics
        .iter()
        .find(|x| x.name.as_ref().map(|n| n.0.as_str()) == Some(OFFSETS))
        .expect("__consumer_offsets listed");
    assert!(off.is_internal);
    assert_eq!(off.error_code, 0);
    assert_eq!(off.partitions.len(), 7);
    assert!(off.partitions.iter().all(|p| p.leader_id.0 == 1));
    let id = off.topic_id;
    assert!(!id.is_nil());

    // By name (auto-creation on) and by id: the same entry, and no engine topic gets created.
    for req in [
        MetadataRequestTopic::default().with_name(Some(name(OFFSETS))),
        MetadataRequestTopic::default().with_topic_id(id),
    ] {
        let r = t
            .call(
                12,
                &MetadataRequest::default()
                    .with_topics(Some(vec![req]))
                    .with_allow_auto_topic_creation(true),
            )
            .await;
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].error_code, 0);
        assert!(r.topics[0].is_internal);
        assert_eq!(r.topics[0].topic_id, id);
    }
    assert!(t.broker.engine().topic(OFFSETS).is_none());
    // Ordinary topics are not internal.
    let r = t
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("plain"))),
                ]))
                .with_allow_auto_topic_creation(true),
        )
        .await;
    assert!(!r.topics[0].is_internal);
}

#[tokio::test]
async fn consumer_offsets_refuses_produce_create_and_delete() {
    let mut t = TestBroker::new().await;
    let mut b = BatchBuilder::new();
    b.push(RecordInput {
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp_ms: 1,
    });
    let records: Bytes = b.finish().freeze();
    let r = t
        .call(
            9,
            &ProduceRequest::default()
                .with_acks(1)
                .with_timeout_ms(1000)
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(name(OFFSETS))
                        .with_partition_data(vec![
                            PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(records)),
                        ]),
                ]),
        )
        .await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    assert!(t.broker.engine().topic(OFFSETS).is_none());

    let r = t
        .call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(name(OFFSETS))
                        .with_num_partitions(1)
                        .with_replication_factor(1),
                ])
                .with_timeout_ms(1000),
        )
        .await;
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::TopicAlreadyExists.code()
    );

    let r = t
        .call(
            6,
            &DeleteTopicsRequest::default()
                .with_topics(vec![
                    DeleteTopicState::default().with_name(Some(name(OFFSETS))),
                ])
                .with_timeout_ms(1000),
        )
        .await;
    assert_eq!(
        r.responses[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
}

#[tokio::test]
async fn consumer_offsets_reads_as_an_empty_log() {
    let mut t = TestBroker::new().await;
    let r = t
        .call(
            7,
            &ListOffsetsRequest::default()
                .with_replica_id(kafka_protocol::messages::BrokerId(-1))
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(name(OFFSETS))
                        .with_partitions(vec![
                            ListOffsetsPartition::default()
                                .with_partition_index(3)
                                .with_timestamp(-1),
                            ListOffsetsPartition::default()
                                .with_partition_index(4)
                                .with_timestamp(-2),
                            ListOffsetsPartition::default()
                                .with_partition_index(999)
                                .with_timestamp(-1),
                        ]),
                ]),
        )
        .await;
    let p = &r.topics[0].partitions;
    assert_eq!((p[0].error_code, p[0].offset), (0, 0));
    assert_eq!((p[1].error_code, p[1].offset), (0, 0));
    assert_eq!(
        p[2].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );

    let fetch = |offset: i64| {
        FetchRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(-1))
            .with_max_wait_ms(50)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_isolation_level(1)
            .with_session_epoch(-1)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name(OFFSETS))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ])
    };
    let start = std::time::Instant::now();
    let r = t.call(12, &fetch(0)).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(
        (p.high_watermark, p.last_stable_offset, p.log_start_offset),
        (0, 0, 0)
    );
    assert!(p.records.as_ref().is_none_or(|r| r.is_empty()));
    // It long-polls like any empty partition instead of answering at once.
    assert!(start.elapsed() >= std::time::Duration::from_millis(40));
    let r = t.call(12, &fetch(5)).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
}
