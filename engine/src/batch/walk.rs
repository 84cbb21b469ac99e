//! Walking the records of a v2 batch, as Kafka's `DefaultRecord.readFrom` and `LogValidator` do: varint framing,
//! every length inside its record, the record count the header claims, offset deltas `0..n-1`, no trailing bytes.
//!
//! One walker serves two sources: a slice (uncompressed batches, and batches a reader inflated into memory), which
//! hands out borrowed keys and values, and a decompressing stream ([`Capped`]), which skips them, so validating a
//! compressed batch on append never holds its inflated records.

use std::io::{BufRead, Read};

use super::codec::{Capped, io_error};
use super::{BatchError, BatchHeader, RecordError};

/// Where the walker reads record bytes from.
pub(crate) trait Source {
    /// What a key, value or header becomes: a borrowed slice, or `()` when the source only validates.
    type Blob;
    /// The next byte, or `None` at the end of the records.
    fn byte(&mut self) -> Result<Option<u8>, BatchError>;
    /// The next `n` bytes, or `None` if the records end first.
    fn blob(&mut self, n: usize) -> Result<Option<Self::Blob>, BatchError>;
    /// Bytes consumed so far.
    fn consumed(&self) -> u64;
}

pub(crate) struct SliceSource<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Source for SliceSource<'a> {
    type Blob = &'a [u8];
    fn byte(&mut self) -> Result<Option<u8>, BatchError> {
        let b = self.b.get(self.pos).copied();
        self.pos += usize::from(b.is_some());
        Ok(b)
    }
    fn blob(&mut self, n: usize) -> Result<Option<&'a [u8]>, BatchError> {
        let Some(v) = self
            .pos
            .checked_add(n)
            .and_then(|end| self.b.get(self.pos..end))
        else {
            return Ok(None);
        };
        self.pos += n;
        Ok(Some(v))
    }
    fn consumed(&self) -> u64 {
        self.pos as u64
    }
}

/// A decompressing stream; keys and values are read and dropped.
pub(crate) struct StreamSource<'a> {
    pub(crate) capped: Capped<'a>,
    pub(crate) codec: u8,
    pub(crate) consumed: u64,
}

impl StreamSource<'_> {
    /// The records ended early: past the cap (the stream was cut there), or really.
    fn end(&self) -> Result<(), BatchError> {
        if self.capped.exceeded() {
            return Err(BatchError::InflatedTooLarge {
                max: self.capped.max(),
            });
        }
        Ok(())
    }
}

impl Source for StreamSource<'_> {
    type Blob = ();
    fn byte(&mut self) -> Result<Option<u8>, BatchError> {
        let codec = self.codec;
        let buf = self
            .capped
            .reader()
            .fill_buf()
            .map_err(|e| io_error(codec, e))?;
        let Some(&b) = buf.first() else {
            self.end()?;
            return Ok(None);
        };
        self.capped.reader().consume(1);
        self.consumed += 1;
        Ok(Some(b))
    }
    fn blob(&mut self, n: usize) -> Result<Option<()>, BatchError> {
        let codec = self.codec;
        let got = std::io::copy(
            &mut self.capped.reader().take(n as u64),
            &mut std::io::sink(),
        )
        .map_err(|e| io_error(codec, e))?;
        self.consumed += got;
        if got < n as u64 {
            self.end()?;
            return Ok(None);
        }
        Ok(Some(()))
    }
    fn consumed(&self) -> u64 {
        self.consumed
    }
}

/// One record as the walker found it.
pub(crate) struct RawRecord<B> {
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<B>,
    pub(crate) value: Option<B>,
    pub(crate) headers: Vec<(B, Option<B>)>,
}

