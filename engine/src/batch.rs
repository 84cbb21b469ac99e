//! The on-disk and on-wire record format: Kafka v2 record batches ("magic 2").
//!
//! Both front ends store records in this one format, so a batch produced by a Kafka client is kept byte-for-byte
//! (compressed batches stay compressed) and a Kinesis `PutRecords` call is turned into a batch by [`BatchBuilder`].
//! On the read path the engine reads only the fixed 61-byte header. On append it walks every record once, as
//! Kafka's `LogValidator` does ([`validate_for_append`]): a batch whose records do not match its header would
//! otherwise be acknowledged and then stall or crash every reader of the partition. Compressed batches are
//! walked through a streaming decompressor with a cap on the inflated size (see [`codec`]).
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset            (assigned by the broker; outside the CRC)
//!      8     4  batchLength           (bytes after this field)
//!     12     4  partitionLeaderEpoch  (stamped by the broker; outside the CRC)
//!     16     1  magic = 2
//!     17     4  crc (CRC-32C of bytes 21..end)
//!     21     2  attributes            (bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control)
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  recordCount
//!     61     …  records
//! ```

use std::borrow::Cow;

mod builder;
mod codec;
mod walk;

pub use builder::{BatchBuilder, Compression, RecordInput};

use walk::{SliceSource, StreamSource};

/// Bytes before `batchLength`'s payload: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed batch header.
pub const HEADER_LEN: usize = 61;
const CRC_START: usize = 21;
const ATTR_TIMESTAMP_LOG_APPEND: i16 = 1 << 3;
const ATTR_TRANSACTIONAL: i16 = 1 << 4;
const ATTR_CONTROL: i16 = 1 << 5;

