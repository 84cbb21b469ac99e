//! Transaction markers: the COMMIT/ABORT control batch the coordinator appends to every partition of a
//! transaction. Format (Kafka's `EndTransactionMarker`): one record in a batch with the transactional and control
//! attribute bits, the producer's id and epoch, no sequence; key = version (i16, 0) + type (i16: 0 abort,
//! 1 commit); value = version (i16, 0) + coordinator epoch (i32).

use bytes::{BufMut, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strait_engine::AppendOptions;

use super::TxnDeps;
use crate::error::ApiError;
use crate::topics::resolve;

/// This node is the only coordinator there ever was, so its epoch never changes.
pub const COORDINATOR_EPOCH: i32 = 0;

const ABORT: i16 = 0;
const COMMIT: i16 = 1;

/// The control batch for `commit` (else abort).
pub fn control_batch(producer_id: i64, epoch: i16, commit: bool, now_ms: i64) -> BytesMut {
    let mut key = BytesMut::with_capacity(4);
    key.put_i16(0);
    key.put_i16(if commit { COMMIT } else { ABORT });
    let mut value = BytesMut::with_capacity(6);
    value.put_i16(0);
    value.put_i32(COORDINATOR_EPOCH);
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch: epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    // Encoding one uncompressed record into a growable buffer cannot fail.
    if let Err(e) = RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    ) {
        tracing::error!(error = %e, "encoding a transaction marker failed");
    }
    buf
}

/// Parses a control record key: `Some(true)` for COMMIT, `Some(false)` for ABORT.
pub fn marker_type(key: &Bytes) -> Option<bool> {
    match key.get(..4)? {
        [0, 0, 0, 1] => Some(true),
        [0, 0, 0, 0] => Some(false),
        _ => None,
    }
}

/// Appends the marker to `topic`-`partition` (durably), which closes the producer's transaction there: the
/// engine derives the LSO and aborted ranges from the markers it stores. A partition whose topic was deleted
/// meanwhile has nothing left to mark and counts as done.
pub async fn write(
    b: &TxnDeps<'_>,
    topic: &str,
    partition: i32,
    producer_id: i64,
    epoch: i16,
    commit: bool,
) -> Result<(), ApiError> {
    let engine = b.engine();
    let Some(t) = engine.topic(topic) else {
        return Ok(());
    };
    let p = match resolve::partition(b.engine(), &t, partition) {
        Ok(p) => p,
        Err(e) if e.code == ResponseError::UnknownTopicOrPartition => return Ok(()),
        Err(e) => return Err(e),
    };
    // The producer lock orders the marker after every transactional batch already checked for this partition.
    let _producers = b.producers().lock(engine, &p).await?;
    // A sealed partition (a closed Kinesis shard) takes no marker. If the producer has no transaction open there
    // (its writes were refused by the seal, or it only added the partition), there is nothing to close and the
    // marker is done; otherwise the error stands (resharding refuses to seal under open transactions, see
    // strait-kinesis ops/reshard.rs, so that only happens in a narrow race).
    if p.is_sealed() && !p.open_transactions().contains_key(&producer_id) {
        return Ok(());
    }
    let batch = control_batch(
        producer_id,
        epoch,
        commit,
        crate::coordinator::producer::now_ms(),
    );
    p.append(
        batch.into(),
        AppendOptions {
            leader_epoch: resolve::leader_epoch(&p),
            wait_durable: true,
            forward: false,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn marker_round_trips_as_a_control_batch() {
        let mut b = control_batch(42, 3, true, 1000).freeze();
        let h = strait_engine::batch::validate(&b).expect("valid batch");
        assert!(h.is_control() && h.is_transactional());
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (42, 3, -1)
        );
        let set = RecordBatchDecoder::decode(&mut b).expect("decodes");
        let r = &set.records[0];
        assert!(r.control);
        assert_eq!(marker_type(r.key.as_ref().expect("key")), Some(true));
        assert_eq!(r.value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 0][..]));
        let b = control_batch(42, 3, false, 1000).freeze();
        let mut b2 = b.clone();
        let set = RecordBatchDecoder::decode(&mut b2).expect("decodes");
        assert_eq!(
            marker_type(set.records[0].key.as_ref().expect("key")),
            Some(false)
        );
    }
}
