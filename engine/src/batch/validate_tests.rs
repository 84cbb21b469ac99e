//! Append validation and bounded inflation: every refusal, every codec, and no panic on any mutation.

use std::io::Write;

use proptest::prelude::*;

use bytes::{BufMut, BytesMut};

use super::builder::{put_bytes, put_varlong};
use super::*;

const CAP: u64 = 1 << 20;

/// A v2 batch around `records` (already encoded, maybe compressed) with a correct CRC.
fn raw_batch(attributes: i16, count: i32, last_offset_delta: i32, records: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32);
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(attributes);
    b.put_i32(last_offset_delta);
    b.put_i64(1000);
    b.put_i64(1000 + i64::from(count.max(1)) - 1);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(count);
    b.extend_from_slice(records);
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.to_vec()
}

/// One encoded record: offset delta, key, value, and `headers` headers ("h" = "v").
fn record(offset_delta: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: usize) -> Vec<u8> {
    let mut r = BytesMut::new();
    r.put_i8(0);
    put_varlong(&mut r, offset_delta); // timestamp delta = offset delta
    put_varlong(&mut r, offset_delta);
    put_bytes(&mut r, key);
    put_bytes(&mut r, value);
    put_varlong(&mut r, headers as i64);
    for _ in 0..headers {
        put_bytes(&mut r, Some(b"h"));
        put_bytes(&mut r, Some(b"v"));
    }
    let mut out = BytesMut::new();
    put_varlong(&mut out, r.len() as i64);
    out.extend_from_slice(&r);
    out.to_vec()
}

fn records(n: usize, value: &[u8]) -> Vec<u8> {
    (0..n)
        .flat_map(|i| record(i as i64, Some(b"k"), Some(value), 1))
        .collect()
}

fn compress(codec: u8, data: &[u8]) -> Vec<u8> {
    match codec {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).expect("gzip");
            e.finish().expect("gzip")
        }
        2 => {
            // xerial framing, as Kafka clients write it: header, then (length, raw snappy block) pairs.
            let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
            for chunk in data.chunks(32 * 1024) {
                let block = snap::raw::Encoder::new()
                    .compress_vec(chunk)
                    .expect("snappy");
                out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            out
        }
        3 => {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).expect("lz4");
            e.write_all(data).expect("lz4");
            let (out, r) = e.finish();
            r.expect("lz4");
            out
        }
        4 => zstd::encode_all(data, 3).expect("zstd"),
        _ => data.to_vec(),
    }
}

fn refusal(b: &[u8]) -> BatchError {
    validate_for_append(b, CAP).expect_err("must be refused")
}

#[test]
fn well_formed_batches_of_every_codec_validate_and_inflate() {
    let body = records(5, b"value");
    for codec in 0..=4u8 {
        let b = raw_batch(i16::from(codec), 5, 4, &compress(codec, &body));
        let h = validate_for_append(&b, CAP).unwrap_or_else(|e| panic!("codec {codec}: {e}"));
        assert_eq!(h.record_count, 5);
        let inflated = inflate(&b, CAP).expect("inflates");
        let recs = inflated.records().expect("decodes");
        assert_eq!(recs.len(), 5, "codec {codec}");
        assert_eq!(recs[4].offset, 4);
        assert_eq!(recs[3].value, Some(&b"value"[..]));
        assert_eq!(recs[2].headers, vec![(&b"h"[..], Some(&b"v"[..]))]);
    }
}

#[test]
fn raw_snappy_without_xerial_framing_is_accepted() {
    let body = records(2, b"v");
    let block = snap::raw::Encoder::new()
        .compress_vec(&body)
        .expect("snappy");
    let b = raw_batch(2, 2, 1, &block);
    validate_for_append(&b, CAP).expect("valid");
    assert_eq!(
        inflate(&b, CAP)
            .expect("inflates")
            .records()
            .expect("decodes")
            .len(),
        2
    );
}

#[test]
fn garbage_records_under_a_valid_crc_are_refused() {
    let b = raw_batch(0, 2, 1, &[0xff; 40]);
    let e = refusal(&b);
    assert!(matches!(e, BatchError::BadRecord { index: 0, .. }), "{e}");
    assert_eq!(e.record_index(), Some(0));
    assert!(e.is_invalid_record());
}

