//! ConsumerGroupDescribe (v0–1, KIP-848): consumer-protocol groups with their epochs, assignor, members, each
//! member's current and target assignment. A classic group id is GROUP_ID_NOT_FOUND ("not a consumer group"),
//! an unknown one likewise, as in Kafka.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::{OPS_OMITTED, ResourceKind, authorized_operations};
use crate::coordinator::consumer_group::assignor;

fn assignment(a: &assignor::Assignment, names: &HashMap<uuid::Uuid, String>) -> Assignment {
    Assignment::default().with_topic_partitions(
        a.iter()
            .map(|(id, ps)| {
                TopicPartitions::default()
                    .with_topic_id(*id)
                    .with_topic_name(TopicName(StrBytes::from_string(
                        names.get(id).cloned().unwrap_or_default(),
                    )))
                    .with_partitions(ps.iter().copied().collect())
            })
            .collect(),
    )
}

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let b = ctx.broker;
    let names: HashMap<uuid::Uuid, String> = super::consumer_group_heartbeat::topic_universe(b)
        .into_iter()
        .map(|(n, id, _)| (id, n))
        .collect();
    let groups = req
        .group_ids
        .into_iter()
        .map(|id| {
            // Kafka answers a group the principal may not describe with only the error.
            if super::authz::group(ctx, Operation::Describe, &id.0).is_err() {
                return DescribedGroup::default()
                    .with_group_id(id)
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code())
                    .with_authorized_operations(OPS_OMITTED);
            }
            if let Some(e) = super::coordinator_gate::refusal(
                b,
                strait_engine::cluster::CoordinatorKind::Group,
                &id,
            ) {
                return DescribedGroup::default()
                    .with_group_id(id)
                    .with_error_code(e.code())
                    .with_authorized_operations(OPS_OMITTED);
            }
            let ops = if req.include_authorized_operations {
                authorized_operations(ctx, ResourceKind::Group, Resource::Group(&id.0))
            } else {
                OPS_OMITTED
            };
            let described = b.groups().consumer().with_group(&id.0, |g| {
                DescribedGroup::default()
                    .with_group_state(StrBytes::from_static_str(g.state_name()))
                    .with_group_epoch(g.group_epoch)
                    .with_assignment_epoch(g.assignment_epoch)
                    .with_assignor_name(StrBytes::from_string(g.assignor.clone()))
                    .with_authorized_operations(ops)
                    .with_members(
                        g.members
                            .values()
                            .map(|m| {
                                Member::default()
                                    .with_member_id(StrBytes::from_string(m.id.clone()))
                                    .with_instance_id(
                                        m.instance_id.clone().map(StrBytes::from_string),
                                    )
                                    .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                                    .with_member_epoch(m.epoch)
                                    .with_client_id(StrBytes::from_string(m.client_id.clone()))
                                    .with_client_host(StrBytes::from_string(m.client_host.clone()))
                                    .with_subscribed_topic_names(
                                        m.subscribed_names
                                            .iter()
                                            .map(|n| TopicName(StrBytes::from_string(n.clone())))
                                            .collect(),
                                    )
                                    .with_subscribed_topic_regex(
                                        m.subscribed_regex.clone().map(StrBytes::from_string),
                                    )
                                    .with_assignment(assignment(&m.assigned, &names))
                                    .with_target_assignment(assignment(
                                        &g.target.get(&m.id).cloned().unwrap_or_default(),
                                        &names,
                                    ))
                                    // v1: 1 = consumer protocol member (0 would be a classic member).
                                    .with_member_type(1)
                            })
                            .collect(),
                    )
            });
            match described {
                Some(d) => d.with_group_id(id),
                None => {
                    let msg = if b.groups().classic_has_members(&id.0) {
                        format!("Group {} is not a consumer group.", &*id.0)
                    } else {
                        format!("Group {} not found.", &*id.0)
                    };
                    DescribedGroup::default()
                        .with_group_id(id)
                        .with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(StrBytes::from_string(msg)))
                        .with_authorized_operations(OPS_OMITTED)
                }
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
