//! KIP-848 consumer-protocol groups through the wire: ConsumerGroupHeartbeat (join, epochs, reconciliation with
//! revocation before reassignment, regex subscriptions, static members, leave) and ConsumerGroupDescribe, commits
//! validated against member epochs, and coexistence with classic groups.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::TestBroker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
    CreateTopicsRequest, DeleteGroupsRequest, GroupId, JoinGroupRequest, ListGroupsRequest,
    OffsetCommitRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn create_topic(t: &mut TestBroker, topic: &str, partitions: i32) -> uuid::Uuid {
    let r = t
        .call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(TopicName(s(topic)))
                        .with_num_partitions(partitions)
                        .with_replication_factor(1),
                ])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(r.topics[0].error_code, 0);
    r.topics[0].topic_id
}

type Owned = BTreeMap<uuid::Uuid, BTreeSet<i32>>;

fn join_req(group: &str, member: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(60_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| TopicName(s(t))).collect()))
        .with_server_assignor(Some(s("uniform")))
        .with_topic_partitions(Some(vec![]))
}

fn hb_req(
    group: &str,
    member: &str,
    epoch: i32,
    owned: Option<&Owned>,
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_topic_partitions(owned.map(|o| {
            o.iter()
                .map(|(id, ps)| {
                    TopicPartitions::default()
                        .with_topic_id(*id)
                        .with_partitions(ps.iter().copied().collect())
                })
                .collect()
        }))
}

fn assigned(r: &ConsumerGroupHeartbeatResponse) -> Option<Owned> {
    r.assignment.as_ref().map(|a| {
        a.topic_partitions
            .iter()
            .map(|t| (t.topic_id, t.partitions.iter().copied().collect()))
            .collect()
    })
}

fn count(o: &Owned) -> usize {
    o.values().map(BTreeSet::len).sum()
}

#[tokio::test]
async fn bad_heartbeats_get_kafkas_errors() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, "t", 2).await;
    let code = |r: ConsumerGroupHeartbeatResponse| r.error_code;
    // Missing member id, missing rebalance timeout, missing subscription, owned partitions on join.
    assert_eq!(
        code(t.call(1, &join_req("g", "", &["t"])).await),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        code(
            t.call(1, &join_req("g", "m", &["t"]).with_rebalance_timeout_ms(0))
                .await
        ),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        code(
            t.call(
                1,
                &join_req("g", "m", &["t"]).with_subscribed_topic_names(None)
            )
            .await
        ),
        ResponseError::InvalidRequest.code()
    );
    let owned: Owned = BTreeMap::from([(uuid::Uuid::from_u128(1), BTreeSet::from([0]))]);
    assert_eq!(
        code(
            t.call(
                1,
                &join_req("g", "m", &["t"])
                    .with_topic_partitions(hb_req("g", "m", 0, Some(&owned)).topic_partitions)
            )
            .await
        ),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        code(
            t.call(
                1,
                &join_req("g", "m", &["t"]).with_server_assignor(Some(s("magic")))
            )
            .await
        ),
        ResponseError::UnsupportedAssignor.code()
    );
    assert_eq!(
        code(
            t.call(
                1,
                &join_req("g", "m", &[]).with_subscribed_topic_regex(Some(s("(unclosed")))
            )
            .await
        ),
        ResponseError::InvalidRegularExpression.code()
    );
    assert_eq!(
        code(t.call(1, &hb_req("g", "m", -3, None)).await),
        ResponseError::InvalidRequest.code()
    );
    // Unknown member, and epochs the member never had.
    assert_eq!(
        code(t.call(1, &hb_req("g", "ghost", 1, None)).await),
        ResponseError::UnknownMemberId.code()
    );
    let r = t.call(1, &join_req("g", "m", &["t"])).await;
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    assert_eq!(
        code(t.call(1, &hb_req("g", "m", 5, None)).await),
        ResponseError::FencedMemberEpoch.code()
    );
    assert_eq!(
        code(t.call(1, &hb_req("g", "other", 1, None)).await),
        ResponseError::UnknownMemberId.code()
    );
}

