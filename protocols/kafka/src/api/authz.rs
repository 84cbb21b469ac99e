//! Authorization: which (resource, operation) pairs each Kafka API needs, and the one call every handler makes
//! to ask the broker's [`Authorizer`](strait_access::Authorizer). The rules follow Apache Kafka's `KafkaApis`
//! and `AclAuthorizer`; a denial is answered with the protocol's own error (TOPIC_AUTHORIZATION_FAILED,
//! GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per item
//! where the response has per-item errors.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use strait_access::{Access, Decision, Operation, Resource};

use super::Ctx;
use super::config_catalog::{RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use crate::error::ApiError;

/// The kind of resource a rule names (the name itself comes from the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Cluster,
    Topic,
    Group,
    TransactionalId,
}

/// What an API needs before it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Served to anyone (Kafka does not authorize these): ApiVersions and the SASL exchange.
    Open,
    /// Every listed pair must be allowed for the resources the request names. Where Kafka accepts either of two
    /// (CreateTopics: CLUSTER CREATE or TOPIC CREATE), both are listed and the handler documents the choice.
    Needs(&'static [(ResourceKind, Operation)]),
    /// Not served by this broker: the connection is closed before any authorization (Kafka's answer to an API
    /// it does not know).
    NotServed,
}

use Operation as Op;
use ResourceKind as K;

