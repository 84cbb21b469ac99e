//! CreateAcls (v1–3): stores ACL bindings in the cluster's metadata (table `kafka_acls`), one result per
//! binding. Needs CLUSTER ALTER; without the ACL authorizer every result is SECURITY_DISABLED. An invalid binding
//! is answered INVALID_REQUEST and the others are still created; creating a stored binding again succeeds.
//!
//! The authorizer's index is not touched here: it follows the table (the commit feeds it before returning), so
//! the new bindings apply to the next request on every node.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;
use strait_access::acl::{
    AclBinding, AclOperation, PatternType, Permission, ResourceType, encode_key,
};
use strait_engine::meta::MetaOp;
use strait_engine::meta::tables::KAFKA_ACLS;

use super::Ctx;
use super::describe_acls::gate;
use crate::error::engine_error_code;

pub async fn handle(ctx: &mut Ctx<'_>, req: CreateAclsRequest) -> CreateAclsResponse {
    let n = req.creations.len();
    if let Err((code, message)) = gate(ctx, Operation::Alter) {
        return response(vec![Some((code, message)); n]);
    }
    let mut results: Vec<Option<(ResponseError, String)>> = Vec::with_capacity(n);
    let mut ops = Vec::new();
    for c in &req.creations {
        let b = AclBinding {
            resource_type: ResourceType::from_code(c.resource_type),
            resource_name: c.resource_name.to_string(),
            pattern_type: PatternType::from_code(c.resource_pattern_type),
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: AclOperation::from_code(c.operation),
            permission: Permission::from_code(c.permission_type),
        };
        match b.validate() {
            Ok(()) => {
                ops.push(MetaOp::Put {
                    table: KAFKA_ACLS.into(),
                    key: encode_key(&b),
                    value: Vec::new(),
                });
                results.push(None);
            }
            Err(e) => results.push(Some((ResponseError::InvalidRequest, e.0))),
        }
    }
    if !ops.is_empty()
        && let Err(e) = ctx.broker.engine().meta().commit(ops).await
    {
        let failed = (engine_error_code(&e), e.to_string());
        for r in results.iter_mut().filter(|r| r.is_none()) {
            *r = Some(failed.clone());
        }
    }
    response(results)
}

fn response(results: Vec<Option<(ResponseError, String)>>) -> CreateAclsResponse {
    CreateAclsResponse::default().with_results(
        results
            .into_iter()
            .map(|r| match r {
                None => AclCreationResult::default().with_error_code(0),
                Some((code, message)) => AclCreationResult::default()
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            })
            .collect(),
    )
}