#[tokio::test]
async fn members_reconcile_revoking_before_reassignment() {
    let mut t = TestBroker::new().await;
    let topic = create_topic(&mut t, "orders", 4).await;

    // First member: everything, epoch 1.
    let r = t.call(1, &join_req("g", "a", &["orders"])).await;
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    let a_owned = assigned(&r).expect("assignment on join");
    assert_eq!(a_owned[&topic].len(), 4);
    assert_eq!(r.heartbeat_interval_ms, 5000);

    // Second member joins: the target gives it half, but a still owns everything, so b gets the new epoch and
    // nothing yet.
    let r = t.call(1, &join_req("g", "b", &["orders"])).await;
    assert_eq!(r.member_epoch, 2);
    assert_eq!(assigned(&r).map(|o| count(&o)), Some(0));

    // a learns it must revoke two partitions: same epoch, reduced assignment.
    let r = t.call(1, &hb_req("g", "a", 1, None)).await;
    assert_eq!(r.member_epoch, 1);
    let a_kept = assigned(&r).expect("revocation");
    assert_eq!(count(&a_kept), 2);
    // Until a acknowledges (reports only what it kept), b still has nothing.
    let r = t.call(1, &hb_req("g", "b", 2, None)).await;
    assert!(assigned(&r).is_none_or(|o| count(&o) == 0));
    // Described meanwhile: reconciling, a's target is the two partitions it kept.
    let d = t
        .call(
            1,
            &ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
        )
        .await;
    let g = &d.groups[0];
    assert_eq!(
        (
            g.error_code,
            &*g.group_state,
            g.group_epoch,
            g.assignment_epoch
        ),
        (0, "Reconciling", 2, 2)
    );
    assert_eq!(&*g.assignor_name, "uniform");
    assert_eq!(g.members.len(), 2);

    let r = t.call(1, &hb_req("g", "a", 1, Some(&a_kept))).await;
    assert_eq!(
        r.member_epoch, 2,
        "revocation acknowledged: a moves to the new epoch"
    );
    let r = t.call(1, &hb_req("g", "b", 2, None)).await;
    let b_owned = assigned(&r).expect("released partitions");
    assert_eq!(count(&b_owned), 2);
    assert!(
        b_owned[&topic].is_disjoint(&a_kept[&topic]),
        "no partition has two owners"
    );

    // Offsets: commits carry the member epoch.
    let commit = |member: &str, epoch: i32| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s(member))
            .with_generation_id_or_member_epoch(epoch)
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("orders")))
                    .with_partitions(vec![
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ])
    };
    let code =
        |r: kafka_protocol::messages::OffsetCommitResponse| r.topics[0].partitions[0].error_code;
    assert_eq!(code(t.call(9, &commit("a", 2)).await), 0);
    assert_eq!(
        code(t.call(9, &commit("a", 1)).await),
        ResponseError::StaleMemberEpoch.code()
    );
    assert_eq!(
        code(t.call(9, &commit("zed", 2)).await),
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        code(t.call(9, &commit("", -1)).await),
        ResponseError::UnknownMemberId.code()
    );

    // A classic member cannot join while the group is a consumer group; the group cannot be deleted.
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default().with_name(s("range")),
        ]);
    assert_eq!(
        t.call(5, &join).await.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    let del = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]);
    assert_eq!(
        t.call(2, &del).await.results[0].error_code,
        ResponseError::NonEmptyGroup.code()
    );
    let l = t.call(5, &ListGroupsRequest::default()).await;
    let listed = l
        .groups
        .iter()
        .find(|x| &*x.group_id.0 == "g")
        .expect("listed");
    assert_eq!(
        (&*listed.group_type, &*listed.protocol_type),
        ("consumer", "consumer")
    );

    // Both leave: the group is empty and can be deleted.
    for (m, e) in [("a", 2), ("b", 2)] {
        let r = t.call(1, &hb_req("g", m, -1, None)).await;
        assert_eq!((r.error_code, r.member_epoch), (0, -1));
        let _ = e;
    }
    assert_eq!(t.call(2, &del).await.results[0].error_code, 0);
    let d = t
        .call(
            1,
            &ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
        )
        .await;
    assert_eq!(
        d.groups[0].error_code,
        ResponseError::GroupIdNotFound.code()
    );
}

