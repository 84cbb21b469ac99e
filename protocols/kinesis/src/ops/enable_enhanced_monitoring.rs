//! EnableEnhancedMonitoring.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    super::monitoring::change(k, req, true).await
}
