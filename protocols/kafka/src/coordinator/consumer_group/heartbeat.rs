//! ConsumerGroupHeartbeat: joining, leaving, subscription changes, the target assignment and each member's
//! reconciliation towards it (Kafka's `GroupMetadataManager.consumerGroupHeartbeat` and
//! `CurrentAssignmentBuilder`).
//!
//! A member moves to a new epoch only after revoking every partition its target no longer holds, and it receives
//! a partition only after its previous owner has revoked it; so no partition ever has two owners.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

use super::assignor::{self, Assignment, MemberSpec};
use super::member::{ConsumerGroup, Member, MemberState};

/// A topic the broker knows: name, id, partition count.
pub type TopicMeta = (String, uuid::Uuid, u32);

/// One heartbeat in domain terms.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_names: Option<Vec<String>>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// Partitions the member owns; `None`: unchanged since its last heartbeat.
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
}

/// What the member is told.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatReply {
    pub member_id: String,
    pub member_epoch: i32,
    /// Sent when it changed or the member may not know it.
    pub assignment: Option<Assignment>,
}

pub type HbError = (ResponseError, String);

fn err(code: ResponseError, msg: impl Into<String>) -> HbError {
    (code, msg.into())
}

/// Checks the request on its own (Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`).
pub fn validate(h: &Heartbeat) -> Result<(), HbError> {
    if h.group_id.is_empty() {
        return Err(err(
            ResponseError::InvalidRequest,
            "GroupId can't be empty.",
        ));
    }
    if h.member_id.is_empty() {
        return Err(err(
            ResponseError::InvalidRequest,
            "MemberId can't be empty.",
        ));
    }
    if h.instance_id.as_deref() == Some("") {
        return Err(err(
            ResponseError::InvalidRequest,
            "InstanceId can't be empty.",
        ));
    }
    match h.member_epoch {
        0 => {
            if h.rebalance_timeout_ms <= 0 {
                return Err(err(
                    ResponseError::InvalidRequest,
                    "RebalanceTimeoutMs must be provided in first request.",
                ));
            }
            if h.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                return Err(err(
                    ResponseError::InvalidRequest,
                    "TopicPartitions must be empty when (re-)joining.",
                ));
            }
            if h.subscribed_names.is_none() && h.subscribed_regex.is_none() {
                return Err(err(
                    ResponseError::InvalidRequest,
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                ));
            }
        }
        -2 if h.instance_id.is_none() => {
            return Err(err(
                ResponseError::InvalidRequest,
                "InstanceId can't be null for a static leave (epoch -2).",
            ));
        }
        e if e < -2 => {
            return Err(err(
                ResponseError::InvalidRequest,
                format!("MemberEpoch {e} is invalid."),
            ));
        }
        _ => {}
    }
    if let Some(a) = &h.server_assignor
        && !assignor::known(a)
    {
        return Err(err(
            ResponseError::UnsupportedAssignor,
            format!("ServerAssignor {a} is not supported."),
        ));
    }
    if let Some(r) = &h.subscribed_regex {
        compile(r)?;
    }
    Ok(())
}

/// Kafka matches a subscription regex against whole topic names.
pub fn compile(r: &str) -> Result<regex::Regex, HbError> {
    regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| {
        err(
            ResponseError::InvalidRegularExpression,
            format!("SubscribedTopicRegex {r} is invalid: {e}"),
        )
    })
}

/// The topics (name → id, partitions) a member subscribes to.
fn subscribed(m: &Member, topics: &[TopicMeta]) -> BTreeMap<String, (uuid::Uuid, u32)> {
    let re = m.subscribed_regex.as_deref().and_then(|r| compile(r).ok());
    topics
        .iter()
        .filter(|(name, _, _)| {
            m.subscribed_names.contains(name) || re.as_ref().is_some_and(|re| re.is_match(name))
        })
        .map(|(n, id, p)| (n.clone(), (*id, *p)))
        .collect()
}

fn minus(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let rest: BTreeSet<i32> = match b.get(t) {
            Some(other) => ps.difference(other).copied().collect(),
            None => ps.clone(),
        };
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

fn intersect(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        if let Some(other) = b.get(t) {
            let both: BTreeSet<i32> = ps.intersection(other).copied().collect();
            if !both.is_empty() {
                out.insert(*t, both);
            }
        }
    }
    out
}

fn overlaps(a: &Assignment, b: &Assignment) -> bool {
    a.iter()
        .any(|(t, ps)| b.get(t).is_some_and(|o| !ps.is_disjoint(o)))
}

