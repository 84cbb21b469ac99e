//! Metadata: every broker of the cluster view (with its rack), the view's controller, and topics with their
//! partitions' leader, epoch, replicas and in-sync replicas (creating unknown topics when allowed).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_engine::{EngineError, TopicInfo};

use strait_access::{Operation, Resource};

use super::authz::{OPS_OMITTED, ResourceKind};
use super::{Ctx, authz, internal_topic};
use crate::broker::Broker;
use crate::error::engine_error_code;

pub async fn handle(ctx: &mut Ctx<'_>, req: MetadataRequest) -> MetadataResponse {
    let b = ctx.broker;
    let cfg = b.config();
    let version = ctx.version();
    // v0 asks for all topics with an empty list; v1+ with a null list.
    let all = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let topics = if all {
        let mut topics: Vec<_> = b
            .engine()
            .list_topics()
            .iter()
            .filter(|t| !internal_topic::is_internal(&t.name))
            // Topics the principal may not describe are left out, as in Kafka.
            .filter(|t| authz::allowed(ctx, Operation::Describe, Resource::Topic(&t.name)))
            .map(|t| topic_entry(b, t))
            .collect();
        let offsets = Resource::Topic(internal_topic::CONSUMER_OFFSETS);
        if authz::allowed(ctx, Operation::Describe, offsets) {
            topics.push(consumer_offsets_entry(b));
        }
        topics
    } else {
        let auto = version < 4 || req.allow_auto_topic_creation;
        let mut out = Vec::new();
        for t in req.topics.unwrap_or_default() {
            out.push(requested_topic(ctx, t.name.map(|n| n.0.to_string()), t.topic_id, auto).await);
        }
        out
    };
    let mut topics = topics;
    if req.include_topic_authorized_operations {
        for t in topics.iter_mut().filter(|t| t.error_code == 0) {
            if let Some(name) = &t.name {
                t.topic_authorized_operations =
                    authz::authorized_operations(ctx, ResourceKind::Topic, Resource::Topic(name));
            }
        }
    }
    let cluster_ops = if req.include_cluster_authorized_operations {
        authz::authorized_operations(ctx, ResourceKind::Cluster, Resource::Cluster)
    } else {
        OPS_OMITTED
    };
    let brokers = super::cluster::brokers(b)
        .into_iter()
        .map(|n| {
            MetadataResponseBroker::default()
                .with_node_id(n.id)
                .with_host(StrBytes::from_string(n.host))
                .with_port(n.port)
                .with_rack(n.rack.map(StrBytes::from_string))
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_string(cfg.cluster_id.clone())))
        .with_controller_id(super::cluster::controller(b))
        .with_topics(topics)
        .with_cluster_authorized_operations(cluster_ops)
}

/// A named topic the principal may not describe: TOPIC_AUTHORIZATION_FAILED, nothing else disclosed.
fn denied(name: Option<&str>, id: uuid::Uuid) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n.to_string()))))
        .with_topic_id(id)
        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
        .with_topic_authorized_operations(OPS_OMITTED)
}

