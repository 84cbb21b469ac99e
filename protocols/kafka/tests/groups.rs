//! Consumer-group membership through the wire encoding: the JoinGroup / SyncGroup / Heartbeat / LeaveGroup
//! state machine (rebalances, session and rebalance timeouts, KIP-394 member ids, KIP-345 static members).
//!
//! Timeouts are lowered through `GroupConfig` so rebalances and expiries take milliseconds. Parked requests
//! run on spawned tasks with their own connection; tests wait for observable group states rather than
//! sleeping for fixed times wherever the protocol allows.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::group_harness::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    DescribeGroupsRequest, GroupId, HeartbeatRequest, LeaveGroupRequest, ListGroupsRequest,
    OffsetFetchRequest, TopicName,
};
use strait_kafka::group::GroupConfig;

// ---------------------------------------------------------------------------------------------------------
// Join, sync, heartbeat

#[tokio::test]
async fn single_member_joins_syncs_heartbeats_commits_and_fetches() {
    let t = broker().await;
    let mut c = Client::new(&t, "solo");
    let r = join_alone(&mut c, "g1").await;
    let id = r.member_id.to_string();
    assert!(
        id.starts_with("solo-"),
        "member id carries the client id: {id}"
    );
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader.to_string(), id);
    assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.members.len(), 1, "the leader sees every member");
    assert_eq!(r.members[0].metadata, subscription(&["orders"], b""));

    let sr = sync(&mut c, "g1", 1, &id, &[(&id, b"assignment")]).await;
    assert_eq!(sr.error_code, 0);
    assert_eq!(sr.assignment.as_ref(), b"assignment");
    assert_eq!(sr.protocol_name.as_deref(), Some("range"));
    assert_eq!(heartbeat(&mut c, "g1", 1, &id).await, 0);
    assert_eq!(
        heartbeat(&mut c, "g1", 7, &id).await,
        ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        heartbeat(&mut c, "g1", 1, "who").await,
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        heartbeat(&mut c, "nope", 1, &id).await,
        ResponseError::UnknownMemberId.code()
    );

    let cr = c
        .call(
            9,
            &commit_req("g1", 1, &id, &[("orders", 0, 42), ("orders", 1, 7)]),
        )
        .await;
    assert_eq!(commit_errors(&cr), vec![0, 0]);
    let fr = c
        .call(
            9,
            &OffsetFetchRequest::default().with_groups(vec![fetch_group(
                "g1",
                Some(&[("orders", &[0, 1]), ("payments", &[0])]),
            )]),
        )
        .await;
    let got = fetched(&fr, 0);
    assert_eq!(got[&("orders".into(), 0)], (42, 3, "meta-42".into()));
    assert_eq!(got[&("orders".into(), 1)], (7, 3, "meta-7".into()));
    assert_eq!(got[&("payments".into(), 0)], (-1, -1, String::new()));
    // Single-group versions: v5 carries the leader epoch, v1 does not.
    let req = |v| {
        OffsetFetchRequest::default()
            .with_group_id(GroupId(s("g1")))
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s("orders")))
                    .with_partition_indexes(vec![0]),
            ]))
            .with_require_stable(v >= 7)
    };
    let p = &c.call(5, &req(5)).await.topics[0].partitions[0];
    assert_eq!((p.committed_offset, p.committed_leader_epoch), (42, 3));
    let p = &c.call(1, &req(1)).await.topics[0].partitions[0];
    assert_eq!(
        (
            p.committed_offset,
            p.committed_leader_epoch,
            p.metadata.as_deref()
        ),
        (42, -1, Some("meta-42"))
    );

    let d = describe(&mut c, "g1").await;
    let g = &d.groups[0];
    assert_eq!(
        (&*g.group_state, &*g.protocol_type, &*g.protocol_data),
        ("Stable", "consumer", "range")
    );
    assert_eq!(g.members.len(), 1);
    assert_eq!(
        (&*g.members[0].client_id, &*g.members[0].client_host),
        ("solo", "/10.1.2.3")
    );
    assert_eq!(g.members[0].member_assignment.as_ref(), b"assignment");
    assert_eq!(g.members[0].member_metadata, subscription(&["orders"], b""));

    let l = c.call(5, &ListGroupsRequest::default()).await;
    assert_eq!(l.groups.len(), 1);
    let lg = &l.groups[0];
    assert_eq!(
        (
            &*lg.group_id.0,
            &*lg.protocol_type,
            &*lg.group_state,
            &*lg.group_type
        ),
        ("g1", "consumer", "Stable", "classic")
    );
    t.shutdown().await;
}

