//! ConsumerGroupHeartbeat (v0–1, KIP-848): join, stay, reconcile and leave a consumer-protocol group. The
//! broker resolves subscriptions (names or a regex, matched against every topic including the internal
//! `__consumer_offsets`), computes assignments with its assignor and hands each member its partitions by topic id.

use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::broker::Broker;
use crate::coordinator::consumer_group::assignor;
use crate::coordinator::consumer_group::heartbeat::{Heartbeat, TopicMeta};

/// Every topic a subscription may match: the engine's and the virtual internal one.
pub(crate) fn topic_universe(b: &Broker) -> Vec<TopicMeta> {
    crate::topics::resolve::universe(b.engine(), b.config().offsets_topic_partitions)
}

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let b = ctx.broker;
    let owned = req.topic_partitions.as_ref().map(|ts| {
        let mut a = assignor::Assignment::new();
        for t in ts {
            a.entry(t.topic_id)
                .or_default()
                .extend(t.partitions.iter().copied());
        }
        a.retain(|_, ps| !ps.is_empty());
        a
    });
    let h = Heartbeat {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: req.rack_id.as_ref().map(|s| s.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_names: req
            .subscribed_topic_names
            .as_ref()
            .map(|ns| ns.iter().map(|n| n.0.to_string()).collect()),
        subscribed_regex: req.subscribed_topic_regex.as_ref().map(|s| s.to_string()),
        server_assignor: req.server_assignor.as_ref().map(|s| s.to_string()),
        owned,
        client_id: ctx
            .header
            .client_id
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        client_host: super::join_group::client_host(ctx),
    };
    let groups = b.groups();
    let classic = groups.classic_has_members(&h.group_id);
    let interval = groups.consumer().config().heartbeat_interval.as_millis() as i32;
    match groups.consumer().heartbeat(h, &topic_universe(b), classic) {
        Ok(r) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(StrBytes::from_string(r.member_id)))
            .with_member_epoch(r.member_epoch)
            .with_heartbeat_interval_ms(interval)
            .with_assignment(r.assignment.map(|a| {
                Assignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(id, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(id)
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            })),
        Err((code, msg)) => ConsumerGroupHeartbeatResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(msg)))
            .with_member_epoch(-1)
            .with_heartbeat_interval_ms(0),
    }
}
