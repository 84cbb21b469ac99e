//! AddOffsetsToTxn (v0–4): a transactional producer announces that it will commit a group's offsets in the
//! transaction (TxnOffsetCommit follows).

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::Ctx;

pub async fn handle(ctx: &mut Ctx<'_>, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let res = ctx
        .broker
        .txns()
        .add_offsets(
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            &req.group_id,
            ctx.version(),
        )
        .await;
    AddOffsetsToTxnResponse::default().with_error_code(res.err().map_or(0, |e| e.code()))
}
