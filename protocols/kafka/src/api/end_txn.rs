//! EndTxn (v0–4): commit or abort. The coordinator decides durably, writes a COMMIT/ABORT marker to every
//! partition of the transaction, applies committed offsets, and answers once all of that is done. v5 (KIP-890
//! part 2: a new epoch on every EndTxn) is not advertised, and no `transaction.version` feature is, so clients
//! stay on the v1 protocol.

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: EndTxnRequest) -> EndTxnResponse {
    let b = ctx.broker;
    match b
        .txns()
        .end_txn(
            &b.txn_deps(),
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            ctx.version(),
        )
        .await
    {
        Ok((id, epoch)) => EndTxnResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => EndTxnResponse::default()
            .with_error_code(e.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}
