//! `/api/groups` and `/api/groups/{id}`: classic, KIP-848 consumer-protocol and KIP-932 share groups, as
//! ListGroups, DescribeGroups, ConsumerGroupDescribe and ShareGroupDescribe show them, with each committed
//! offset's lag (high watermark minus committed offset). A KCL application is a group too: its checkpoints are
//! the offsets of the group named after the application; it is marked `kcl` when its offsets were committed by
//! the KCL bridge (their metadata carries the bridge's tag).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use strait_kafka::Broker;
use strait_kafka::group::offsets::all_committed;

use super::Console;
use super::topics::engine_error;
use super::web::{ApiError, ApiResult};
use crate::lag::{HighWatermarks, lag};

/// Most groups `/api/groups` lists (the rest are counted in `more`).
pub(super) const MAX_GROUPS: usize = 500;

/// Whether the group's committed offsets came from the KCL bridge.
fn is_kcl(b: &Broker, group: &str) -> bool {
    b.groups().fetch_offsets(group, None).is_ok_and(|topics| {
        topics.iter().any(|(_, ps)| {
            ps.iter().any(|(_, o)| {
                o.as_ref()
                    .is_some_and(|o| strait_kcl_bridge::tag::tag_of(&o.metadata).is_some())
            })
        })
    })
}

pub(super) fn list(c: &Console) -> ApiResult {
    let b = c.broker()?;
    let engine = c.engine()?;
    let hws = HighWatermarks::of(engine);
    // (lag, topics) per group from the committed offsets.
    let mut offsets: HashMap<String, (i64, std::collections::BTreeSet<String>)> = HashMap::new();
    for r in all_committed(engine.meta()).map_err(engine_error)? {
        let e = offsets.entry(r.group).or_default();
        if let Some(hw) = hws.get(&r.topic, r.partition) {
            e.0 += lag(hw, r.offset);
        }
        e.1.insert(r.topic);
    }
    let mut groups: BTreeMap<String, Value> = BTreeMap::new();
    let consumer = b.groups().consumer().list();
    for (id, state) in &consumer {
        let members = b
            .groups()
            .consumer()
            .with_group(id, |g| g.members.len())
            .unwrap_or(0);
        groups.insert(
            id.clone(),
            entry(id, "consumer", state, "consumer", members),
        );
    }
    let classic = b
        .groups()
        .list_groups()
        .map_err(|e| ApiError::internal(format!("listing groups failed: {e:?}")))?;
    for g in classic {
        if groups.contains_key(&g.group_id) {
            continue;
        }
        let members = b
            .groups()
            .describe_group(&g.group_id)
            .map_or(0, |d| d.members.len());
        let e = entry(
            &g.group_id,
            "classic",
            g.state.name(),
            &g.protocol_type,
            members,
        );
        groups.insert(g.group_id, e);
    }
    {
        let st = b.shares().lock();
        for (id, g) in &st.groups {
            groups
                .entry(id.clone())
                .or_insert_with(|| entry(id, "share", g.state(), "share", g.members.len()));
        }
    }
    let total = groups.len();
    let mut out = Vec::new();
    for (id, mut g) in groups.into_iter().take(MAX_GROUPS) {
        if let Some((lag, topics)) = offsets.get(&id) {
            g["lag"] = json!(lag);
            g["topics"] = json!(topics);
            g["kcl"] = json!(is_kcl(b, &id));
        }
        out.push(g);
    }
    Ok(json!({ "groups": out, "more": total.saturating_sub(MAX_GROUPS) }))
}

fn entry(id: &str, kind: &str, state: &str, protocol_type: &str, members: usize) -> Value {
    json!({
        "group_id": id,
        "type": kind,
        "state": state,
        "protocol_type": protocol_type,
        "members": members,
        "lag": null,
        "topics": [],
        "kcl": false,
    })
}

pub(super) fn detail(c: &Console, id: &str) -> ApiResult {
    let b = c.broker()?;
    let engine = c.engine()?;
    let names: HashMap<uuid::Uuid, String> = engine
        .list_topics()
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let name_of = |id: &uuid::Uuid| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let described = if let Some(g) = b.groups().consumer().with_group(id, |g| {
        let members: Vec<Value> = g
            .members
            .values()
            .map(|m| {
                let assigned = m
                    .assigned
                    .iter()
                    .map(|(t, ps)| (name_of(t), ps.iter().copied().collect()));
                member(&m.id, &m.client_id, &m.client_host, assignment(assigned))
            })
            .collect();
        json!({ "type": "consumer", "state": g.state_name(), "protocol_type": "consumer",
                "protocol": g.assignor, "members": members })
    }) {
        g
    } else if let Some(g) = share_group(b, id, &name_of) {
        g
    } else {
        let d = b
            .groups()
            .describe_group(id)
            .map_err(|e| ApiError::bad_request(format!("group {id:?}: {e:?}")))?;
        if d.state.name() == "Dead" {
            return Err(ApiError::not_found(format!("group {id} does not exist")));
        }
        let consumer = d.protocol_type == "consumer";
        let members: Vec<Value> = d
            .members
            .iter()
            .map(|m| {
                // Only the consumer protocol's assignment format is known; other protocols' bytes are opaque.
                let assigned = if consumer {
                    assignment(decode_assignment(&m.assignment).unwrap_or_default())
                } else {
                    json!([])
                };
                member(&m.member_id, &m.client_id, &m.client_host, assigned)
            })
            .collect();
        json!({ "type": "classic", "state": d.state.name(), "protocol_type": d.protocol_type,
                "protocol": d.protocol_data, "members": members })
    };
    let hws = HighWatermarks::of(c.engine()?);
    let mut offsets = Vec::new();
    let mut kcl = false;
    let committed = b
        .groups()
        .fetch_offsets(id, None)
        .map_err(|e| ApiError::bad_request(format!("group {id:?}: {e:?}")))?;
    for (topic, parts) in committed {
        for (partition, o) in parts {
            let Some(o) = o else { continue };
            kcl |= strait_kcl_bridge::tag::tag_of(&o.metadata).is_some();
            let hw = hws.get(&topic, partition);
            offsets.push(json!({
                "topic": topic,
                "partition": partition,
                "committed": o.offset,
                "high_watermark": hw,
                "lag": hw.map(|hw| lag(hw, o.offset)),
                "metadata": o.metadata,
                "commit_timestamp_ms": o.commit_timestamp_ms,
            }));
        }
    }
    offsets.sort_by_key(|o| {
        (
            o["topic"].as_str().map(String::from),
            o["partition"].as_i64(),
        )
    });
    let mut out = described;
    out["group_id"] = json!(id);
    out["kcl"] = json!(kcl);
    out["offsets"] = json!(offsets);
    Ok(out)
}

