//! ShareAcknowledge (v1–2, KIP-932 and KIP-1222): acknowledgements outside a fetch. Epoch -1 closes the share
//! session after applying them, releasing whatever the member still holds; epoch 0 is refused (a session is
//! opened only by ShareFetch). Decoded and encoded by `share::wire` (the crate stops at v1).

use kafka_protocol::error::ResponseError;

use super::share_fetch::session_error;
use crate::broker::Broker;
use crate::codec::share_wire::{PartitionResp, ShareRequest, ShareResponse, TopicReq, TopicResp};
use crate::coordinator::share::ShareState;
use crate::coordinator::share::ops;
use crate::coordinator::share::session::SessionError;

pub fn handle(b: &Broker, q: ShareRequest) -> ShareResponse {
    let shares = b.shares();
    let group = q.group_id.clone().unwrap_or_default();
    let member = q.member_id.clone().unwrap_or_default();
    let mut st = shares.lock();
    let lock_ms = shares.lock_duration(&st, &group).as_millis() as i32;
    let fail = |code: ResponseError, msg: String| ShareResponse {
        error_code: code.code(),
        error_message: Some(msg),
        acquisition_lock_timeout_ms: lock_ms,
        ..Default::default()
    };
    if group.is_empty() || member.is_empty() {
        return fail(
            ResponseError::InvalidRequest,
            "GroupId and MemberId are required".into(),
        );
    }
    let key = (group.clone(), member.clone());
    let checked = match (q.session_epoch, st.sessions.get_mut(&key)) {
        (0, _) => {
            return fail(
                ResponseError::InvalidShareSessionEpoch,
                "ShareAcknowledge cannot open a share session (epoch 0)".into(),
            );
        }
        (_, None) => Err(SessionError::NotFound),
        (-1, Some(_)) => Ok(()),
        (epoch, Some(s)) => s.advance(epoch),
    };
    if let Err(e) = checked {
        return fail(session_error(e), e.to_string());
    }
    let topics = acknowledge_all(b, &mut st, &group, &member, &q.topics, q.is_renew_ack);
    if q.session_epoch == -1 {
        shares.release_member(&mut st, &group, &member);
        shares.persist_dirty(&mut st);
    }
    ShareResponse {
        acquisition_lock_timeout_ms: lock_ms,
        topics,
        ..Default::default()
    }
}

/// Resolves and acknowledges every partition of a request's topics (acks only; fetching is the caller's).
/// Returns per topic the partitions' acknowledge results.
pub(crate) fn acknowledge_all(
    b: &Broker,
    st: &mut ShareState,
    group: &str,
    member: &str,
    topics: &[TopicReq],
    renew_allowed: bool,
) -> Vec<TopicResp> {
    let shares = b.shares();
    let mut out = Vec::new();
    for t in topics {
        let info = b.topic_ids().lookup(b.engine(), &t.topic_id);
        let mut parts = Vec::new();
        for pr in t.partitions.iter().filter(|p| !p.acks.is_empty()) {
            let result = match &info {
                Err(e) => Err((e.code, e.message.clone())),
                Ok(info) => match super::resolve::partition(b, info, pr.partition) {
                    Err(e) => Err((e.code, e.message)),
                    Ok(p) => ops::apply_acks(
                        shares,
                        st,
                        &(group.to_string(), t.topic_id, pr.partition),
                        &p,
                        member,
                        pr,
                        renew_allowed,
                    ),
                },
            };
            let mut resp = PartitionResp {
                partition: pr.partition,
                leader_id: b.cluster().local_node(),
                ..Default::default()
            };
            if let Err((code, msg)) = result {
                resp.ack_error_code = code.code();
                resp.ack_error_message = Some(msg);
            }
            parts.push(resp);
        }
        if !parts.is_empty() {
            out.push(TopicResp {
                topic_id: t.topic_id,
                partitions: parts,
            });
        }
    }
    shares.persist_dirty(st);
    out
}
