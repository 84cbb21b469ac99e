//! ShareGroupDescribe (v1): state, epochs, members, their subscriptions and assignments. A group this broker
//! has never seen is GROUP_ID_NOT_FOUND, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::{OPS_OMITTED, ResourceKind, authorized_operations};

pub fn handle(ctx: &mut Ctx<'_>, req: ShareGroupDescribeRequest) -> ShareGroupDescribeResponse {
    let b = ctx.broker;
    let shares = b.shares();
    let names: std::collections::HashMap<uuid::Uuid, String> = b
        .engine()
        .list_topics()
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let st = shares.lock();
    let groups = req
        .group_ids
        .iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone());
            // Kafka answers a group the principal may not describe with only the error.
            if super::authz::group(ctx, Operation::Describe, &id.0).is_err() {
                return base
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code())
                    .with_authorized_operations(OPS_OMITTED);
            }
            if let Some(e) = super::coordinator_gate::refusal(
                ctx.broker,
                strait_engine::cluster::CoordinatorKind::Group,
                &id.0,
            ) {
                return base
                    .with_error_code(e.code())
                    .with_authorized_operations(OPS_OMITTED);
            }
            let ops = if req.include_authorized_operations {
                authorized_operations(ctx, ResourceKind::Group, Resource::Group(&id.0))
            } else {
                OPS_OMITTED
            };
            let Some(g) = st.groups.get(&id.0.to_string()) else {
                if shares.group_exists(&st, &id.0) {
                    return base
                        .with_group_state(StrBytes::from_static_str("Empty"))
                        .with_assignor_name(StrBytes::from_static_str("simple"));
                }
                return base
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "Group {} not found.",
                        &*id.0
                    ))));
            };
            let mut members: Vec<Member> = g
                .members
                .iter()
                .map(|(mid, m)| {
                    Member::default()
                        .with_member_id(StrBytes::from_string(mid.clone()))
                        .with_rack_id(m.rack.clone().map(StrBytes::from_string))
                        .with_member_epoch(m.epoch)
                        .with_client_id(StrBytes::from_string(m.client_id.clone()))
                        .with_client_host(StrBytes::from_string(m.client_host.clone()))
                        .with_subscribed_topic_names(
                            m.subscribed
                                .iter()
                                .map(|s| TopicName(StrBytes::from_string(s.clone())))
                                .collect(),
                        )
                        .with_assignment(
                            Assignment::default().with_topic_partitions(
                                m.assignment
                                    .iter()
                                    .map(|(tid, ps)| {
                                        TopicPartitions::default()
                                            .with_topic_id(*tid)
                                            .with_topic_name(TopicName(StrBytes::from_string(
                                                names.get(tid).cloned().unwrap_or_default(),
                                            )))
                                            .with_partitions(ps.clone())
                                    })
                                    .collect(),
                            ),
                        )
                })
                .collect();
            members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
            base.with_group_state(StrBytes::from_static_str(g.state()))
                .with_group_epoch(g.epoch)
                .with_assignment_epoch(g.epoch)
                .with_assignor_name(StrBytes::from_static_str("simple"))
                .with_members(members)
                .with_authorized_operations(ops)
        })
        .collect();
    ShareGroupDescribeResponse::default().with_groups(groups)
}
