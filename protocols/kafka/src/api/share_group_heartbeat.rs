//! ShareGroupHeartbeat (v1, KIP-932): join, stay in and leave a share group. Assignment is server-side and
//! immediate (see `share::group`); leaving (epoch -1) releases every record the member still holds.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use super::{Ctx, internal_topic};
use crate::broker::Broker;
use crate::coordinator::share::group::{Heartbeat, HeartbeatError};

/// The topics a share group may consume: every engine topic (the virtual `__consumer_offsets` has no records).
pub(crate) fn share_topics(b: &Broker) -> Vec<(String, uuid::Uuid, u32)> {
    b.engine()
        .list_topics()
        .into_iter()
        .filter(|t| !internal_topic::is_internal(&t.name))
        .map(|t| (t.name, t.id, t.partitions))
        .collect()
}

pub fn handle(ctx: &mut Ctx<'_>, req: ShareGroupHeartbeatRequest) -> ShareGroupHeartbeatResponse {
    let b = ctx.broker;
    let shares = b.shares();
    let group = req.group_id.0.to_string();
    let member = req.member_id.to_string();
    let interval = shares.cfg.heartbeat_interval.as_millis() as i32;
    let fail = |code: ResponseError, msg: String| {
        ShareGroupHeartbeatResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(msg)))
            .with_member_id(Some(req.member_id.clone()))
            .with_member_epoch(-1)
    };
    if group.is_empty() {
        return fail(
            ResponseError::InvalidRequest,
            "GroupId can't be empty.".into(),
        );
    }
    // One type per group id, as in Kafka: a classic or consumer-protocol group with members is not a share group
    // (an empty one is taken over, as between the other two types).
    let groups = b.groups();
    if groups.classic_has_members(&group) || groups.consumer().has_members(&group) {
        return fail(
            ResponseError::GroupIdNotFound,
            format!("Group {group} is not a share group."),
        );
    }
    let topics = share_topics(b);
    let mut st = shares.lock();
    if req.member_epoch == -1 {
        let known = st.groups.get_mut(&group).is_some_and(|g| g.remove(&member));
        shares.release_member(&mut st, &group, &member);
        shares.persist_dirty(&mut st);
        if !known {
            return fail(
                ResponseError::UnknownMemberId,
                format!("Member {member} is not a member of group {group}."),
            );
        }
        return ShareGroupHeartbeatResponse::default()
            .with_member_id(Some(req.member_id.clone()))
            .with_member_epoch(-1)
            .with_heartbeat_interval_ms(interval);
    }
    let h = Heartbeat {
        member_id: &member,
        member_epoch: req.member_epoch,
        rack: req.rack_id.as_ref().map(|s| s.to_string()),
        subscribed: req
            .subscribed_topic_names
            .as_ref()
            .map(|ns| ns.iter().map(|n| n.0.to_string()).collect()),
        client_id: ctx
            .header
            .client_id
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        client_host: super::join_group::client_host(ctx),
    };
    let now = std::time::Instant::now();
    // A join creates the group; anything else needs it to exist.
    let outcome = if req.member_epoch == 0 {
        st.groups
            .entry(group.clone())
            .or_default()
            .heartbeat(h, &topics, now)
    } else {
        match st.groups.get_mut(&group) {
            Some(g) => g.heartbeat(h, &topics, now),
            None => Err(HeartbeatError::UnknownMember(member.clone())),
        }
    };
    match outcome {
        Ok((epoch, assignment)) => ShareGroupHeartbeatResponse::default()
            .with_member_id(Some(req.member_id.clone()))
            .with_member_epoch(epoch)
            .with_heartbeat_interval_ms(interval)
            .with_assignment(assignment.map(|a| {
                Assignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(id, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(id)
                                .with_partitions(ps)
                        })
                        .collect(),
                )
            })),
        Err(e) => {
            let code = match &e {
                HeartbeatError::UnknownMember(_) => ResponseError::UnknownMemberId,
                HeartbeatError::Fenced { .. } => ResponseError::FencedMemberEpoch,
                HeartbeatError::Invalid(_) => ResponseError::InvalidRequest,
            };
            fail(code, e.to_string())
        }
    }
}
