//! StopStreamEncryption: clears the recorded KMS encryption (see StartStreamEncryption).

use super::start_stream_encryption::set;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    set(k, req, false).await
}
