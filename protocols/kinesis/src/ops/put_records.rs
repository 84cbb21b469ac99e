//! PutRecords: 1-500 records, one result per record in request order; records of a shard that is throttled or
//! whose append fails are reported individually (partial failure), the others are written.

use super::put_record::entry;
use super::write::{Outcome, write};
use crate::error::KinesisError;
use crate::service::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let name = k.requested_name(req)?;
    let entries = req
        .list("Records")
        .iter()
        .enumerate()
        .map(|(i, e)| entry(e, &format!("records.{}.member.", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let (outcomes, encryption) = write(k, &name, entries).await?;
    let mut failed = 0i64;
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Written {
                shard,
                sequence_number,
            } => Value::map()
                .with("SequenceNumber", sequence_number)
                .with("ShardId", strait_shard_map::shard_id(shard)),
            Outcome::Throttled { message } => {
                failed += 1;
                Value::map()
                    .with("ErrorCode", "ProvisionedThroughputExceededException")
                    .with("ErrorMessage", message)
            }
            Outcome::Failed { message } => {
                failed += 1;
                Value::map()
                    .with("ErrorCode", "InternalFailure")
                    .with("ErrorMessage", message)
            }
        })
        .collect();
    Ok(Value::map()
        .with("FailedRecordCount", failed)
        .with("Records", Value::List(results))
        .with("EncryptionType", encryption))
}
