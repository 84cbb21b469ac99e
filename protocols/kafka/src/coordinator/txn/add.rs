//! Adding to a transaction: data partitions (AddPartitionsToTxn), a consumer group (AddOffsetsToTxn), and the
//! group's offsets (TxnOffsetCommit), which stay pending until the transaction commits.

use kafka_protocol::error::ResponseError;

use super::TxnCoordinator;
use super::TxnDeps;
use super::end::fenced;
use super::state::{PendingOffset, TxnMetadata, TxnState};
use crate::topics::internal as internal_topic;

/// Per topic, each partition's error (`None`: done), in request order.
pub type PartitionResults = Vec<(String, Vec<(i32, Option<ResponseError>)>)>;

/// One partition's offset in a TxnOffsetCommit: (partition, offset, leader epoch, metadata).
pub type TxnPartitionOffset = (i32, i64, i32, Option<String>);

/// One TxnOffsetCommit request in domain terms.
#[derive(Debug, Clone)]
pub struct TxnCommit {
    pub txn_id: String,
    pub group_id: String,
    pub producer_id: i64,
    pub epoch: i16,
    pub generation_id: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub topics: Vec<(String, Vec<TxnPartitionOffset>)>,
}

/// The checks every add shares: the producer id belongs to the transactional id, the epoch is current, and no
/// completion is under way.
fn check(
    m: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    version: i16,
    first_with_fenced: i16,
) -> Result<(), ResponseError> {
    if m.producer_id != producer_id {
        return Err(ResponseError::InvalidProducerIdMapping);
    }
    if epoch != m.epoch {
        return Err(fenced(version, first_with_fenced));
    }
    if m.state.is_preparing() {
        return Err(ResponseError::ConcurrentTransactions);
    }
    Ok(())
}

/// Starts a transaction if none is running.
fn begin(m: &mut TxnMetadata) {
    if m.state != TxnState::Ongoing {
        m.state = TxnState::Ongoing;
        m.start_ms = crate::coordinator::producer::now_ms();
        m.partitions.clear();
        m.groups.clear();
        m.pending_offsets.clear();
    }
}

impl TxnCoordinator {
    /// AddPartitionsToTxn (v0–3). An error for the whole request comes back as `Err`; a partition that does not
    /// exist fails the request, the others answered OPERATION_NOT_ATTEMPTED and nothing added, as in Kafka.
    pub async fn add_partitions(
        &self,
        b: &TxnDeps<'_>,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        topics: Vec<(String, Vec<i32>)>,
        version: i16,
    ) -> Result<PartitionResults, ResponseError> {
        let Some((_op, mut m)) = self.begin(txn_id).await? else {
            return Err(ResponseError::InvalidProducerIdMapping);
        };
        check(&m, producer_id, epoch, version, 2)?;
        let mut results: PartitionResults = Vec::with_capacity(topics.len());
        let mut failed = false;
        for (topic, partitions) in &topics {
            let count = if internal_topic::is_internal(topic) {
                None
            } else {
                b.engine().topic(topic).map(|t| t.partitions)
            };
            let out = partitions
                .iter()
                .map(|&p| {
                    let ok = count.is_some_and(|n| u32::try_from(p).is_ok_and(|p| p < n));
                    failed |= !ok;
                    (p, (!ok).then_some(ResponseError::UnknownTopicOrPartition))
                })
                .collect();
            results.push((topic.clone(), out));
        }
        if failed {
            for (_, parts) in &mut results {
                for (_, e) in parts.iter_mut().filter(|(_, e)| e.is_none()) {
                    *e = Some(ResponseError::OperationNotAttempted);
                }
            }
            return Ok(results);
        }
        let known = topics
            .iter()
            .all(|(t, ps)| ps.iter().all(|p| m.partitions.contains(&(t.clone(), *p))));
        if !(known && m.state == TxnState::Ongoing) {
            begin(&mut m);
            for (t, ps) in &topics {
                for p in ps {
                    m.partitions.insert((t.clone(), *p));
                }
            }
            self.save(&mut m).await?;
        }
        Ok(results)
    }

    /// AddOffsetsToTxn (v0–4): the group's offsets will be committed with the transaction.
    pub async fn add_offsets(
        &self,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        group_id: &str,
        version: i16,
    ) -> Result<(), ResponseError> {
        if !crate::coordinator::group::valid_group_id(group_id) {
            return Err(ResponseError::InvalidGroupId);
        }
        let Some((_op, mut m)) = self.begin(txn_id).await? else {
            return Err(ResponseError::InvalidProducerIdMapping);
        };
        check(&m, producer_id, epoch, version, 2)?;
        if m.state == TxnState::Ongoing && m.groups.contains(group_id) {
            return Ok(());
        }
        begin(&mut m);
        m.groups.insert(group_id.to_string());
        self.save(&mut m).await
    }

    /// TxnOffsetCommit (v0–5): validates the committer against the group (as OffsetCommit does) and keeps the
    /// offsets pending in the transaction.
    pub async fn txn_offset_commit(
        &self,
        b: &TxnDeps<'_>,
        c: TxnCommit,
        version: i16,
    ) -> PartitionResults {
        let all = |e: ResponseError| -> PartitionResults {
            c.topics
                .iter()
                .map(|(t, ps)| (t.clone(), ps.iter().map(|p| (p.0, Some(e))).collect()))
                .collect()
        };
        if !crate::coordinator::group::valid_group_id(&c.group_id) {
            return all(ResponseError::InvalidGroupId);
        }
        let (_op, m) = match self.begin(&c.txn_id).await {
            Ok(Some(found)) => found,
            Ok(None) => return all(ResponseError::InvalidProducerIdMapping),
            Err(e) => return all(e),
        };
        if let Err(e) = check(&m, c.producer_id, c.epoch, version, 3) {
            return all(e);
        }
        if m.state != TxnState::Ongoing || !m.groups.contains(&c.group_id) {
            // AddOffsetsToTxn must come first.
            return all(ResponseError::InvalidTxnState);
        }
        if let Err(e) = b.groups().validate_txn_commit(
            &c.group_id,
            &c.member_id,
            c.instance_id.as_deref(),
            c.generation_id,
        ) {
            return all(e);
        }
        let max_metadata = b.groups().config().offset_metadata_max_bytes;
        let mut results: PartitionResults = Vec::with_capacity(c.topics.len());
        let mut changed = m;
        for (topic, partitions) in &c.topics {
            let count = b.engine().topic(topic).map(|t| t.partitions);
            let mut out = Vec::with_capacity(partitions.len());
            for (p, offset, leader_epoch, metadata) in partitions {
                let exists = count.is_some_and(|n| u32::try_from(*p).is_ok_and(|p| p < n));
                let err = if !exists {
                    Some(ResponseError::UnknownTopicOrPartition)
                } else if metadata.as_ref().is_some_and(|s| s.len() > max_metadata) {
                    Some(ResponseError::OffsetMetadataTooLarge)
                } else {
                    changed.pending_offsets.retain(|o| {
                        !(o.group == c.group_id && o.topic == *topic && o.partition == *p)
                    });
                    changed.pending_offsets.push(PendingOffset {
                        group: c.group_id.clone(),
                        topic: topic.clone(),
                        partition: *p,
                        offset: *offset,
                        leader_epoch: *leader_epoch,
                        metadata: metadata.clone().unwrap_or_default(),
                    });
                    None
                };
                out.push((*p, err));
            }
            results.push((topic.clone(), out));
        }
        if let Err(e) = self.save(&mut changed).await {
            return all(e);
        }
        results
    }
}
