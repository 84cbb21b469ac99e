//! Kafka's ACL model (KIP-11, KIP-290): bindings of a resource pattern to an access-control entry, the filters
//! DescribeAcls and DeleteAcls match them with, and [`AclAuthorizer`], which answers every front end's
//! questions from them with Apache Kafka's `StandardAuthorizer` semantics.
//!
//! The numeric codes are Kafka's wire codes (`ResourceType`, `PatternType`, `AclOperation`,
//! `AclPermissionType`), so the Kafka APIs pass them through and the stored form is the wire's.

mod authorizer;
mod codec;

pub use authorizer::{AclAuthorizer, AclSettings};
pub use codec::{DecodeError, decode_key, encode_key};

/// The name Kafka gives the one CLUSTER resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A LITERAL resource name, principal or host that matches every name.
pub const WILDCARD: &str = "*";

/// Kafka's `ResourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    Unknown,
    /// Filters only.
    Any,
    Topic,
    Group,
    Cluster,
    TransactionalId,
    DelegationToken,
    User,
}

/// Kafka's `PatternType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatternType {
    Unknown,
    /// Filters only: any pattern type, the name compared exactly.
    Any,
    /// Filters only: every binding that would apply to the named resource (literal, `*` and prefixes).
    Match,
    Literal,
    Prefixed,
}

/// Kafka's `AclOperation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclOperation {
    Unknown,
    /// Filters only.
    Any,
    All,
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
    CreateTokens,
    DescribeTokens,
}

/// Kafka's `AclPermissionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    Unknown,
    /// Filters only.
    Any,
    Deny,
    Allow,
}

macro_rules! wire_codes {
    ($t:ty { $($v:ident = $c:literal),* $(,)? }) => {
        impl $t {
            /// Kafka's wire code.
            pub fn code(self) -> i8 {
                match self { $(<$t>::$v => $c),* }
            }
            /// The value of a wire code; codes Kafka does not define are `Unknown`.
            pub fn from_code(code: i8) -> $t {
                match code { $($c => <$t>::$v,)* _ => <$t>::Unknown }
            }
        }
    };
}

wire_codes!(ResourceType { Unknown = 0, Any = 1, Topic = 2, Group = 3, Cluster = 4, TransactionalId = 5,
    DelegationToken = 6, User = 7 });
wire_codes!(PatternType { Unknown = 0, Any = 1, Match = 2, Literal = 3, Prefixed = 4 });
wire_codes!(AclOperation { Unknown = 0, Any = 1, All = 2, Read = 3, Write = 4, Create = 5, Delete = 6, Alter = 7,
    Describe = 8, ClusterAction = 9, DescribeConfigs = 10, AlterConfigs = 11, IdempotentWrite = 12,
    CreateTokens = 13, DescribeTokens = 14 });
wire_codes!(Permission { Unknown = 0, Any = 1, Deny = 2, Allow = 3 });

impl From<crate::Operation> for AclOperation {
    fn from(op: crate::Operation) -> AclOperation {
        use crate::Operation as O;
        match op {
            O::Read => AclOperation::Read,
            O::Write => AclOperation::Write,
            O::Create => AclOperation::Create,
            O::Delete => AclOperation::Delete,
            O::Alter => AclOperation::Alter,
            O::Describe => AclOperation::Describe,
            O::ClusterAction => AclOperation::ClusterAction,
            O::DescribeConfigs => AclOperation::DescribeConfigs,
            O::AlterConfigs => AclOperation::AlterConfigs,
            O::IdempotentWrite => AclOperation::IdempotentWrite,
        }
    }
}

/// One ACL: `principal` from `host` is `permission`ed to `operation` on the resources `pattern` names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `User:name` or `User:*`.
    pub principal: String,
    /// An IP address or `*`.
    pub host: String,
    pub operation: AclOperation,
    pub permission: Permission,
}

/// Why a binding cannot be stored: Kafka answers these INVALID_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBinding(pub String);

impl std::fmt::Display for InvalidBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AclBinding {
    /// Checks what Kafka's controller checks before it stores a new binding.
    pub fn validate(&self) -> Result<(), InvalidBinding> {
        let bad = |m: String| Err(InvalidBinding(m));
        match self.resource_type {
            ResourceType::Unknown | ResourceType::Any => {
                return bad(format!("Invalid resourceType {:?}", self.resource_type));
            }
            ResourceType::Cluster if self.resource_name != CLUSTER_NAME => {
                return bad(format!(
                    "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
                ));
            }
            _ => {}
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return bad(format!("Invalid patternType {:?}", self.pattern_type));
        }
        if matches!(self.operation, AclOperation::Unknown | AclOperation::Any) {
            return bad(format!("Invalid operation {:?}", self.operation));
        }
        if matches!(self.permission, Permission::Unknown | Permission::Any) {
            return bad(format!("Invalid permissionType {:?}", self.permission));
        }
        if self.resource_name.is_empty() {
            return bad("Resource name should not be empty".into());
        }
        match self.principal.split_once(':') {
            Some((t, n)) if !t.is_empty() && !n.is_empty() => {}
            _ => return bad(format!("Could not parse principal {}", self.principal)),
        }
        if self.host != WILDCARD && self.host.parse::<std::net::IpAddr>().is_err() {
            return bad(format!("Invalid host {}: an IP address or *", self.host));
        }
        Ok(())
    }
}

/// What DescribeAcls and DeleteAcls select bindings with (Kafka's `AclBindingFilter`); `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: Permission,
}

impl AclFilter {
    /// The filter that selects every binding.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: Permission::Any,
        }
    }

    /// Kafka refuses a filter with an UNKNOWN element (INVALID_REQUEST).
    pub fn validate(&self) -> Result<(), InvalidBinding> {
        if self.resource_type == ResourceType::Unknown
            || self.pattern_type == PatternType::Unknown
            || self.operation == AclOperation::Unknown
            || self.permission == Permission::Unknown
        {
            return Err(InvalidBinding(
                "The filter must not contain UNKNOWN elements".into(),
            ));
        }
        Ok(())
    }

    /// Whether `b` is selected (Kafka's `ResourcePatternFilter.matches` and `AccessControlEntryFilter.matches`).
    pub fn matches(&self, b: &AclBinding) -> bool {
        self.matches_pattern(b)
            && self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == AclOperation::Any || self.operation == b.operation)
            && (self.permission == Permission::Any || self.permission == b.permission)
    }

    fn matches_pattern(&self, b: &AclBinding) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != b.resource_type {
            return false;
        }
        let any = matches!(self.pattern_type, PatternType::Any | PatternType::Match);
        if !any && self.pattern_type != b.pattern_type {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == b.pattern_type {
            return *name == b.resource_name;
        }
        // MATCH: the bindings that would apply to a resource called `name`.
        match b.pattern_type {
            PatternType::Literal => *name == b.resource_name || b.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&b.resource_name),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
