//! Committed offsets and group administration through the wire encoding: FindCoordinator, OffsetCommit,
//! OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups, and offsets surviving a restart.

mod common;

use std::collections::BTreeMap;

use common::group_harness::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, GroupId, LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, TopicName,
};

// ---------------------------------------------------------------------------------------------------------
// FindCoordinator

#[tokio::test]
async fn find_coordinator_answers_this_node_for_groups() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    for v in 0..=3 {
        let r = c
            .call(v, &FindCoordinatorRequest::default().with_key(s("g")))
            .await;
        assert_eq!(r.error_code, 0, "v{v}");
        assert_eq!((r.node_id.0, &*r.host, r.port), (1, "127.0.0.1", 9092));
    }
    for v in 4..=6 {
        let r = c
            .call(
                v,
                &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")]),
            )
            .await;
        assert_eq!(r.coordinators.len(), 2);
        for (co, key) in r.coordinators.iter().zip(["g1", "g2"]) {
            assert_eq!(
                (&*co.key, co.error_code, co.node_id.0, co.port),
                (key, 0, 1, 9092)
            );
        }
    }
    // Transaction coordinators: this node too, single and batched.
    let r = c
        .call(
            3,
            &FindCoordinatorRequest::default()
                .with_key(s("tx"))
                .with_key_type(1),
        )
        .await;
    assert_eq!((r.error_code, r.node_id.0), (0, 1));
    let r = c
        .call(
            6,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s("tx")]),
        )
        .await;
    assert_eq!(
        (r.coordinators[0].error_code, r.coordinators[0].node_id.0),
        (0, 1)
    );
    // Share groups are not implemented: a clear, non-retriable answer.
    let r = c
        .call(
            6,
            &FindCoordinatorRequest::default()
                .with_key_type(2)
                .with_coordinator_keys(vec![s("share")]),
        )
        .await;
    assert_eq!(
        r.coordinators[0].error_code,
        ResponseError::InvalidRequest.code()
    );
    t.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Offsets

#[tokio::test]
async fn commit_validation_follows_kafka() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    let first = join_alone(&mut c, "g").await;
    let id = first.member_id.to_string();
    // Before SyncGroup the generation is not settled yet.
    let r = c
        .call(9, &commit_req("g", 1, &id, &[("orders", 0, 1)]))
        .await;
    assert_eq!(
        commit_errors(&r),
        vec![ResponseError::RebalanceInProgress.code()]
    );
    sync(&mut c, "g", 1, &id, &[(&id, b"x")]).await;
    let cases: Vec<(OffsetCommitRequest, i16, Vec<ResponseError>)> = vec![
        (
            commit_req("g", 1, &id, &[("nope", 0, 1)]),
            9,
            vec![ResponseError::UnknownTopicOrPartition],
        ),
        (
            commit_req("g", 1, &id, &[("payments", 1, 1)]),
            9,
            vec![ResponseError::UnknownTopicOrPartition],
        ),
        (
            commit_req("g", 2, &id, &[("orders", 0, 1)]),
            9,
            vec![ResponseError::IllegalGeneration],
        ),
        (
            commit_req("g", 1, "ghost", &[("orders", 0, 1)]),
            9,
            vec![ResponseError::UnknownMemberId],
        ),
        // A simple commit is only for groups without members.
        (
            commit_req("g", -1, "", &[("orders", 0, 1)]),
            9,
            vec![ResponseError::UnknownMemberId],
        ),
        (
            commit_req("unknown", 4, "m", &[("orders", 0, 1)]),
            8,
            vec![ResponseError::IllegalGeneration],
        ),
        (
            commit_req("unknown", 4, "m", &[("orders", 0, 1)]),
            9,
            vec![ResponseError::GroupIdNotFound],
        ),
        (
            commit_req("", -1, "", &[("orders", 0, 1)]),
            9,
            vec![ResponseError::InvalidGroupId],
        ),
    ];
    for (req, v, want) in cases {
        let got = commit_errors(&c.call(v, &req).await);
        let want: Vec<i16> = want.iter().map(|e| e.code()).collect();
        assert_eq!(got, want, "{req:?}");
    }
    let mut big = commit_req("g", 1, &id, &[("orders", 0, 1), ("orders", 1, 2)]);
    big.topics[0].partitions[1].committed_metadata = Some(s(&"m".repeat(4097)));
    assert_eq!(
        commit_errors(&c.call(9, &big).await),
        vec![0, ResponseError::OffsetMetadataTooLarge.code()]
    );
    // Every supported version encodes; metadata null is stored as "".
    for v in 2..=9 {
        let mut req = commit_req("g", 1, &id, &[("orders", 1, 100 + i64::from(v))]);
        req.topics[0].partitions[0].committed_metadata = None;
        if v < 6 {
            req.topics[0].partitions[0].committed_leader_epoch = -1;
        }
        assert_eq!(commit_errors(&c.call(v, &req).await), vec![0], "v{v}");
    }
    let fr = c
        .call(
            8,
            &OffsetFetchRequest::default()
                .with_groups(vec![fetch_group("g", Some(&[("orders", &[1])]))]),
        )
        .await;
    assert_eq!(
        fetched(&fr, 0)[&("orders".into(), 1)],
        (109, 3, String::new())
    );
    t.shutdown().await;
}

