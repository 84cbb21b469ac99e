//! Share groups (KIP-932) through the real wire encoding: ShareGroupHeartbeat, ShareFetch / ShareAcknowledge v2
//! (encoded with `share::wire`, since the codec crate stops at v1), record states, session epochs, the offsets
//! admin APIs, GROUP configs, and start offsets surviving a restart.

mod common;

use std::collections::BTreeMap;

use bytes::BytesMut;
use common::TestBroker;
use common::records::*;
use common::share::share_call;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, ApiKey, DeleteGroupsRequest, DescribeConfigsRequest,
    DescribeShareGroupOffsetsRequest, GroupId, IncrementalAlterConfigsRequest, RequestHeader,
    ShareGroupDescribeRequest, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::Compression;
use strait_kafka::share::wire::{AckBatch, PartitionReq, ShareRequest, ShareResponse, TopicReq};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn topic_with_records(t: &mut TestBroker, topic: &str, n: usize) -> uuid::Uuid {
    let info = t
        .broker
        .engine()
        .create_topic(topic, 1, BTreeMap::new())
        .await
        .expect("create");
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    // Two batches, so acquisition spans batch boundaries.
    let (a, b) = refs.split_at(n / 2);
    for half in [a, b] {
        let resp = t
            .call(
                9,
                &produce(topic, 0, batch(half, Compression::None, None), -1),
            )
            .await;
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    }
    info.id
}

async fn set_group_config(t: &mut TestBroker, group: &str, key: &str, value: &str) -> i16 {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(32)
            .with_resource_name(s(group))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s(key))
                    .with_config_operation(0)
                    .with_value(Some(s(value))),
            ]),
    ]);
    t.call(1, &req).await.responses[0].error_code
}

async fn heartbeat(
    t: &mut TestBroker,
    group: &str,
    member: &str,
    epoch: i32,
    topics: Option<&[&str]>,
) -> ShareGroupHeartbeatResponse {
    let req = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_subscribed_topic_names(topics.map(|ts| ts.iter().map(|n| name(n)).collect()));
    t.call(1, &req).await
}

fn fetch_req(group: &str, member: &str, epoch: i32, topic: uuid::Uuid) -> ShareRequest {
    ShareRequest {
        group_id: Some(group.into()),
        member_id: Some(member.into()),
        session_epoch: epoch,
        max_wait_ms: 50,
        min_bytes: 1,
        max_bytes: 1 << 20,
        max_records: 500,
        batch_size: 500,
        topics: vec![TopicReq {
            topic_id: topic,
            partitions: vec![PartitionReq {
                partition: 0,
                acks: vec![],
            }],
        }],
        ..Default::default()
    }
}

fn ack_req(
    group: &str,
    member: &str,
    epoch: i32,
    topic: uuid::Uuid,
    first: i64,
    last: i64,
    ty: i8,
) -> ShareRequest {
    ShareRequest {
        group_id: Some(group.into()),
        member_id: Some(member.into()),
        session_epoch: epoch,
        topics: vec![TopicReq {
            topic_id: topic,
            partitions: vec![PartitionReq {
                partition: 0,
                acks: vec![AckBatch {
                    first_offset: first,
                    last_offset: last,
                    types: vec![ty],
                }],
            }],
        }],
        ..Default::default()
    }
}

fn acquired(r: &ShareResponse) -> Vec<(i64, i64, i16)> {
    r.topics
        .iter()
        .flat_map(|t| &t.partitions)
        .flat_map(|p| &p.acquired)
        .map(|a| (a.first_offset, a.last_offset, a.delivery_count))
        .collect()
}

fn ack_error(r: &ShareResponse) -> i16 {
    r.topics[0].partitions[0].ack_error_code
}

