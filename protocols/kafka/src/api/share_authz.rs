//! Authorization of ShareFetch and ShareAcknowledge, whose bodies bypass the generated codec: GROUP READ for the
//! request (a top-level GROUP_AUTHORIZATION_FAILED), then TOPIC READ per topic. As in Kafka, a refused topic is
//! taken out of the request and answered TOPIC_AUTHORIZATION_FAILED on each of its partitions.

use kafka_protocol::error::ResponseError;
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz::allowed;
use crate::codec::share_wire::{PartitionResp, ShareRequest, ShareResponse, TopicResp};

/// What may proceed of a share request.
pub(super) enum Checked {
    /// The whole request is refused with this response.
    Refused(ShareResponse),
    /// The request without its refused topics, and the answers for those.
    Proceed(ShareRequest, Vec<TopicResp>),
}

pub(super) fn check(ctx: &Ctx<'_>, mut q: ShareRequest) -> Checked {
    let group = q.group_id.clone().unwrap_or_default();
    if !allowed(ctx, Operation::Read, Resource::Group(&group)) {
        return Checked::Refused(ShareResponse {
            error_code: ResponseError::GroupAuthorizationFailed.code(),
            ..Default::default()
        });
    }
    let b = ctx.broker;
    let code = ResponseError::TopicAuthorizationFailed.code();
    let mut refused = Vec::new();
    q.topics.retain(|t| {
        // Unknown ids are left to the handler, which answers UNKNOWN_TOPIC_ID.
        let Ok(info) = b.topic_ids().lookup(b.engine(), &t.topic_id) else {
            return true;
        };
        if allowed(ctx, Operation::Read, Resource::Topic(&info.name)) {
            return true;
        }
        refused.push(TopicResp {
            topic_id: t.topic_id,
            partitions: t
                .partitions
                .iter()
                .map(|p| PartitionResp {
                    partition: p.partition,
                    error_code: code,
                    ack_error_code: if p.acks.is_empty() { 0 } else { code },
                    ..Default::default()
                })
                .collect(),
        });
        false
    });
    Checked::Proceed(q, refused)
}