#[tokio::test]
async fn committed_offsets_survive_a_restart() {
    let mut t = broker().await;
    {
        let mut c = Client::new(&t, "tool");
        // What `kafka-consumer-groups --reset-offsets` sends: generation -1, no member id.
        let r = c
            .call(
                9,
                &commit_req(
                    "reset",
                    -1,
                    "",
                    &[("orders", 0, 10), ("orders", 1, 20), ("payments", 0, 30)],
                ),
            )
            .await;
        assert_eq!(commit_errors(&r), vec![0, 0, 0]);
        let first = join_alone(&mut c, "live").await;
        let id = first.member_id.to_string();
        sync(&mut c, "live", 1, &id, &[(&id, b"x")]).await;
        let r = c
            .call(9, &commit_req("live", 1, &id, &[("orders", 1, 99)]))
            .await;
        assert_eq!(commit_errors(&r), vec![0]);
    }
    t = t.restart().await;
    let mut c = Client::new(&t, "after");
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default()
                .with_groups(vec![fetch_group("reset", None), fetch_group("live", None)]),
        )
        .await;
    let reset = fetched(&fr, 0);
    assert_eq!(reset.len(), 3);
    assert_eq!(reset[&("orders".into(), 1)], (20, 3, "meta-20".into()));
    assert_eq!(reset[&("payments".into(), 0)], (30, 3, "meta-30".into()));
    assert_eq!(fetched(&fr, 1)[&("orders".into(), 1)].0, 99);
    // Group membership did not survive, but the groups do, as Empty groups with offsets.
    let l = c.call(4, &ListGroupsRequest::default()).await;
    let listed: Vec<(String, String)> = l
        .groups
        .iter()
        .map(|g| (g.group_id.to_string(), g.group_state.to_string()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("live".into(), "Empty".into()),
            ("reset".into(), "Empty".into())
        ]
    );
    assert_eq!(state(&mut c, "live").await, "Empty");
    // A member of the old generation must rejoin.
    let r = c
        .call(
            9,
            &commit_req("live", 1, "old-member", &[("orders", 1, 100)]),
        )
        .await;
    assert_eq!(
        commit_errors(&r),
        vec![ResponseError::UnknownMemberId.code()]
    );
    t.shutdown().await;
}

