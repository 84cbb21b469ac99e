//! DescribeAcls (v1–3): the stored ACL bindings a filter selects, grouped by resource pattern. Needs CLUSTER
//! DESCRIBE; a node without the ACL authorizer answers SECURITY_DISABLED, a filter with an UNKNOWN element
//! INVALID_REQUEST, as Kafka does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::acl::{
    AclAuthorizer, AclBinding, AclFilter, AclOperation, PatternType, Permission, ResourceType,
};
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::allowed;

/// The filter fields DescribeAcls and DeleteAcls share, as Kafka's `AclBindingFilter`.
#[allow(clippy::too_many_arguments)]
pub(super) fn filter(
    resource_type: i8,
    name: Option<&StrBytes>,
    pattern_type: i8,
    principal: Option<&StrBytes>,
    host: Option<&StrBytes>,
    operation: i8,
    permission: i8,
) -> AclFilter {
    AclFilter {
        resource_type: ResourceType::from_code(resource_type),
        resource_name: name.map(|n| n.to_string()),
        pattern_type: PatternType::from_code(pattern_type),
        principal: principal.map(|p| p.to_string()),
        host: host.map(|h| h.to_string()),
        operation: AclOperation::from_code(operation),
        permission: Permission::from_code(permission),
    }
}

/// Why an ACL API cannot run at all for this caller: it may not `op` the cluster (CLUSTER_AUTHORIZATION_FAILED),
/// or the node has no ACL authorizer (SECURITY_DISABLED). Authorization comes first, so a `deny-all` node
/// refuses these APIs like every other.
pub(super) fn gate<'a>(
    ctx: &'a Ctx<'_>,
    op: Operation,
) -> Result<&'a AclAuthorizer, (ResponseError, String)> {
    if !allowed(ctx, op, Resource::Cluster) {
        return Err((
            ResponseError::ClusterAuthorizationFailed,
            format!("{} may not {op:?} the cluster", ctx.session.principal),
        ));
    }
    ctx.broker.authorizer().acls().ok_or_else(|| {
        (
            ResponseError::SecurityDisabled,
            "No Authorizer is configured (security.authorizer is not \"acl\")".into(),
        )
    })
}

pub fn handle(ctx: &mut Ctx<'_>, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let acls = match gate(ctx, Operation::Describe) {
        Ok(a) => a,
        Err((code, message)) => return error(code, message),
    };
    let filter = filter(
        req.resource_type_filter,
        req.resource_name_filter.as_ref(),
        req.pattern_type_filter,
        req.principal_filter.as_ref(),
        req.host_filter.as_ref(),
        req.operation,
        req.permission_type,
    );
    if let Err(e) = filter.validate() {
        return error(ResponseError::InvalidRequest, e.0);
    }
    // `matching` is ordered by pattern first, so equal patterns are adjacent.
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    for b in acls.matching(&filter) {
        let entry = description(&b);
        match resources.last_mut() {
            Some(r)
                if r.resource_type == b.resource_type.code()
                    && r.resource_name.as_str() == b.resource_name
                    && r.pattern_type == b.pattern_type.code() =>
            {
                r.acls.push(entry)
            }
            _ => resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(b.resource_type.code())
                    .with_resource_name(StrBytes::from_string(b.resource_name.clone()))
                    .with_pattern_type(b.pattern_type.code())
                    .with_acls(vec![entry]),
            ),
        }
    }
    DescribeAclsResponse::default()
        .with_error_code(0)
        .with_resources(resources)
}

fn description(b: &AclBinding) -> AclDescription {
    AclDescription::default()
        .with_principal(StrBytes::from_string(b.principal.clone()))
        .with_host(StrBytes::from_string(b.host.clone()))
        .with_operation(b.operation.code())
        .with_permission_type(b.permission.code())
}

fn error(code: ResponseError, message: String) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}
