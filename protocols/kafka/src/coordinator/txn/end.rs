//! Ending transactions: EndTxn, and the shared completion every other path uses (a producer re-initialising
//! over an ongoing transaction, the timeout, recovery of a decided transaction after a restart).

use kafka_protocol::error::ResponseError;

use super::TxnCoordinator;
use super::TxnDeps;
use super::markers;
use super::state::{TxnMetadata, TxnState};
use crate::coordinator::group::offsets::{CommittedOffset, put_op};

/// The fencing error for a stale epoch: PRODUCER_FENCED where the request version knows it (KIP-588), else
/// INVALID_PRODUCER_EPOCH, as Kafka maps it for old clients.
pub fn fenced(version: i16, first_with_fenced: i16) -> ResponseError {
    if version >= first_with_fenced {
        ResponseError::ProducerFenced
    } else {
        ResponseError::InvalidProducerEpoch
    }
}

impl TxnCoordinator {
    /// Decides `m`'s ongoing transaction (durably), then writes its markers and applies its offsets.
    pub(crate) async fn complete(
        &self,
        b: &TxnDeps<'_>,
        m: &mut TxnMetadata,
        commit: bool,
    ) -> Result<(), ResponseError> {
        m.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        // Once committed (and so in the cache's producer view, before any marker is written) Produce refuses the
        // producer's transactional data.
        self.save(m).await?;
        self.finish(b, m).await
    }

    /// The second half of [`complete`](Self::complete), for a transaction in PrepareCommit/PrepareAbort: markers
    /// to every partition, offsets to the groups on commit, then CompleteCommit/CompleteAbort. Idempotent, so a
    /// restart or a failed attempt simply runs it again.
    pub(crate) async fn finish(
        &self,
        b: &TxnDeps<'_>,
        m: &mut TxnMetadata,
    ) -> Result<(), ResponseError> {
        let commit = m.state == TxnState::PrepareCommit;
        for (topic, partition) in m.partitions.clone() {
            markers::write(b, &topic, partition, m.producer_id, m.epoch, commit)
                .await
                .map_err(|e| {
                    tracing::warn!(txn = %m.txn_id, %topic, partition, error = %e.message, "writing a transaction marker failed");
                    e.code
                })?;
        }
        if commit && !m.pending_offsets.is_empty() {
            let now = crate::coordinator::producer::now_ms();
            let mut ops = Vec::with_capacity(m.pending_offsets.len());
            for o in &m.pending_offsets {
                let value = CommittedOffset {
                    offset: o.offset,
                    leader_epoch: o.leader_epoch,
                    metadata: o.metadata.clone(),
                    commit_timestamp_ms: now,
                };
                ops.push(put_op(&o.group, &o.topic, o.partition, &value)?);
            }
            b.groups().write_offsets(ops).await?;
        }
        m.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        m.partitions.clear();
        m.groups.clear();
        m.pending_offsets.clear();
        m.start_ms = -1;
        self.save(m).await
    }

    /// EndTxn (v0–4): commits or aborts the producer's transaction. Returns the producer id and epoch to answer
    /// with.
    pub async fn end_txn(
        &self,
        b: &TxnDeps<'_>,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        version: i16,
    ) -> Result<(i64, i16), ResponseError> {
        let Some((_op, mut m)) = self.begin(txn_id).await? else {
            return Err(ResponseError::InvalidProducerIdMapping);
        };
        if m.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if epoch != m.epoch {
            return Err(fenced(version, 2));
        }
        match (m.state, commit) {
            (TxnState::Ongoing, _) => self.complete(b, &mut m, commit).await?,
            (TxnState::PrepareCommit | TxnState::PrepareAbort, _) => {
                return Err(ResponseError::ConcurrentTransactions);
            }
            // A retry of an EndTxn that already completed.
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {}
            (TxnState::CompleteCommit | TxnState::CompleteAbort | TxnState::Empty, _) => {
                return Err(ResponseError::InvalidTxnState);
            }
        }
        Ok((m.producer_id, m.epoch))
    }

    /// One timer pass: completes decided transactions (after a restart or a failed marker write) and aborts those
    /// past their timeout, bumping the epoch so that the late producer is fenced.
    pub async fn tick(&self, b: &TxnDeps<'_>) {
        let now = crate::coordinator::producer::now_ms();
        if let Err(e) = self.follow.ensure() {
            tracing::warn!(error = %e, "transaction state unavailable; retrying later");
            return;
        }
        for txn_id in self.cache.ids() {
            // A transaction busy with a request is not stuck; look again next time.
            let Some((_op, mut m)) = self.try_begin(&txn_id) else {
                continue;
            };
            let res = if m.state.is_preparing() {
                self.finish(b, &mut m).await
            } else if m.timed_out(now) {
                tracing::info!(txn = %m.txn_id, timeout_ms = m.timeout_ms, "aborting a timed-out transaction");
                match self.bump_epoch(b, &mut m).await {
                    Ok(()) => self.complete(b, &mut m, false).await,
                    Err(e) => Err(e),
                }
            } else {
                Ok(())
            };
            if let Err(e) = res {
                tracing::warn!(txn = %m.txn_id, error = ?e, "completing a transaction failed; retrying later");
            }
        }
    }

    /// Bumps the epoch (a fresh producer id once the epoch is exhausted), remembering the previous one.
    pub(crate) async fn bump_epoch(
        &self,
        b: &TxnDeps<'_>,
        m: &mut TxnMetadata,
    ) -> Result<(), ResponseError> {
        if m.epoch >= i16::MAX - 1 {
            let id = b
                .producers()
                .ids()
                .allocate()
                .await
                .map_err(|e| super::store_error(&e))?;
            // The old id's producer view goes when this is committed (the cache sees the id change).
            m.producer_id = id;
            m.last_epoch = -1;
            m.epoch = 0;
        } else {
            m.last_epoch = m.epoch;
            m.epoch += 1;
        }
        Ok(())
    }
}