/// Why a byte range is not a valid v2 record batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record batch truncated: need {needed} bytes, have {have}")]
    Truncated { needed: usize, have: usize },
    #[error("unsupported record batch magic {0} (only v2 batches are accepted)")]
    BadMagic(i8),
    #[error("invalid record batch length {0}")]
    BadLength(i32),
    #[error("record batch CRC mismatch: header says {expected:#010x}, computed {actual:#010x}")]
    CrcMismatch { expected: u32, actual: u32 },
    #[error("record batch has record count {count} but last offset delta {last_offset_delta}")]
    BadRecordCount { count: i32, last_offset_delta: i32 },
    #[error("empty record set")]
    Empty,
    #[error("record {index} of the batch is malformed: {error}")]
    BadRecord { index: i32, error: RecordError },
    #[error("record batch claims {claimed} records but holds {found}")]
    TooFewRecords { claimed: i32, found: i32 },
    #[error("record batch has bytes after its {count} records")]
    TrailingBytes { count: i32 },
    #[error(
        "record {index} has offset delta {found}; a batch's offset deltas must run 0, 1, ... in order"
    )]
    OffsetDelta { index: i32, found: i32 },
    #[error("cannot decompress the {codec} records of the batch: {reason}")]
    Codec { codec: &'static str, reason: String },
    #[error("unknown compression codec {0}")]
    UnknownCodec(u8),
    #[error(
        "record batch inflates to more than {max} bytes (the node setting engine.max_inflated_batch_bytes)"
    )]
    InflatedTooLarge { max: u64 },
    #[error("a {0} batch must be inflated before its records are decoded")]
    Compressed(&'static str),
    #[error("invalid control batch: {0}")]
    BadControl(&'static str),
}

impl BatchError {
    /// The index (in its batch) of the record a refusal is about, for Kafka's per-record errors.
    pub fn record_index(&self) -> Option<i32> {
        match self {
            BatchError::BadRecord { index, .. } | BatchError::OffsetDelta { index, .. } => {
                Some(*index)
            }
            _ => None,
        }
    }

    /// True when the batch's bytes are intact but its records break the format's rules (Kafka's
    /// `InvalidRecordException`, INVALID_RECORD, which clients do not retry); false when the bytes are damaged
    /// (CRC, truncation, an undecodable compressed stream: CORRUPT_MESSAGE).
    pub fn is_invalid_record(&self) -> bool {
        match self {
            BatchError::Truncated { .. }
            | BatchError::BadMagic(_)
            | BatchError::BadLength(_)
            | BatchError::CrcMismatch { .. }
            | BatchError::Codec { .. }
            | BatchError::UnknownCodec(_)
            | BatchError::Compressed(_) => false,
            BatchError::BadRecordCount { .. }
            | BatchError::Empty
            | BatchError::BadRecord { .. }
            | BatchError::TooFewRecords { .. }
            | BatchError::TrailingBytes { .. }
            | BatchError::OffsetDelta { .. }
            | BatchError::InflatedTooLarge { .. }
            | BatchError::BadControl(_) => true,
        }
    }
}

/// What is wrong inside one record (see [`BatchError::BadRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("it is cut short")]
    Truncated,
    #[error("a varint is longer than Kafka allows")]
    VarintTooLong,
    #[error("invalid record length {0}")]
    BadLength(i64),
    #[error("its {0} has negative length {1}")]
    NegativeLength(&'static str, i32),
    #[error("its {0} of {1} bytes runs past the end of the record")]
    PastRecordEnd(&'static str, i32),
    #[error("invalid header count {0}")]
    HeaderCount(i32),
    #[error("timestamp delta {0} overflows the batch's base timestamp")]
    TimestampOverflow(i64),
    #[error("its length says {declared} bytes but its fields take {read}")]
    LengthMismatch { declared: i32, read: u64 },
}

impl RecordError {
    fn at(self, index: i32) -> BatchError {
        BatchError::BadRecord { index, error: self }
    }
}

/// The parsed fixed header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads `baseOffset` and the total size of the batch from its first 12 bytes, without any further checks.
/// Used to walk a segment quickly; callers check the length is sane.
pub fn peek_offset_and_len(b: &[u8]) -> Result<(i64, usize), BatchError> {
    if b.len() < LOG_OVERHEAD {
        return Err(BatchError::Truncated {
            needed: LOG_OVERHEAD,
            have: b.len(),
        });
    }
    let len = be_i32(b, 8);
    if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(BatchError::BadLength(len));
    }
    Ok((be_i64(b, 0), LOG_OVERHEAD + len as usize))
}

impl BatchHeader {
    /// Parses the fixed header from the start of `b` (which may hold more than one batch).
    pub fn parse(b: &[u8]) -> Result<Self, BatchError> {
        if b.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                have: b.len(),
            });
        }
        let magic = b[16] as i8;
        if magic != 2 {
            return Err(BatchError::BadMagic(magic));
        }
        let batch_length = be_i32(b, 8);
        if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(BatchError::BadLength(batch_length));
        }
        Ok(BatchHeader {
            base_offset: be_i64(b, 0),
            batch_length,
            partition_leader_epoch: be_i32(b, 12),
            magic,
            crc: be_i32(b, 17) as u32,
            attributes: be_i16(b, 21),
            last_offset_delta: be_i32(b, 23),
            base_timestamp: be_i64(b, 27),
            max_timestamp: be_i64(b, 35),
            producer_id: be_i64(b, 43),
            producer_epoch: be_i16(b, 51),
            base_sequence: be_i32(b, 53),
            record_count: be_i32(b, 57),
        })
    }

    /// Size of the whole batch including the 12-byte log overhead.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> u8 {
        (self.attributes & 0x7) as u8
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_TIMESTAMP_LOG_APPEND != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// Parses and fully validates the single batch at the start of `b` (magic, length, CRC-32C).
/// Returns the header; the batch occupies `header.total_len()` bytes.
pub fn validate(b: &[u8]) -> Result<BatchHeader, BatchError> {
    let h = BatchHeader::parse(b)?;
    let total = h.total_len();
    if b.len() < total {
        return Err(BatchError::Truncated {
            needed: total,
            have: b.len(),
        });
    }
    let actual = crc32c::crc32c(&b[CRC_START..total]);
    if actual != h.crc {
        return Err(BatchError::CrcMismatch {
            expected: h.crc,
            actual,
        });
    }
    Ok(h)
}

