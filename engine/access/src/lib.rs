//! Who is asking, and may they: the principal and authorizer seam shared by every front end. This crate depends
//! on nothing, so the engine, every protocol crate and the server can use it.
//!
//! Every Kafka API and every AWS operation builds an [`Access`] request (principal, operation, resource) and asks
//! one [`Authorizer`] before it touches the engine. Today the node runs [`AllowAll`]; the security work plugs ACLs
//! in here, so the model follows Kafka's (resource types, operations, `User:name` principals) and Kinesis,
//! DynamoDB and CloudWatch actions map onto it (a stream is a topic, a KCL lease table is a table).
//!
//! The engine itself never authorizes: a front end asks before it calls the engine, and maps a denial to its
//! protocol's own error (TOPIC_AUTHORIZATION_FAILED, AccessDeniedException, ...).

mod aws_identity;

pub use aws_identity::{AwsIdentityError, AwsIdentityVerifier, SharedAwsIdentityVerifier};

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub mod acl;

/// An authenticated (or anonymous) identity, in Kafka's `Type:name` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// `User` for every identity Strait authenticates today; Kafka's `KafkaPrincipal` type.
    pub principal_type: String,
    pub name: String,
    /// How the identity was established; ACLs ignore it, logs and audits use it.
    pub mechanism: AuthMechanism,
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMechanism {
    /// Nothing: an open listener.
    None,
    /// Kafka SASL/PLAIN.
    SaslPlain,
    /// Kafka SASL/SCRAM-SHA-256 or SCRAM-SHA-512.
    SaslScram,
    /// Kafka SASL/OAUTHBEARER (a validated JWT).
    SaslOAuthBearer,
    /// An AWS SigV4 signature (the name is the access key id).
    AwsSigV4,
    /// A TLS client certificate (the name is its subject DN after the principal mapping rules).
    TlsCertificate,
}

impl Principal {
    /// Kafka's `User:ANONYMOUS`: what an unauthenticated connection or request acts as.
    pub fn anonymous() -> Principal {
        Principal {
            principal_type: "User".into(),
            name: "ANONYMOUS".into(),
            mechanism: AuthMechanism::None,
        }
    }

    /// A `User:name` principal established by `mechanism`.
    pub fn user(name: impl Into<String>, mechanism: AuthMechanism) -> Principal {
        Principal {
            principal_type: "User".into(),
            name: name.into(),
            mechanism,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.mechanism == AuthMechanism::None
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

/// What a request acts on; Kafka's ACL resource types plus DynamoDB tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    /// The node or cluster as a whole (Kafka's `kafka-cluster`; CloudWatch metrics; stream listings).
    Cluster,
    /// A Kafka topic, which is also a Kinesis stream.
    Topic(&'a str),
    /// A consumer group (classic, KIP-848 or share).
    Group(&'a str),
    TransactionalId(&'a str),
    /// A DynamoDB table (a KCL lease, worker-metrics or coordinator-state table).
    Table(&'a str),
}

/// Kafka's ACL operations; AWS actions map onto the same set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// One authorization question: may `principal` perform `operation` on `resource`?
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub principal: &'a Principal,
    /// The client's address, when the transport knows it (Kafka ACLs can name hosts).
    pub host: Option<IpAddr>,
    pub operation: Operation,
    pub resource: Resource<'a>,
    /// The protocol request that asks, for logs and audits (`Produce`, `Kinesis.PutRecord`, ...).
    pub api: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// The single authorization hook every front end calls.
pub trait Authorizer: Send + Sync + fmt::Debug {
    fn authorize(&self, access: &Access<'_>) -> Decision;

    /// The ACL bindings this authorizer decides by, when it is [`acl::AclAuthorizer`]: what the Kafka ACL APIs
    /// list and change. `None` (the default) for authorizers without ACLs, which those APIs answer
    /// SECURITY_DISABLED.
    fn acls(&self) -> Option<&acl::AclAuthorizer> {
        None
    }
}

/// Allows everything: a node without ACLs (today's only mode outside tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _access: &Access<'_>) -> Decision {
        Decision::Allow
    }
}

/// Denies everything. Tests use it to prove that each API asks the authorizer and maps a denial to its
/// protocol's error; the node can run with it (`security.authorizer = "deny-all"`) for the same check end to end.
#[derive(Debug, Default, Clone, Copy)]
pub struct DenyAll;

impl Authorizer for DenyAll {
    fn authorize(&self, _access: &Access<'_>) -> Decision {
        Decision::Deny
    }
}

/// The authorizer a node runs with; cheap to clone.
pub type SharedAuthorizer = Arc<dyn Authorizer>;

/// The default authorizer: [`AllowAll`].
pub fn allow_all() -> SharedAuthorizer {
    Arc::new(AllowAll)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_print_in_kafka_form() {
        assert_eq!(Principal::anonymous().to_string(), "User:ANONYMOUS");
        let p = Principal::user("alice", AuthMechanism::SaslPlain);
        assert_eq!(p.to_string(), "User:alice");
        assert!(!p.is_anonymous());
    }

    #[test]
    fn allow_and_deny_all_answer_every_question() {
        let p = Principal::anonymous();
        let a = Access {
            principal: &p,
            host: None,
            operation: Operation::Write,
            resource: Resource::Topic("t"),
            api: "Produce",
        };
        assert_eq!(AllowAll.authorize(&a), Decision::Allow);
        assert_eq!(DenyAll.authorize(&a), Decision::Deny);
    }
}
