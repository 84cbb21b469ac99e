//! Group administration: ListGroups, DescribeGroups, DeleteGroups and OffsetDelete. A group exists while it
//! is in memory or has committed offsets; one known only by its offsets (after a restart, or once its idle
//! state was dropped) shows as Empty with no protocol type.

use std::collections::HashSet;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::offsets::{delete_group_op, delete_op};
use super::state::GroupState;
use super::subscription;
use super::{GroupCoordinator, valid_group_id};

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Only for Stable groups: the metadata of the selected protocol.
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups shows it (`Dead` for a group that does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The selected protocol, reported for Stable groups only (as Kafka does).
    pub protocol_data: String,
    pub members: Vec<MemberDescription>,
}

/// Per topic, each partition's OffsetDelete error (`None`: deleted or nothing to delete).
pub type OffsetDeleteResults = Vec<(String, Vec<(i32, Option<ResponseError>)>)>;

impl GroupCoordinator {
    pub fn list_groups(&self) -> Result<Vec<GroupListing>, ResponseError> {
        let mut listed = self.snapshot(|g| GroupListing {
            group_id: g.id.clone(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            state: g.state(),
        });
        let known: HashSet<String> = listed.iter().map(|l| l.group_id.clone()).collect();
        for group_id in self.groups_with_offsets()? {
            if !known.contains(&group_id) {
                listed.push(GroupListing {
                    group_id,
                    protocol_type: String::new(),
                    state: GroupState::Empty,
                });
            }
        }
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(listed)
    }

    pub fn describe_group(&self, group_id: &str) -> Result<GroupDescription, ResponseError> {
        let described = self.with_group(group_id, false, |g| {
            let stable = g.is(GroupState::Stable);
            let protocol = g.protocol_name.clone().unwrap_or_default();
            GroupDescription {
                group_id: g.id.clone(),
                state: g.state(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                protocol_data: if stable {
                    protocol.clone()
                } else {
                    String::new()
                },
                members: g
                    .members
                    .values()
                    .map(|m| MemberDescription {
                        member_id: m.id.clone(),
                        instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: if stable {
                            m.metadata(&protocol)
                        } else {
                            Bytes::new()
                        },
                        assignment: m.assignment.clone(),
                    })
                    .collect(),
            }
        });
        if let Some(d) = described {
            return Ok(d);
        }
        let state = if self.has_offsets(group_id)? {
            GroupState::Empty
        } else {
            GroupState::Dead
        };
        Ok(GroupDescription {
            group_id: group_id.to_string(),
            state,
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
        })
    }

    /// Deletes groups without members, with their offsets. One result per requested id.
    pub async fn delete_groups(&self, ids: &[String]) -> Vec<Option<ResponseError>> {
        let mut results = Vec::with_capacity(ids.len());
        let mut ops = Vec::new();
        for id in ids {
            // A consumer-protocol group: deletable when empty, with its offsets.
            match self.inner.consumer.delete(id) {
                Err(e) => {
                    results.push(Some(e));
                    continue;
                }
                Ok(true) => {
                    ops.push(delete_group_op(id));
                    results.push(None);
                    continue;
                }
                Ok(false) => {}
            }
            let mut refusal = None;
            let removed = self.remove_if(id, |g| match g.state() {
                GroupState::Empty => true,
                GroupState::Dead => {
                    refusal = Some(ResponseError::GroupIdNotFound);
                    false
                }
                GroupState::PreparingRebalance
                | GroupState::CompletingRebalance
                | GroupState::Stable => {
                    refusal = Some(ResponseError::NonEmptyGroup);
                    false
                }
            });
            let result = match refusal {
                Some(e) => Err(e),
                None if removed => Ok(()),
                None => match self.has_offsets(id) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ResponseError::GroupIdNotFound),
                    Err(e) => Err(e),
                },
            };
            if result.is_ok() {
                tracing::info!(group = %id, "deleting group");
                ops.push(delete_group_op(id));
            }
            results.push(result.err());
        }
        if let Err(e) = self.write_offsets(ops).await {
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(e);
            }
        }
        results
    }

    /// OffsetDelete: removes committed offsets of topics the group does not consume. A group-level error
    /// (unknown group, members of a non-consumer group) fails the whole request.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        topics: &[(String, Vec<i32>)],
    ) -> Result<OffsetDeleteResults, ResponseError> {
        if !valid_group_id(group_id) {
            return Err(ResponseError::InvalidGroupId);
        }
        // Which topics must keep their offsets, or why nothing may be deleted at all.
        let guard = self.with_group(group_id, false, |g| match g.state() {
            GroupState::Dead => Err(ResponseError::GroupIdNotFound),
            GroupState::Empty => Ok(HashSet::new()),
            GroupState::Stable
            | GroupState::PreparingRebalance
            | GroupState::CompletingRebalance => {
                if g.protocol_type.as_deref() != Some(subscription::CONSUMER_PROTOCOL_TYPE) {
                    return Err(ResponseError::NonEmptyGroup);
                }
                Ok(topics
                    .iter()
                    .filter(|(t, _)| subscription::is_subscribed(g, t))
                    .map(|(t, _)| t.clone())
                    .collect::<HashSet<String>>())
            }
        });
        let subscribed = match guard {
            Some(r) => r?,
            None if self.has_offsets(group_id)? => HashSet::new(),
            None => return Err(ResponseError::GroupIdNotFound),
        };
        let engine = &self.inner.engine;
        let mut ops = Vec::new();
        let mut results: OffsetDeleteResults = Vec::with_capacity(topics.len());
        for (topic, partitions) in topics {
            let known = engine.topic(topic).map(|t| t.partitions);
            let out = partitions
                .iter()
                .map(|&p| {
                    let error = if !known.is_some_and(|n| p >= 0 && (p as u32) < n) {
                        Some(ResponseError::UnknownTopicOrPartition)
                    } else if subscribed.contains(topic) {
                        Some(ResponseError::GroupSubscribedToTopic)
                    } else {
                        ops.push(delete_op(group_id, topic, p));
                        None
                    };
                    (p, error)
                })
                .collect();
            results.push((topic.clone(), out));
        }
        if let Err(e) = self.write_offsets(ops).await {
            for (_, partitions) in &mut results {
                for (_, error) in partitions.iter_mut().filter(|(_, err)| err.is_none()) {
                    *error = Some(e);
                }
            }
        }
        Ok(results)
    }
}
