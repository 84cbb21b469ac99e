//! StartStreamEncryption: records KMS encryption and its key id (reported by DescribeStream and on records).
//! Strait does not encrypt with KMS: at-rest encryption is a later issue; the state is kept so applications that
//! manage it see AWS's answers. The stream is UPDATING for the status delay.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::StreamStatus;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    set(k, req, true).await
}

pub(crate) async fn set(k: &Kinesis, req: &Value, on: bool) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    if req.str("EncryptionType") != Some("KMS") {
        return Err(KinesisError::InvalidArgument(format!(
            "Invalid EncryptionType {}; only KMS is supported.",
            req.str("EncryptionType").unwrap_or_default()
        )));
    }
    k.require_active(&r)?;
    let key = req.string("KeyId").unwrap_or_default();
    let now = k.now_ms();
    k.inner
        .store
        .update(&h, |rec| {
            rec.kms_key_id = if on { Some(key) } else { None };
            rec.status = StreamStatus::Updating;
            rec.status_since_ms = now;
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