#[tokio::test]
async fn regex_subscriptions_are_resolved_by_the_broker() {
    let mut t = TestBroker::new().await;
    let a = create_topic(&mut t, "logs-a", 1).await;
    create_topic(&mut t, "metrics", 1).await;
    let req = join_req("rg", "m", &[])
        .with_subscribed_topic_names(None)
        .with_subscribed_topic_regex(Some(s("logs-.*")));
    let r = t.call(1, &req).await;
    assert_eq!(
        assigned(&r),
        Some(BTreeMap::from([(a, BTreeSet::from([0]))]))
    );
    // A new matching topic bumps the group epoch and is assigned on the next heartbeat.
    let b = create_topic(&mut t, "logs-b", 2).await;
    let r = t.call(1, &hb_req("rg", "m", 1, None)).await;
    assert_eq!(r.member_epoch, 2);
    let owned = assigned(&r).expect("new topic assigned");
    assert_eq!(owned[&b], BTreeSet::from([0, 1]));
    assert!(owned.contains_key(&a));
    // Whole-name match, internal topics included (Kafka does not skip them for broker-side regexes).
    let req = join_req("rg2", "m", &[])
        .with_subscribed_topic_names(None)
        .with_subscribed_topic_regex(Some(s("__consumer_offsets|logs")));
    let r = t.call(1, &req).await;
    let owned = assigned(&r).expect("assignment");
    assert_eq!(owned.len(), 1);
    assert_eq!(count(&owned), 50);
}

#[tokio::test]
async fn static_members_keep_their_partitions_across_a_client_restart() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, "s", 2).await;
    let r = t
        .call(
            1,
            &join_req("sg", "m1", &["s"]).with_instance_id(Some(s("inst"))),
        )
        .await;
    let owned = assigned(&r).expect("assignment");
    // Another member id with the same live instance id is refused.
    let r2 = t
        .call(
            1,
            &join_req("sg", "m2", &["s"]).with_instance_id(Some(s("inst"))),
        )
        .await;
    assert_eq!(r2.error_code, ResponseError::UnreleasedInstanceId.code());
    // A static leave (-2) keeps the partitions; the instance comes back under a new member id with them.
    let r = t
        .call(
            1,
            &hb_req("sg", "m1", -2, None).with_instance_id(Some(s("inst"))),
        )
        .await;
    assert_eq!((r.error_code, r.member_epoch), (0, -2));
    let r = t
        .call(
            1,
            &join_req("sg", "m2", &["s"]).with_instance_id(Some(s("inst"))),
        )
        .await;
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    assert_eq!(assigned(&r), Some(owned));
    // A static leave without an instance id is malformed.
    let r = t.call(1, &hb_req("sg", "m2", -2, None)).await;
    assert_eq!(r.error_code, ResponseError::InvalidRequest.code());
}

/// Random joins, leaves, heartbeats and topic growth with members that behave like clients (adopt every
/// assignment they are sent, report what they own): at no point do two members believe they own the same
/// partition, and once everyone keeps heartbeating every partition is owned by exactly one member.
#[tokio::test]
async fn no_partition_ever_has_two_owners() {
    for seed in [0x5eed_1234, 7, 42, 0xdead_beef, 99_991] {
        chaos(seed).await;
    }
}

