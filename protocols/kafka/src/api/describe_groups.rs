//! DescribeGroups: state, protocol and members (with metadata and assignment for Stable groups) of each
//! requested group; a group that does not exist is reported in state Dead, as Kafka does before v6.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::{OPS_OMITTED, ResourceKind, authorized_operations};

pub fn handle(ctx: &mut Ctx<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let version = ctx.version();
    let coordinator = ctx.broker.groups();
    let groups = req
        .groups
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
                ctx.broker,
                strait_engine::cluster::CoordinatorKind::Group,
                &id,
            ) {
                return DescribedGroup::default()
                    .with_group_id(id)
                    .with_error_code(e.code())
                    .with_authorized_operations(OPS_OMITTED);
            }
            // The request field exists from v3; earlier versions decode it as false.
            let ops = if req.include_authorized_operations {
                authorized_operations(ctx, ResourceKind::Group, Resource::Group(&id.0))
            } else {
                OPS_OMITTED
            };
            described(coordinator, id, ops, version)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

fn described(
    coordinator: &crate::coordinator::group::GroupCoordinator,
    id: kafka_protocol::messages::GroupId,
    ops: i32,
    version: i16,
) -> DescribedGroup {
    match describe(coordinator, &id.0) {
        Err(e) => DescribedGroup::default()
            .with_group_id(id)
            .with_error_code(e.code())
            .with_authorized_operations(ops),
        Ok(d) => DescribedGroup::default()
            .with_group_id(id)
            .with_group_state(StrBytes::from_static_str(d.state.name()))
            .with_protocol_type(StrBytes::from_string(d.protocol_type))
            .with_protocol_data(StrBytes::from_string(d.protocol_data))
            .with_authorized_operations(ops)
            .with_members(
                d.members
                    .into_iter()
                    .map(|m| {
                        DescribedGroupMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id))
                            .with_group_instance_id(
                                m.instance_id
                                    .filter(|_| version >= 4)
                                    .map(StrBytes::from_string),
                            )
                            .with_client_id(StrBytes::from_string(m.client_id))
                            .with_client_host(StrBytes::from_string(m.client_host))
                            .with_member_metadata(m.metadata)
                            .with_member_assignment(m.assignment)
                    })
                    .collect(),
            ),
    }
}

/// A consumer-protocol group is not described here (ConsumerGroupDescribe is its API): Kafka answers
/// GROUP_ID_NOT_FOUND ("not a classic group").
fn describe(
    coordinator: &crate::coordinator::group::GroupCoordinator,
    id: &str,
) -> Result<crate::coordinator::group::admin::GroupDescription, kafka_protocol::error::ResponseError>
{
    if coordinator.consumer().exists(id) {
        return Err(kafka_protocol::error::ResponseError::GroupIdNotFound);
    }
    coordinator.describe_group(id)
}
