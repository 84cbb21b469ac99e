//! Shared harness of the consumer-group tests: extra client connections to one broker (parked requests run
//! on spawned tasks), request builders and polling helpers.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use super::TestBroker;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerProtocolSubscription, DescribeGroupsRequest, DescribeGroupsResponse, GroupId,
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use strait_kafka::group::GroupConfig;
use strait_kafka::{Broker, BrokerConfig, Session};

pub fn config() -> BrokerConfig {
    BrokerConfig {
        groups: GroupConfig {
            initial_rebalance_delay: Duration::ZERO,
            min_session_timeout: Duration::from_millis(10),
            ..GroupConfig::default()
        },
        ..BrokerConfig::default()
    }
}

pub async fn broker_with(groups: GroupConfig) -> TestBroker {
    let t = TestBroker::with_config(BrokerConfig {
        groups,
        ..BrokerConfig::default()
    })
    .await;
    for (name, partitions) in [("orders", 2), ("payments", 1)] {
        t.broker
            .engine()
            .create_topic(name, partitions, BTreeMap::new())
            .await
            .expect("create topic");
    }
    t
}

pub async fn broker() -> TestBroker {
    broker_with(config().groups).await
}

/// One client connection; several can talk to the same broker concurrently.
pub struct Client {
    broker: Broker,
    session: Session,
    correlation: i32,
    client_id: &'static str,
}

impl Client {
    pub fn new(t: &TestBroker, client_id: &'static str) -> Client {
        Client {
            broker: t.broker.clone(),
            session: Session {
                peer: Some("10.1.2.3:4567".parse().expect("addr")),
                ..Session::default()
            },
            correlation: 0,
            client_id,
        }
    }

    pub async fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str(self.client_id)));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version).expect("encode request");
        let mut resp = self
            .broker
            .handle(&mut self.session, buf.freeze())
            .await
            .expect("request handled")
            .expect("a response");
        let rh = ResponseHeader::decode(&mut resp, R::Response::header_version(version))
            .expect("response header");
        assert_eq!(rh.correlation_id, self.correlation);
        let body = R::Response::decode(&mut resp, version).expect("decode response");
        assert!(resp.is_empty(), "no trailing bytes in response");
        body
    }

    /// Sends a request that parks; the client comes back with the response.
    pub fn spawn<R: Request + Send + Sync + 'static>(
        mut self,
        version: i16,
        req: R,
    ) -> tokio::task::JoinHandle<(Client, R::Response)>
    where
        R::Response: Send,
    {
        tokio::spawn(async move {
            let r = self.call(version, &req).await;
            (self, r)
        })
    }
}

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A consumer-protocol subscription (version prefix + v0 body), as Java and librdkafka send it.
pub fn subscription(topics: &[&str], user_data: &[u8]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| s(t)).collect())
        .with_user_data(Some(Bytes::copy_from_slice(user_data)))
        .encode(&mut buf, 0)
        .expect("encode subscription");
    buf.freeze()
}

pub fn join_req(group: &str, member: &str, protocols: &[(&str, Bytes)]) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(
            protocols
                .iter()
                .map(|(n, m)| {
                    JoinGroupRequestProtocol::default()
                        .with_name(s(n))
                        .with_metadata(m.clone())
                })
                .collect(),
        )
}

pub fn range(topics: &[&str]) -> Vec<(&'static str, Bytes)> {
    vec![("range", subscription(topics, b""))]
}

/// The KIP-394 two-step join of a dynamic member at v9; returns the assigned member id. The second join
/// parks, so it runs on its own task.
pub async fn member_id(c: &mut Client, group: &str) -> String {
    let r = c.call(9, &join_req(group, "", &range(&["orders"]))).await;
    assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
    r.member_id.to_string()
}

/// Joins a group that has no other members and waits for the join phase to complete.
pub async fn join_alone(c: &mut Client, group: &str) -> JoinGroupResponse {
    let id = member_id(c, group).await;
    let r = c.call(9, &join_req(group, &id, &range(&["orders"]))).await;
    assert_eq!(r.error_code, 0, "join: {r:?}");
    r
}

pub fn sync_req(
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

pub async fn sync(
    c: &mut Client,
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupResponse {
    c.call(5, &sync_req(group, generation, member, assignments))
        .await
}

pub async fn heartbeat(c: &mut Client, group: &str, generation: i32, member: &str) -> i16 {
    c.call(
        4,
        &HeartbeatRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(generation)
            .with_member_id(s(member)),
    )
    .await
    .error_code
}

pub async fn describe(c: &mut Client, group: &str) -> DescribeGroupsResponse {
    c.call(
        5,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]),
    )
    .await
}