async fn requested_topic(
    ctx: &Ctx<'_>,
    name: Option<String>,
    id: uuid::Uuid,
    auto: bool,
) -> MetadataResponseTopic {
    let b = ctx.broker;
    let may = |op: Operation, topic: &str| authz::allowed(ctx, op, Resource::Topic(topic));
    let engine = b.engine();
    // A non-nil id wins over the name, as in Kafka: the Java client asks by id with an empty (not null) name,
    // and the answer must carry the id back, since it indexes the response by topic id.
    if id == internal_topic::CONSUMER_OFFSETS_ID
        || (id.is_nil() && name.as_deref().is_some_and(internal_topic::is_internal))
    {
        if !may(Operation::Describe, internal_topic::CONSUMER_OFFSETS) {
            return denied(name.as_deref(), id);
        }
        return consumer_offsets_entry(b);
    }
    if !id.is_nil() {
        return match engine.list_topics().into_iter().find(|t| t.id == id) {
            Some(t) if !may(Operation::Describe, &t.name) => denied(None, id),
            Some(t) => topic_entry(b, &t),
            None => MetadataResponseTopic::default()
                .with_name(None)
                .with_topic_id(id)
                .with_error_code(ResponseError::UnknownTopicId.code())
                .with_topic_authorized_operations(OPS_OMITTED),
        };
    }
    if name
        .as_deref()
        .is_some_and(|n| !may(Operation::Describe, n))
    {
        return denied(name.as_deref(), id);
    }
    if let Some(t) = name.as_deref().and_then(|n| engine.topic(n)) {
        return topic_entry(b, &t);
    }
    let Some(name) = name else {
        // Neither a name nor an id: nothing to look up.
        return MetadataResponseTopic::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code())
            .with_topic_authorized_operations(OPS_OMITTED);
    };
    let error = |code: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
            .with_error_code(code.code())
            .with_topic_authorized_operations(OPS_OMITTED)
    };
    if let Err(e) = strait_engine::validate_topic_name(&name) {
        return error(engine_error_code(&e));
    }
    if !(auto && b.config().auto_create_topics) {
        return error(ResponseError::UnknownTopicOrPartition);
    }
    // Auto-creation needs CLUSTER CREATE or TOPIC CREATE, as in Kafka.
    if !(authz::allowed(ctx, Operation::Create, Resource::Cluster) || may(Operation::Create, &name))
    {
        return error(ResponseError::TopicAuthorizationFailed);
    }
    match engine
        .create_topic(&name, b.config().default_partitions, Default::default())
        .await
    {
        Ok(t) => topic_entry(b, &t),
        // Another request created it first: describe what exists.
        Err(EngineError::TopicExists(_)) => match engine.topic(&name) {
            Some(t) => topic_entry(b, &t),
            None => error(ResponseError::UnknownTopicOrPartition),
        },
        Err(e) => {
            tracing::warn!(topic = %name, error = %e, "auto-creating topic failed");
            error(engine_error_code(&e))
        }
    }
}

/// The virtual internal offsets topic (see `internal_topic`): every partition led by the group coordinator of
/// its partition (this node, on a single node) at epoch 0.
fn consumer_offsets_entry(b: &Broker) -> MetadataResponseTopic {
    let partitions = (0..b.config().offsets_topic_partitions)
        .map(|p| {
            let (leader, replicas, isr) =
                super::cluster::leadership(b, internal_topic::CONSUMER_OFFSETS, p);
            MetadataResponsePartition::default()
                .with_partition_index(p as i32)
                .with_error_code(no_leader(leader))
                .with_leader_id(leader)
                .with_leader_epoch(0)
                .with_replica_nodes(replicas)
                .with_isr_nodes(isr)
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_static_str(
            internal_topic::CONSUMER_OFFSETS,
        ))))
        .with_topic_id(internal_topic::CONSUMER_OFFSETS_ID)
        .with_is_internal(true)
        .with_partitions(partitions)
        .with_topic_authorized_operations(OPS_OMITTED)
}

/// A partition without a leader is LEADER_NOT_AVAILABLE (retriable: clients refresh until one is elected).
pub(super) fn no_leader(leader: BrokerId) -> i16 {
    if leader.0 < 0 {
        ResponseError::LeaderNotAvailable.code()
    } else {
        0
    }
}

/// The view's epoch when it knows one, else the local log's (a single node's own leadership).
pub(super) fn leader_epoch(b: &Broker, topic: &str, p: u32) -> i32 {
    b.cluster()
        .partition_leadership(topic, p)
        .and_then(|l| l.leader_epoch)
        .or_else(|| {
            b.engine()
                .partition(topic, p)
                .ok()
                .and_then(|p| p.latest_epoch())
        })
        .unwrap_or(0)
}

fn topic_entry(b: &Broker, t: &TopicInfo) -> MetadataResponseTopic {
    let partitions = (0..t.partitions)
        .map(|p| {
            let (leader, replicas, isr) = super::cluster::leadership(b, &t.name, p);
            let epoch = leader_epoch(b, &t.name, p);
            MetadataResponsePartition::default()
                .with_partition_index(p as i32)
                .with_error_code(no_leader(leader))
                .with_leader_id(leader)
                .with_leader_epoch(epoch)
                .with_replica_nodes(replicas)
                .with_isr_nodes(isr)
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
        .with_topic_id(t.id)
        .with_partitions(partitions)
        .with_topic_authorized_operations(OPS_OMITTED)
}