#[tokio::test]
async fn offset_fetch_for_several_groups_and_all_topics() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    c.call(
        9,
        &commit_req("g1", -1, "", &[("orders", 0, 1), ("orders", 1, 2)]),
    )
    .await;
    c.call(9, &commit_req("g2", -1, "", &[("payments", 0, 3)]))
        .await;
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default()
                .with_groups(vec![
                    fetch_group("g1", Some(&[("orders", &[1]), ("nope", &[0])])),
                    fetch_group("g2", None),
                    fetch_group("g3", None),
                    fetch_group("", None),
                ])
                .with_require_stable(true),
        )
        .await;
    assert_eq!(fr.groups.len(), 4);
    let g1 = fetched(&fr, 0);
    assert_eq!(g1[&("orders".into(), 1)].0, 2);
    assert_eq!(
        g1[&("nope".into(), 0)].0,
        -1,
        "unknown topics have no offsets"
    );
    assert_eq!(
        fetched(&fr, 1).into_iter().collect::<Vec<_>>(),
        vec![(("payments".into(), 0), (3, 3, "meta-3".into()))]
    );
    assert!(fetched(&fr, 2).is_empty());
    assert_eq!(
        fr.groups[3].error_code,
        ResponseError::InvalidGroupId.code()
    );
    // Single-group versions with all topics (null, v2+) and a group error at the top level (v2+).
    for v in 2..=7 {
        let r = c
            .call(
                v,
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("g1")))
                    .with_topics(None),
            )
            .await;
        let n: usize = r.topics.iter().map(|t| t.partitions.len()).sum();
        assert_eq!((r.error_code, n), (0, 2), "v{v}");
        let r = c
            .call(
                v,
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("")))
                    .with_topics(None),
            )
            .await;
        assert_eq!(r.error_code, ResponseError::InvalidGroupId.code(), "v{v}");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn offset_delete_respects_subscriptions() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    let first = join_alone(&mut c, "g").await;
    let id = first.member_id.to_string();
    sync(&mut c, "g", 1, &id, &[(&id, b"x")]).await;
    c.call(
        9,
        &commit_req("g", 1, &id, &[("orders", 0, 5), ("payments", 0, 6)]),
    )
    .await;
    let del = |group: &str| {
        OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(vec![
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(s("orders")))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0),
                    ]),
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(s("payments")))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0),
                        OffsetDeleteRequestPartition::default().with_partition_index(9),
                    ]),
            ])
    };
    let r = c.call(0, &del("g")).await;
    assert_eq!(r.error_code, 0);
    let codes: Vec<Vec<i16>> = r
        .topics
        .iter()
        .map(|t| t.partitions.iter().map(|p| p.error_code).collect())
        .collect();
    assert_eq!(
        codes,
        vec![
            vec![ResponseError::GroupSubscribedToTopic.code()],
            vec![0, ResponseError::UnknownTopicOrPartition.code()]
        ]
    );
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default().with_groups(vec![fetch_group("g", None)]),
        )
        .await;
    let left: Vec<(String, i32)> = fetched(&fr, 0).into_keys().collect();
    assert_eq!(left, vec![("orders".into(), 0)]);
    let r = c.call(0, &del("missing")).await;
    assert_eq!(r.error_code, ResponseError::GroupIdNotFound.code());
    t.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Administration

#[tokio::test]
async fn delete_groups_refuses_active_and_unknown_groups() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    let first = join_alone(&mut c, "active").await;
    let id = first.member_id.to_string();
    sync(&mut c, "active", 1, &id, &[(&id, b"x")]).await;
    c.call(9, &commit_req("offsets-only", -1, "", &[("orders", 0, 1)]))
        .await;
    let req = DeleteGroupsRequest::default().with_groups_names(
        ["active", "offsets-only", "missing"]
            .iter()
            .map(|g| GroupId(s(g)))
            .collect(),
    );
    for v in 0..=2 {
        let r = c.call(v, &req).await;
        let codes: Vec<(String, i16)> = r
            .results
            .iter()
            .map(|x| (x.group_id.to_string(), x.error_code))
            .collect();
        let deleted = if v == 0 {
            0
        } else {
            ResponseError::GroupIdNotFound.code()
        };
        assert_eq!(
            codes,
            vec![
                ("active".into(), ResponseError::NonEmptyGroup.code()),
                ("offsets-only".into(), deleted),
                ("missing".into(), ResponseError::GroupIdNotFound.code()),
            ],
            "v{v}"
        );
    }
    assert_eq!(state(&mut c, "offsets-only").await, "Dead");
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default().with_groups(vec![fetch_group("offsets-only", None)]),
        )
        .await;
    assert!(fetched(&fr, 0).is_empty());
    // Once its member leaves, the group can be deleted.
    c.call(
        5,
        &LeaveGroupRequest::default()
            .with_group_id(GroupId(s("active")))
            .with_members(vec![MemberIdentity::default().with_member_id(s(&id))]),
    )
    .await;
    wait_state(&mut c, "active", "Empty").await;
    let r = c
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("active"))]),
        )
        .await;
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(state(&mut c, "active").await, "Dead");
    t.shutdown().await;
}

