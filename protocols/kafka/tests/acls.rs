//! DescribeAcls, CreateAcls and DeleteAcls over the wire, with the ACL authorizer following the stored table:
//! created bindings apply to the next request, survive a restart, and deleted ones stop applying.

mod common;

use std::sync::Arc;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_access::acl::{AclAuthorizer, AclSettings};
use strait_access::{AuthMechanism, Principal};
use strait_kafka::BrokerConfig;

const TOPIC: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ANY: i8 = 1;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;
const DENY: i8 = 2;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn creation(name: &str, pattern: i8, principal: &str, op: i8, perm: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(TOPIC)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(op)
        .with_permission_type(perm)
}

/// Every binding. (The generated defaults of the nullable filters are empty strings, which match nothing.)
fn everything() -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ANY)
        .with_pattern_type_filter(ANY)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

/// A broker whose ACL authorizer follows the stored bindings; the test's own connection is a super user.
async fn open(dir: tempfile::TempDir) -> TestBroker {
    let acls = Arc::new(AclAuthorizer::new(AclSettings {
        super_users: vec!["User:admin".into()],
        allow_everyone_if_no_acl_found: false,
    }));
    let mut t = TestBroker::open_in(
        dir,
        BrokerConfig {
            authorizer: acls.clone(),
            ..Default::default()
        },
    )
    .await;
    strait_kafka::acls::follow(t.broker.engine(), acls).expect("follow");
    t.session.principal = Principal::user("admin", AuthMechanism::SaslPlain);
    t
}

async fn produce_as(t: &mut TestBroker, user: &str) -> i16 {
    t.session.principal = Principal::user(user, AuthMechanism::SaslPlain);
    let req = produce("orders-1", 0, batch(&["a"], Compression::None, None), -1);
    let code = t.call(9, &req).await.responses[0].partition_responses[0].error_code;
    t.session.principal = Principal::user("admin", AuthMechanism::SaslPlain);
    code
}

#[tokio::test]
async fn created_acls_apply_survive_a_restart_and_go_when_deleted() {
    let mut t = open(tempfile::tempdir().expect("tempdir")).await;
    t.broker
        .engine()
        .create_topic("orders-1", 1, Default::default())
        .await
        .expect("topic");
    let denied = ResponseError::TopicAuthorizationFailed.code();
    assert_eq!(produce_as(&mut t, "alice").await, denied);

    let req = CreateAclsRequest::default().with_creations(vec![
        creation("orders-", PREFIXED, "User:alice", WRITE, ALLOW),
        // Invalid: MATCH is for filters only. Answered per binding; the others are still created.
        creation("orders-", 2, "User:alice", WRITE, ALLOW),
        creation("orders-1", LITERAL, "User:bob", WRITE, DENY),
    ]);
    let r = t.call(3, &req).await;
    let codes: Vec<i16> = r.results.iter().map(|x| x.error_code).collect();
    assert_eq!(codes, [0, ResponseError::InvalidRequest.code(), 0]);
    assert_eq!(produce_as(&mut t, "alice").await, 0);
    assert_eq!(produce_as(&mut t, "bob").await, denied);

    let listed = t.call(3, &everything()).await;
    assert_eq!(listed.error_code, 0);
    let mut seen: Vec<(String, i8, usize)> = listed
        .resources
        .iter()
        .map(|r| (r.resource_name.to_string(), r.pattern_type, r.acls.len()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("orders-".into(), PREFIXED, 1),
            ("orders-1".into(), LITERAL, 1)
        ]
    );

    // A restart rebuilds the index from the table.
    t.broker.engine().shutdown().await.expect("shutdown");
    let TestBroker { dir, broker, .. } = t;
    drop(broker);
    let mut t = open(dir).await;
    assert_eq!(produce_as(&mut t, "alice").await, 0);
    assert_eq!(produce_as(&mut t, "bob").await, denied);

    let del = DeleteAclsRequest::default().with_filters(vec![
        DeleteAclsFilter::default()
            .with_principal_filter(None)
            .with_host_filter(None)
            .with_resource_type_filter(TOPIC)
            .with_resource_name_filter(Some(s("orders-")))
            .with_pattern_type_filter(PREFIXED)
            .with_operation(ANY)
            .with_permission_type(ANY),
        // UNKNOWN permission: refused for this filter only.
        DeleteAclsFilter::default()
            .with_resource_type_filter(ANY)
            .with_pattern_type_filter(ANY)
            .with_operation(ANY)
            .with_permission_type(0),
    ]);
    let r = t.call(3, &del).await;
    assert_eq!(r.filter_results[0].error_code, 0);
    assert_eq!(r.filter_results[0].matching_acls.len(), 1);
    assert_eq!(
        r.filter_results[0].matching_acls[0].principal.as_str(),
        "User:alice"
    );
    assert_eq!(
        r.filter_results[1].error_code,
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(produce_as(&mut t, "alice").await, denied);
    let listed = t.call(3, &everything()).await;
    assert_eq!(listed.resources.len(), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn acl_apis_need_cluster_rights_and_an_acl_authorizer() {
    let mut t = open(tempfile::tempdir().expect("tempdir")).await;
    t.session.principal = Principal::user("alice", AuthMechanism::SaslPlain);
    let cluster = ResponseError::ClusterAuthorizationFailed.code();
    assert_eq!(t.call(3, &everything()).await.error_code, cluster);
    let req = CreateAclsRequest::default().with_creations(vec![creation(
        "t",
        LITERAL,
        "User:alice",
        WRITE,
        ALLOW,
    )]);
    assert_eq!(t.call(3, &req).await.results[0].error_code, cluster);
    // A filter with an UNKNOWN element is INVALID_REQUEST for whoever may describe.
    t.session.principal = Principal::user("admin", AuthMechanism::SaslPlain);
    let bad = everything().with_resource_type_filter(0);
    assert_eq!(
        t.call(3, &bad).await.error_code,
        ResponseError::InvalidRequest.code()
    );
    t.shutdown().await;

    // The default authorizer (allow-all) has no ACLs: Kafka's SECURITY_DISABLED.
    let mut t = TestBroker::new().await;
    let disabled = ResponseError::SecurityDisabled.code();
    assert_eq!(t.call(1, &everything()).await.error_code, disabled);
    assert_eq!(t.call(1, &req).await.results[0].error_code, disabled);
    t.shutdown().await;
}
