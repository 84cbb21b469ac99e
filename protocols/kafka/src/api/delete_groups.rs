//! DeleteGroups: removes groups without members together with their committed offsets.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let results = ctx.broker.groups().delete_groups(&ids).await;
    DeleteGroupsResponse::default().with_results(
        req.groups_names
            .into_iter()
            .zip(results)
            .map(|(id, e)| {
                DeletableGroupResult::default()
                    .with_group_id(id)
                    .with_error_code(e.map_or(0, |e| e.code()))
            })
            .collect(),
    )
}
