//! The authorizer's semantics, binding by binding, as Kafka's `StandardAuthorizerTest` pins them.

use std::net::IpAddr;

use super::*;
use crate::{Access, AuthMechanism, Authorizer, Decision, Operation, Principal, Resource};

fn binding(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    principal: &str,
    op: AclOperation,
    perm: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pt,
        principal: principal.into(),
        host: WILDCARD.into(),
        operation: op,
        permission: perm,
    }
}

fn allow(name: &str, pt: PatternType, principal: &str, op: AclOperation) -> AclBinding {
    binding(
        ResourceType::Topic,
        name,
        pt,
        principal,
        op,
        Permission::Allow,
    )
}

fn ask(
    a: &AclAuthorizer,
    who: &str,
    op: Operation,
    r: Resource<'_>,
    host: Option<&str>,
) -> Decision {
    let p = Principal::user(who, AuthMechanism::SaslPlain);
    a.authorize(&Access {
        principal: &p,
        host: host.map(|h| h.parse::<IpAddr>().expect("ip")),
        operation: op,
        resource: r,
        api: "test",
    })
}

fn topic(a: &AclAuthorizer, who: &str, op: Operation, t: &str) -> Decision {
    ask(a, who, op, Resource::Topic(t), Some("10.0.0.1"))
}

fn strict() -> AclAuthorizer {
    AclAuthorizer::new(AclSettings::default())
}

use Decision::{Allow, Deny};
use PatternType::{Literal, Prefixed};

#[test]
fn nothing_is_allowed_without_a_binding_unless_configured() {
    assert_eq!(topic(&strict(), "alice", Operation::Read, "t"), Deny);
    let open = AclAuthorizer::new(AclSettings {
        allow_everyone_if_no_acl_found: true,
        ..AclSettings::default()
    });
    assert_eq!(topic(&open, "alice", Operation::Read, "t"), Allow);
    // Once any binding applies to the resource, the others are no longer let in.
    open.insert(allow("t", Literal, "User:bob", AclOperation::Read));
    assert_eq!(topic(&open, "alice", Operation::Read, "t"), Deny);
    assert_eq!(topic(&open, "alice", Operation::Read, "u"), Allow);
}

#[test]
fn deny_wins_over_allow() {
    let a = strict();
    a.insert(allow("t", Literal, "User:alice", AclOperation::All));
    assert_eq!(topic(&a, "alice", Operation::Write, "t"), Allow);
    a.insert(binding(
        ResourceType::Topic,
        "t",
        Prefixed,
        "User:*",
        AclOperation::Write,
        Permission::Deny,
    ));
    assert_eq!(topic(&a, "alice", Operation::Write, "t"), Deny);
    // A DENY of one operation leaves the others (and implies nothing).
    assert_eq!(topic(&a, "alice", Operation::Read, "t"), Allow);
    assert_eq!(topic(&a, "alice", Operation::Describe, "t"), Allow);
    a.insert(binding(
        ResourceType::Topic,
        "*",
        Literal,
        "User:alice",
        AclOperation::All,
        Permission::Deny,
    ));
    assert_eq!(topic(&a, "alice", Operation::Read, "t"), Deny);
}

#[test]
fn read_write_delete_alter_imply_describe_and_alter_configs_describe_configs() {
    for (granted, implied) in [
        (AclOperation::Read, Operation::Describe),
        (AclOperation::Write, Operation::Describe),
        (AclOperation::Delete, Operation::Describe),
        (AclOperation::Alter, Operation::Describe),
        (AclOperation::AlterConfigs, Operation::DescribeConfigs),
    ] {
        let a = strict();
        a.insert(allow("t", Literal, "User:alice", granted));
        assert_eq!(topic(&a, "alice", implied, "t"), Allow, "{granted:?}");
    }
    let a = strict();
    a.insert(allow("t", Literal, "User:alice", AclOperation::Describe));
    assert_eq!(topic(&a, "alice", Operation::Read, "t"), Deny);
    a.insert(allow("t", Literal, "User:alice", AclOperation::Create));
    assert_eq!(topic(&a, "alice", Operation::DescribeConfigs, "t"), Deny);
}

#[test]
fn prefixed_and_wildcard_names_and_principals() {
    let a = strict();
    a.insert(allow("orders-", Prefixed, "User:alice", AclOperation::Read));
    a.insert(allow("*", Literal, "User:carol", AclOperation::Read));
    a.insert(allow("public", Literal, "User:*", AclOperation::Read));
    assert_eq!(topic(&a, "alice", Operation::Read, "orders-eu"), Allow);
    assert_eq!(topic(&a, "alice", Operation::Read, "orders-"), Allow);
    assert_eq!(topic(&a, "alice", Operation::Read, "order"), Deny);
    assert_eq!(topic(&a, "alice", Operation::Read, "x-orders-eu"), Deny);
    assert_eq!(topic(&a, "bob", Operation::Read, "orders-eu"), Deny);
    assert_eq!(topic(&a, "carol", Operation::Read, "anything"), Allow);
    assert_eq!(topic(&a, "bob", Operation::Read, "public"), Allow);
    // Literal `*` is a wildcard only as a binding's name; a prefix `*` is the character.
    a.insert(allow("*", Prefixed, "User:dave", AclOperation::Read));
    assert_eq!(topic(&a, "dave", Operation::Read, "t"), Deny);
    // The resource type is part of the pattern.
    assert_eq!(
        ask(
            &a,
            "alice",
            Operation::Read,
            Resource::Group("orders-eu"),
            None
        ),
        Deny
    );
}

