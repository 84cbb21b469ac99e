//! UpdateMaxRecordSize: the largest record (data + partition key) PutRecord(s) accept, 1024-10240 KiB.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_active(&r)?;
    let kib = req.int("MaxRecordSizeInKiB").unwrap_or(1024) as u32;
    k.inner
        .store
        .update(&h, |rec| {
            rec.max_record_size_kib = kib;
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
