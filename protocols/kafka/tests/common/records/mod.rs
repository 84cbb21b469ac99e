//! Helpers for the data-path tests: record batches built with kafka-protocol's encoder (as a client builds
//! them) and Produce / Fetch / ListOffsets requests.
#![allow(dead_code, unreachable_pub)]

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Idempotence fields of a batch: (producer id, epoch, base sequence).
pub type Producer = (i64, i16, i32);

/// One batch of `values` with the given timestamps, as a producer would encode it.
pub fn batch_at(
    values: &[&str],
    timestamps: &[i64],
    compression: Compression,
    producer: Option<Producer>,
) -> Bytes {
    encode(values, timestamps, compression, producer, false)
}

/// The encoder behind [`batch_at`] and [`txn_batch`]: keyed (`k0`, `k1`, ...) plain records, or unkeyed
/// transactional ones.
fn encode(
    values: &[&str],
    timestamps: &[i64],
    compression: Compression,
    producer: Option<Producer>,
    transactional: bool,
) -> Bytes {
    let (pid, epoch, seq) = producer.unwrap_or((-1, -1, -1));
    let records: Vec<Record> = values
        .iter()
        .zip(timestamps)
        .enumerate()
        .map(|(i, (v, ts))| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch where offset - sequence changes, so a producer without
            // sequences still needs them to step with the offsets; -1 + i keeps the base sequence at -1.
            sequence: seq.wrapping_add(i as i32),
            timestamp: *ts,
            key: (!transactional).then(|| Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(v.to_string())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

pub fn batch(values: &[&str], compression: Compression, producer: Option<Producer>) -> Bytes {
    let ts: Vec<i64> = (0..values.len() as i64).map(|i| 1_000 + i).collect();
    batch_at(values, &ts, compression, producer)
}

/// The batch as the log stores it: base offset and leader epoch stamped, everything else as produced.
pub fn stored(produced: &Bytes, base_offset: i64, epoch: i32) -> Vec<u8> {
    let mut b = produced.to_vec();
    b[0..8].copy_from_slice(&base_offset.to_be_bytes());
    b[12..16].copy_from_slice(&epoch.to_be_bytes());
    b
}

pub fn produce(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

pub fn fetch_partition(partition: i32, offset: i64, max_bytes: i32) -> FetchPartition {
    FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(max_bytes)
        .with_current_leader_epoch(-1)
        .with_last_fetched_epoch(-1)
}

pub fn fetch(topic: &str, partitions: Vec<FetchPartition>) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(50 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(partitions),
        ])
}

pub fn list_offsets(topic: &str, partition: i32, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_current_leader_epoch(-1)
                        .with_timestamp(timestamp),
                ]),
        ])
}

/// Records bytes of the first partition of the first topic.
pub fn fetched(r: &FetchResponse) -> Bytes {
    r.responses[0].partitions[0]
        .records
        .clone()
        .expect("records are never null")
}

/// `(offset, value)` of every record in a record set.
pub fn values(mut records: Bytes) -> Vec<(i64, String)> {
    let sets = RecordBatchDecoder::decode_all(&mut records).expect("decode fetched records");
    sets.iter()
        .flat_map(|s| &s.records)
        .map(|r| {
            let v = r.value.clone().unwrap_or_default();
            (r.offset, String::from_utf8_lossy(&v).into_owned())
        })
        .collect()
}

/// A transactional batch of `values` from (pid, epoch) starting at sequence `seq`.
pub fn txn_batch(values: &[&str], pid: i64, epoch: i16, seq: i32) -> Bytes {
    let ts: Vec<i64> = (0..values.len() as i64).map(|i| 1_000 + i).collect();
    encode(
        values,
        &ts,
        Compression::None,
        Some((pid, epoch, seq)),
        true,
    )
}
