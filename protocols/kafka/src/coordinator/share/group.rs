//! The share-group membership half of the coordinator: ShareGroupHeartbeat's member epochs and the assignment.
//!
//! A member joins with epoch 0 and a non-empty subscription, is fenced (FENCED_MEMBER_EPOCH) when it sends an
//! epoch other than its current one, is unknown (UNKNOWN_MEMBER_ID) once it left or expired, and leaves with -1.
//! Every member gets every partition of every topic it subscribes to: in a share group several members may
//! consume one partition at once, and the share-partition hands each record to one of them. The group epoch
//! moves when membership or a member's assignment changes; a member's epoch is the group epoch of its latest
//! assignment.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Topic id → partitions.
pub type Assignment = BTreeMap<uuid::Uuid, Vec<i32>>;

#[derive(Debug, Clone)]
pub struct Member {
    pub epoch: i32,
    pub subscribed: Vec<String>,
    pub rack: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub assignment: Assignment,
    pub last_seen: Instant,
}

#[derive(Debug, Default)]
pub struct ShareGroup {
    pub epoch: i32,
    pub members: HashMap<String, Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    #[error("member {0} is not a member of the group")]
    UnknownMember(String),
    #[error("member epoch {got} does not match the current epoch {current}")]
    Fenced { got: i32, current: i32 },
    #[error("{0}")]
    Invalid(String),
}

/// What one heartbeat asks.
#[derive(Debug, Clone)]
pub struct Heartbeat<'a> {
    pub member_id: &'a str,
    pub member_epoch: i32,
    pub rack: Option<String>,
    pub subscribed: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

impl ShareGroup {
    /// Handles a join or a regular heartbeat (not a leave). `topics` is (name, id, partitions) of every topic a
    /// share group may consume. Returns the member epoch and the assignment when it is new to the member.
    pub fn heartbeat(
        &mut self,
        h: Heartbeat<'_>,
        topics: &[(String, uuid::Uuid, u32)],
        now: Instant,
    ) -> Result<(i32, Option<Assignment>), HeartbeatError> {
        if h.member_id.is_empty() {
            return Err(HeartbeatError::Invalid("MemberId can't be empty.".into()));
        }
        let joining = h.member_epoch == 0;
        if joining {
            if h.subscribed.as_ref().is_none_or(|s| s.is_empty()) {
                return Err(HeartbeatError::Invalid(
                    "SubscribedTopicNames must be set in first request.".into(),
                ));
            }
            self.members.insert(
                h.member_id.to_string(),
                Member {
                    epoch: 0,
                    subscribed: Vec::new(),
                    rack: None,
                    client_id: h.client_id.clone(),
                    client_host: h.client_host.clone(),
                    assignment: Assignment::new(),
                    last_seen: now,
                },
            );
        } else if h.member_epoch < 0 {
            return Err(HeartbeatError::Invalid(format!(
                "MemberEpoch {} is invalid",
                h.member_epoch
            )));
        }
        let group_epoch = self.epoch;
        let Some(m) = self.members.get_mut(h.member_id) else {
            return Err(HeartbeatError::UnknownMember(h.member_id.to_string()));
        };
        if !joining && h.member_epoch != m.epoch {
            return Err(HeartbeatError::Fenced {
                got: h.member_epoch,
                current: m.epoch,
            });
        }
        m.last_seen = now;
        if let Some(s) = h.subscribed {
            m.subscribed = s;
        }
        if h.rack.is_some() {
            m.rack = h.rack;
        }
        let target = assignment_for(&m.subscribed, topics);
        if joining || target != m.assignment {
            let epoch = group_epoch + 1;
            m.assignment = target.clone();
            m.epoch = epoch;
            self.epoch = epoch;
            return Ok((epoch, Some(target)));
        }
        Ok((m.epoch, None))
    }

    /// Removes a member (leave or expiry); returns whether it was there.
    pub fn remove(&mut self, member: &str) -> bool {
        let removed = self.members.remove(member).is_some();
        if removed {
            self.epoch += 1;
        }
        removed
    }

    /// Members whose session timed out.
    pub fn expired(&self, now: Instant, timeout: std::time::Duration) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, m)| now.duration_since(m.last_seen) > timeout)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Kafka's share-group states: Empty without members, else Stable (assignment is immediate).
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }
}

fn assignment_for(subscribed: &[String], topics: &[(String, uuid::Uuid, u32)]) -> Assignment {
    let mut a = Assignment::new();
    for (name, id, n) in topics {
        if subscribed.iter().any(|s| s == name) && *n > 0 {
            a.insert(*id, (0..*n as i32).collect());
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb<'a>(id: &'a str, epoch: i32, subs: Option<&[&str]>) -> Heartbeat<'a> {
        Heartbeat {
            member_id: id,
            member_epoch: epoch,
            rack: None,
            subscribed: subs.map(|s| s.iter().map(|s| s.to_string()).collect()),
            client_id: "c".into(),
            client_host: "h".into(),
        }
    }

    #[test]
    fn join_heartbeat_fence_leave() {
        let t = uuid::Uuid::from_u128(1);
        let topics = vec![("t".to_string(), t, 2)];
        let now = Instant::now();
        let mut g = ShareGroup::default();
        let (e, a) = g
            .heartbeat(hb("a", 0, Some(&["t"])), &topics, now)
            .expect("join");
        assert_eq!(e, 1);
        assert_eq!(a.expect("assigned")[&t], vec![0, 1]);
        let (e2, a2) = g
            .heartbeat(hb("b", 0, Some(&["t"])), &topics, now)
            .expect("join");
        assert_eq!((e2, a2.map(|a| a[&t].clone())), (2, Some(vec![0, 1])));
        // Both share both partitions; a steady heartbeat changes nothing.
        assert_eq!(g.heartbeat(hb("a", 1, None), &topics, now), Ok((1, None)));
        assert!(matches!(
            g.heartbeat(hb("a", 7, None), &topics, now),
            Err(HeartbeatError::Fenced { got: 7, current: 1 })
        ));
        assert!(matches!(
            g.heartbeat(hb("zz", 3, None), &topics, now),
            Err(HeartbeatError::UnknownMember(_))
        ));
        assert!(matches!(
            g.heartbeat(hb("c", 0, None), &topics, now),
            Err(HeartbeatError::Invalid(_))
        ));
        assert!(g.remove("a"));
        assert!(!g.remove("a"));
    }
}