#[tokio::test]
async fn share_group_lifecycle_with_record_states() {
    let mut t = TestBroker::new().await;
    let tid = topic_with_records(&mut t, "sh", 10).await;
    assert_eq!(
        set_group_config(&mut t, "g", "share.auto.offset.reset", "earliest").await,
        0
    );
    assert_eq!(
        set_group_config(&mut t, "g", "share.auto.offset.reset", "sideways").await,
        ResponseError::InvalidConfig.code()
    );

    // Join: epoch 1 and every partition of the topic.
    let a = heartbeat(&mut t, "g", "a", 0, Some(&["sh"])).await;
    assert_eq!(a.error_code, 0);
    assert_eq!(a.member_epoch, 1);
    let asg = a.assignment.expect("assignment on join");
    assert_eq!(asg.topic_partitions[0].topic_id, tid);
    assert_eq!(asg.topic_partitions[0].partitions, vec![0]);
    // A second member shares the same partition.
    let b = heartbeat(&mut t, "g", "b", 0, Some(&["sh"])).await;
    assert_eq!(b.member_epoch, 2);
    assert_eq!(
        b.assignment.expect("assignment").topic_partitions[0].partitions,
        vec![0]
    );

    // Bad heartbeats: wrong epoch, unknown member, join without a subscription.
    let fenced = heartbeat(&mut t, "g", "a", 5, None).await;
    assert_eq!(fenced.error_code, ResponseError::FencedMemberEpoch.code());
    let unknown = heartbeat(&mut t, "g", "nobody", 3, None).await;
    assert_eq!(unknown.error_code, ResponseError::UnknownMemberId.code());
    let no_subs = heartbeat(&mut t, "g", "c", 0, None).await;
    assert_eq!(no_subs.error_code, ResponseError::InvalidRequest.code());

    // A unknown member cannot open a share session.
    let r = share_call(&mut t, true, &fetch_req("g", "nobody", 0, tid)).await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());

    // Member a acquires all ten records (two batches).
    let r = share_call(&mut t, true, &fetch_req("g", "a", 0, tid)).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.acquisition_lock_timeout_ms, 30_000);
    assert_eq!(acquired(&r), vec![(0, 9, 1)]);
    assert!(
        r.topics[0].partitions[0]
            .records
            .as_ref()
            .is_some_and(|b| !b.is_empty())
    );

    // Member b gets nothing: every record is locked to a.
    let r = share_call(&mut t, true, &fetch_req("g", "b", 0, tid)).await;
    assert_eq!(r.error_code, 0);
    assert!(acquired(&r).is_empty());
    // b cannot acknowledge a's records.
    let r = share_call(&mut t, false, &ack_req("g", "b", 1, tid, 0, 0, 1)).await;
    assert_eq!(ack_error(&r), ResponseError::InvalidRecordState.code());

    // a accepts 0..=4; accepting them again is an invalid record state, as is a record never delivered.
    let r = share_call(&mut t, false, &ack_req("g", "a", 1, tid, 0, 4, 1)).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(ack_error(&r), 0);
    let r = share_call(&mut t, false, &ack_req("g", "a", 2, tid, 0, 0, 1)).await;
    assert_eq!(ack_error(&r), ResponseError::InvalidRecordState.code());
    let r = share_call(&mut t, false, &ack_req("g", "a", 3, tid, 50, 50, 1)).await;
    assert_eq!(ack_error(&r), ResponseError::InvalidRecordState.code());
    // Wrong session epoch, and acknowledging without a session.
    let r = share_call(&mut t, false, &ack_req("g", "a", 9, tid, 5, 5, 1)).await;
    assert_eq!(r.error_code, ResponseError::InvalidShareSessionEpoch.code());
    let r = share_call(&mut t, false, &ack_req("g", "zz", 1, tid, 5, 5, 1)).await;
    assert_eq!(r.error_code, ResponseError::ShareSessionNotFound.code());
    // Malformed batch: more types than offsets.
    let mut bad = ack_req("g", "a", 4, tid, 5, 6, 1);
    bad.topics[0].partitions[0].acks[0].types = vec![1, 1, 1];
    let r = share_call(&mut t, false, &bad).await;
    assert_eq!(ack_error(&r), ResponseError::InvalidRequest.code());

    // a releases 5 and 6 and rejects 7 (piggy-backed on a fetch); 5 and 6 come back with delivery count 2.
    let mut f = fetch_req("g", "a", 5, tid);
    f.topics[0].partitions[0].acks = vec![AckBatch {
        first_offset: 5,
        last_offset: 7,
        types: vec![2, 2, 3],
    }];
    let r = share_call(&mut t, true, &f).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(ack_error(&r), 0);
    assert_eq!(acquired(&r), vec![(5, 6, 2)]);

    // a leaves: what it held (5, 6, 8, 9) goes to b; 7 stays rejected.
    let left = heartbeat(&mut t, "g", "a", -1, None).await;
    assert_eq!(left.error_code, 0);
    assert_eq!(left.member_epoch, -1);
    // b's session is at epoch 2 (its refused acknowledgement still used epoch 1).
    let r = share_call(&mut t, true, &fetch_req("g", "b", 2, tid)).await;
    assert_eq!(acquired(&r), vec![(5, 6, 3), (8, 9, 2)]);

    // ShareGroupDescribe shows b alone.
    let d = t
        .call(
            1,
            &ShareGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
        )
        .await;
    assert_eq!(d.groups[0].error_code, 0);
    assert_eq!(d.groups[0].members.len(), 1);
    assert_eq!(&*d.groups[0].members[0].member_id, "b");

    // b closes its session (ShareAcknowledge epoch -1) accepting everything: the start offset passes the end.
    let mut close = ack_req("g", "b", 3, tid, 5, 9, 1);
    close.session_epoch = -1;
    close.topics[0].partitions[0].acks = vec![
        AckBatch {
            first_offset: 5,
            last_offset: 6,
            types: vec![1],
        },
        AckBatch {
            first_offset: 8,
            last_offset: 9,
            types: vec![1],
        },
    ];
    let r = share_call(&mut t, false, &close).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(ack_error(&r), 0);
    assert_eq!(describe_start(&mut t, "g", "sh").await, 10);
    t.shutdown().await;
}

