//! [`AclAuthorizer`]: Kafka's `StandardAuthorizer` over an in-memory index of the stored bindings.
//!
//! Semantics (`apache/kafka` `StandardAuthorizerData`): super users may do anything; otherwise the bindings that
//! apply to the resource are those whose pattern names it (its literal name, the literal `*`, or a prefix of
//! its name), and of those the ones for the principal (or `User:*`) and host (or `*`) decide. A DENY of the
//! operation (or of ALL) wins over any ALLOW; an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE,
//! and an ALLOW of ALTER_CONFIGS also DESCRIBE_CONFIGS. A resource no binding applies to (for anyone) is
//! allowed only with `allow_everyone_if_no_acl_found`.
//!
//! The index is not written by request handlers: the server feeds it every committed change of the ACL table
//! (its own and, in a cluster, other nodes'), so every node converges on the same bindings.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use super::{
    AclBinding, AclFilter, AclOperation, CLUSTER_NAME, PatternType, Permission, ResourceType,
    WILDCARD,
};
use crate::{Access, Authorizer, Decision, Resource};

/// `security` settings of the ACL authorizer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclSettings {
    /// Principals (`User:admin`) allowed everything, whatever the bindings say.
    pub super_users: Vec<String>,
    /// Allow a request on a resource no binding applies to (Kafka's `allow.everyone.if.no.acl.found`).
    pub allow_everyone_if_no_acl_found: bool,
}

/// The principal, host, operation and permission of one binding, filed under its pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    principal: String,
    host: String,
    operation: AclOperation,
    permission: Permission,
}

#[derive(Debug, Default)]
struct Index {
    all: BTreeSet<AclBinding>,
    literal: HashMap<ResourceType, HashMap<String, Vec<Entry>>>,
    prefixed: HashMap<ResourceType, HashMap<String, Vec<Entry>>>,
}

impl Index {
    fn section(&mut self, b: &AclBinding) -> &mut Vec<Entry> {
        let by_type = match b.pattern_type {
            PatternType::Prefixed => &mut self.prefixed,
            _ => &mut self.literal,
        };
        by_type
            .entry(b.resource_type)
            .or_default()
            .entry(b.resource_name.clone())
            .or_default()
    }

    fn insert(&mut self, b: AclBinding) {
        if self.all.contains(&b) {
            return;
        }
        let entry = entry_of(&b);
        self.section(&b).push(entry);
        self.all.insert(b);
    }

    fn remove(&mut self, b: &AclBinding) {
        if !self.all.remove(b) {
            return;
        }
        let entry = entry_of(b);
        self.section(b).retain(|e| *e != entry);
    }
}

fn entry_of(b: &AclBinding) -> Entry {
    Entry {
        principal: b.principal.clone(),
        host: b.host.clone(),
        operation: b.operation,
        permission: b.permission,
    }
}

/// Whether an ALLOW of `granted` allows `asked`.
fn implies(granted: AclOperation, asked: AclOperation) -> bool {
    use AclOperation as O;
    granted == O::All
        || granted == asked
        || (asked == O::Describe && matches!(granted, O::Read | O::Write | O::Delete | O::Alter))
        || (asked == O::DescribeConfigs && granted == O::AlterConfigs)
}

/// The Kafka resource a question is about. A DynamoDB table is judged as the consumer group of the same name:
/// a KCL lease table is named after its application, which is the group its checkpoints are offsets of.
fn kafka_resource<'a>(r: &Resource<'a>) -> (ResourceType, &'a str) {
    match *r {
        Resource::Cluster => (ResourceType::Cluster, CLUSTER_NAME),
        Resource::Topic(n) => (ResourceType::Topic, n),
        Resource::Group(n) | Resource::Table(n) => (ResourceType::Group, n),
        Resource::TransactionalId(n) => (ResourceType::TransactionalId, n),
    }
}

/// Kafka's ACL authorizer (see the module docs).
#[derive(Debug)]
pub struct AclAuthorizer {
    settings: AclSettings,
    index: RwLock<Index>,
}

impl AclAuthorizer {
    pub fn new(settings: AclSettings) -> AclAuthorizer {
        AclAuthorizer {
            settings,
            index: RwLock::new(Index::default()),
        }
    }

    pub fn settings(&self) -> &AclSettings {
        &self.settings
    }

    /// Adds a stored binding (idempotent).
    pub fn insert(&self, b: AclBinding) {
        self.write().insert(b);
    }

    /// Drops a binding that is no longer stored (idempotent).
    pub fn remove(&self, b: &AclBinding) {
        self.write().remove(b);
    }

    /// The bindings `filter` selects, in a stable order.
    pub fn matching(&self, filter: &AclFilter) -> Vec<AclBinding> {
        self.read()
            .all
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    /// Whether `b` is stored.
    pub fn contains(&self, b: &AclBinding) -> bool {
        self.read().all.contains(b)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decide(&self, access: &Access<'_>) -> Decision {
        let principal = access.principal.to_string();
        if self.settings.super_users.contains(&principal) {
            return Decision::Allow;
        }
        let wildcard_principal = format!("{}:{WILDCARD}", access.principal.principal_type);
        let host = access.host.map(|h| h.to_string());
        let asked = AclOperation::from(access.operation);
        let (rt, name) = kafka_resource(&access.resource);
        let index = self.read();
        let literal = index.literal.get(&rt);
        let prefixed = index.prefixed.get(&rt);
        let sections = [name, WILDCARD]
            .into_iter()
            .filter_map(|n| literal.and_then(|m| m.get(n)))
            .chain(
                name.char_indices()
                    .map(|(i, c)| &name[..i + c.len_utf8()])
                    .filter_map(|p| prefixed.and_then(|m| m.get(p))),
            );
        let (mut found, mut allowed) = (false, false);
        for entry in sections.flatten() {
            found = true;
            let who = entry.principal == principal || entry.principal == wildcard_principal;
            let whence = entry.host == WILDCARD || host.as_deref() == Some(entry.host.as_str());
            if !who || !whence {
                continue;
            }
            match entry.permission {
                Permission::Deny
                    if entry.operation == AclOperation::All || entry.operation == asked =>
                {
                    return Decision::Deny;
                }
                Permission::Allow if implies(entry.operation, asked) => allowed = true,
                _ => {}
            }
        }
        if allowed || (!found && self.settings.allow_everyone_if_no_acl_found) {
            Decision::Allow
        } else {
            Decision::Deny
        }
    }
}

impl Authorizer for AclAuthorizer {
    fn authorize(&self, access: &Access<'_>) -> Decision {
        self.decide(access)
    }

    fn acls(&self) -> Option<&AclAuthorizer> {
        Some(self)
    }
}