#[tokio::test]
async fn second_member_triggers_a_rebalance_both_rejoin_and_sync() {
    let t = broker().await;
    let mut a = Client::new(&t, "a");
    let first = join_alone(&mut a, "g").await;
    let a_id = first.member_id.to_string();
    assert_eq!(
        sync(&mut a, "g", 1, &a_id, &[(&a_id, b"all")])
            .await
            .error_code,
        0
    );

    let mut b = Client::new(&t, "b");
    let b_id = member_id(&mut b, "g").await;
    let b_join = b.spawn(9, join_req("g", &b_id, &range(&["orders"])));
    wait_state(&mut a, "g", "PreparingRebalance").await;
    // The old generation is told to rejoin, and may still commit what it processed.
    assert_eq!(
        heartbeat(&mut a, "g", 1, &a_id).await,
        ResponseError::RebalanceInProgress.code()
    );
    assert_eq!(
        sync(&mut a, "g", 1, &a_id, &[]).await.error_code,
        ResponseError::RebalanceInProgress.code()
    );
    let cr = a
        .call(8, &commit_req("g", 1, &a_id, &[("orders", 0, 5)]))
        .await;
    assert_eq!(commit_errors(&cr), vec![0]);

    let ra = a.call(9, &join_req("g", &a_id, &range(&["orders"]))).await;
    let (b, rb) = b_join.await.expect("join task");
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    assert_eq!((ra.generation_id, rb.generation_id), (2, 2));
    assert_eq!(
        (ra.leader.to_string(), rb.leader.to_string()),
        (a_id.clone(), a_id.clone())
    );
    assert_eq!(ra.members.len(), 2, "leader gets all members");
    assert!(rb.members.is_empty(), "followers get none");

    // The follower syncs first and waits for the leader's assignment.
    let b_sync = b.spawn(5, sync_req("g", 2, &b_id, &[]));
    wait_until_parked().await;
    // Heartbeats are normal while the assignment is pending; commits are not.
    assert_eq!(heartbeat(&mut a, "g", 2, &a_id).await, 0);
    let cr = a
        .call(9, &commit_req("g", 2, &a_id, &[("orders", 0, 6)]))
        .await;
    assert_eq!(
        commit_errors(&cr),
        vec![ResponseError::RebalanceInProgress.code()]
    );
    let sa = sync(&mut a, "g", 2, &a_id, &[(&a_id, b"p0"), (&b_id, b"p1")]).await;
    let (mut b, sb) = b_sync.await.expect("sync task");
    assert_eq!((sa.error_code, sb.error_code), (0, 0));
    assert_eq!(
        (sa.assignment.as_ref(), sb.assignment.as_ref()),
        (&b"p0"[..], &b"p1"[..])
    );
    assert_eq!(heartbeat(&mut a, "g", 2, &a_id).await, 0);
    assert_eq!(heartbeat(&mut b, "g", 2, &b_id).await, 0);
    assert_eq!(state(&mut a, "g").await, "Stable");
    t.shutdown().await;
}