/// The rule for every API key; exhaustive so that a newly served API must get one.
pub fn rule(api: ApiKey) -> Rule {
    match api {
        ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate => Rule::Open,
        // Transactional produce also needs TRANSACTIONAL_ID WRITE; Kafka 3+ no longer asks for CLUSTER
        // IDEMPOTENT_WRITE from idempotent producers once they hold a producer id.
        ApiKey::Produce => Rule::Needs(&[(K::Topic, Op::Write), (K::TransactionalId, Op::Write)]),
        ApiKey::Fetch | ApiKey::DescribeProducers => Rule::Needs(&[(K::Topic, Op::Read)]),
        ApiKey::ListOffsets | ApiKey::OffsetForLeaderEpoch | ApiKey::DescribeTopicPartitions => {
            Rule::Needs(&[(K::Topic, Op::Describe)])
        }
        // Topics the principal may not describe are left out of an all-topics listing and answered
        // TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs CLUSTER or TOPIC CREATE.
        ApiKey::Metadata => Rule::Needs(&[
            (K::Topic, Op::Describe),
            (K::Cluster, Op::Create),
            (K::Topic, Op::Create),
        ]),
        ApiKey::CreateTopics => Rule::Needs(&[(K::Cluster, Op::Create), (K::Topic, Op::Create)]),
        ApiKey::DeleteTopics | ApiKey::DeleteRecords => Rule::Needs(&[(K::Topic, Op::Delete)]),
        ApiKey::CreatePartitions => Rule::Needs(&[(K::Topic, Op::Alter)]),
        ApiKey::DescribeConfigs => Rule::Needs(&[
            (K::Topic, Op::DescribeConfigs),
            (K::Cluster, Op::DescribeConfigs),
        ]),
        ApiKey::AlterConfigs | ApiKey::IncrementalAlterConfigs => {
            Rule::Needs(&[(K::Topic, Op::AlterConfigs), (K::Cluster, Op::AlterConfigs)])
        }
        // Answered per user with CLUSTER_AUTHORIZATION_FAILED (Alter) or as a whole (Describe), by the handlers.
        ApiKey::DescribeUserScramCredentials => Rule::Needs(&[(K::Cluster, Op::Describe)]),
        ApiKey::AlterUserScramCredentials => Rule::Needs(&[(K::Cluster, Op::Alter)]),
        ApiKey::DescribeLogDirs | ApiKey::DescribeCluster => {
            Rule::Needs(&[(K::Cluster, Op::Describe)])
        }
        ApiKey::FindCoordinator => {
            Rule::Needs(&[(K::Group, Op::Describe), (K::TransactionalId, Op::Describe)])
        }
        ApiKey::JoinGroup
        | ApiKey::SyncGroup
        | ApiKey::Heartbeat
        | ApiKey::LeaveGroup
        | ApiKey::ShareGroupHeartbeat => Rule::Needs(&[(K::Group, Op::Read)]),
        ApiKey::ConsumerGroupHeartbeat => {
            Rule::Needs(&[(K::Group, Op::Read), (K::Topic, Op::Describe)])
        }
        ApiKey::OffsetCommit
        | ApiKey::ShareFetch
        | ApiKey::ShareAcknowledge
        | ApiKey::AlterShareGroupOffsets => {
            Rule::Needs(&[(K::Group, Op::Read), (K::Topic, Op::Read)])
        }
        ApiKey::OffsetFetch | ApiKey::DescribeShareGroupOffsets => {
            Rule::Needs(&[(K::Group, Op::Describe), (K::Topic, Op::Describe)])
        }
        ApiKey::DescribeGroups | ApiKey::ConsumerGroupDescribe | ApiKey::ShareGroupDescribe => {
            Rule::Needs(&[(K::Group, Op::Describe)])
        }
        // CLUSTER DESCRIBE lists every group; otherwise groups the principal may not describe are left out.
        ApiKey::ListGroups => Rule::Needs(&[(K::Cluster, Op::Describe), (K::Group, Op::Describe)]),
        ApiKey::DeleteGroups => Rule::Needs(&[(K::Group, Op::Delete)]),
        ApiKey::OffsetDelete | ApiKey::DeleteShareGroupOffsets => {
            Rule::Needs(&[(K::Group, Op::Delete), (K::Topic, Op::Read)])
        }
        ApiKey::InitProducerId => Rule::Needs(&[
            (K::TransactionalId, Op::Write),
            (K::Cluster, Op::IdempotentWrite),
        ]),
        ApiKey::AddPartitionsToTxn => {
            Rule::Needs(&[(K::TransactionalId, Op::Write), (K::Topic, Op::Write)])
        }
        ApiKey::AddOffsetsToTxn => {
            Rule::Needs(&[(K::TransactionalId, Op::Write), (K::Group, Op::Read)])
        }
        ApiKey::EndTxn => Rule::Needs(&[(K::TransactionalId, Op::Write)]),
        ApiKey::TxnOffsetCommit => Rule::Needs(&[
            (K::TransactionalId, Op::Write),
            (K::Group, Op::Read),
            (K::Topic, Op::Read),
        ]),
        // Transactional ids the principal may not describe are left out (DescribeTransactions answers them
        // TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
        ApiKey::DescribeTransactions | ApiKey::ListTransactions => {
            Rule::Needs(&[(K::TransactionalId, Op::Describe)])
        }
        // Answered by their handlers: SECURITY_DISABLED comes before authorization when there are no ACLs.
        ApiKey::DescribeAcls => Rule::Needs(&[(K::Cluster, Op::Describe)]),
        ApiKey::CreateAcls | ApiKey::DeleteAcls => Rule::Needs(&[(K::Cluster, Op::Alter)]),
        ApiKey::WriteTxnMarkers
        | ApiKey::AlterReplicaLogDirs
        | ApiKey::CreateDelegationToken
        | ApiKey::RenewDelegationToken
        | ApiKey::ExpireDelegationToken
        | ApiKey::DescribeDelegationToken
        | ApiKey::ElectLeaders
        | ApiKey::AlterPartitionReassignments
        | ApiKey::ListPartitionReassignments
        | ApiKey::DescribeClientQuotas
        | ApiKey::AlterClientQuotas
        | ApiKey::Vote
        | ApiKey::BeginQuorumEpoch
        | ApiKey::EndQuorumEpoch
        | ApiKey::DescribeQuorum
        | ApiKey::AlterPartition
        | ApiKey::UpdateFeatures
        | ApiKey::Envelope
        | ApiKey::FetchSnapshot
        | ApiKey::BrokerRegistration
        | ApiKey::BrokerHeartbeat
        | ApiKey::UnregisterBroker
        | ApiKey::AllocateProducerIds
        | ApiKey::ControllerRegistration
        | ApiKey::GetTelemetrySubscriptions
        | ApiKey::PushTelemetry
        | ApiKey::AssignReplicasToDirs
        | ApiKey::ListConfigResources
        | ApiKey::AddRaftVoter
        | ApiKey::RemoveRaftVoter
        | ApiKey::UpdateRaftVoter
        | ApiKey::InitializeShareGroupState
        | ApiKey::ReadShareGroupState
        | ApiKey::WriteShareGroupState
        | ApiKey::DeleteShareGroupState
        | ApiKey::ReadShareGroupStateSummary => Rule::NotServed,
    }
}

