//! DescribeTransactions and ListTransactions: snapshots of the transactional ids this coordinator holds.

use super::TxnCoordinator;
use super::state::TxnMetadata;

/// Kafka's transaction state names a ListTransactions filter may use.
pub const STATE_NAMES: &[&str] = &[
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
    "Dead",
    "PrepareEpochFence",
];

impl TxnCoordinator {
    /// One transactional id's metadata (waits for a running operation on it to finish). Ids that never
    /// completed an InitProducerId (epoch -1) are not reported.
    pub async fn describe(&self, txn_id: &str) -> Option<TxnMetadata> {
        let (_op, m) = self.begin(txn_id).await.ok().flatten()?;
        (m.epoch >= 0).then_some(m)
    }

    /// Every transactional id's metadata.
    pub async fn all(&self) -> Vec<TxnMetadata> {
        let mut out = Vec::new();
        for txn_id in self.cache.ids() {
            if let Ok(Some((_op, m))) = self.begin(&txn_id).await
                && m.epoch >= 0
            {
                out.push(m);
            }
        }
        out.sort_by(|a, b| a.txn_id.cmp(&b.txn_id));
        out
    }
}
