//! CreateTopics (v2–7): validates each topic the way Apache Kafka 4.x's controller does (name, existence,
//! partition count, replication factor or manual assignment, then configs), and creates it unless the request
//! is validate_only. v5+ answers with the topic's partition count, replication factor and every config.

use std::collections::{BTreeSet, HashMap, HashSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{BrokerId, CreateTopicsRequest, CreateTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use super::topic_configs::{self, ConfigMap};
use crate::broker::Broker;
use crate::error::ApiError;

/// Most partitions one request may add to a topic. Kafka has no per-topic limit but its controller caps the
/// records of one operation at 10,000; without a bound here a single request could make the engine create
/// millions of partition directories.
pub(super) const MAX_NEW_PARTITIONS: i64 = 10_000;

/// What was (or, for validate_only, would be) created.
struct Created {
    id: uuid::Uuid,
    partitions: u32,
    /// What the request asked for (the default for -1); see [`replication_factor`].
    replication_factor: i16,
    overrides: ConfigMap,
}

/// CLUSTER CREATE covers every topic; otherwise TOPIC CREATE on the name (Kafka's rule).
fn may_create(ctx: &Ctx<'_>, name: &str) -> bool {
    use strait_access::{Operation, Resource};
    super::authz::allowed(ctx, Operation::Create, Resource::Cluster)
        || super::authz::allowed(ctx, Operation::Create, Resource::Topic(name))
}

pub async fn handle(ctx: &mut Ctx<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let b = ctx.broker;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(&*t.name.0).or_default() += 1;
    }
    // One result per name, as Kafka's result collection is keyed by name; a repeated name is never created.
    let mut answered = HashSet::new();
    let mut results = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name: &str = &t.name.0;
        if !answered.insert(name) {
            continue;
        }
        let outcome = if counts[name] > 1 {
            Err(ApiError::new(
                ResponseError::InvalidRequest,
                "Duplicate topic name.",
            ))
        } else if !may_create(ctx, name) {
            Err(ApiError::new(
                ResponseError::TopicAuthorizationFailed,
                format!("{} may not create topic '{name}'", ctx.session.principal),
            ))
        } else {
            create(b, t, req.validate_only).await
        };
        results.push(match outcome {
            Ok(c) => success(b, t.name.clone(), c),
            Err(e) => CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(e.code.code())
                .with_error_message(Some(StrBytes::from_string(e.message))),
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

async fn create(b: &Broker, t: &CreatableTopic, validate_only: bool) -> Result<Created, ApiError> {
    let engine = b.engine();
    let name: &str = &t.name.0;
    strait_engine::validate_topic_name(name)?;
    if crate::topics::internal::is_internal(name) {
        return Err(crate::topics::internal::create_refused(name));
    }
    if engine.topic(name).is_some() {
        return Err(ApiError::new(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' already exists."),
        ));
    }
    // Kafka refuses names that differ only in '.' versus '_', which collide in metric names.
    let unify = |s: &str| s.replace('.', "_");
    if let Some(other) = engine
        .list_topics()
        .into_iter()
        .find(|o| o.name != name && unify(&o.name) == unify(name))
    {
        return Err(ApiError::new(
            ResponseError::InvalidTopicException,
            format!(
                "Topic '{name}' collides with existing topic: {}",
                other.name
            ),
        ));
    }
    let partitions = partition_count(b, t)?;
    // Later entries for the same key win, as in Kafka.
    let mut overrides = ConfigMap::new();
    for c in &t.configs {
        let value = topic_configs::require_value(&c.name, c.value.as_ref())?;
        overrides.insert(c.name.to_string(), value);
    }
    let validated = topic_configs::validate(&engine.config().topic_defaults, &overrides)?;
    if validate_only {
        // Nothing exists, so there is no topic id to report.
        return Ok(Created {
            id: uuid::Uuid::nil(),
            partitions,
            replication_factor: replication_factor(b, t),
            overrides,
        });
    }
    let _writes = topic_configs::config_writes().await;
    let info = engine
        .create_topic(name, partitions, validated.engine.clone())
        .await?;
    if !validated.extra.is_empty()
        && let Err(e) = topic_configs::store_extras(engine, info.id, &validated.extra).await
    {
        // Undo, so that the client's retry creates the topic with all its configs instead of finding a topic
        // that silently lacks some.
        if let Err(undo) = engine.delete_topic(name).await {
            tracing::warn!(topic = name, error = %undo, "could not remove a half-created topic");
        }
        return Err(e.into());
    }
    Ok(Created {
        id: info.id,
        partitions: info.partitions,
        replication_factor: replication_factor(b, t),
        overrides,
    })
}

/// The replication factor a validated request asked for: the explicit one, the length of a manual assignment's
/// replica lists, or for -1 the default (Kafka's issue-15 default of 3 replicas where there are 3+ nodes, else
/// every node). Placement belongs to the cluster view, and the engine's topic record has no field for this yet,
/// so it is reported, not stored.
fn replication_factor(b: &Broker, t: &CreatableTopic) -> i16 {
    if let Some(a) = t.assignments.first() {
        return i16::try_from(a.broker_ids.len()).unwrap_or(i16::MAX);
    }
    if t.replication_factor > 0 {
        return t.replication_factor;
    }
    let nodes = b.cluster().nodes().len().clamp(1, 3);
    i16::try_from(nodes).unwrap_or(1)
}

/// The partition count, from the explicit count (or the broker default) or from a manual assignment.
fn partition_count(b: &Broker, t: &CreatableTopic) -> Result<u32, ApiError> {
    let count = if t.assignments.is_empty() {
        let rf = t.replication_factor;
        if rf == 0 || rf < -1 {
            return Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        if t.num_partitions == 0 || t.num_partitions < -1 {
            return Err(ApiError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        let nodes = b.cluster().nodes().len();
        if nodes <= 1 && rf > 1 {
            return Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} \
                     cannot be reached because only 1 broker(s) are registered (Strait is a single node; \
                     use replication factor 1 or -1)."
                ),
            ));
        }
        if usize::try_from(rf).is_ok_and(|rf| rf > nodes) {
            return Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} \
                     cannot be reached because only {nodes} broker(s) are registered."
                ),
            ));
        }
        if t.num_partitions == -1 {
            i64::from(b.config().default_partitions)
        } else {
            i64::from(t.num_partitions)
        }
    } else {
        if t.replication_factor != -1 || t.num_partitions != -1 {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                "A manual partition assignment was specified, but numPartitions and replicationFactor were \
                 not both set to -1.",
            ));
        }
        let mut indexes = BTreeSet::new();
        for a in &t.assignments {
            if !indexes.insert(a.partition_index) {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Found multiple manual partition assignments for partition {}",
                        a.partition_index
                    ),
                ));
            }
            check_replicas(b, &a.broker_ids)?;
            if a.broker_ids.len() != t.assignments[0].broker_ids.len() {
                return Err(ApiError::new(
                    ResponseError::InvalidReplicaAssignment,
                    "All partitions should have the same number of replicas.",
                ));
            }
        }
        if indexes.iter().copied().ne(0..indexes.len() as i32) {
            return Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                "partitions should be a consecutive 0-based integer sequence",
            ));
        }
        indexes.len() as i64
    };
    if count > MAX_NEW_PARTITIONS {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!(
                "Strait creates at most {MAX_NEW_PARTITIONS} partitions in one request; {count} were asked for."
            ),
        ));
    }
    Ok(count as u32)
}