/// Whether the connection's principal may perform `operation` on `resource`.
pub fn allowed(ctx: &Ctx<'_>, operation: Operation, resource: Resource<'_>) -> bool {
    ctx.broker.authorizer().authorize(&Access {
        principal: &ctx.session.principal,
        host: ctx.session.peer.map(|p| p.ip()),
        operation,
        resource,
        api: ctx.api_name(),
    }) == Decision::Allow
}

/// Kafka's `AclOperation` code of an operation: its bit in an authorized-operations field.
pub fn acl_code(op: Operation) -> u8 {
    match op {
        Op::Read => 3,
        Op::Write => 4,
        Op::Create => 5,
        Op::Delete => 6,
        Op::Alter => 7,
        Op::Describe => 8,
        Op::ClusterAction => 9,
        Op::DescribeConfigs => 10,
        Op::AlterConfigs => 11,
        Op::IdempotentWrite => 12,
    }
}

/// The operations Kafka defines for each resource type (what an authorized-operations answer can contain).
fn supported(kind: ResourceKind) -> &'static [Operation] {
    match kind {
        K::Topic => &[
            Op::Read,
            Op::Write,
            Op::Create,
            Op::Delete,
            Op::Alter,
            Op::Describe,
            Op::DescribeConfigs,
            Op::AlterConfigs,
        ],
        K::Group => &[
            Op::Read,
            Op::Delete,
            Op::Describe,
            Op::DescribeConfigs,
            Op::AlterConfigs,
        ],
        K::Cluster => &[
            Op::Create,
            Op::Alter,
            Op::Describe,
            Op::ClusterAction,
            Op::DescribeConfigs,
            Op::AlterConfigs,
            Op::IdempotentWrite,
        ],
        K::TransactionalId => &[Op::Write, Op::Describe],
    }
}

/// Kafka's "authorized operations not requested" marker.
pub const OPS_OMITTED: i32 = i32::MIN;

/// The authorized-operations bitfield of `resource` for this principal, as Kafka computes it: one authorizer
/// question per operation the resource type supports.
pub fn authorized_operations(ctx: &Ctx<'_>, kind: ResourceKind, resource: Resource<'_>) -> i32 {
    supported(kind)
        .iter()
        .filter(|op| allowed(ctx, **op, resource))
        .fold(0, |bits, op| bits | (1 << acl_code(*op)))
}

/// The protocol's error for a denial on a resource of `kind`.
pub fn denied_code(kind: ResourceKind) -> ResponseError {
    match kind {
        K::Cluster => ResponseError::ClusterAuthorizationFailed,
        K::Topic => ResponseError::TopicAuthorizationFailed,
        K::Group => ResponseError::GroupAuthorizationFailed,
        K::TransactionalId => ResponseError::TransactionalIdAuthorizationFailed,
    }
}

fn check(
    ctx: &Ctx<'_>,
    operation: Operation,
    resource: Resource<'_>,
    kind: K,
) -> Result<(), ApiError> {
    if allowed(ctx, operation, resource) {
        return Ok(());
    }
    Err(ApiError::new(
        denied_code(kind),
        format!(
            "{} may not {operation:?} {resource:?}",
            ctx.session.principal
        ),
    ))
}

pub fn topic(ctx: &Ctx<'_>, operation: Operation, name: &str) -> Result<(), ApiError> {
    check(ctx, operation, Resource::Topic(name), K::Topic)
}

pub fn group(ctx: &Ctx<'_>, operation: Operation, id: &str) -> Result<(), ApiError> {
    check(ctx, operation, Resource::Group(id), K::Group)
}

pub fn transactional_id(ctx: &Ctx<'_>, operation: Operation, id: &str) -> Result<(), ApiError> {
    check(
        ctx,
        operation,
        Resource::TransactionalId(id),
        K::TransactionalId,
    )
}

pub fn cluster(ctx: &Ctx<'_>, operation: Operation) -> Result<(), ApiError> {
    check(ctx, operation, Resource::Cluster, K::Cluster)
}

/// A config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs): TOPIC and GROUP resources are
/// checked on themselves, BROKER resources on the cluster, each answered with its own denial code as in Kafka.
/// Resource types the handlers reject anyway are left to them.
pub fn config_resource(
    ctx: &Ctx<'_>,
    operation: Operation,
    resource_type: i8,
    name: &str,
) -> Result<(), ApiError> {
    match resource_type {
        RESOURCE_TOPIC => topic(ctx, operation, name),
        RESOURCE_GROUP => group(ctx, operation, name),
        RESOURCE_BROKER => cluster(ctx, operation),
        _ => Ok(()),
    }
}
