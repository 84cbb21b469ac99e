//! Metadata by topic id (v10+), as the Java AdminClient's `describeTopics(TopicCollection.ofTopicIds(..))` sends
//! it: the id set and the name empty rather than null. The answer must be looked up by id and echo that id, or the
//! Java client fails with "Use errors() when managing topic using topic name".

mod common;

use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

fn by_id(id: uuid::Uuid, name: Option<&str>) -> MetadataRequestTopic {
    MetadataRequestTopic::default()
        .with_topic_id(id)
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n.into()))))
}

#[tokio::test]
async fn metadata_by_topic_id_with_empty_or_null_name() {
    let mut t = TestBroker::new().await;
    let created = t
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_static_str("by-id")))),
                ]))
                .with_allow_auto_topic_creation(true),
        )
        .await;
    let id = created.topics[0].topic_id;
    assert_ne!(id, uuid::Uuid::nil());

    for name in [Some(""), None] {
        let r = t
            .call(
                12,
                &MetadataRequest::default().with_topics(Some(vec![by_id(id, name)])),
            )
            .await;
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].error_code, 0, "name {name:?}");
        assert_eq!(r.topics[0].topic_id, id);
        assert_eq!(
            r.topics[0].name.as_ref().map(|n| n.0.as_str()),
            Some("by-id")
        );
        assert_eq!(r.topics[0].partitions.len(), 1);

        let unknown = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        let r = t
            .call(
                12,
                &MetadataRequest::default().with_topics(Some(vec![by_id(unknown, name)])),
            )
            .await;
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].error_code, ResponseError::UnknownTopicId.code());
        assert_eq!(
            r.topics[0].topic_id, unknown,
            "the unknown id is echoed back"
        );
        assert_eq!(r.topics[0].name, None);
    }
    t.shutdown().await;
}
