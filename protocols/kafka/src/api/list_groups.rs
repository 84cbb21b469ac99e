//! ListGroups: every group this coordinator knows, classic and KIP-848 consumer-protocol groups and KIP-932
//! share groups, filtered by state (v4+) and type (v5+).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;

/// Kafka's `GroupType` name for groups of the classic rebalance protocol.
const CLASSIC: &str = "classic";
/// ... and for KIP-848 consumer-protocol groups.
const CONSUMER: &str = "consumer";
/// ... and for KIP-932 share groups.
const SHARE: &str = "share";

pub fn handle(ctx: &mut Ctx<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let version = ctx.version();
    let listed = match ctx.broker.groups().list_groups() {
        Ok(l) => l,
        Err(e) => return ListGroupsResponse::default().with_error_code(e.code()),
    };
    // State names compare case-insensitively (Kafka lower-cases and trims them); type names lower-cased.
    let states: Vec<String> = req
        .states_filter
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let classic_wanted = req.types_filter.is_empty()
        || req
            .types_filter
            .iter()
            .any(|t| t.to_ascii_lowercase() == CLASSIC);
    let consumer_wanted = req.types_filter.is_empty()
        || req
            .types_filter
            .iter()
            .any(|t| t.to_ascii_lowercase() == CONSUMER);
    let consumer_groups = ctx.broker.groups().consumer().list();
    let consumer_ids: std::collections::HashSet<&str> =
        consumer_groups.iter().map(|(id, _)| id.as_str()).collect();
    let mut groups: Vec<ListedGroup> = listed
        .into_iter()
        .filter(|_| classic_wanted)
        // Offsets of a consumer-protocol group are listed with that group, below.
        .filter(|g| !consumer_ids.contains(g.group_id.as_str()))
        .filter(|g| states.is_empty() || states.contains(&g.state.name().to_ascii_lowercase()))
        .map(|g| {
            let entry = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            let entry = if version >= 4 {
                entry.with_group_state(StrBytes::from_static_str(g.state.name()))
            } else {
                entry
            };
            if version >= 5 {
                entry.with_group_type(StrBytes::from_static_str(CLASSIC))
            } else {
                entry
            }
        })
        .collect();
    for (id, state) in consumer_groups.iter().filter(|_| consumer_wanted) {
        if !(states.is_empty() || states.contains(&state.to_ascii_lowercase())) {
            continue;
        }
        let entry = ListedGroup::default()
            .with_group_id(GroupId(StrBytes::from_string(id.clone())))
            .with_protocol_type(StrBytes::from_static_str("consumer"));
        let entry = if version >= 4 {
            entry.with_group_state(StrBytes::from_static_str(state))
        } else {
            entry
        };
        groups.push(if version >= 5 {
            entry.with_group_type(StrBytes::from_static_str(CONSUMER))
        } else {
            entry
        });
    }
    let share_wanted = req.types_filter.is_empty()
        || req
            .types_filter
            .iter()
            .any(|t| t.to_ascii_lowercase() == SHARE);
    if share_wanted {
        let st = ctx.broker.shares().lock();
        let mut share: Vec<(&String, &'static str)> =
            st.groups.iter().map(|(id, g)| (id, g.state())).collect();
        share.sort();
        for (id, state) in share {
            if !(states.is_empty() || states.contains(&state.to_ascii_lowercase())) {
                continue;
            }
            let entry = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(id.clone())))
                .with_protocol_type(StrBytes::from_static_str(SHARE));
            let entry = if version >= 4 {
                entry.with_group_state(StrBytes::from_static_str(state))
            } else {
                entry
            };
            groups.push(if version >= 5 {
                entry.with_group_type(StrBytes::from_static_str(SHARE))
            } else {
                entry
            });
        }
    }
    // Each broker lists the groups it coordinates (clients ask every broker and merge); coordinator state kept
    // on a node that no longer coordinates a group is not its to report.
    groups.retain(|g| {
        super::coordinator_gate::refusal(
            ctx.broker,
            strait_engine::cluster::CoordinatorKind::Group,
            &g.group_id.0,
        )
        .is_none()
    });
    // Kafka lists every group to a principal with CLUSTER DESCRIBE, otherwise only the groups it may describe
    // (no error: an unauthorized caller sees an empty list).
    if !super::authz::allowed(ctx, Operation::Describe, Resource::Cluster) {
        groups.retain(|g| {
            super::authz::allowed(ctx, Operation::Describe, Resource::Group(&g.group_id.0))
        });
    }
    ListGroupsResponse::default().with_groups(groups)
}