impl ConsumerGroup {
    /// Recomputes the subscribed topics' metadata; returns whether it changed (which needs a new group epoch).
    pub fn refresh_topics(&mut self, topics: &[TopicMeta]) -> bool {
        let mut now = BTreeMap::new();
        for m in self.members.values() {
            now.extend(subscribed(m, topics));
        }
        if now == self.topics {
            return false;
        }
        self.topics = now;
        true
    }

    /// Computes the target assignment for the current group epoch if it is stale.
    pub fn update_target(&mut self, topics: &[TopicMeta]) {
        if self.assignment_epoch >= self.group_epoch {
            return;
        }
        let subs: Vec<(String, BTreeSet<uuid::Uuid>)> = self
            .members
            .values()
            .map(|m| {
                (
                    m.id.clone(),
                    subscribed(m, topics).values().map(|(id, _)| *id).collect(),
                )
            })
            .collect();
        let specs: Vec<MemberSpec<'_>> = subs
            .iter()
            .map(|(id, t)| MemberSpec {
                id,
                topics: t.clone(),
            })
            .collect();
        let counts: BTreeMap<uuid::Uuid, u32> = self.topics.values().copied().collect();
        // The assignor the members ask for (the first one any member names), else uniform.
        if let Some(a) = self
            .members
            .values()
            .find_map(|m| m.server_assignor.clone())
        {
            self.assignor = a;
        }
        self.target = assignor::assign(&self.assignor, &specs, &counts, &self.target);
        self.assignment_epoch = self.group_epoch;
    }

