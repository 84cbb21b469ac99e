//! DeleteGroups: removes groups without members together with their committed offsets; a share group (KIP-932)
//! goes with its share-partition start offsets and group configs.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use kafka_protocol::error::ResponseError;
use strait_access::Operation;

use strait_engine::cluster::CoordinatorKind;

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    // Groups the principal may not delete are answered GROUP_AUTHORIZATION_FAILED and left alone, as in Kafka.
    let denied: std::collections::HashSet<String> = req
        .groups_names
        .iter()
        .filter(|g| super::authz::group(ctx, Operation::Delete, &g.0).is_err())
        .map(|g| g.0.to_string())
        .collect();
    // Groups another node coordinates (or none does) are answered NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
    let elsewhere: std::collections::HashMap<String, ResponseError> = req
        .groups_names
        .iter()
        .filter(|g| !denied.contains(&*g.0))
        .filter_map(|g| {
            super::coordinator_gate::refusal(ctx.broker, CoordinatorKind::Group, &g.0)
                .map(|e| (g.0.to_string(), e))
        })
        .collect();
    let ids: Vec<String> = req
        .groups_names
        .iter()
        .map(|g| g.0.to_string())
        .filter(|id| !denied.contains(id) && !elsewhere.contains_key(id))
        .collect();
    // Share groups are answered here; the rest go to the consumer-group coordinator.
    let shares = ctx.broker.shares();
    let mut share_results = std::collections::HashMap::new();
    {
        let mut st = shares.lock();
        for id in &ids {
            if shares.group_exists(&st, id) {
                share_results.insert(id.clone(), shares.delete_group(&mut st, id).err());
            }
        }
    }
    let others: Vec<String> = ids
        .iter()
        .filter(|id| !share_results.contains_key(*id))
        .cloned()
        .collect();
    let mut other_results = ctx.broker.groups().delete_groups(&others).await.into_iter();
    let mut results = ids.iter().map(|id| match share_results.get(id) {
        Some(r) => *r,
        None => other_results.next().flatten(),
    });
    DeleteGroupsResponse::default().with_results(
        req.groups_names
            .into_iter()
            .map(|id| {
                let e = if denied.contains(&*id.0) {
                    Some(ResponseError::GroupAuthorizationFailed)
                } else if let Some(e) = elsewhere.get(&*id.0) {
                    Some(*e)
                } else {
                    results.next().flatten()
                };
                (id, e)
            })
            .map(|(id, e)| {
                DeletableGroupResult::default()
                    .with_group_id(id)
                    .with_error_code(e.map_or(0, |e| e.code()))
            })
            .collect(),
    )
}
