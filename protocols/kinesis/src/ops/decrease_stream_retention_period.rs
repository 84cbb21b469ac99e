//! DecreaseStreamRetentionPeriod (24-8760 hours, not above the current period).

use super::retention::{Direction, change};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    change(k, req, Direction::Decrease).await
}