pub async fn state(c: &mut Client, group: &str) -> String {
    describe(c, group).await.groups[0].group_state.to_string()
}

/// Polls DescribeGroups until the group reaches `want` (parked requests complete asynchronously).
pub async fn wait_state(c: &mut Client, group: &str, want: &str) {
    for _ in 0..1000 {
        if state(c, group).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "group {group} never reached {want}: {:?}",
        describe(c, group).await
    );
}

pub fn commit_req(
    group: &str,
    generation: i32,
    member: &str,
    offsets: &[(&str, i32, i64)],
) -> OffsetCommitRequest {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (topic, p, offset) in offsets {
        let part = OffsetCommitRequestPartition::default()
            .with_partition_index(*p)
            .with_committed_offset(*offset)
            .with_committed_leader_epoch(3)
            .with_committed_metadata(Some(s(&format!("meta-{offset}"))));
        match topics.iter_mut().find(|t| &*t.name.0 == *topic) {
            Some(t) => t.partitions.push(part),
            None => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(topic)))
                    .with_partitions(vec![part]),
            ),
        }
    }
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(topics)
}

/// Every partition's error code of a commit response, in order.
pub fn commit_errors(r: &OffsetCommitResponse) -> Vec<i16> {
    r.topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

/// `(topic, partition) -> (offset, epoch, metadata)` from a v8+ OffsetFetch group entry.
pub fn fetched(
    r: &OffsetFetchResponse,
    group: usize,
) -> BTreeMap<(String, i32), (i64, i32, String)> {
    assert_eq!(r.groups[group].error_code, 0);
    r.groups[group]
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                assert_eq!(p.error_code, 0);
                (
                    (t.name.to_string(), p.partition_index),
                    (
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata.as_deref().unwrap_or_default().to_string(),
                    ),
                )
            })
        })
        .collect()
}

pub fn fetch_group(group: &str, topics: Option<&[(&str, &[i32])]>) -> OffsetFetchRequestGroup {
    OffsetFetchRequestGroup::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopics::default()
                        .with_name(TopicName(s(t)))
                        .with_partition_indexes(ps.to_vec())
                })
                .collect()
        }))
}

/// Two members in a Stable generation: A leads, both synced. Returns (a, a_id, b, b_id, generation).
pub async fn two_members(t: &TestBroker, group: &str) -> (Client, String, Client, String, i32) {
    two_members_timed(t, group, 10_000, 10_000).await
}

/// [`two_members`] with the session and rebalance timeouts every join asks for.
pub async fn two_members_timed(
    t: &TestBroker,
    group: &str,
    session_ms: i32,
    rebalance_ms: i32,
) -> (Client, String, Client, String, i32) {
    let join = |member: &str| {
        join_req(group, member, &range(&["orders"]))
            .with_session_timeout_ms(session_ms)
            .with_rebalance_timeout_ms(rebalance_ms)
    };
    let mut a = Client::new(t, "client-a");
    let a_id = member_id(&mut a, group).await;
    let first = a.call(9, &join(&a_id)).await;
    assert_eq!(first.error_code, 0);
    sync(&mut a, group, first.generation_id, &a_id, &[(&a_id, b"a1")]).await;
    let mut b = Client::new(t, "client-b");
    let b_id = member_id(&mut b, group).await;
    let b_join = b.spawn(9, join(&b_id));
    wait_state(&mut a, group, "PreparingRebalance").await;
    let ra = a.call(9, &join(&a_id)).await;
    let (b, rb) = b_join.await.expect("join task");
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    let generation = ra.generation_id;
    let b_sync = b.spawn(5, sync_req(group, generation, &b_id, &[]));
    let assignments: [(&str, &[u8]); 2] = [(&a_id, b"a2"), (&b_id, b"b2")];
    assert_eq!(
        sync(&mut a, group, generation, &a_id, &assignments)
            .await
            .error_code,
        0
    );
    let (b, rb) = b_sync.await.expect("sync task");
    assert_eq!(rb.assignment.as_ref(), b"b2");
    (a, a_id, b, b_id, generation)
}

/// Gives spawned requests a chance to reach the coordinator and park.
pub async fn wait_until_parked() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

pub fn static_join(group: &str, member: &str, instance: &str) -> JoinGroupRequest {
    join_req(group, member, &range(&["orders"])).with_group_instance_id(Some(s(instance)))
}
