//! OffsetCommit: validation against the group (members of the current generation, or "simple" commits with
//! generation -1 for groups without members) and the durable write.

use kafka_protocol::error::ResponseError;

use super::offsets::{CommittedOffset, put_op};
use super::state::{Group, GroupState};
use super::{GroupCoordinator, valid_group_id};

/// One partition of an OffsetCommit request.
#[derive(Debug, Clone)]
pub struct PartitionCommit {
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// An OffsetCommit request in domain terms.
#[derive(Debug, Clone)]
pub struct CommitParams {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    /// v9+ reports an unknown group as GROUP_ID_NOT_FOUND rather than ILLEGAL_GENERATION.
    pub version: i16,
    pub topics: Vec<(String, Vec<PartitionCommit>)>,
}

/// Per topic, each partition's error (`None`: committed), in request order.
pub type CommitResults = Vec<(String, Vec<(i32, Option<ResponseError>)>)>;

impl GroupCoordinator {
    pub async fn commit_offsets(&self, p: CommitParams) -> CommitResults {
        let group_error = if valid_group_id(&p.group_id) {
            self.validate_commit(&p).err()
        } else {
            Some(ResponseError::InvalidGroupId)
        };
        let engine = &self.inner.engine;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut ops = Vec::new();
        let mut results: CommitResults = Vec::with_capacity(p.topics.len());
        for (topic, partitions) in &p.topics {
            let known = engine.topic(topic).map(|t| t.partitions);
            let mut out = Vec::with_capacity(partitions.len());
            for pc in partitions {
                let exists = known.is_some_and(|n| pc.partition >= 0 && (pc.partition as u32) < n);
                let error = if !exists {
                    Some(ResponseError::UnknownTopicOrPartition)
                } else if let Some(e) = group_error {
                    Some(e)
                } else if pc
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.len() > self.config().offset_metadata_max_bytes)
                {
                    Some(ResponseError::OffsetMetadataTooLarge)
                } else {
                    let value = CommittedOffset {
                        offset: pc.offset,
                        leader_epoch: pc.leader_epoch,
                        metadata: pc.metadata.clone().unwrap_or_default(),
                        commit_timestamp_ms: now_ms,
                    };
                    match put_op(&p.group_id, topic, pc.partition, &value) {
                        Ok(op) => {
                            ops.push(op);
                            None
                        }
                        Err(e) => Some(e),
                    }
                };
                out.push((pc.partition, error));
            }
            results.push((topic.clone(), out));
        }
        if let Err(e) = self.write_offsets(ops).await {
            // Everything that was about to be written failed together.
            for (_, partitions) in &mut results {
                for (_, error) in partitions.iter_mut().filter(|(_, err)| err.is_none()) {
                    *error = Some(e);
                }
            }
        }
        results
    }

    /// TxnOffsetCommit's check of the committer: the OffsetCommit rules (pre-v9: an unknown group with a
    /// generation is ILLEGAL_GENERATION). The offsets themselves wait in the transaction.
    pub(crate) fn validate_txn_commit(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ResponseError> {
        self.validate_commit(&CommitParams {
            group_id: group_id.to_string(),
            generation_id,
            member_id: member_id.to_string(),
            instance_id: instance_id.map(str::to_string),
            version: 8,
            topics: Vec::new(),
        })
    }

    /// Kafka's rules: a group in memory validates the committer; a group known only by its stored offsets is
    /// Empty; an unknown group accepts only simple commits (generation < 0).
    fn validate_commit(&self, p: &CommitParams) -> Result<(), ResponseError> {
        // A consumer-protocol group validates member ids and epochs itself.
        if let Some(r) =
            self.inner
                .consumer
                .validate_commit(&p.group_id, &p.member_id, p.generation_id)
        {
            return r;
        }
        let in_memory = self.with_group(&p.group_id, false, |g| {
            g.validate_commit(&p.member_id, p.instance_id.as_deref(), p.generation_id)
        });
        match in_memory {
            Some(r) => r,
            None if p.generation_id < 0 => Ok(()),
            None if self.has_offsets(&p.group_id)? => Err(ResponseError::UnknownMemberId),
            None if p.version >= 9 => Err(ResponseError::GroupIdNotFound),
            None => Err(ResponseError::IllegalGeneration),
        }
    }
}

impl Group {
    fn validate_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ResponseError> {
        if self.is(GroupState::Dead) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        // Admin tools and manually assigned consumers commit with generation -1 to groups without members.
        if generation_id < 0 && self.is(GroupState::Empty) {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || instance_id.is_some() {
            self.validate_member(member_id, instance_id)?;
            if generation_id != self.generation {
                return Err(ResponseError::IllegalGeneration);
            }
        } else if !self.is(GroupState::Empty) {
            return Err(ResponseError::UnknownMemberId);
        }
        match self.state() {
            // The member got its JoinGroup answer but the generation is not settled yet.
            GroupState::CompletingRebalance => Err(ResponseError::RebalanceInProgress),
            // A commit proves the member is alive, as a heartbeat would.
            GroupState::Stable | GroupState::PreparingRebalance => {
                self.reschedule_session(member_id);
                Ok(())
            }
            GroupState::Empty | GroupState::Dead => Ok(()),
        }
    }
}
