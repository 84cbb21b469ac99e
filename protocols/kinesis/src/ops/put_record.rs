//! PutRecord: one record, routed by MD5(PartitionKey) or ExplicitHashKey; answers its shard and sequence number.
//! SequenceNumberForOrdering is accepted: records of one shard are already strictly ordered by arrival.

use super::write::{Entry, Outcome, write};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &mut Value) -> Result<Value, KinesisError> {
    let name = k.requested_name(req)?;
    let entry = entry(req, String::new)?;
    let (outcomes, encryption) = write(k, &name, vec![entry]).await?;
    match outcomes.into_iter().next() {
        Some(Outcome::Written {
            shard,
            sequence_number,
        }) => Ok(Value::map()
            .with("ShardId", strait_shard_map::shard_id(shard))
            .with("SequenceNumber", sequence_number)
            .with_opt(
                "EncryptionType",
                super::write::reported_encryption(encryption),
            )),
        Some(Outcome::Throttled { message }) => {
            Err(KinesisError::ProvisionedThroughputExceeded(message))
        }
        Some(Outcome::Failed { error }) => Err(error),
        None => Err(KinesisError::Internal("Internal service failure.".into())),
    }
}

/// The record of a PutRecord request or of one PutRecords entry, its data moved out of `v` (`path` gives the
/// member path AWS names in messages, e.g. `records.3.member.`). The model only requires Data; Strait routes by
/// partition key, so a missing one is reported the way AWS reports a missing required member.
pub(crate) fn entry(v: &mut Value, path: impl FnOnce() -> String) -> Result<Entry, KinesisError> {
    let Some(partition_key) = v.string("PartitionKey") else {
        return Err(KinesisError::Validation(format!(
            "1 validation error detected: Value null at '{}partitionKey' failed to satisfy constraint: Member \
             must not be null",
            path()
        )));
    };
    let data = match v.member_mut("Data") {
        Some(Value::Blob(b)) => std::mem::take(b),
        _ => Vec::new(),
    };
    Ok(Entry {
        data,
        partition_key,
        explicit_hash_key: v.string("ExplicitHashKey"),
    })
}
