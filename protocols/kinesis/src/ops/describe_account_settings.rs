//! DescribeAccountSettings: the minimum throughput billing commitment as last set by UpdateAccountSettings.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::AccountSettings;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, _req: &Value) -> Result<Value, KinesisError> {
    Ok(Value::map().with(
        "MinimumThroughputBillingCommitment",
        commitment(&k.inner.store.account()),
    ))
}

/// `MinimumThroughputBillingCommitmentOutput`.
pub(crate) fn commitment(a: &AccountSettings) -> Value {
    Value::map()
        .with(
            "Status",
            if a.commitment_enabled {
                "ENABLED"
            } else {
                "DISABLED"
            },
        )
        .with_opt("StartedAt", a.commitment_started_ms.map(Value::Timestamp))
        .with_opt("EndedAt", a.commitment_ended_ms.map(Value::Timestamp))
}