/// Zigzag varint of at most `max_bytes` bytes (5 for Kafka's `varint`, 10 for `varlong`).
fn zigzag<S: Source>(src: &mut S, max_bytes: u32, index: i32) -> Result<i64, BatchError> {
    let mut z: u64 = 0;
    for i in 0..max_bytes {
        let Some(byte) = src.byte()? else {
            return Err(RecordError::Truncated.at(index));
        };
        z |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    Err(RecordError::VarintTooLong.at(index))
}

fn varint<S: Source>(src: &mut S, index: i32) -> Result<i32, BatchError> {
    let v = zigzag(src, 5, index)?;
    i32::try_from(v).map_err(|_| RecordError::VarintTooLong.at(index))
}

/// A length-prefixed field that must end by `record_end`: `None` for length -1 when `nullable`.
fn field<S: Source>(
    src: &mut S,
    record_end: u64,
    nullable: bool,
    what: &'static str,
    index: i32,
) -> Result<Option<S::Blob>, BatchError> {
    let len = varint(src, index)?;
    if len == -1 && nullable {
        return Ok(None);
    }
    if len < 0 {
        return Err(RecordError::NegativeLength(what, len).at(index));
    }
    if src.consumed() + len as u64 > record_end {
        return Err(RecordError::PastRecordEnd(what, len).at(index));
    }
    match src.blob(len as usize)? {
        Some(b) => Ok(Some(b)),
        None => Err(RecordError::Truncated.at(index)),
    }
}

/// Walks every record of the batch `h` from `src`, calling `each` for each, and checks the records end exactly
/// where the batch does. With `dense`, offset deltas must be `0..n-1` (Kafka's rule for batches from clients).
pub(crate) fn walk<S: Source>(
    h: &BatchHeader,
    src: &mut S,
    dense: bool,
    mut each: impl FnMut(RawRecord<S::Blob>),
) -> Result<(), BatchError> {
    for i in 0..h.record_count.max(0) {
        // Distinguish "the records stop here" (a count that lies) from a record cut short.
        let Some(first) = src.byte()? else {
            return Err(BatchError::TooFewRecords {
                claimed: h.record_count,
                found: i,
            });
        };
        let len = record_length(src, first, i)?;
        let start = src.consumed();
        let end = start + len as u64;
        let rec = record_body(h, src, end, i)?;
        if dense && rec.offset_delta != i {
            return Err(BatchError::OffsetDelta {
                index: i,
                found: rec.offset_delta,
            });
        }
        if src.consumed() != end {
            return Err(RecordError::LengthMismatch {
                declared: len,
                read: src.consumed() - start,
            }
            .at(i));
        }
        each(rec);
    }
    if src.byte()?.is_some() {
        return Err(BatchError::TrailingBytes {
            count: h.record_count,
        });
    }
    Ok(())
}

/// The record's length varint, whose first byte is already read.
fn record_length<S: Source>(src: &mut S, first: u8, index: i32) -> Result<i32, BatchError> {
    let mut z = u64::from(first & 0x7f);
    let mut byte = first;
    let mut shift = 7;
    while byte & 0x80 != 0 {
        if shift >= 35 {
            return Err(RecordError::VarintTooLong.at(index));
        }
        byte = src.byte()?.ok_or(RecordError::Truncated.at(index))?;
        z |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    let len = ((z >> 1) as i64) ^ -((z & 1) as i64);
    match i32::try_from(len) {
        // attributes, timestamp delta, offset delta, key length, value length, header count: 6 bytes at least.
        Ok(l) if l >= 6 => Ok(l),
        _ => Err(RecordError::BadLength(len).at(index)),
    }
}

fn record_body<S: Source>(
    h: &BatchHeader,
    src: &mut S,
    end: u64,
    index: i32,
) -> Result<RawRecord<S::Blob>, BatchError> {
    src.byte()?.ok_or(RecordError::Truncated.at(index))?; // attributes: unused in v2
    let timestamp_delta = zigzag(src, 10, index)?;
    if h.base_timestamp.checked_add(timestamp_delta).is_none() {
        return Err(RecordError::TimestampOverflow(timestamp_delta).at(index));
    }
    let offset_delta = varint(src, index)?;
    let key = field(src, end, true, "key", index)?;
    let value = field(src, end, true, "value", index)?;
    let n_headers = varint(src, index)?;
    // Each header takes two bytes at least: a count past that is a lie, refused before looping on it.
    let room = end.saturating_sub(src.consumed());
    if n_headers < 0 || n_headers as u64 > room / 2 {
        return Err(RecordError::HeaderCount(n_headers).at(index));
    }
    let mut headers = Vec::with_capacity(n_headers.min(64) as usize);
    for _ in 0..n_headers {
        let k =
            field(src, end, false, "header key", index)?.ok_or(RecordError::Truncated.at(index))?;
        let v = field(src, end, true, "header value", index)?;
        headers.push((k, v));
    }
    Ok(RawRecord {
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers,
    })
}