async fn chaos(mut seed: u64) {
    use kafka_protocol::messages::CreatePartitionsRequest;
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    let mut t = TestBroker::new().await;
    let topic = create_topic(&mut t, "shared", 6).await;
    let mut partitions = 6;
    // Client-side view per member: (epoch, owned).
    let mut members: BTreeMap<String, (i32, Owned)> = BTreeMap::new();
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let check = |members: &BTreeMap<String, (i32, Owned)>| {
        let mut seen = BTreeSet::new();
        for (id, (_, owned)) in members {
            for (t, ps) in owned {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t}-{p} owned twice (second: {id})");
                }
            }
        }
    };
    for step in 0..400 {
        match next(10) {
            0 if members.len() < 5 => {
                let id = format!("m{step}");
                let r = t.call(1, &join_req("chaos", &id, &["shared"])).await;
                assert_eq!(r.error_code, 0);
                members.insert(id, (r.member_epoch, assigned(&r).unwrap_or_default()));
            }
            1 if !members.is_empty() => {
                let id = members
                    .keys()
                    .nth(next(members.len() as u64) as usize)
                    .cloned()
                    .expect("member");
                let (epoch, _) = members.remove(&id).expect("member");
                assert_eq!(
                    t.call(1, &hb_req("chaos", &id, -1, None)).await.error_code,
                    0,
                    "{epoch}"
                );
            }
            2 if partitions < 12 => {
                partitions += 1;
                let r = t
                    .call(
                        3,
                        &CreatePartitionsRequest::default()
                            .with_topics(vec![
                                CreatePartitionsTopic::default()
                                    .with_name(TopicName(s("shared")))
                                    .with_count(partitions)
                                    .with_assignments(None),
                            ])
                            .with_timeout_ms(5000),
                    )
                    .await;
                assert_eq!(r.results[0].error_code, 0);
            }
            _ if !members.is_empty() => {
                let id = members
                    .keys()
                    .nth(next(members.len() as u64) as usize)
                    .cloned()
                    .expect("member");
                let (epoch, owned) = members[&id].clone();
                let r = t.call(1, &hb_req("chaos", &id, epoch, Some(&owned))).await;
                assert_eq!(r.error_code, 0, "step {step}: {:?}", r.error_message);
                let owned = assigned(&r).unwrap_or(owned);
                members.insert(id, (r.member_epoch, owned));
            }
            _ => {}
        }
        check(&members);
    }
    // Converge: a few rounds of heartbeats from everyone.
    for _ in 0..6 {
        for id in members.keys().cloned().collect::<Vec<_>>() {
            let (epoch, owned) = members[&id].clone();
            let r = t.call(1, &hb_req("chaos", &id, epoch, Some(&owned))).await;
            assert_eq!(r.error_code, 0);
            members.insert(id, (r.member_epoch, assigned(&r).unwrap_or(owned)));
            check(&members);
        }
    }
    if !members.is_empty() {
        let total: usize = members
            .values()
            .map(|(_, o)| o.get(&topic).map_or(0, BTreeSet::len))
            .sum();
        assert_eq!(
            total, partitions as usize,
            "every partition owned once members converged"
        );
    }
}

#[tokio::test]
async fn offset_fetch_checks_the_member_epoch() {
    use kafka_protocol::messages::OffsetFetchRequest;
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
    let mut t = TestBroker::new().await;
    create_topic(&mut t, "of", 1).await;
    let r = t.call(1, &join_req("fg", "m", &["of"])).await;
    assert_eq!(r.member_epoch, 1);
    let fetch = |member: Option<&str>, epoch: i32| {
        OffsetFetchRequest::default().with_groups(vec![
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s("fg")))
                .with_member_id(member.map(s))
                .with_member_epoch(epoch)
                .with_topics(None),
        ])
    };
    assert_eq!(
        t.call(9, &fetch(Some("m"), 1)).await.groups[0].error_code,
        0
    );
    assert_eq!(
        t.call(9, &fetch(Some("m"), 0)).await.groups[0].error_code,
        ResponseError::StaleMemberEpoch.code()
    );
    assert_eq!(
        t.call(9, &fetch(Some("x"), 1)).await.groups[0].error_code,
        ResponseError::UnknownMemberId.code()
    );
    // Admin fetches (no member, epoch -1) are not checked.
    assert_eq!(t.call(9, &fetch(None, -1)).await.groups[0].error_code, 0);
}