/// Validates a batch before it is appended, as Kafka's `LogValidator` does for batches from clients: the header
/// and CRC ([`validate`]), dense offsets (`recordCount == lastOffsetDelta + 1`, because the log assigns
/// `recordCount` consecutive offsets), and then every record, walked through the codec for compressed batches
/// (inflating at most `max_inflated` bytes, never holding them): varint framing, lengths inside their record,
/// exactly `recordCount` records with offset deltas `0..n-1`, nothing after the last. Control batches (transaction
/// markers) must hold one uncompressed record with a 4-byte key (version 0, type).
pub fn validate_for_append(b: &[u8], max_inflated: u64) -> Result<BatchHeader, BatchError> {
    let h = validate(b)?;
    if h.record_count <= 0 || h.last_offset_delta != h.record_count - 1 {
        return Err(BatchError::BadRecordCount {
            count: h.record_count,
            last_offset_delta: h.last_offset_delta,
        });
    }
    let records = &b[HEADER_LEN..h.total_len()];
    if h.is_control() {
        return validate_control(&h, records).map(|()| h);
    }
    match h.compression() {
        0 => {
            let mut src = SliceSource { b: records, pos: 0 };
            walk::walk(&h, &mut src, true, |_| {})?;
        }
        c => {
            let mut src = StreamSource {
                capped: codec::Capped::new(c, records, max_inflated)?,
                codec: c,
                consumed: 0,
            };
            walk::walk(&h, &mut src, true, |_| {})?;
        }
    }
    Ok(h)
}

fn validate_control(h: &BatchHeader, records: &[u8]) -> Result<(), BatchError> {
    if h.compression() != 0 {
        return Err(BatchError::BadControl(
            "control batches are never compressed",
        ));
    }
    if h.record_count != 1 {
        return Err(BatchError::BadControl(
            "a control batch holds exactly one record",
        ));
    }
    let mut key_ok = false;
    walk::walk(h, &mut SliceSource { b: records, pos: 0 }, true, |r| {
        key_ok = r
            .key
            .is_some_and(|k: &[u8]| k.len() == 4 && k[..2] == [0, 0]);
    })?;
    if !key_ok {
        return Err(BatchError::BadControl(
            "a control record's key is version 0 and a type (4 bytes)",
        ));
    }
    Ok(())
}

/// Overwrites `baseOffset` (outside the CRC, so no re-checksum is needed).
pub fn set_base_offset(b: &mut [u8], offset: i64) {
    b[0..8].copy_from_slice(&offset.to_be_bytes());
}