    /// Moves a member towards its target as far as it can go now.
    pub fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment>, now: Instant) {
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let assignment_epoch = self.assignment_epoch;
        let Some(m) = self.members.get_mut(member_id) else {
            return;
        };
        if m.state == MemberState::UnrevokedPartitions {
            // Revoked once the member no longer reports any of the partitions it had to give up.
            match owned {
                Some(o) if !overlaps(o, &m.pending_revocation) => {
                    let released = std::mem::take(&mut m.pending_revocation);
                    m.state = MemberState::Stable;
                    m.revocation_deadline = None;
                    for (t, ps) in released {
                        for p in ps {
                            if self.owners.get(&(t, p)).is_some_and(|o| o == member_id) {
                                self.owners.remove(&(t, p));
                            }
                        }
                    }
                }
                _ => return,
            }
        }
        let Some(m) = self.members.get_mut(member_id) else {
            return;
        };
        if m.state == MemberState::Stable && m.epoch == assignment_epoch {
            return;
        }
        let keep = intersect(&m.assigned, &target);
        let revoke = minus(&m.assigned, &target);
        if !revoke.is_empty() {
            m.assigned = keep;
            m.pending_revocation = revoke;
            m.state = MemberState::UnrevokedPartitions;
            m.revocation_deadline =
                Some(now + Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64));
            return;
        }
        let mut assigned = keep;
        let mut unreleased = false;
        for (t, ps) in minus(&target, &m.assigned) {
            for p in ps {
                match self.owners.get(&(t, p)) {
                    Some(o) if o != member_id => unreleased = true,
                    _ => {
                        assigned.entry(t).or_default().insert(p);
                        self.owners.insert((t, p), member_id.to_string());
                    }
                }
            }
        }
        m.assigned = assigned;
        if m.epoch != assignment_epoch {
            m.previous_epoch = m.epoch;
            m.epoch = assignment_epoch;
        }
        m.state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
    }

    /// Handles one heartbeat (already validated) against this group.
    pub fn heartbeat(
        &mut self,
        h: Heartbeat,
        topics: &[TopicMeta],
        now: Instant,
    ) -> Result<HeartbeatReply, HbError> {
        if h.member_epoch < 0 {
            return self.leave(&h);
        }
        let mut full = h.member_epoch == 0;
        // Every change of membership, subscriptions or subscribed metadata in this heartbeat makes one new
        // group epoch.
        let mut changed = false;
        if h.member_epoch == 0 {
            changed = self.join(&h, now)?;
        } else {
            let Some(m) = self.members.get(&h.member_id) else {
                return Err(err(
                    ResponseError::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {}.",
                        h.member_id, self.id
                    ),
                ));
            };
            if m.left_static || h.member_epoch > m.epoch {
                return Err(err(
                    ResponseError::FencedMemberEpoch,
                    "The consumer group member has a greater member epoch than expected.",
                ));
            }
            if h.member_epoch < m.epoch {
                // A member that missed the response giving it its current epoch may still use the previous one,
                // as long as it does not claim partitions it no longer has.
                let lost_response = h.member_epoch == m.previous_epoch
                    && h.owned
                        .as_ref()
                        .is_some_and(|o| minus(o, &m.assigned).is_empty());
                if !lost_response {
                    return Err(err(
                        ResponseError::FencedMemberEpoch,
                        "The consumer group member has a smaller member epoch than expected.",
                    ));
                }
                full = true;
            }
        }
        let m = self
            .members
            .get_mut(&h.member_id)
            .expect("joined or checked above");
        m.last_heartbeat = now;
        if let Some(names) = &h.subscribed_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            if names != m.subscribed_names {
                m.subscribed_names = names;
                changed = true;
            }
        }
        if h.subscribed_regex.is_some() && h.subscribed_regex != m.subscribed_regex {
            m.subscribed_regex = h.subscribed_regex.clone();
            changed = true;
        }
        if h.server_assignor.is_some() && h.server_assignor != m.server_assignor {
            m.server_assignor = h.server_assignor.clone();
            changed = true;
        }
        if h.rebalance_timeout_ms > 0 {
            m.rebalance_timeout_ms = h.rebalance_timeout_ms;
        }
        if h.rack_id.is_some() {
            m.rack_id = h.rack_id.clone();
        }
        m.client_id = h.client_id.clone();
        m.client_host = h.client_host.clone();
        let before = (m.epoch, m.assigned.clone());
        if self.refresh_topics(topics) || changed {
            self.group_epoch += 1;
        }
        self.update_target(topics);
        self.reconcile(&h.member_id, h.owned.as_ref(), now);
        let m = &self.members[&h.member_id];
        // Re-send the assignment when it changed, on a (re)join, or when the member reports something else.
        let differs = h.owned.as_ref().is_some_and(|o| *o != m.assigned);
        let send = full || differs || before != (m.epoch, m.assigned.clone());
        Ok(HeartbeatReply {
            member_id: m.id.clone(),
            member_epoch: m.epoch,
            assignment: send.then(|| m.assigned.clone()),
        })
    }

    /// Adds (or resets) the member; returns whether membership changed.
    fn join(&mut self, h: &Heartbeat, now: Instant) -> Result<bool, HbError> {
        if let Some(instance) = &h.instance_id {
            let holder = self
                .members
                .values()
                .find(|m| m.instance_id.as_ref() == Some(instance))
                .map(|m| (m.id.clone(), m.left_static));
            match holder {
                Some((id, false)) if id != h.member_id => {
                    return Err(err(
                        ResponseError::UnreleasedInstanceId,
                        format!("Static member {instance} is still in use by member {id}."),
                    ));
                }
                Some((id, true)) => {
                    // The static member comes back under a new member id: it takes over its partitions and epoch.
                    let mut m = self.members.remove(&id).expect("found above");
                    for owner in self.owners.values_mut().filter(|o| **o == id) {
                        *owner = h.member_id.clone();
                    }
                    if let Some(t) = self.target.remove(&id) {
                        self.target.insert(h.member_id.clone(), t);
                    }
                    m.id = h.member_id.clone();
                    m.left_static = false;
                    m.last_heartbeat = now;
                    self.members.insert(h.member_id.clone(), m);
                    return Ok(false);
                }
                _ => {}
            }
        }
        if let Some(m) = self.members.get(&h.member_id).filter(|m| !m.left_static) {
            // Rejoining with epoch 0 means the member lost its state: it starts over with nothing owned.
            let id = m.id.clone();
            self.owners.retain(|_, o| *o != id);
            let m = self.members.get_mut(&id).expect("present");
            m.assigned.clear();
            m.pending_revocation.clear();
            m.state = MemberState::Stable;
            m.epoch = 0;
            m.previous_epoch = -1;
            return Ok(true);
        }
        let mut m = Member::new(h.member_id.clone(), now);
        m.instance_id = h.instance_id.clone();
        self.members.insert(m.id.clone(), m);
        Ok(true)
    }

    fn leave(&mut self, h: &Heartbeat) -> Result<HeartbeatReply, HbError> {
        let Some(m) = self.members.get_mut(&h.member_id) else {
            return Err(err(
                ResponseError::UnknownMemberId,
                format!(
                    "Member {} is not a member of group {}.",
                    h.member_id, self.id
                ),
            ));
        };
        if h.member_epoch == -2 && m.instance_id.is_some() {
            // A static member leaving temporarily keeps its partitions until its session expires.
            m.left_static = true;
        } else {
            self.remove_member(&h.member_id);
        }
        Ok(HeartbeatReply {
            member_id: h.member_id.clone(),
            member_epoch: h.member_epoch,
            assignment: None,
        })
    }
}
