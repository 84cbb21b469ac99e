//! UpdateAccountSettings: records the minimum throughput billing commitment (Strait bills nothing; the setting is
//! kept so tools that manage it see their change).

use super::describe_account_settings::commitment;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let enable = req
        .member("MinimumThroughputBillingCommitment")
        .and_then(|c| c.str("Status"))
        == Some("ENABLED");
    let now = k.now_ms();
    let mut a = k.inner.store.account();
    if enable && !a.commitment_enabled {
        a.commitment_started_ms = Some(now);
        a.commitment_ended_ms = None;
    } else if !enable && a.commitment_enabled {
        a.commitment_ended_ms = Some(now);
    }
    a.commitment_enabled = enable;
    k.inner.store.set_account(a.clone()).await?;
    Ok(Value::map().with("MinimumThroughputBillingCommitment", commitment(&a)))
}
