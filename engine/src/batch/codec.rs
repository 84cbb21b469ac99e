//! Bounded decompression of a batch's records (everything after the 61-byte header).
//!
//! Kafka compresses the records of a batch as one stream with gzip, snappy (xerial framing, or raw), lz4 (the
//! frame format) or zstd. Every decompressor here is a streaming [`Read`] behind a cap on the inflated bytes, so
//! a small batch that claims to inflate to gigabytes (a decompression bomb) costs at most the cap in CPU and, for
//! callers that stream (append validation), a codec window in memory.

use std::io::{self, BufReader, Read};

use super::BatchError;

/// Human name of a Kafka compression codec id, for error messages.
pub(crate) fn codec_name(codec: u8) -> &'static str {
    match codec {
        0 => "uncompressed",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown-codec",
    }
}

/// A reader of at most `max + 1` inflated bytes of `records` (compressed with `codec`). Reading the byte past
/// `max` is how callers learn the batch is too large: see [`Capped::exceeded`].
pub(crate) struct Capped<'a> {
    inner: BufReader<io::Take<Box<dyn Read + 'a>>>,
    max: u64,
}

impl<'a> Capped<'a> {
    pub(crate) fn new(codec: u8, records: &'a [u8], max: u64) -> Result<Self, BatchError> {
        let codec_err = |e: io::Error| io_error(codec, e);
        let raw: Box<dyn Read + 'a> = match codec {
            0 => Box::new(records),
            // Java's GZIPInputStream reads concatenated members; so does MultiGzDecoder.
            1 => Box::new(flate2::read::MultiGzDecoder::new(records)),
            2 => snappy(records, max)?,
            3 => Box::new(lz4::Decoder::new(records).map_err(codec_err)?),
            4 => Box::new(zstd::stream::read::Decoder::with_buffer(records).map_err(codec_err)?),
            c => return Err(BatchError::UnknownCodec(c)),
        };
        Ok(Capped {
            inner: BufReader::with_capacity(64 * 1024, raw.take(max.saturating_add(1))),
            max,
        })
    }

    /// True once the stream has produced more than `max` bytes (only meaningful after a short read or EOF).
    pub(crate) fn exceeded(&self) -> bool {
        self.inner.get_ref().limit() == 0
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    pub(crate) fn reader(&mut self) -> &mut BufReader<io::Take<Box<dyn Read + 'a>>> {
        &mut self.inner
    }
}

/// Inflates all of `records` into memory, refusing more than `max` bytes.
pub(crate) fn inflate_all(codec: u8, records: &[u8], max: u64) -> Result<Vec<u8>, BatchError> {
    let mut c = Capped::new(codec, records, max)?;
    let mut out = Vec::with_capacity(records.len().saturating_mul(4).min(max as usize));
    c.reader()
        .read_to_end(&mut out)
        .map_err(|e| io_error(codec, e))?;
    if out.len() as u64 > max {
        return Err(BatchError::InflatedTooLarge { max });
    }
    Ok(out)
}

/// The xerial snappy stream header (snappy-java's `SnappyOutputStream`, which Kafka clients use): magic, version 1,
/// compatible version 1.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// Kafka's snappy: xerial-framed blocks (`u32` length + raw snappy block), or one raw snappy block when the magic
/// is absent (as snappy-java's `SnappyInputStream` falls back). Each block's declared size is checked against the
/// cap before anything is allocated for it.
fn snappy<'a>(records: &'a [u8], max: u64) -> Result<Box<dyn Read + 'a>, BatchError> {
    if records.len() >= XERIAL_HEADER_LEN && records.starts_with(XERIAL_MAGIC) {
        return Ok(Box::new(XerialReader {
            rest: &records[XERIAL_HEADER_LEN..],
            block: Vec::new(),
            pos: 0,
            left: max.saturating_add(1),
            max,
        }));
    }
    Ok(Box::new(io::Cursor::new(snappy_block(records, max, max)?)))
}

/// Decompresses one raw snappy block if it declares at most `limit` bytes (else: over the cap `max`).
fn snappy_block(block: &[u8], limit: u64, max: u64) -> Result<Vec<u8>, BatchError> {
    let err = |e: snap::Error| BatchError::Codec {
        codec: "snappy",
        reason: e.to_string(),
    };
    let len = snap::raw::decompress_len(block).map_err(err)?;
    if len as u64 > limit {
        return Err(BatchError::InflatedTooLarge { max });
    }
    snap::raw::Decoder::new().decompress_vec(block).map_err(err)
}

struct XerialReader<'a> {
    rest: &'a [u8],
    block: Vec<u8>,
    pos: usize,
    /// Inflated bytes this reader may still produce (the cap plus one, so the caller sees it was passed).
    left: u64,
    max: u64,
}

impl Read for XerialReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if self.rest.is_empty() {
                return Ok(0);
            }
            let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
            let Some((len, tail)) = self.rest.split_first_chunk::<4>() else {
                return Err(bad("truncated xerial snappy block length"));
            };
            let len = u32::from_be_bytes(*len) as usize;
            let Some(block) = tail.get(..len) else {
                return Err(bad("truncated xerial snappy block"));
            };
            self.rest = &tail[len..];
            if self.left == 0 {
                // The cap is already passed; the caller reports it.
                return Ok(0);
            }
            self.block = snappy_block(block, self.left, self.max)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            self.left = self.left.saturating_sub(self.block.len() as u64);
            self.pos = 0;
        }
        let n = (self.block.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The batch error behind an I/O error of a decompressor: our own (a snappy block over the cap) passes through,
/// anything else is the codec's complaint about its stream.
pub(crate) fn io_error(codec: u8, e: io::Error) -> BatchError {
    match e.get_ref().and_then(|x| x.downcast_ref::<BatchError>()) {
        Some(b) => b.clone(),
        None => BatchError::Codec {
            codec: codec_name(codec),
            reason: e.to_string(),
        },
    }
}