/// Overwrites `partitionLeaderEpoch` (outside the CRC).
pub fn set_leader_epoch(b: &mut [u8], epoch: i32) {
    b[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks the batch as `LogAppendTime` with the broker's clock and recomputes the CRC, as Kafka does for topics
/// with `message.timestamp.type=LogAppendTime`.
pub fn set_log_append_time(b: &mut [u8], now_ms: i64) {
    let attrs = be_i16(b, 21) | ATTR_TIMESTAMP_LOG_APPEND;
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    b[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let total = LOG_OVERHEAD + be_i32(b, 8) as usize;
    let crc = crc32c::crc32c(&b[CRC_START..total]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// [`set_log_append_time`] for a batch whose header is held apart from the rest of it (`head` is the first
/// [`HEADER_LEN`] bytes, `rest` the bytes after them): the CRC runs over the end of the header, then the rest.
pub fn set_log_append_time_split(head: &mut [u8; HEADER_LEN], rest: &[u8], now_ms: i64) {
    let attrs = be_i16(head, 21) | ATTR_TIMESTAMP_LOG_APPEND;
    head[21..23].copy_from_slice(&attrs.to_be_bytes());
    head[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[CRC_START..]), rest);
    head[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Iterates over the batches in a record set, yielding `(header, byte range)`; stops at the first invalid one.
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BatchIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BatchIter { buf, pos: 0 }
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Result<(BatchHeader, std::ops::Range<usize>), BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        match BatchHeader::parse(rest) {
            Ok(h) if h.total_len() <= rest.len() => {
                let range = self.pos..self.pos + h.total_len();
                self.pos = range.end;
                Some(Ok((h, range)))
            }
            Ok(h) => {
                self.pos = self.buf.len();
                Some(Err(BatchError::Truncated {
                    needed: h.total_len(),
                    have: rest.len(),
                }))
            }
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

/// One record decoded from a batch (see [`decode_records`] and [`Inflated::records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// One stored batch with its records ready to decode: borrowed when uncompressed, inflated into memory (at most
/// the cap given to [`inflate`]) when compressed.
#[derive(Debug, Clone)]
pub struct Inflated<'a> {
    pub header: BatchHeader,
    body: Cow<'a, [u8]>,
}

impl Inflated<'_> {
    /// The batch's records, walked as on append but tolerating offset gaps (which Kafka allows in stored
    /// batches).
    pub fn records(&self) -> Result<Vec<RecordView<'_>>, BatchError> {
        decode_body(&self.header, &self.body)
    }
    /// Size of the records after decompression.
    pub fn inflated_len(&self) -> usize {
        self.body.len()
    }
}

/// Validates the batch at the start of `b` (header, CRC) and decompresses its records, refusing to inflate
/// more than `max_inflated` bytes: the bounded way for a reader to get at a compressed batch.
pub fn inflate(b: &[u8], max_inflated: u64) -> Result<Inflated<'_>, BatchError> {
    let header = validate(b)?;
    let records = &b[HEADER_LEN..header.total_len()];
    let body = match header.compression() {
        0 => Cow::Borrowed(records),
        c => Cow::Owned(codec::inflate_all(c, records, max_inflated)?),
    };
    Ok(Inflated { header, body })
}

fn decode_body<'a>(h: &BatchHeader, body: &'a [u8]) -> Result<Vec<RecordView<'a>>, BatchError> {
    // Bounded by the bytes present, not by the count the header claims.
    let mut out = Vec::with_capacity((h.record_count.max(0) as usize).min(body.len() / 6));
    let mut src = SliceSource { b: body, pos: 0 };
    walk::walk(h, &mut src, false, |r| {
        let timestamp_ms = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.saturating_add(r.timestamp_delta)
        };
        out.push(RecordView {
            offset: h.base_offset + i64::from(r.offset_delta),
            timestamp_ms,
            key: r.key,
            value: r.value,
            headers: r.headers,
        });
    })?;
    Ok(out)
}