async fn describe_start(t: &mut TestBroker, group: &str, topic: &str) -> i64 {
    let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![
                DescribeShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(name(topic))
                    .with_partitions(vec![0]),
            ])),
    ]);
    let r = t.call(0, &req).await;
    assert_eq!(r.groups[0].error_code, 0);
    r.groups[0].topics[0].partitions[0].start_offset
}

#[tokio::test]
async fn acknowledged_records_stay_acknowledged_after_restart() {
    let mut t = TestBroker::new().await;
    let tid = topic_with_records(&mut t, "dur", 6).await;
    set_group_config(&mut t, "g", "share.auto.offset.reset", "earliest").await;
    heartbeat(&mut t, "g", "a", 0, Some(&["dur"])).await;
    let r = share_call(&mut t, true, &fetch_req("g", "a", 0, tid)).await;
    assert_eq!(acquired(&r), vec![(0, 5, 1)]);
    let r = share_call(&mut t, false, &ack_req("g", "a", 1, tid, 0, 3, 1)).await;
    assert_eq!(ack_error(&r), 0);
    // Let the background meta-store write land before the restart.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut t = t.restart().await;
    assert_eq!(describe_start(&mut t, "g", "dur").await, 4);
    // The group config survived too, and a new member gets only the unacknowledged records.
    heartbeat(&mut t, "g", "b", 0, Some(&["dur"])).await;
    let r = share_call(&mut t, true, &fetch_req("g", "b", 0, tid)).await;
    assert_eq!(acquired(&r), vec![(4, 5, 1)]);
    t.shutdown().await;
}