fn share_group(b: &Broker, id: &str, name_of: &dyn Fn(&uuid::Uuid) -> String) -> Option<Value> {
    let shares = b.shares();
    let st = shares.lock();
    let members: Vec<Value> = match st.groups.get(id) {
        Some(g) => g
            .members
            .iter()
            .map(|(mid, m)| {
                let assigned = m.assignment.iter().map(|(t, ps)| (name_of(t), ps.clone()));
                member(mid, &m.client_id, &m.client_host, assignment(assigned))
            })
            .collect(),
        None if shares.group_exists(&st, id) => Vec::new(),
        None => return None,
    };
    let state = st.groups.get(id).map_or("Empty", |g| g.state());
    Some(
        json!({ "type": "share", "state": state, "protocol_type": "share", "protocol": "simple",
                 "members": members }),
    )
}

fn member(id: &str, client_id: &str, host: &str, assignment: Value) -> Value {
    json!({ "member_id": id, "client_id": client_id, "client_host": host, "assignment": assignment })
}

fn assignment(a: impl IntoIterator<Item = (String, Vec<i32>)>) -> Value {
    let mut v: Vec<(String, Vec<i32>)> = a.into_iter().collect();
    v.sort();
    Value::Array(
        v.into_iter()
            .map(|(topic, mut partitions)| {
                partitions.sort_unstable();
                json!({ "topic": topic, "partitions": partitions })
            })
            .collect(),
    )
}

/// The topics and partitions of a classic consumer-protocol member assignment (Kafka's
/// `ConsumerProtocolAssignment`, versions 0–3, all non-flexible: version, topics with partitions, user data),
/// or `None` when the bytes are not one.
fn decode_assignment(b: &[u8]) -> Option<Vec<(String, Vec<i32>)>> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take(&mut self, n: usize) -> Option<&[u8]> {
            (self.0.len() >= n).then(|| {
                let (h, t) = self.0.split_at(n);
                self.0 = t;
                h
            })
        }
        fn i16(&mut self) -> Option<i16> {
            self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
        }
        fn i32(&mut self) -> Option<i32> {
            self.take(4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
    }
    if b.is_empty() {
        return Some(Vec::new());
    }
    let mut c = Cursor(b);
    let _version = c.i16()?;
    let topics = c.i32()?;
    // Each topic takes at least 6 bytes: a count larger than the bytes left is not an assignment.
    if topics < 0 || topics as usize > c.0.len() / 6 {
        return None;
    }
    let mut out = Vec::with_capacity(topics as usize);
    for _ in 0..topics {
        let len = usize::try_from(c.i16()?).ok()?;
        let name = String::from_utf8(c.take(len)?.to_vec()).ok()?;
        let n = c.i32()?;
        if n < 0 || n as usize > c.0.len() / 4 {
            return None;
        }
        let parts = (0..n).map(|_| c.i32()).collect::<Option<Vec<i32>>>()?;
        out.push((name, parts));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_assignments_decode_and_junk_does_not() {
        let mut b = vec![0, 1, 0, 0, 0, 2];
        for (t, ps) in [("a", vec![0i32, 2]), ("bc", vec![])] {
            b.extend((t.len() as i16).to_be_bytes());
            b.extend(t.as_bytes());
            b.extend((ps.len() as i32).to_be_bytes());
            for p in ps {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((-1i32).to_be_bytes()); // null user data
        assert_eq!(
            decode_assignment(&b),
            Some(vec![("a".into(), vec![0, 2]), ("bc".into(), vec![])])
        );
        assert_eq!(decode_assignment(&[]), Some(vec![]));
        assert_eq!(decode_assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff]), None);
        assert_eq!(decode_assignment(&b[..9]), None);
    }

    #[test]
    fn assignments_are_sorted_and_lag_is_never_negative() {
        let v = assignment([("b".into(), vec![3, 1]), ("a".into(), vec![0])]);
        assert_eq!(
            v,
            json!([{"topic": "a", "partitions": [0]}, {"topic": "b", "partitions": [1, 3]}])
        );
        assert_eq!((lag(10, 4), lag(10, 12)), (6, 0));
    }
}