#[test]
fn super_users_bypass_every_binding() {
    let a = AclAuthorizer::new(AclSettings {
        super_users: vec!["User:admin".into()],
        allow_everyone_if_no_acl_found: false,
    });
    a.insert(binding(
        ResourceType::Topic,
        "t",
        Literal,
        "User:*",
        AclOperation::All,
        Permission::Deny,
    ));
    assert_eq!(topic(&a, "admin", Operation::Delete, "t"), Allow);
    assert_eq!(
        ask(&a, "admin", Operation::Alter, Resource::Cluster, None),
        Allow
    );
    assert_eq!(topic(&a, "alice", Operation::Read, "t"), Deny);
}

#[test]
fn the_host_is_part_of_the_check() {
    let a = strict();
    let mut b = allow("t", Literal, "User:alice", AclOperation::Read);
    b.host = "10.0.0.1".into();
    a.insert(b);
    assert_eq!(
        ask(
            &a,
            "alice",
            Operation::Read,
            Resource::Topic("t"),
            Some("10.0.0.1")
        ),
        Allow
    );
    assert_eq!(
        ask(
            &a,
            "alice",
            Operation::Read,
            Resource::Topic("t"),
            Some("10.0.0.2")
        ),
        Deny
    );
    assert_eq!(
        ask(&a, "alice", Operation::Read, Resource::Topic("t"), None),
        Deny
    );
}

#[test]
fn cluster_and_tables_map_onto_kafka_resources() {
    let a = strict();
    a.insert(binding(
        ResourceType::Cluster,
        CLUSTER_NAME,
        Literal,
        "User:alice",
        AclOperation::Alter,
        Permission::Allow,
    ));
    a.insert(binding(
        ResourceType::Group,
        "app",
        Literal,
        "User:alice",
        AclOperation::Read,
        Permission::Allow,
    ));
    assert_eq!(
        ask(&a, "alice", Operation::Describe, Resource::Cluster, None),
        Allow
    );
    assert_eq!(
        ask(&a, "alice", Operation::Read, Resource::Table("app"), None),
        Allow
    );
    assert_eq!(
        ask(&a, "alice", Operation::Delete, Resource::Table("app"), None),
        Deny
    );
}

#[test]
fn removed_bindings_stop_applying() {
    let a = strict();
    let b = allow("t", Literal, "User:alice", AclOperation::Read);
    a.insert(b.clone());
    a.insert(b.clone());
    a.remove(&b);
    assert!(!a.contains(&b));
    assert_eq!(topic(&a, "alice", Operation::Read, "t"), Deny);
}

#[test]
fn filters_select_as_kafka_does() {
    let a = strict();
    let lit = allow("orders", Literal, "User:alice", AclOperation::Read);
    let pre = allow("ord", Prefixed, "User:bob", AclOperation::Write);
    let star = allow("*", Literal, "User:carol", AclOperation::Read);
    for b in [&lit, &pre, &star] {
        a.insert(b.clone());
    }
    let filter = |name: Option<&str>, pt| AclFilter {
        resource_type: ResourceType::Any,
        resource_name: name.map(str::to_string),
        pattern_type: pt,
        principal: None,
        host: None,
        operation: AclOperation::Any,
        permission: Permission::Any,
    };
    assert_eq!(a.matching(&filter(None, PatternType::Any)).len(), 3);
    assert_eq!(
        a.matching(&filter(Some("orders"), PatternType::Any)),
        std::slice::from_ref(&lit)
    );
    assert_eq!(
        a.matching(&filter(Some("ord"), Prefixed)),
        std::slice::from_ref(&pre)
    );
    let mut matched = a.matching(&filter(Some("orders"), PatternType::Match));
    matched.sort();
    let mut want = vec![lit, pre, star];
    want.sort();
    assert_eq!(matched, want);
    let mut bob = filter(None, PatternType::Any);
    bob.principal = Some("User:bob".into());
    assert_eq!(a.matching(&bob).len(), 1);
    bob.operation = AclOperation::Read;
    assert!(a.matching(&bob).is_empty());
    let mut bad = filter(None, PatternType::Any);
    bad.permission = Permission::Unknown;
    assert!(bad.validate().is_err());
}

#[test]
fn bindings_are_validated_and_round_trip_through_their_key() {
    let b = allow("orders-", Prefixed, "User:alice", AclOperation::Read);
    assert_eq!(b.validate(), Ok(()));
    assert_eq!(decode_key(&encode_key(&b)), Ok(b.clone()));
    for broken in [
        AclBinding {
            pattern_type: PatternType::Match,
            ..b.clone()
        },
        AclBinding {
            operation: AclOperation::Any,
            ..b.clone()
        },
        AclBinding {
            permission: Permission::Unknown,
            ..b.clone()
        },
        AclBinding {
            resource_type: ResourceType::Any,
            ..b.clone()
        },
        AclBinding {
            principal: "alice".into(),
            ..b.clone()
        },
        AclBinding {
            host: "example.com".into(),
            ..b.clone()
        },
        AclBinding {
            resource_name: String::new(),
            ..b.clone()
        },
        AclBinding {
            resource_type: ResourceType::Cluster,
            ..b.clone()
        },
    ] {
        assert!(broken.validate().is_err(), "{broken:?}");
    }
    let key = encode_key(&b);
    assert!(decode_key(&key[..key.len() - 1]).is_err());
    assert!(decode_key(&[2]).is_err());
    assert_eq!(AclOperation::from_code(99), AclOperation::Unknown);
    assert_eq!(
        PatternType::from_code(PatternType::Prefixed.code()),
        Prefixed
    );
}
