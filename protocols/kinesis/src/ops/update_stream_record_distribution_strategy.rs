//! UpdateStreamRecordDistributionStrategy: recorded and reported by DescribeStreamSummary. Routing is always by
//! partition key (USER_PARTITION_KEY behaviour) in Strait.

use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let (h, r) = k.resolve(req)?;
    k.require_active(&r)?;
    let strategy = req.string("RecordDistributionStrategy");
    k.inner
        .store
        .update(&h, |rec| {
            rec.record_distribution_strategy = strategy;
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
