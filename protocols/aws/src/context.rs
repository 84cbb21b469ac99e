//! The per-request context every AWS service entry point takes: who is asking (from SigV4), from where, under
//! which request id, and the node's authorizer to ask before an operation runs.

use std::net::SocketAddr;

use strait_access::{Access, Decision, Operation, Principal, Resource, SharedAuthorizer};

/// One request's identity and the authorizer that judges it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The verified signer (`User:<access key id>`), or `User:ANONYMOUS` when the node does not verify
    /// signatures.
    pub principal: Principal,
    /// The client's address, when the transport knows it.
    pub peer: Option<SocketAddr>,
    /// The `x-amzn-RequestId` the answer carries.
    pub request_id: String,
    pub authorizer: SharedAuthorizer,
}

impl RequestContext {
    pub fn new(
        principal: Principal,
        peer: Option<SocketAddr>,
        request_id: impl Into<String>,
        authorizer: SharedAuthorizer,
    ) -> RequestContext {
        RequestContext {
            principal,
            peer,
            request_id: request_id.into(),
            authorizer,
        }
    }

    /// An anonymous request with no peer under `authorizer` (in-process callers and tests).
    pub fn anonymous(authorizer: SharedAuthorizer) -> RequestContext {
        RequestContext::new(Principal::anonymous(), None, "", authorizer)
    }

    /// An anonymous request under [`strait_access::AllowAll`]: in-process callers and tests that exercise an
    /// operation rather than its authorization.
    pub fn allow_all() -> RequestContext {
        RequestContext::anonymous(strait_access::allow_all())
    }

    /// Asks the authorizer whether this request may perform `operation` on `resource`; `api` names the AWS action
    /// (`kinesis:PutRecord`) for logs and audits.
    pub fn authorize(
        &self,
        operation: Operation,
        resource: Resource<'_>,
        api: &'static str,
    ) -> Decision {
        self.authorizer.authorize(&Access {
            principal: &self.principal,
            host: self.peer.map(|p| p.ip()),
            operation,
            resource,
            api,
        })
    }

    /// AWS's IAM form of the principal, as access-denied messages name it
    /// (`arn:aws:iam::<account>:user/<name>`, or `anonymous`).
    pub fn principal_arn(&self, account_id: &str) -> String {
        if self.principal.is_anonymous() {
            "anonymous".to_string()
        } else {
            format!("arn:aws:iam::{account_id}:user/{}", self.principal.name)
        }
    }

    /// AWS's access-denied message: `User: <principal> is not authorized to perform: <action> on resource:
    /// <resource>`.
    pub fn denied_message(&self, account_id: &str, action: &str, resource: &str) -> String {
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            self.principal_arn(account_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strait_access::{AuthMechanism, DenyAll, allow_all};

    use super::*;

    #[test]
    fn asks_the_authorizer_with_the_principal_and_host() {
        let ctx = RequestContext::new(
            Principal::user("AKID", AuthMechanism::AwsSigV4),
            Some("127.0.0.1:9".parse().expect("addr")),
            "r-1",
            allow_all(),
        );
        assert_eq!(
            ctx.authorize(Operation::Write, Resource::Topic("s"), "kinesis:PutRecord"),
            Decision::Allow
        );
        let denied = RequestContext {
            authorizer: Arc::new(DenyAll),
            ..ctx
        };
        assert_eq!(
            denied.authorize(Operation::Write, Resource::Topic("s"), "kinesis:PutRecord"),
            Decision::Deny
        );
        assert_eq!(
            denied.denied_message("123", "kinesis:PutRecord", "arn:aws:kinesis:r:123:stream/s"),
            "User: arn:aws:iam::123:user/AKID is not authorized to perform: kinesis:PutRecord on resource: \
             arn:aws:kinesis:r:123:stream/s"
        );
    }
}
