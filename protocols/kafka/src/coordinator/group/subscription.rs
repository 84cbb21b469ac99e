//! The topics a consumer group subscribes to, read from its members' protocol metadata. The broker is otherwise
//! agnostic of what members put there; OffsetDelete needs this to refuse deleting offsets of topics the group
//! still consumes (GROUP_SUBSCRIBED_TO_TOPIC).

use std::collections::HashSet;

use bytes::Buf;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

use super::state::Group;

/// The protocol type Java, librdkafka and franz-go consumers use.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The union of the members' subscribed topics, or `None` when unknown: not a consumer group, no protocol
/// chosen yet, or metadata that does not parse (Kafka treats that as "unknown" too).
pub(crate) fn topics(group: &Group) -> Option<HashSet<String>> {
    if group.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
        return None;
    }
    if group.members.is_empty() {
        return Some(HashSet::new());
    }
    let protocol = group.protocol_name.as_deref()?;
    let mut all = HashSet::new();
    for m in group.members.values() {
        let mut buf = m.metadata(protocol);
        if buf.remaining() < 2 {
            return None;
        }
        // Every version of the subscription starts with the v0 layout, so decoding as v0 reads any of them.
        let _version = buf.get_i16();
        match ConsumerProtocolSubscription::decode(&mut buf, 0) {
            Ok(s) => all.extend(s.topics.iter().map(|t| t.to_string())),
            Err(e) => {
                tracing::warn!(group = %group.id, member = %m.id, error = %e, "unparsable consumer subscription");
                return None;
            }
        }
    }
    Some(all)
}

/// Whether OffsetDelete must keep the offsets of `topic`: subscribed, or unknown for a consumer group.
pub(crate) fn is_subscribed(group: &Group, topic: &str) -> bool {
    match &group.subscribed_topics {
        Some(topics) => topics.contains(topic),
        None => group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE),
    }
}
