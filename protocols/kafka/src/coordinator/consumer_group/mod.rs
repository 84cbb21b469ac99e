//! KIP-848 consumer groups ("consumer" protocol): the broker computes assignments and each member reconciles
//! towards its target through ConsumerGroupHeartbeat. Lives beside the classic coordinator (`group`): a group id
//! is of one type at a time. A consumer group with members refuses classic JoinGroup
//! (INCONSISTENT_GROUP_PROTOCOL), a classic group with members refuses heartbeats (GROUP_ID_NOT_FOUND, "not a
//! consumer group"), as in Kafka; an empty group of either type can be taken over by the other.
//!
//! Module map: [`member`] (members and groups), [`heartbeat`] (join, leave, target assignment, reconciliation),
//! [`assignor`] (uniform and range).
//!
//! Group state is in memory, like classic group membership (committed offsets are durable in the classic
//! coordinator's store): after a restart members get UNKNOWN_MEMBER_ID and rejoin with epoch 0.

pub mod assignor;
pub mod heartbeat;
pub mod member;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

use crate::coordinator::lock;
use heartbeat::{HbError, Heartbeat, HeartbeatReply, TopicMeta};
use member::ConsumerGroup;

/// Kafka's `group.consumer.*` defaults.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerGroupConfig {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
}

impl Default for ConsumerGroupConfig {
    fn default() -> Self {
        ConsumerGroupConfig {
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Default)]
pub struct ConsumerGroups {
    cfg: ConsumerGroupConfig,
    groups: Mutex<HashMap<String, ConsumerGroup>>,
}

impl ConsumerGroups {
    pub fn new(cfg: ConsumerGroupConfig) -> ConsumerGroups {
        ConsumerGroups {
            cfg,
            groups: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &ConsumerGroupConfig {
        &self.cfg
    }

    /// Whether `group` is a consumer group with members (classic joins are refused then).
    pub fn has_members(&self, group: &str) -> bool {
        lock(&self.groups)
            .get(group)
            .is_some_and(|g| !g.members.is_empty())
    }

    pub fn exists(&self, group: &str) -> bool {
        lock(&self.groups).contains_key(group)
    }

    /// ConsumerGroupHeartbeat. `classic_active` says the id is a classic group with members.
    pub fn heartbeat(
        &self,
        h: Heartbeat,
        topics: &[TopicMeta],
        classic_active: bool,
    ) -> Result<HeartbeatReply, HbError> {
        heartbeat::validate(&h)?;
        let mut groups = lock(&self.groups);
        if classic_active {
            return Err((
                ResponseError::GroupIdNotFound,
                format!("Group {} is not a consumer group.", h.group_id),
            ));
        }
        let now = Instant::now();
        if h.member_epoch != 0 && !groups.contains_key(&h.group_id) {
            return Err((
                ResponseError::UnknownMemberId,
                format!(
                    "Member {} is not a member of group {}.",
                    h.member_id, h.group_id
                ),
            ));
        }
        let g = groups
            .entry(h.group_id.clone())
            .or_insert_with(|| ConsumerGroup::new(h.group_id.clone()));
        g.heartbeat(h, topics, now)
    }

    /// Expires members whose session ran out and members that did not revoke in time; other members of their
    /// groups then get the freed partitions on their next heartbeats.
    pub fn sweep(&self, topics: &[TopicMeta]) {
        let now = Instant::now();
        let session = self.cfg.session_timeout;
        let mut groups = lock(&self.groups);
        for g in groups.values_mut() {
            let expired: Vec<String> = g
                .members
                .values()
                .filter(|m| {
                    now.duration_since(m.last_heartbeat) > session
                        || m.revocation_deadline.is_some_and(|d| now > d)
                })
                .map(|m| m.id.clone())
                .collect();
            for id in &expired {
                tracing::info!(group = %g.id, member = %id, "removing expired consumer group member");
                g.remove_member(id);
            }
            if !expired.is_empty() {
                if g.refresh_topics(topics) {
                    g.group_epoch += 1;
                }
                g.update_target(topics);
            }
        }
    }

    /// Runs `f` on the group, if it is a consumer group.
    pub fn with_group<R>(&self, group: &str, f: impl FnOnce(&ConsumerGroup) -> R) -> Option<R> {
        lock(&self.groups).get(group).map(f)
    }

    /// `(id, state)` of every consumer group.
    pub fn list(&self) -> Vec<(String, &'static str)> {
        lock(&self.groups)
            .values()
            .map(|g| (g.id.clone(), g.state_name()))
            .collect()
    }

    /// Forgets an empty consumer group (DeleteGroups); `Err(NON_EMPTY_GROUP)` if it has members, `Ok(false)` if
    /// there is no such consumer group.
    pub fn delete(&self, group: &str) -> Result<bool, ResponseError> {
        let mut groups = lock(&self.groups);
        match groups.get(group) {
            Some(g) if !g.members.is_empty() => Err(ResponseError::NonEmptyGroup),
            Some(_) => {
                groups.remove(group);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// OffsetFetch v9+ from a member of a consumer group (Kafka's `ConsumerGroup.validateOffsetFetch`): `None`
    /// if `group` is not one or the fetch names no member (epoch -1: an admin fetch); else the member must exist
    /// (UNKNOWN_MEMBER_ID) and fetch at its current epoch (STALE_MEMBER_EPOCH).
    pub fn validate_fetch(
        &self,
        group: &str,
        member_id: &str,
        member_epoch: i32,
    ) -> Option<Result<(), ResponseError>> {
        if member_epoch < 0 {
            return None;
        }
        let groups = lock(&self.groups);
        let g = groups.get(group)?;
        let Some(m) = g.members.get(member_id) else {
            return Some(Err(ResponseError::UnknownMemberId));
        };
        Some(if member_epoch == m.epoch {
            Ok(())
        } else {
            Err(ResponseError::StaleMemberEpoch)
        })
    }

    /// OffsetCommit / TxnOffsetCommit against a consumer group: `None` if `group` is not one; else Kafka's rules:
    /// a commit without member (generation -1, empty member id) only to a group without members; otherwise the
    /// member must exist (UNKNOWN_MEMBER_ID) and commit at its current epoch (STALE_MEMBER_EPOCH).
    pub fn validate_commit(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
    ) -> Option<Result<(), ResponseError>> {
        let groups = lock(&self.groups);
        let g = groups.get(group)?;
        if generation < 0 && member_id.is_empty() {
            return Some(if g.members.is_empty() {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            });
        }
        let Some(m) = g.members.get(member_id) else {
            return Some(Err(ResponseError::UnknownMemberId));
        };
        Some(if generation == m.epoch {
            Ok(())
        } else {
            Err(ResponseError::StaleMemberEpoch)
        })
    }
}
