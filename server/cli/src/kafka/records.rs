//! Record batches in and out (kafka-protocol's v2 encoder and decoder) and the Java client's key partitioner, so a
//! keyed record produced here lands where a Kafka producer would put the same key.

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, Record,
    RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::error::{CliError, Result};

/// A record to produce.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Bytes)>,
    pub timestamp: i64,
}

/// A record read back.
#[derive(Debug, Clone)]
pub(crate) struct InRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// One uncompressed v2 batch, without a producer id (not idempotent: a retried send may duplicate).
pub(crate) fn encode_batch(records: &[OutRecord]) -> Result<Bytes> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch where offset - sequence changes: step the sequence with the offset.
            sequence: NO_SEQUENCE.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), Some(v.clone())))
                .collect::<IndexMap<_, _>>(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &opts)
        .map_err(|e| CliError::Protocol(format!("cannot encode a record batch: {e}")))?;
    Ok(buf.freeze())
}

/// The data records of a Fetch response's `records`: complete batches only (a broker may end the data with a
/// partial batch cut at the size limit; the next fetch starts from it again), control records left out. Also
/// the offset after the last complete batch, so a fetch position moves past batches that hold only control
/// records (transaction markers) too.
pub(crate) fn decode(mut data: Bytes) -> Result<(Vec<InRecord>, Option<i64>)> {
    let mut out = Vec::new();
    let mut next = None;
    // baseOffset (8) + batchLength (4) precede every batch; batchLength counts the bytes after itself.
    while data.len() >= 12 {
        let len = i32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        let total = 12 + usize::try_from(len).unwrap_or(0);
        if len <= 0 || total > data.len() {
            break;
        }
        let mut batch = data.split_to(total);
        // v2 batches: magic at byte 16, lastOffsetDelta at bytes 23..27.
        if total >= 27 && batch[16] == 2 {
            let base = i64::from_be_bytes(batch[0..8].try_into().unwrap_or([0; 8]));
            let delta = i32::from_be_bytes(batch[23..27].try_into().unwrap_or([0; 4]));
            next = Some(base + i64::from(delta) + 1);
        }
        let sets = RecordBatchDecoder::decode_all(&mut batch)
            .map_err(|e| CliError::Protocol(format!("undecodable record batch: {e}")))?;
        for set in sets {
            if let Some(last) = set.records.last() {
                next = Some(next.unwrap_or(0).max(last.offset + 1));
            }
            out.extend(set.records.into_iter().filter(|r| !r.control).map(|r| {
                InRecord {
                    offset: r.offset,
                    timestamp: r.timestamp,
                    key: r.key,
                    value: r.value,
                    headers: r
                        .headers
                        .into_iter()
                        .map(|(k, v)| (k.as_str().to_string(), v))
                        .collect(),
                }
            }));
        }
    }
    Ok((out, next))
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`, seed 0x9747b28c).
pub(crate) fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client's default partitioner picks for `key` among `partitions`.
pub(crate) fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Values from the Java client's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn batches_round_trip_and_partial_tails_are_left_for_the_next_fetch() {
        let recs = vec![
            OutRecord {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v1")),
                headers: vec![("h".into(), Bytes::from_static(b"x"))],
                timestamp: 1_000,
            },
            OutRecord {
                value: Some(Bytes::from_static(b"v2")),
                timestamp: 1_001,
                ..Default::default()
            },
        ];
        let one = encode_batch(&recs).expect("encodes");
        let mut two = BytesMut::from(&one[..]);
        two.extend_from_slice(&one[..one.len() - 3]);
        let (back, next) = decode(two.freeze()).expect("decodes");
        assert_eq!(back.len(), 2, "the cut second batch is not returned");
        assert_eq!(
            next,
            Some(2),
            "the next fetch starts after the complete batch"
        );
        assert_eq!(back[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(
            back[0].headers,
            vec![("h".to_string(), Some(Bytes::from_static(b"x")))]
        );
        assert_eq!((back[1].offset, back[1].timestamp), (1, 1_001));
        assert_eq!(back[1].key, None);
    }
}