#[tokio::test]
async fn list_groups_filters_by_state_and_type() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    let first = join_alone(&mut c, "stable").await;
    let id = first.member_id.to_string();
    sync(&mut c, "stable", 1, &id, &[(&id, b"x")]).await;
    c.call(9, &commit_req("simple", -1, "", &[("orders", 0, 1)]))
        .await;
    let names = |r: &kafka_protocol::messages::ListGroupsResponse| -> Vec<String> {
        r.groups.iter().map(|g| g.group_id.to_string()).collect()
    };
    for v in 0..=5 {
        let r = c.call(v, &ListGroupsRequest::default()).await;
        assert_eq!(names(&r), vec!["simple", "stable"], "v{v}");
    }
    let r = c
        .call(
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("stable")]),
        )
        .await;
    assert_eq!(names(&r), vec!["stable"]);
    let r = c
        .call(
            5,
            &ListGroupsRequest::default().with_states_filter(vec![s("Empty")]),
        )
        .await;
    assert_eq!(names(&r), vec!["simple"]);
    let r = c
        .call(
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("consumer")]),
        )
        .await;
    assert!(r.groups.is_empty(), "classic groups only");
    let r = c
        .call(
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("Classic")]),
        )
        .await;
    assert_eq!(names(&r).len(), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn many_partitions_and_deleted_topics() {
    let t = broker().await;
    t.broker
        .engine()
        .create_topic("wide", 40, BTreeMap::new())
        .await
        .expect("create topic");
    let mut c = Client::new(&t, "c");
    let offsets: Vec<(&str, i32, i64)> = (0..40).map(|p| ("wide", p, i64::from(p) * 10)).collect();
    assert!(
        commit_errors(&c.call(9, &commit_req("g", -1, "", &offsets)).await)
            .iter()
            .all(|e| *e == 0)
    );
    c.call(9, &commit_req("g", -1, "", &[("orders", 0, 1)]))
        .await;
    c.call(9, &commit_req("h", -1, "", &[("wide", 3, 33)]))
        .await;
    // Enough partitions to be answered from one scan of the group; a repeated one is answered twice.
    let mut wanted: Vec<i32> = (0..40).collect();
    wanted.push(7);
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default()
                .with_groups(vec![fetch_group("g", Some(&[("wide", &wanted)]))]),
        )
        .await;
    let parts = &fr.groups[0].topics[0].partitions;
    assert_eq!(parts.len(), 41);
    assert!(
        parts
            .iter()
            .all(|p| p.committed_offset == i64::from(p.partition_index) * 10)
    );
    // Deleting a topic forgets every group's offsets of it.
    let removed = t
        .broker
        .groups()
        .delete_topic_offsets("wide")
        .await
        .expect("delete");
    assert_eq!(removed, 41);
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default()
                .with_groups(vec![fetch_group("g", None), fetch_group("h", None)]),
        )
        .await;
    assert_eq!(
        fetched(&fr, 0).into_keys().collect::<Vec<_>>(),
        vec![("orders".to_string(), 0)]
    );
    assert!(fetched(&fr, 1).is_empty());
    t.shutdown().await;
}