#[tokio::test]
async fn latest_is_the_default_reset() {
    let mut t = TestBroker::new().await;
    let tid = topic_with_records(&mut t, "lat", 4).await;
    heartbeat(&mut t, "g", "a", 0, Some(&["lat"])).await;
    let r = share_call(&mut t, true, &fetch_req("g", "a", 0, tid)).await;
    assert!(
        acquired(&r).is_empty(),
        "records before the group started are skipped"
    );
    let resp = t
        .call(
            9,
            &produce("lat", 0, batch(&["new"], Compression::None, None), -1),
        )
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let r = share_call(&mut t, true, &fetch_req("g", "a", 1, tid)).await;
    assert_eq!(acquired(&r), vec![(4, 4, 1)]);
    t.shutdown().await;
}

#[tokio::test]
async fn offsets_admin_and_group_configs() {
    let mut t = TestBroker::new().await;
    topic_with_records(&mut t, "adm", 20).await;
    let alter = AlterShareGroupOffsetsRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_topics(vec![
            AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(name("adm"))
                .with_partitions(vec![
                    AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(0)
                        .with_start_offset(8),
                    AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(3)
                        .with_start_offset(1),
                ]),
        ]);
    let r = t.call(0, &alter).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    assert_eq!(
        r.responses[0].partitions[1].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(describe_start(&mut t, "g", "adm").await, 8);
    // All topics (null).
    let all = t
        .call(
            0,
            &DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(GroupId(s("g")))
                    .with_topics(None),
            ]),
        )
        .await;
    assert_eq!(all.groups[0].topics.len(), 1);
    assert_eq!(all.groups[0].topics[0].partitions[0].start_offset, 8);

    // Configs on the GROUP resource are described with their source.
    set_group_config(&mut t, "g", "share.record.lock.duration.ms", "15000").await;
    assert_eq!(
        set_group_config(&mut t, "g", "no.such.config", "1").await,
        ResponseError::InvalidConfig.code()
    );
    let d = t
        .call(
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                kafka_protocol::messages::describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(32)
                    .with_resource_name(s("g"))
                    .with_configuration_keys(Some(vec![s("share.record.lock.duration.ms")])),
            ]),
        )
        .await;
    assert_eq!(d.results[0].error_code, 0);
    assert_eq!(d.results[0].configs[0].value.as_deref(), Some("15000"));

    // A group with a member cannot be altered or deleted.
    heartbeat(&mut t, "g", "a", 0, Some(&["adm"])).await;
    assert_eq!(
        t.call(0, &alter).await.error_code,
        ResponseError::NonEmptyGroup.code()
    );
    let del = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]);
    assert_eq!(
        t.call(2, &del).await.results[0].error_code,
        ResponseError::NonEmptyGroup.code()
    );
    heartbeat(&mut t, "g", "a", -1, None).await;
    assert_eq!(t.call(2, &del).await.results[0].error_code, 0);
    t.shutdown().await;
}

#[tokio::test]
async fn malformed_share_fetch_closes_the_connection() {
    let mut t = TestBroker::new().await;
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::ShareFetch as i16)
        .with_request_api_version(2)
        .with_correlation_id(1);
    let mut buf = BytesMut::new();
    header.encode(&mut buf, 2).expect("header");
    buf.extend_from_slice(&[0x02, b'g', 0x00]); // group "g", then a truncated member id
    let r = t.broker.handle(&mut t.session, buf.freeze()).await;
    assert!(matches!(r, Err(strait_kafka::KafkaError::ShareWire(_))));
    t.shutdown().await;
}

#[tokio::test]
async fn a_consumer_group_with_members_is_not_a_share_group() {
    use kafka_protocol::messages::ConsumerGroupHeartbeatRequest;
    let mut t = TestBroker::new().await;
    topic_with_records(&mut t, "typ", 2).await;
    let join = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("cg")))
        .with_member_id(s("m1"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![name("typ")]))
        .with_topic_partitions(Some(vec![]));
    assert_eq!(t.call(1, &join).await.error_code, 0);
    let r = heartbeat(&mut t, "cg", "s1", 0, Some(&["typ"])).await;
    assert_eq!(r.error_code, ResponseError::GroupIdNotFound.code());
    t.shutdown().await;
}
