//! PutRecords: 1-500 records, one result per record in request order; records of a shard that is throttled or
//! whose append fails are reported individually (partial failure), the others are written.

use super::put_record::entry;
use super::write::{Outcome, write};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &mut Value) -> Result<Value, KinesisError> {
    let name = k.requested_name(req)?;
    let entries = req
        .list_mut("Records")
        .iter_mut()
        .enumerate()
        .map(|(i, e)| entry(e, || format!("records.{}.member.", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let (outcomes, encryption) = write(k, &name, entries).await?;
    let mut failed = 0i64;
    // One shard id string per shard, not one format! per record.
    let mut ids: Vec<(u32, String)> = Vec::new();
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Written {
                shard,
                sequence_number,
            } => Value::map()
                .with("SequenceNumber", sequence_number)
                .with("ShardId", shard_id(&mut ids, shard)),
            Outcome::Throttled { message } => {
                failed += 1;
                Value::map()
                    .with("ErrorCode", "ProvisionedThroughputExceededException")
                    .with("ErrorMessage", message)
            }
            Outcome::Failed { error } => {
                failed += 1;
                Value::map()
                    .with("ErrorCode", "InternalFailure")
                    .with("ErrorMessage", error.to_string())
            }
        })
        .collect();
    Ok(Value::map()
        .with("FailedRecordCount", failed)
        .with("Records", Value::List(results))
        .with_opt(
            "EncryptionType",
            super::write::reported_encryption(encryption),
        ))
}

/// The id of `shard`, formatted once per call.
fn shard_id(ids: &mut Vec<(u32, String)>, shard: u32) -> String {
    match ids.iter().find(|(s, _)| *s == shard) {
        Some((_, id)) => id.clone(),
        None => {
            let id = strait_shard_map::shard_id(shard);
            ids.push((shard, id.clone()));
            id
        }
    }
}