/// Checks one partition's manual replica list: every broker must be a node of the cluster view, once. On a
/// single node the only valid list is `[our node id]`.
pub(super) fn check_replicas(b: &Broker, ids: &[BrokerId]) -> Result<(), ApiError> {
    let nodes: Vec<i32> = b.cluster().nodes().iter().map(|n| n.id).collect();
    let invalid = |m: String| Err(ApiError::new(ResponseError::InvalidReplicaAssignment, m));
    if ids.is_empty() {
        return invalid("The manual partition assignment includes an empty replica list.".into());
    }
    let mut seen = HashSet::new();
    for id in ids {
        if !nodes.contains(&id.0) {
            return invalid(match nodes.as_slice() {
                [node] => format!(
                    "The manual partition assignment includes broker {}, but no such broker is registered \
                     (this single-node cluster has only broker {node}).",
                    id.0
                ),
                _ => format!(
                    "The manual partition assignment includes broker {}, but no such broker is registered \
                     (the cluster's brokers are {nodes:?}).",
                    id.0
                ),
            });
        }
        if !seen.insert(id.0) {
            return invalid(format!(
                "The manual partition assignment includes the broker {} more than once.",
                id.0
            ));
        }
    }
    Ok(())
}

fn success(b: &Broker, name: TopicName, c: Created) -> CreatableTopicResult {
    let defaults = &b.engine().config().topic_defaults;
    let configs = topic_configs::describe_topic(defaults, &c.overrides)
        .into_iter()
        .map(|d| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(d.name))
                .with_value(Some(StrBytes::from_string(d.value)))
                .with_read_only(d.read_only)
                .with_config_source(d.source)
                .with_is_sensitive(false)
        })
        .collect();
    CreatableTopicResult::default()
        .with_name(name)
        .with_topic_id(c.id)
        .with_error_code(0)
        .with_error_message(None)
        .with_num_partitions(c.partitions as i32)
        .with_replication_factor(c.replication_factor)
        .with_configs(Some(configs))
}
