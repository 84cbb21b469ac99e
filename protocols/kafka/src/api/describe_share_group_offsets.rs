//! DescribeShareGroupOffsets (v0): each share-partition's start offset (SPSO). Null topics means every
//! share-partition the group has; a partition without share state answers -1, as Kafka does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{
    DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::Ctx;
use crate::coordinator::share::store;

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: DescribeShareGroupOffsetsRequest,
) -> DescribeShareGroupOffsetsResponse {
    let b = ctx.broker;
    let shares = b.shares();
    let topics = b.engine().list_topics();
    let st = shares.lock();
    let groups = req
        .groups
        .iter()
        .map(|g| {
            let group = g.group_id.0.to_string();
            // Kafka: GROUP DESCRIBE for the group, TOPIC DESCRIBE per topic (refused when named, left out when
            // listing everything).
            if super::authz::group(ctx, Operation::Describe, &group).is_err() {
                return DescribeShareGroupOffsetsResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code());
            }
            if let Some(e) = super::coordinator_gate::refusal(b, strait_engine::cluster::CoordinatorKind::Group, &group) {
                return DescribeShareGroupOffsetsResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(e.code());
            }
            let may = |t: &str| super::authz::topic(ctx, Operation::Describe, t).is_ok();
            // Live state first, then what is persisted (a restarted broker has only the latter).
            let mut starts: std::collections::BTreeMap<(uuid::Uuid, i32), i64> =
                store::load_group_starts(&shares.meta, &group)
                    .into_iter()
                    .map(|(id, p, s)| ((id, p), s))
                    .collect();
            for ((gid, id, p), sp) in st.partitions.iter() {
                if *gid == group {
                    starts.insert((*id, *p), sp.start_offset());
                }
            }
            let wanted: Vec<(String, Vec<i32>)> = match &g.topics {
                Some(ts) => ts
                    .iter()
                    .map(|t| (t.topic_name.0.to_string(), t.partitions.clone()))
                    .collect(),
                None => topics
                    .iter()
                    .filter_map(|t| {
                        let ps: Vec<i32> = starts
                            .keys()
                            .filter(|(id, _)| *id == t.id)
                            .map(|(_, p)| *p)
                            .collect();
                        (!ps.is_empty() && may(&t.name)).then(|| (t.name.clone(), ps))
                    })
                    .collect(),
            };
            let resp_topics = wanted
                .into_iter()
                .map(|(name, ps)| {
                    let info = topics.iter().find(|t| t.name == name);
                    let id = info.map(|t| t.id).unwrap_or_default();
                    let partitions = ps
                        .into_iter()
                        .map(|p| {
                            let base = DescribeShareGroupOffsetsResponsePartition::default()
                                .with_partition_index(p)
                                .with_leader_epoch(0);
                            if !may(&name) {
                                return base
                                    .with_start_offset(-1)
                                    .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                            }
                            match info {
                                None => base
                                    .with_start_offset(-1)
                                    .with_error_code(
                                        kafka_protocol::error::ResponseError::UnknownTopicOrPartition
                                            .code(),
                                    )
                                    .with_error_message(Some(StrBytes::from_string(format!(
                                        "unknown topic '{name}'"
                                    )))),
                                Some(_) => base
                                    .with_start_offset(starts.get(&(id, p)).copied().unwrap_or(-1)),
                            }
                        })
                        .collect();
                    DescribeShareGroupOffsetsResponseTopic::default()
                        .with_topic_name(TopicName(StrBytes::from_string(name)))
                        .with_topic_id(id)
                        .with_partitions(partitions)
                })
                .collect();
            DescribeShareGroupOffsetsResponseGroup::default()
                .with_group_id(g.group_id.clone())
                .with_topics(resp_topics)
        })
        .collect();
    DescribeShareGroupOffsetsResponse::default().with_groups(groups)
}
