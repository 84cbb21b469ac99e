//! DescribeTopicPartitions (v0, KIP-966): what `Admin.describeTopics` and `kafka-topics.sh --describe` use from
//! Kafka 3.8 on. Topics (the named ones, or every topic the principal may describe) sorted by name, each with its
//! partitions' leader, epoch, replicas and in-sync replicas as Metadata reports them, paginated by
//! `response_partition_limit` with a cursor.
//!
//! As in Kafka: a named topic the principal may not describe is TOPIC_AUTHORIZATION_FAILED, an unknown one
//! UNKNOWN_TOPIC_OR_PARTITION; the limit is capped at 2000 partitions (`max.request.partition.size.limit`); the
//! answer carries each topic's authorized operations. Strait has no eligible leader replicas (ELR, KIP-966's
//! unclean-recovery lists): both lists are empty, and no replica is reported offline.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::authz::{OPS_OMITTED, ResourceKind};
use super::{Ctx, internal_topic};

/// Kafka's `max.request.partition.size.limit`.
const MAX_PARTITIONS: i32 = 2000;

/// A topic of the answer before its partitions are listed.
enum Described {
    Topic {
        name: String,
        id: uuid::Uuid,
        partitions: u32,
        internal: bool,
    },
    Refused {
        name: String,
        code: ResponseError,
    },
}

impl Described {
    fn name(&self) -> &str {
        match self {
            Described::Topic { name, .. } | Described::Refused { name, .. } => name,
        }
    }
}

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let limit = match req.response_partition_limit {
        n if n <= 0 => MAX_PARTITIONS,
        n => n.min(MAX_PARTITIONS),
    } as usize;
    let mut topics = candidates(ctx, &req);
    topics.sort_by(|a, b| a.name().cmp(b.name()));
    topics.dedup_by(|a, b| a.name() == b.name());
    let (from_topic, from_partition) = match &req.cursor {
        Some(c) => (c.topic_name.0.to_string(), c.partition_index.max(0) as u32),
        None => (String::new(), 0),
    };
    let mut out = Vec::new();
    let mut left = limit;
    let mut next_cursor = None;
    for d in topics.iter().filter(|d| d.name() >= from_topic.as_str()) {
        let start = if d.name() == from_topic {
            from_partition
        } else {
            0
        };
        if left == 0 {
            next_cursor = Some(cursor(d.name(), start));
            break;
        }
        match d {
            Described::Refused { name, code } => out.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_error_code(code.code())
                    .with_name(Some(topic_name(name)))
                    .with_topic_authorized_operations(OPS_OMITTED),
            ),
            Described::Topic {
                name,
                id,
                partitions,
                internal,
            } => {
                let end = (*partitions).min(start.saturating_add(left as u32));
                let listed: Vec<_> = (start..end).map(|p| partition(ctx, name, p)).collect();
                left -= listed.len();
                if end < *partitions {
                    next_cursor = Some(cursor(name, end));
                }
                out.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(topic_name(name)))
                        .with_topic_id(*id)
                        .with_is_internal(*internal)
                        .with_partitions(listed)
                        .with_topic_authorized_operations(super::authz::authorized_operations(
                            ctx,
                            ResourceKind::Topic,
                            Resource::Topic(name),
                        )),
                );
                if next_cursor.is_some() {
                    break;
                }
            }
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(out)
        .with_next_cursor(next_cursor)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn cursor(name: &str, partition: u32) -> Cursor {
    Cursor::default()
        .with_topic_name(topic_name(name))
        .with_partition_index(partition as i32)
}

/// The topics the request asks about: the named ones (each known, unknown or refused), or every topic the
/// principal may describe.
fn candidates(ctx: &Ctx<'_>, req: &DescribeTopicPartitionsRequest) -> Vec<Described> {
    let b = ctx.broker;
    let may = |name: &str| super::authz::allowed(ctx, Operation::Describe, Resource::Topic(name));
    let offsets = || Described::Topic {
        name: internal_topic::CONSUMER_OFFSETS.to_string(),
        id: internal_topic::CONSUMER_OFFSETS_ID,
        partitions: b.config().offsets_topic_partitions,
        internal: true,
    };
    if req.topics.is_empty() {
        let mut all: Vec<Described> = b
            .engine()
            .list_topics()
            .into_iter()
            .filter(|t| !internal_topic::is_internal(&t.name) && may(&t.name))
            .map(|t| Described::Topic {
                name: t.name,
                id: t.id,
                partitions: t.partitions,
                internal: false,
            })
            .collect();
        if may(internal_topic::CONSUMER_OFFSETS) {
            all.push(offsets());
        }
        return all;
    }
    req.topics
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            if !may(&name) {
                return Described::Refused {
                    name,
                    code: ResponseError::TopicAuthorizationFailed,
                };
            }
            if internal_topic::is_internal(&name) {
                return offsets();
            }
            match b.engine().topic(&name) {
                Some(info) => Described::Topic {
                    name,
                    id: info.id,
                    partitions: info.partitions,
                    internal: false,
                },
                None => Described::Refused {
                    name,
                    code: ResponseError::UnknownTopicOrPartition,
                },
            }
        })
        .collect()
}

fn partition(ctx: &Ctx<'_>, topic: &str, p: u32) -> DescribeTopicPartitionsResponsePartition {
    let b = ctx.broker;
    let (leader, replicas, isr) = super::cluster::leadership(b, topic, p);
    let epoch = if internal_topic::is_internal(topic) {
        0
    } else {
        super::metadata::leader_epoch(b, topic, p)
    };
    DescribeTopicPartitionsResponsePartition::default()
        .with_error_code(super::metadata::no_leader(leader))
        .with_partition_index(p as i32)
        .with_leader_id(leader)
        .with_leader_epoch(epoch)
        .with_replica_nodes(replicas)
        .with_isr_nodes(isr)
        .with_eligible_leader_replicas(Some(Vec::new()))
        .with_last_known_elr(Some(Vec::new()))
}