/// Decodes the records of one uncompressed batch (`compression() == 0`); a compressed one needs [`inflate`].
pub fn decode_records(b: &[u8]) -> Result<(BatchHeader, Vec<RecordView<'_>>), BatchError> {
    let h = validate(b)?;
    if h.compression() != 0 {
        return Err(BatchError::Compressed(codec::codec_name(h.compression())));
    }
    let records = decode_body(&h, &b[HEADER_LEN..h.total_len()])?;
    Ok((h, records))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::builder::{put_varlong, varlong_len};
    use super::*;

    fn sample(n: usize) -> BytesMut {
        let mut bb = BatchBuilder::new();
        for i in 0..n {
            let v = format!("value-{i}");
            bb.push(RecordInput {
                key: Some(b"k"),
                value: Some(v.as_bytes()),
                headers: &[("h", None)],
                timestamp_ms: 1000 + i as i64,
            });
        }
        bb.finish()
    }

    #[test]
    fn varint_sizes_match_what_is_written() {
        for v in [
            0,
            1,
            -1,
            63,
            64,
            -65,
            8191,
            8192,
            1 << 20,
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
        ] {
            let mut b = BytesMut::new();
            put_varlong(&mut b, v);
            assert_eq!(varlong_len(v), b.len(), "{v}");
        }
    }

    #[test]
    fn records_round_trip_through_the_one_buffer() {
        let big = vec![7u8; 20_000];
        let mut bb = BatchBuilder::with_capacity(16);
        type Row<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, i64);
        let rows: [Row<'_>; 4] = [
            (None, Some(b"v0"), 5),
            (Some(b"key"), None, 3),
            (Some(b"k2"), Some(&big), 1_000_000),
            (Some(b""), Some(b""), 4),
        ];
        for (key, value, ts) in rows {
            bb.push(RecordInput {
                key,
                value,
                headers: &[("h1", Some(b"x")), ("h2", None)],
                timestamp_ms: ts,
            });
        }
        let size = bb.size();
        let b = bb.finish();
        assert_eq!(b.len(), size);
        let (h, records) = decode_records(&b).expect("decodes");
        assert_eq!((h.record_count, h.max_timestamp), (4, 1_000_000));
        for (i, (r, (key, value, ts))) in records.iter().zip(rows).enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!((r.key, r.value, r.timestamp_ms), (key, value, ts));
            assert_eq!(
                r.headers,
                vec![(&b"h1"[..], Some(&b"x"[..])), (&b"h2"[..], None)]
            );
        }
    }

    #[test]
    fn built_batch_validates() {
        let b = sample(3);
        let h = validate_for_append(&b, 1 << 20).expect("valid");
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.max_timestamp, 1002);
        assert_eq!(h.total_len(), b.len());
    }

    #[test]
    fn offset_and_epoch_do_not_touch_crc() {
        let mut b = sample(2);
        set_base_offset(&mut b, 42);
        set_leader_epoch(&mut b, 7);
        let h = validate(&b).expect("still valid");
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.last_offset()),
            (42, 7, 43)
        );
    }

    #[test]
    fn split_log_append_time_stamps_like_the_whole_batch() {
        let mut whole = sample(3);
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&whole[..HEADER_LEN]);
        set_log_append_time_split(&mut head, &whole[HEADER_LEN..], 77_777);
        set_log_append_time(&mut whole, 77_777);
        assert_eq!(&head[..], &whole[..HEADER_LEN]);
    }

    #[test]
    fn log_append_time_rechecksums() {
        let mut b = sample(2);
        set_log_append_time(&mut b, 99_999);
        let h = validate(&b).expect("valid after restamp");
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99_999);
    }

    #[test]
    fn corruption_is_detected() {
        let mut b = sample(2);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(validate(&b), Err(BatchError::CrcMismatch { .. })));
        let b = sample(2);
        assert!(matches!(
            validate(&b[..b.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        let mut b = sample(1);
        b[16] = 1;
        assert_eq!(validate(&b), Err(BatchError::BadMagic(1)));
    }

    #[test]
    fn decode_round_trips_builder() {
        let mut b = sample(3);
        set_base_offset(&mut b, 100);
        let (h, recs) = decode_records(&b).expect("decodes");
        assert_eq!(h.record_count, 3);
        assert_eq!(recs[2].offset, 102);
        assert_eq!(recs[1].value, Some(&b"value-1"[..]));
        assert_eq!(recs[0].key, Some(&b"k"[..]));
        assert_eq!(recs[2].timestamp_ms, 1002);
        assert_eq!(recs[0].headers, vec![(&b"h"[..], None)]);
    }

    #[test]
    fn iter_walks_concatenated_batches() {
        let mut all = sample(1);
        all.extend_from_slice(&sample(4));
        let hs: Vec<_> = BatchIter::new(&all)
            .map(|r| r.expect("ok").0.record_count)
            .collect();
        assert_eq!(hs, vec![1, 4]);
    }
}

#[cfg(test)]
mod validate_tests;
