//! The patched kafka-protocol decoders (protocols/kafka/vendor/kafka-protocol/PATCHES.md) refuse a count or length
//! the remaining bytes cannot hold *before* reserving memory for it. Each test checks the refusal comes from that
//! check (its message), not from a later short read, which would mean the reservation had already happened; the
//! address-space-limited run in `fuzz_frames.rs` checks that nothing aborts end to end.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{MetadataRequest, ProduceRequest};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::records::{
    Compression, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, Record,
    RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

fn refused_before_allocating(err: anyhow::Error) {
    let msg = format!("{err:#}");
    assert!(
        msg.contains("claims") && msg.contains("remain"),
        "refused by the count check, not later: {msg}"
    );
}

#[test]
fn array_count_beyond_the_buffer_is_refused() {
    // Metadata v1: topics array of 2^31 - 1, then three bytes.
    let mut b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0]);
    refused_before_allocating(MetadataRequest::decode(&mut b, 1).expect_err("refused"));
}

#[test]
fn compact_array_count_beyond_the_buffer_is_refused() {
    // Metadata v12: compact topics array of 2^32 - 2, then nothing.
    let mut b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    refused_before_allocating(MetadataRequest::decode(&mut b, 12).expect_err("refused"));
}

#[test]
fn nested_array_count_is_refused_too() {
    // Produce v3: null transactional id, acks, timeout, one topic "t", then 2^31 - 1 partitions.
    let mut b = BytesMut::new();
    b.put_i16(-1);
    b.put_i16(1);
    b.put_i32(1000);
    b.put_i32(1);
    b.put_i16(1);
    b.put_u8(b't');
    b.put_i32(i32::MAX);
    refused_before_allocating(ProduceRequest::decode(&mut b.freeze(), 3).expect_err("refused"));
}

#[test]
fn counts_the_buffer_can_hold_still_decode() {
    // An array of as many elements as bytes remain is legal when each element is one byte... and Metadata's
    // smallest topic is two (an empty name): 1 topic in 2 bytes decodes, the count check does not over-reject.
    let mut b = Bytes::from_static(&[0, 0, 0, 1, 0, 0]);
    let m = MetadataRequest::decode(&mut b, 1).expect("decodes");
    assert_eq!(m.topics.map(|t| t.len()), Some(1));
}

fn one_record_batch(compression: Compression) -> BytesMut {
    let rec = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        sequence: 0,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        timestamp: 0,
        key: None,
        value: Some(Bytes::from_static(b"v")),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&rec],
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode");
    buf
}

/// Replaces everything after the 61-byte v2 batch header with `records`, then fixes the length and CRC.
fn with_records(mut batch: BytesMut, record_count: i32, records: &[u8]) -> Bytes {
    batch.truncate(61);
    batch[57..61].copy_from_slice(&record_count.to_be_bytes());
    batch.extend_from_slice(records);
    let len = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch.freeze()
}

/// CRC-32C, bitwise (a test needs a few hundred bytes of it, not a dependency).
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn record_count_beyond_the_batch_is_refused() {
    let batch = one_record_batch(Compression::None);
    let records = batch[61..].to_vec();
    let mut b = with_records(batch, i32::MAX, &records);
    refused_before_allocating(RecordBatchDecoder::decode(&mut b).expect_err("refused"));
}

#[test]
fn header_count_beyond_the_record_is_refused() {
    // One record: attributes, timestamp delta, offset delta, null key, null value, then 2^31 - 1 headers.
    let body = [0u8, 0, 0, 0x01, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f];
    let mut records = vec![(body.len() as u8) << 1];
    records.extend_from_slice(&body);
    let mut b = with_records(one_record_batch(Compression::None), 1, &records);
    refused_before_allocating(RecordBatchDecoder::decode(&mut b).expect_err("refused"));
}

#[test]
fn snappy_claimed_length_beyond_what_the_input_can_produce_is_refused() {
    // A raw snappy stream whose header claims 4 GiB - 1, and a single literal byte.
    let stream = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
    let mut b = with_records(one_record_batch(Compression::Snappy), 1, &stream);
    let msg = format!(
        "{:#}",
        RecordBatchDecoder::decode(&mut b).expect_err("refused")
    );
    assert!(msg.contains("snappy header claims"), "{msg}");
}

#[test]
fn well_formed_batches_still_decode() {
    for c in [Compression::None, Compression::Snappy] {
        let mut b = one_record_batch(c).freeze();
        let set = RecordBatchDecoder::decode(&mut b).expect("decodes");
        assert_eq!(set.records.len(), 1);
        assert_eq!(set.records[0].value.as_deref(), Some(&b"v"[..]));
    }
}
