//! InitProducerId for a transactional id: the producer id that stays with the transactional id, and a new epoch
//! on every call, which fences every older producer instance (Kafka's `TransactionCoordinator.handleInitProducerId`).

use kafka_protocol::error::ResponseError;

use super::TxnCoordinator;
use super::TxnDeps;
use super::state::{TxnMetadata, TxnState};

impl TxnCoordinator {
    /// Returns the producer id and epoch for `txn_id`. `producer_id`/`epoch` are what a v3+ client sends to
    /// resume after an error (KIP-360), or -1/-1.
    pub async fn init_producer_id(
        &self,
        b: &TxnDeps<'_>,
        txn_id: &str,
        timeout_ms: i32,
        producer_id: i64,
        epoch: i16,
    ) -> Result<(i64, i16), ResponseError> {
        if timeout_ms <= 0 || timeout_ms > self.cfg.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let (_op, committed) = self.begin_or_create(txn_id).await?;
        let mut m = match committed {
            Some(m) => m,
            None => {
                let id = b
                    .producers()
                    .ids()
                    .allocate()
                    .await
                    .map_err(|e| super::store_error(&e))?;
                // Epoch -1: "never initialised"; the bump below makes it 0. Nothing is stored until then.
                let mut fresh = TxnMetadata::new(
                    txn_id.to_string(),
                    id,
                    timeout_ms,
                    crate::coordinator::producer::now_ms(),
                );
                fresh.epoch = -1;
                fresh
            }
        };
        if producer_id >= 0 {
            let retry = producer_id == m.producer_id
                && epoch == m.last_epoch
                && m.state != TxnState::Ongoing
                && !m.state.is_preparing();
            if retry {
                // The answer to this request was lost; the bump already happened.
                return Ok((m.producer_id, m.epoch));
            }
            if producer_id != m.producer_id || epoch != m.epoch {
                return Err(ResponseError::ProducerFenced);
            }
        }
        if m.state.is_preparing() {
            // Finish what was decided before handing out a new epoch.
            self.finish(b, &mut m).await?;
        }
        if m.state == TxnState::Ongoing {
            // The previous instance died mid-transaction: fence it and abort its transaction.
            self.bump_epoch(b, &mut m).await?;
            self.complete(b, &mut m, false).await?;
        }
        self.bump_epoch(b, &mut m).await?;
        m.timeout_ms = timeout_ms;
        m.state = TxnState::Empty;
        m.partitions.clear();
        m.groups.clear();
        m.pending_offsets.clear();
        m.start_ms = -1;
        self.save(&mut m).await?;
        Ok((m.producer_id, m.epoch))
    }
}