#[test]
fn a_count_that_lies_is_refused() {
    // 2^31-1 records claimed, one present: before this check it moved the log end by two billion.
    let b = raw_batch(0, i32::MAX, i32::MAX - 1, &records(1, b"v"));
    assert_eq!(
        refusal(&b),
        BatchError::TooFewRecords {
            claimed: i32::MAX,
            found: 1
        }
    );
    // Fewer claimed than present: the rest is trailing bytes.
    let b = raw_batch(0, 1, 0, &records(2, b"v"));
    assert_eq!(refusal(&b), BatchError::TrailingBytes { count: 1 });
    // Count and last offset delta disagree.
    let b = raw_batch(0, 2, 5, &records(2, b"v"));
    assert!(matches!(refusal(&b), BatchError::BadRecordCount { .. }));
}

#[test]
fn offset_deltas_must_run_from_zero_in_order() {
    let mut body = record(0, None, Some(b"a"), 0);
    body.extend(record(5, None, Some(b"b"), 0));
    let b = raw_batch(0, 2, 1, &body);
    assert_eq!(refusal(&b), BatchError::OffsetDelta { index: 1, found: 5 });
    assert_eq!(refusal(&b).record_index(), Some(1));
    let b = raw_batch(0, 1, 0, &record(1, None, Some(b"a"), 0));
    assert_eq!(refusal(&b), BatchError::OffsetDelta { index: 0, found: 1 });
}

