//! DeleteAcls (v1–3): removes the stored bindings each filter selects, answering per filter with the bindings
//! it removed. Needs CLUSTER ALTER; without the ACL authorizer every filter is answered SECURITY_DISABLED, a
//! filter with an UNKNOWN element INVALID_REQUEST. All deletions are one metadata commit.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;
use strait_access::acl::{AclBinding, encode_key};
use strait_engine::meta::MetaOp;
use strait_engine::meta::tables::KAFKA_ACLS;

use super::Ctx;
use super::describe_acls::{filter, gate};
use crate::error::engine_error_code;

pub async fn handle(ctx: &mut Ctx<'_>, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let acls = match gate(ctx, Operation::Alter) {
        Ok(a) => a,
        Err((code, message)) => {
            let failed = failure(code, message);
            return DeleteAclsResponse::default()
                .with_filter_results(vec![failed; req.filters.len()]);
        }
    };
    let mut results: Vec<Result<Vec<AclBinding>, (ResponseError, String)>> = Vec::new();
    let mut ops = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &req.filters {
        let f = filter(
            f.resource_type_filter,
            f.resource_name_filter.as_ref(),
            f.pattern_type_filter,
            f.principal_filter.as_ref(),
            f.host_filter.as_ref(),
            f.operation,
            f.permission_type,
        );
        if let Err(e) = f.validate() {
            results.push(Err((ResponseError::InvalidRequest, e.0)));
            continue;
        }
        let matched = acls.matching(&f);
        for b in &matched {
            if seen.insert(b.clone()) {
                ops.push(MetaOp::Delete {
                    table: KAFKA_ACLS.into(),
                    key: encode_key(b),
                });
            }
        }
        results.push(Ok(matched));
    }
    if !ops.is_empty()
        && let Err(e) = ctx.broker.engine().meta().commit(ops).await
    {
        let failed = (engine_error_code(&e), e.to_string());
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(failed.clone());
        }
    }
    DeleteAclsResponse::default().with_filter_results(
        results
            .into_iter()
            .map(|r| match r {
                Ok(matched) => DeleteAclsFilterResult::default()
                    .with_error_code(0)
                    .with_matching_acls(matched.iter().map(matching).collect()),
                Err((code, message)) => failure(code, message),
            })
            .collect(),
    )
}

fn matching(b: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_error_code(0)
        .with_resource_type(b.resource_type.code())
        .with_resource_name(StrBytes::from_string(b.resource_name.clone()))
        .with_pattern_type(b.pattern_type.code())
        .with_principal(StrBytes::from_string(b.principal.clone()))
        .with_host(StrBytes::from_string(b.host.clone()))
        .with_operation(b.operation.code())
        .with_permission_type(b.permission.code())
}

fn failure(code: ResponseError, message: String) -> DeleteAclsFilterResult {
    DeleteAclsFilterResult::default()
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}