#[tokio::test]
async fn cooperative_members_rejoin_right_after_a_rebalance() {
    let t = broker().await;
    let (mut a, a_id, b, b_id, generation) = two_members(&t, "coop").await;
    // Members upgrading to the cooperative assignor offer it first and keep range as a fallback; a follower
    // rejoins at once with new owned-partition metadata.
    let coop = |owned: &'static [u8]| {
        vec![
            ("cooperative-sticky", subscription(&["orders"], owned)),
            ("range", subscription(&["orders"], b"")),
        ]
    };
    let b_join = b.spawn(9, join_req("coop", &b_id, &coop(b"owned:none")));
    wait_state(&mut a, "coop", "PreparingRebalance").await;
    assert_eq!(
        heartbeat(&mut a, "coop", generation, &a_id).await,
        ResponseError::RebalanceInProgress.code()
    );
    let ra = a
        .call(9, &join_req("coop", &a_id, &coop(b"owned:p0")))
        .await;
    let (b, rb) = b_join.await.expect("join");
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    let generation = generation + 1;
    assert_eq!(ra.generation_id, generation);
    assert_eq!(ra.protocol_name.as_deref(), Some("cooperative-sticky"));
    // The leader sees each member's metadata for the chosen protocol.
    assert!(
        ra.members
            .iter()
            .all(|m| m.metadata != subscription(&["orders"], b""))
    );
    let coop_sync = |member: &str, assignments: &[(&str, &[u8])]| {
        sync_req("coop", generation, member, assignments)
            .with_protocol_name(Some(s("cooperative-sticky")))
    };
    let b_sync = b.spawn(5, coop_sync(&b_id, &[]));
    let sa = a
        .call(5, &coop_sync(&a_id, &[(&a_id, b"x"), (&b_id, b"y")]))
        .await;
    let (b, sb) = b_sync.await.expect("sync");
    assert_eq!((sa.error_code, sb.error_code), (0, 0));
    assert_eq!(sb.assignment.as_ref(), b"y");
    assert_eq!(sb.protocol_name.as_deref(), Some("cooperative-sticky"));

    // The leader rejoining right away (its assignment revoked partitions) starts the next generation, and
    // the follower follows as soon as its heartbeat says so.
    let a_join = a.spawn(9, join_req("coop", &a_id, &coop(b"owned:x")));
    let mut b = b;
    for _ in 0..200 {
        let code = heartbeat(&mut b, "coop", generation, &b_id).await;
        if code == ResponseError::RebalanceInProgress.code() {
            break;
        }
        assert_eq!(code, 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rb = b.call(9, &join_req("coop", &b_id, &coop(b"owned:y"))).await;
    let (_, ra) = a_join.await.expect("join");
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    assert_eq!(
        (ra.generation_id, rb.generation_id),
        (generation + 1, generation + 1)
    );
    t.shutdown().await;
}

#[tokio::test]
async fn initial_rebalance_delay_gathers_members_into_the_first_generation() {
    let t = broker_with(GroupConfig {
        initial_rebalance_delay: Duration::from_millis(200),
        ..config().groups
    })
    .await;
    let mut a = Client::new(&t, "a");
    let mut b = Client::new(&t, "b");
    let a_id = member_id(&mut a, "g").await;
    let b_id = member_id(&mut b, "g").await;
    let ja = a.spawn(9, join_req("g", &a_id, &range(&["orders"])));
    let jb = b.spawn(9, join_req("g", &b_id, &range(&["orders"])));
    let ((_, ra), (_, rb)) = (ja.await.expect("a"), jb.await.expect("b"));
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!(
        ra.members.len() + rb.members.len(),
        2,
        "one leader sees both"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn protocol_selection_and_inconsistent_protocols() {
    let t = broker().await;
    let mut a = Client::new(&t, "a");
    // Votes: a and c prefer range, b prefers roundrobin; all support both.
    let both = |first: &str, second: &str| {
        vec![
            (first.to_string(), subscription(&["orders"], b"")),
            (second.to_string(), subscription(&["orders"], b"")),
        ]
    };
    let req = |member: &str, p: &[(String, Bytes)]| {
        let p: Vec<(&str, Bytes)> = p.iter().map(|(n, m)| (n.as_str(), m.clone())).collect();
        join_req("votes", member, &p)
    };
    let r = a.call(3, &req("", &both("range", "roundrobin"))).await;
    assert_eq!(r.error_code, 0, "v3 joins without MEMBER_ID_REQUIRED");
    let a_id = r.member_id.to_string();
    let b = Client::new(&t, "b");
    let c = Client::new(&t, "c");
    let jb = b.spawn(3, req("", &both("roundrobin", "range")));
    wait_state(&mut a, "votes", "PreparingRebalance").await;
    let jc = c.spawn(3, req("", &both("range", "roundrobin")));
    wait_until_parked().await;
    // A member with a different protocol type, or no common protocol, cannot join a non-empty group.
    let mut d = Client::new(&t, "d");
    let bad_type = join_req("votes", "", &range(&["orders"])).with_protocol_type(s("connect"));
    assert_eq!(
        d.call(3, &bad_type).await.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    let bad_proto = join_req("votes", "", &[("sticky", Bytes::new())]);
    assert_eq!(
        d.call(3, &bad_proto).await.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    // An empty group refuses an empty protocol list too.
    let empty = join_req("fresh", "", &[]);
    assert_eq!(
        d.call(3, &empty).await.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );

    let ra = a.call(3, &req(&a_id, &both("range", "roundrobin"))).await;
    let ((_, rb), (_, rc)) = (jb.await.expect("b"), jc.await.expect("c"));
    for r in [&ra, &rb, &rc] {
        assert_eq!(r.error_code, 0);
        assert_eq!(
            r.protocol_name.as_deref(),
            Some("range"),
            "two votes beat one"
        );
    }
    t.shutdown().await;
}

#[tokio::test]
async fn invalid_session_timeouts_and_group_ids_are_rejected() {
    let t = broker_with(GroupConfig {
        min_session_timeout: Duration::from_millis(6000),
        max_session_timeout: Duration::from_millis(60_000),
        ..config().groups
    })
    .await;
    let mut c = Client::new(&t, "c");
    for ms in [5999, 60_001, -1] {
        let r = c
            .call(
                9,
                &join_req("g", "", &range(&["orders"])).with_session_timeout_ms(ms),
            )
            .await;
        assert_eq!(
            r.error_code,
            ResponseError::InvalidSessionTimeout.code(),
            "{ms}"
        );
    }
    let r = c.call(9, &join_req("", "", &range(&["orders"]))).await;
    assert_eq!(r.error_code, ResponseError::InvalidGroupId.code());
    // A member id for a group that does not exist.
    let r = c
        .call(9, &join_req("g", "ghost", &range(&["orders"])))
        .await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    t.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Expiry and timeouts

#[tokio::test]
async fn session_expiry_removes_a_silent_member() {
    let t = broker().await;
    let (mut a, a_id, mut b, b_id, generation) = two_members_timed(&t, "g", 300, 10_000).await;
    // Only A keeps heartbeating: B's session ends and A is asked to rejoin.
    let mut seen = None;
    for _ in 0..100 {
        let code = heartbeat(&mut a, "g", generation, &a_id).await;
        if code != 0 {
            seen = Some(code);
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(seen, Some(ResponseError::RebalanceInProgress.code()));
    let rejoin = join_req("g", &a_id, &range(&["orders"])).with_session_timeout_ms(300);
    let ra = a.call(9, &rejoin).await;
    assert_eq!(
        (ra.error_code, ra.generation_id, ra.members.len()),
        (0, generation + 1, 1)
    );
    assert_eq!(
        heartbeat(&mut b, "g", generation, &b_id).await,
        ResponseError::UnknownMemberId.code()
    );
    // Without heartbeats the last member expires too and the group empties.
    sync(&mut a, "g", generation + 1, &a_id, &[(&a_id, b"a")]).await;
    wait_state(&mut a, "g", "Empty").await;
    assert!(describe(&mut a, "g").await.groups[0].members.is_empty());
    t.shutdown().await;
}

#[tokio::test]
async fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let t = broker().await;
    let (mut a, a_id, mut b, b_id, generation) = two_members_timed(&t, "g", 10_000, 500).await;
    // The leader rejoins; B keeps heartbeating but never rejoins.
    let ja = Client::new(&t, "a").spawn(
        9,
        join_req("g", &a_id, &range(&["orders"])).with_rebalance_timeout_ms(500),
    );
    wait_state(&mut a, "g", "PreparingRebalance").await;
    assert_eq!(
        heartbeat(&mut b, "g", generation, &b_id).await,
        ResponseError::RebalanceInProgress.code()
    );
    let (_, ra) = ja.await.expect("join");
    assert_eq!((ra.error_code, ra.generation_id), (0, generation + 1));
    assert_eq!(
        ra.members.len(),
        1,
        "B was dropped when the join phase timed out"
    );
    assert_eq!(
        heartbeat(&mut b, "g", generation, &b_id).await,
        ResponseError::UnknownMemberId.code()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn member_id_required_flow_and_pending_member_expiry() {
    let t = broker().await;
    let mut c = Client::new(&t, "kip394");
    let r = c.call(4, &join_req("g", "", &range(&["orders"]))).await;
    assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
    let id = r.member_id.to_string();
    assert!(id.starts_with("kip394-"));
    // Rejoining with the handed-out id joins for real.
    let r = c.call(4, &join_req("g", &id, &range(&["orders"]))).await;
    assert_eq!((r.error_code, r.member_id.to_string()), (0, id.clone()));
    // An id that was handed out but never used expires with the session it asked for.
    let r = c
        .call(
            9,
            &join_req("g2", "", &range(&["orders"])).with_session_timeout_ms(50),
        )
        .await;
    let pending = r.member_id.to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = c
        .call(9, &join_req("g2", &pending, &range(&["orders"])))
        .await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    t.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Static membership

#[tokio::test]
async fn static_member_restart_takes_over_without_a_rebalance() {
    let t = broker().await;
    let mut a = Client::new(&t, "a");
    // Static members get their id at once (no MEMBER_ID_REQUIRED).
    let ra = a.call(9, &static_join("g", "", "inst-a")).await;
    assert_eq!(ra.error_code, 0);
    let a_id = ra.member_id.to_string();
    assert!(a_id.starts_with("inst-a-"));
    sync(&mut a, "g", 1, &a_id, &[(&a_id, b"a1")]).await;
    let b = Client::new(&t, "b");
    let jb = b.spawn(7, static_join("g", "", "inst-b"));
    wait_state(&mut a, "g", "PreparingRebalance").await;
    let ra = a.call(9, &static_join("g", &a_id, "inst-a")).await;
    let (b, rb) = jb.await.expect("join b");
    let b_id = rb.member_id.to_string();
    assert_eq!((ra.generation_id, rb.generation_id), (2, 2));
    let sb = b.spawn(
        5,
        sync_req("g", 2, &b_id, &[]).with_group_instance_id(Some(s("inst-b"))),
    );
    sync(&mut a, "g", 2, &a_id, &[(&a_id, b"a2"), (&b_id, b"b2")]).await;
    let (mut b, _) = sb.await.expect("sync b");

    // B restarts: same instance, no member id, same metadata. It takes over at once, same generation.
    let mut b2 = Client::new(&t, "b");
    let r = b2.call(7, &static_join("g", "", "inst-b")).await;
    assert_eq!(r.error_code, 0);
    let b2_id = r.member_id.to_string();
    assert_ne!(b2_id, b_id);
    assert_eq!(r.generation_id, 2, "no rebalance");
    assert_eq!(r.leader.to_string(), a_id);
    assert_eq!(state(&mut a, "g").await, "Stable");
    let hb = |id: &str| {
        HeartbeatRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_generation_id(2)
            .with_member_id(s(id))
            .with_group_instance_id(Some(s("inst-b")))
    };
    // The previous incarnation is fenced; the new one inherits the assignment.
    assert_eq!(
        b.call(4, &hb(&b_id)).await.error_code,
        ResponseError::FencedInstanceId.code()
    );
    assert_eq!(b2.call(4, &hb(&b2_id)).await.error_code, 0);
    let sr = b2
        .call(
            5,
            &sync_req("g", 2, &b2_id, &[]).with_group_instance_id(Some(s("inst-b"))),
        )
        .await;
    assert_eq!((sr.error_code, sr.assignment.as_ref()), (0, &b"b2"[..]));

    // The static leader restarting with v9 learns it leads but is told to skip the assignment...
    let r = a.call(9, &static_join("g", "", "inst-a")).await;
    assert_eq!(r.error_code, 0);
    let a2_id = r.member_id.to_string();
    assert_eq!(
        (r.leader.to_string(), r.skip_assignment, r.members.len()),
        (a2_id.clone(), true, 2)
    );
    // ...while before v9 it is shown the previous leader id, so it does not assign.
    let r = a.call(8, &static_join("g", "", "inst-a")).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.leader.to_string(), a2_id);
    assert_ne!(r.member_id.to_string(), a2_id);
    assert!(r.members.is_empty());
    assert_eq!(state(&mut a, "g").await, "Stable");
    t.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Leave

#[tokio::test]
async fn members_leave_singly_in_batches_and_by_instance_id() {
    let t = broker().await;
    let (mut a, a_id, mut b, b_id, _) = two_members(&t, "g").await;
    // v0: one member; the group rebalances without it.
    let r = b
        .call(
            0,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s(&b_id)),
        )
        .await;
    assert_eq!(r.error_code, 0);
    wait_state(&mut a, "g", "PreparingRebalance").await;
    let ra = a.call(9, &join_req("g", &a_id, &range(&["orders"]))).await;
    assert_eq!((ra.error_code, ra.members.len()), (0, 1));
    let r = b
        .call(
            2,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s(&b_id)),
        )
        .await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());

    // v3+: a batch with one unknown member; the known one leaves and the group empties.
    let r = a
        .call(
            5,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_members(vec![
                    MemberIdentity::default()
                        .with_member_id(s(&a_id))
                        .with_reason(Some(s("shutdown"))),
                    MemberIdentity::default().with_member_id(s("ghost")),
                ]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, vec![0, ResponseError::UnknownMemberId.code()]);
    wait_state(&mut a, "g", "Empty").await;

    // Removal of a static member by instance id only (what admin tools send).
    let ra = a.call(9, &static_join("s", "", "inst")).await;
    assert_eq!(ra.error_code, 0);
    let r = a
        .call(
            3,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("s")))
                .with_members(vec![
                    MemberIdentity::default()
                        .with_member_id(s(""))
                        .with_group_instance_id(Some(s("inst"))),
                    MemberIdentity::default()
                        .with_member_id(s(""))
                        .with_group_instance_id(Some(s("other"))),
                ]),
        )
        .await;
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, vec![0, ResponseError::UnknownMemberId.code()]);
    wait_state(&mut a, "s", "Empty").await;
    let r = a
        .call(
            1,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("none")))
                .with_member_id(s("x")),
        )
        .await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    t.shutdown().await;
}

#[tokio::test]
async fn every_supported_version_round_trips() {
    let t = broker().await;
    let mut c = Client::new(&t, "c");
    // Join and sync at every version, one group each; static membership from v5.
    for v in 0..=9i16 {
        let group = format!("v{v}");
        let mut req = join_req(&group, "", &range(&["orders"]));
        if v == 0 {
            req = req.with_rebalance_timeout_ms(-1);
        }
        if v == 4 {
            let r = c.call(v, &req).await;
            assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
            req = req.with_member_id(r.member_id);
        }
        if v >= 5 {
            req = req.with_group_instance_id(Some(s(&format!("inst-{v}"))));
        }
        let r = c.call(v, &req).await;
        assert_eq!(r.error_code, 0, "join v{v}");
        let id = r.member_id.to_string();
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
        let sv = v.min(5);
        let mut sreq = sync_req(&group, 1, &id, &[(&id, b"a")]);
        if sv < 5 {
            sreq = sreq.with_protocol_type(None).with_protocol_name(None);
        }
        if sv >= 3 && v >= 5 {
            sreq = sreq.with_group_instance_id(Some(s(&format!("inst-{v}"))));
        }
        let sr = c.call(sv, &sreq).await;
        assert_eq!(
            (sr.error_code, sr.assignment.as_ref()),
            (0, &b"a"[..]),
            "sync v{sv}"
        );
        let hv = v.min(4);
        let mut hb = HeartbeatRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id(1)
            .with_member_id(s(&id));
        if hv >= 3 && v >= 5 {
            hb = hb.with_group_instance_id(Some(s(&format!("inst-{v}"))));
        }
        assert_eq!(c.call(hv, &hb).await.error_code, 0, "heartbeat v{hv}");
    }
    // SyncGroup v5 without protocol type/name is inconsistent.
    let r = c
        .call(5, &sync_req("v9", 1, "x", &[]).with_protocol_type(None))
        .await;
    assert_eq!(
        r.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    for v in 0..=5 {
        let r = c
            .call(
                v,
                &DescribeGroupsRequest::default()
                    .with_groups(vec![GroupId(s("v9")), GroupId(s("none"))])
                    .with_include_authorized_operations(v >= 3),
            )
            .await;
        assert_eq!(&*r.groups[0].group_state, "Stable", "describe v{v}");
        // READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: everything, as with no authorizer.
        let ops = if v >= 3 { 3400 } else { i32::MIN };
        assert_eq!(r.groups[0].authorized_operations, ops);
        assert_eq!(
            r.groups[0].members[0].group_instance_id.as_deref(),
            (v >= 4).then_some("inst-9")
        );
        assert_eq!(&*r.groups[1].group_state, "Dead");
    }
    for v in 1..=9 {
        let r = if v >= 8 {
            c.call(
                v,
                &OffsetFetchRequest::default().with_groups(vec![fetch_group("v9", None)]),
            )
            .await
        } else {
            c.call(
                v,
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("v9")))
                    .with_topics(Some(vec![
                        OffsetFetchRequestTopic::default()
                            .with_name(TopicName(s("orders")))
                            .with_partition_indexes(vec![0]),
                    ])),
            )
            .await
        };
        assert_eq!(r.error_code, 0, "fetch v{v}");
    }
    // LeaveGroup at every version empties the groups.
    for v in 0..=5i16 {
        let group = format!("v{v}");
        let d = describe(&mut c, &group).await;
        let m = &d.groups[0].members[0];
        let req = if v < 3 {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_member_id(m.member_id.clone())
        } else {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_members(vec![
                    MemberIdentity::default()
                        .with_member_id(m.member_id.clone())
                        .with_group_instance_id(m.group_instance_id.clone()),
                ])
        };
        assert_eq!(c.call(v, &req).await.error_code, 0, "leave v{v}");
    }
    t.shutdown().await;
}
