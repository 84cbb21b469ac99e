//! IncreaseStreamRetentionPeriod (24-8760 hours, not below the current period).

use super::retention::{Direction, change};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    change(k, req, Direction::Increase).await
}