#[test]
fn lengths_must_stay_inside_their_record() {
    // A value length far past the record's end.
    let mut r = BytesMut::new();
    r.put_i8(0);
    put_varlong(&mut r, 0);
    put_varlong(&mut r, 0);
    put_bytes(&mut r, None);
    put_varlong(&mut r, 1_000_000);
    r.extend_from_slice(&[0; 8]);
    let mut body = BytesMut::new();
    put_varlong(&mut body, r.len() as i64);
    body.extend_from_slice(&r);
    let e = refusal(&raw_batch(0, 1, 0, &body));
    assert!(
        matches!(
            e,
            BatchError::BadRecord {
                error: RecordError::PastRecordEnd("value", 1_000_000),
                ..
            }
        ),
        "{e}"
    );
    // A record length that does not match its fields.
    let mut body = record(0, None, Some(b"a"), 0);
    body[0] += 2; // zigzag: the length grows by one, and one byte of padding follows
    body.push(0);
    let e = refusal(&raw_batch(0, 1, 0, &body));
    assert!(
        matches!(
            e,
            BatchError::BadRecord {
                error: RecordError::LengthMismatch { .. },
                ..
            }
        ),
        "{e}"
    );
    // A negative key length other than -1.
    let mut r = BytesMut::new();
    r.put_i8(0);
    put_varlong(&mut r, 0);
    put_varlong(&mut r, 0);
    put_varlong(&mut r, -7);
    r.extend_from_slice(&[0; 4]);
    let mut body = BytesMut::new();
    put_varlong(&mut body, r.len() as i64);
    body.extend_from_slice(&r);
    let e = refusal(&raw_batch(0, 1, 0, &body));
    assert!(
        matches!(
            e,
            BatchError::BadRecord {
                error: RecordError::NegativeLength("key", -7),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_header_count_past_the_record_is_refused() {
    let mut r = BytesMut::new();
    r.put_i8(0);
    put_varlong(&mut r, 0);
    put_varlong(&mut r, 0);
    put_bytes(&mut r, None);
    put_bytes(&mut r, Some(b"v"));
    put_varlong(&mut r, i64::from(i32::MAX));
    let mut body = BytesMut::new();
    put_varlong(&mut body, r.len() as i64);
    body.extend_from_slice(&r);
    let e = refusal(&raw_batch(0, 1, 0, &body));
    assert!(
        matches!(
            e,
            BatchError::BadRecord {
                error: RecordError::HeaderCount(i32::MAX),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_timestamp_delta_that_overflows_is_refused() {
    let mut r = BytesMut::new();
    r.put_i8(0);
    put_varlong(&mut r, i64::MAX);
    put_varlong(&mut r, 0);
    put_bytes(&mut r, None);
    put_bytes(&mut r, None);
    put_varlong(&mut r, 0);
    let mut body = BytesMut::new();
    put_varlong(&mut body, r.len() as i64);
    body.extend_from_slice(&r);
    let e = refusal(&raw_batch(0, 1, 0, &body));
    assert!(
        matches!(
            e,
            BatchError::BadRecord {
                error: RecordError::TimestampOverflow(_),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn decompression_bombs_are_refused_on_append_and_on_read() {
    // One record whose value is 4 MiB of zeros: a few hundred bytes compressed, 4x the cap inflated.
    let zeros = vec![0u8; 4 << 20];
    let body = record(0, None, Some(&zeros), 0);
    for codec in 1..=4u8 {
        let packed = compress(codec, &body);
        assert!(packed.len() < 300_000, "codec {codec}: {}", packed.len());
        let b = raw_batch(i16::from(codec), 1, 0, &packed);
        let e = refusal(&b);
        assert_eq!(
            e,
            BatchError::InflatedTooLarge { max: CAP },
            "codec {codec}"
        );
        assert!(e.is_invalid_record());
        assert_eq!(
            inflate(&b, CAP).expect_err("bounded").to_string(),
            e.to_string(),
            "codec {codec}"
        );
        // Under a larger cap the same batch is fine.
        validate_for_append(&b, 8 << 20).unwrap_or_else(|e| panic!("codec {codec}: {e}"));
    }
}

#[test]
fn undecodable_compressed_records_are_corrupt() {
    for codec in 1..=4u8 {
        let b = raw_batch(i16::from(codec), 1, 0, b"definitely not compressed data");
        let e = refusal(&b);
        assert!(matches!(e, BatchError::Codec { .. }), "codec {codec}: {e}");
        assert!(!e.is_invalid_record());
    }
    let e = refusal(&raw_batch(6, 1, 0, &records(1, b"v")));
    assert_eq!(e, BatchError::UnknownCodec(6));
}

#[test]
fn a_compressed_count_that_lies_is_refused() {
    let b = raw_batch(4, i32::MAX, i32::MAX - 1, &compress(4, &records(1, b"v")));
    assert_eq!(
        refusal(&b),
        BatchError::TooFewRecords {
            claimed: i32::MAX,
            found: 1
        }
    );
}

#[test]
fn control_batches_follow_their_own_rules() {
    let ctl = ATTR_TRANSACTIONAL | ATTR_CONTROL;
    let marker = record(0, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), 0);
    validate_for_append(&raw_batch(ctl, 1, 0, &marker), CAP).expect("a commit marker");
    let mut two = marker.clone();
    two.extend(record(1, Some(&[0, 0, 0, 1]), None, 0));
    assert!(matches!(
        refusal(&raw_batch(ctl, 2, 1, &two)),
        BatchError::BadControl(_)
    ));
    let bad_key = record(0, Some(b"xy"), None, 0);
    assert!(matches!(
        refusal(&raw_batch(ctl, 1, 0, &bad_key)),
        BatchError::BadControl(_)
    ));
    let packed = compress(4, &marker);
    assert!(matches!(
        refusal(&raw_batch(ctl | 4, 1, 0, &packed)),
        BatchError::BadControl(_)
    ));
}

#[test]
fn decode_records_asks_for_inflate_on_compressed_batches() {
    let b = raw_batch(4, 1, 0, &compress(4, &records(1, b"v")));
    assert_eq!(
        decode_records(&b).expect_err("compressed"),
        BatchError::Compressed("zstd")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any corruption of a batch's records (with the CRC made to match) is either still a valid batch or
    /// refused: never a panic, and never accepted with a record count other than what is there.
    #[test]
    fn mutated_records_never_panic(
        n in 1usize..5,
        codec in 0u8..=4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let body = records(n, b"some value");
        let mut packed = compress(codec, &body);
        for (at, byte) in flips {
            let i = at.index(packed.len());
            packed[i] = byte;
        }
        let b = raw_batch(i16::from(codec), n as i32, n as i32 - 1, &packed);
        if validate_for_append(&b, CAP).is_ok() {
            let inflated = inflate(&b, CAP).expect("validated batches inflate");
            prop_assert_eq!(inflated.records().expect("and decode").len(), n);
        }
    }

    /// Batches the builder makes always validate, whatever their keys, values and headers.
    #[test]
    fn built_batches_validate(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut bb = BatchBuilder::new();
        for (i, v) in values.iter().enumerate() {
            bb.push(RecordInput { key: Some(v), value: Some(v), headers: &[("h", Some(v))], timestamp_ms: i as i64 });
        }
        let b = bb.finish();
        prop_assert_eq!(validate_for_append(&b, CAP).expect("valid").record_count as usize, values.len());
    }
}
