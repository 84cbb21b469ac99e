//! Fetch responses in chunks: each large record set goes to the socket as the buffer the engine read it into,
//! instead of being copied into one response buffer of up to `fetch.max.bytes` (profiled: that copy and the page
//! faults of the fresh multi-MiB buffer it needs were a fifth of the server's CPU on a catch-up read).
//!
//! Everything but the record sets is still encoded by `kafka-protocol`: each partition is encoded with an empty
//! record set, whose known last bytes are then replaced by the real length prefix, the record bytes as their own
//! chunk, and the partition's (empty) tag section. Only the topic and response levels around the partitions are
//! written here, and a test checks the chunks against `kafka-protocol`'s own encoding, version by version.
// #[PerformanceCriticalPath]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use super::Frame;
use crate::error::KafkaError;

/// Record sets smaller than this are copied: a chunk of their own would cost more than the copy.
const MIN_CHUNK: usize = 16 * 1024;

/// The Fetch response with its large record sets as separate chunks; `None` when the response carries something
/// this encoder leaves to `kafka-protocol` whole (tagged fields at the response or topic level).
pub(super) fn encode(
    version: i16,
    correlation_id: i32,
    resp: &FetchResponse,
) -> Result<Option<Frame>, KafkaError> {
    let flexible = version >= 12;
    // Versions below 4 have no last stable offset; Strait serves 4 and up. Node endpoints (v16) come only with
    // leader errors, which carry no records.
    if version < 4
        || !resp.node_endpoints.is_empty()
        || !resp.unknown_tagged_fields.is_empty()
        || resp
            .responses
            .iter()
            .any(|t| !t.unknown_tagged_fields.is_empty())
    {
        return Ok(None);
    }
    let mut w = Chunks::default();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut w.cur, ApiKey::Fetch.response_header_version(version))?;
    w.cur.put_i32(resp.throttle_time_ms);
    if version >= 7 {
        w.cur.put_i16(resp.error_code);
        w.cur.put_i32(resp.session_id);
    }
    array_len(&mut w.cur, flexible, resp.responses.len())?;
    for t in &resp.responses {
        if version >= 13 {
            w.cur.put_slice(t.topic_id.as_bytes());
        } else {
            let name = t.topic.as_bytes();
            if flexible {
                varint(&mut w.cur, name.len() + 1)?;
            } else {
                let n =
                    i16::try_from(name.len()).map_err(|_| too_long("topic name", name.len()))?;
                w.cur.put_i16(n);
            }
            w.cur.put_slice(name);
        }
        array_len(&mut w.cur, flexible, t.partitions.len())?;
        for p in &t.partitions {
            partition(&mut w, version, p)?;
        }
        if flexible {
            w.cur.put_u8(0); // the topic's tag section: empty
        }
    }
    if flexible {
        w.cur.put_u8(0); // the response's tag section: empty (node endpoints went the other way)
    }
    Ok(Some(w.finish()))
}

fn partition(w: &mut Chunks, version: i16, p: &PartitionData) -> Result<(), KafkaError> {
    let flexible = version >= 12;
    let records = match &p.records {
        Some(r) if r.len() >= MIN_CHUNK => r,
        _ => return Ok(p.encode(&mut w.cur, version)?),
    };
    let start = w.cur.len();
    p.clone()
        .with_records(Some(Bytes::new()))
        .encode(&mut w.cur, version)?;
    // An empty record set ends the partition with its length (compact: varint 0 + 1; else i32 0) and, in
    // flexible versions, the tag section, which is a single 0 unless a tagged field (divergence, leader,
    // snapshot) is set: those partitions are encoded whole.
    let tail: &[u8] = if flexible { &[1, 0] } else { &[0, 0, 0, 0] };
    if !w.cur.ends_with(tail) {
        w.cur.truncate(start);
        return Ok(p.encode(&mut w.cur, version)?);
    }
    w.cur.truncate(w.cur.len() - tail.len());
    let len = records.len();
    if flexible {
        varint(&mut w.cur, len + 1)?;
    } else {
        w.cur
            .put_i32(i32::try_from(len).map_err(|_| too_long("record set", len))?);
    }
    w.push(records.clone());
    if flexible {
        w.cur.put_u8(0);
    }
    Ok(())
}

/// An array's length: compact (unsigned varint of n + 1) in flexible versions, else an i32.
fn array_len(buf: &mut BytesMut, flexible: bool, n: usize) -> Result<(), KafkaError> {
    if flexible {
        varint(buf, n + 1)
    } else {
        buf.put_i32(i32::try_from(n).map_err(|_| too_long("array", n))?);
        Ok(())
    }
}

/// Kafka's unsigned varint (7 bits a byte, low first), for values that fit a u32.
fn varint(buf: &mut BytesMut, n: usize) -> Result<(), KafkaError> {
    let mut v = u32::try_from(n).map_err(|_| too_long("length", n))?;
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
    Ok(())
}

fn too_long(what: &str, n: usize) -> KafkaError {
    KafkaError::Codec(anyhow::anyhow!(
        "{what} of {n} does not fit the Fetch response encoding"
    ))
}

/// Encoded bytes so far, and the buffer being written.
#[derive(Default)]
struct Chunks {
    done: Vec<Bytes>,
    cur: BytesMut,
}

impl Chunks {
    fn push(&mut self, chunk: Bytes) {
        if !self.cur.is_empty() {
            self.done.push(self.cur.split().freeze());
        }
        self.done.push(chunk);
    }

    fn finish(mut self) -> Frame {
        if !self.cur.is_empty() {
            self.done.push(self.cur.freeze());
        }
        Frame::from_chunks(self.done)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint,
        PartitionData,
    };
    use kafka_protocol::messages::{
        ApiKey, BrokerId, FetchResponse, ProducerId, ResponseKind, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;

    use crate::codec::{encode, encode_frame};

    fn records(n: usize, seed: u8) -> Option<Bytes> {
        Some(Bytes::from(
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                .collect::<Vec<u8>>(),
        ))
    }

    /// Partitions of every shape a Fetch answer has, with only the fields `version` carries.
    fn partitions(version: i16) -> Vec<PartitionData> {
        let base = |index: i32, recs: Option<Bytes>| {
            PartitionData::default()
                .with_partition_index(index)
                .with_high_watermark(1_000_000 + i64::from(index))
                .with_last_stable_offset(999_000)
                .with_log_start_offset(if version >= 5 { 42 } else { -1 })
                .with_aborted_transactions(Some(Vec::new()))
                .with_records(recs)
        };
        let mut ps = vec![
            base(0, records(200_000, 1)), // large: a chunk of its own
            base(1, records(100, 2)),     // small: copied
            base(2, None),                // null record set
            base(3, Some(Bytes::new())).with_error_code(6), // an error, no records
            base(4, records(MIN_BIG, 3)).with_aborted_transactions(Some(vec![
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(7))
                    .with_first_offset(12),
            ])),
            base(5, records(300_000, 4)).with_aborted_transactions(None),
        ];
        if version >= 11 {
            ps.push(base(6, records(70_000, 5)).with_preferred_read_replica(BrokerId(-1)));
        }
        if version >= 12 {
            // Tagged fields: these partitions are encoded whole, records copied.
            ps.push(
                base(7, records(80_000, 6)).with_diverging_epoch(
                    EpochEndOffset::default().with_epoch(3).with_end_offset(77),
                ),
            );
            ps.push(
                base(8, records(90_000, 7)).with_current_leader(
                    LeaderIdAndEpoch::default()
                        .with_leader_id(BrokerId(1))
                        .with_leader_epoch(5),
                ),
            );
        }
        ps
    }

    const MIN_BIG: usize = super::MIN_CHUNK;

    fn response(version: i16, topics: usize) -> FetchResponse {
        let responses = (0..topics)
            .map(|i| {
                let t = FetchableTopicResponse::default().with_partitions(partitions(version));
                if version >= 13 {
                    t.with_topic_id(uuid::Uuid::from_u128(0x1234_5678_9abc_def0 + i as u128))
                } else {
                    t.with_topic(TopicName(StrBytes::from_string(format!(
                        "topic-{i}-{}",
                        "x".repeat(i * 70)
                    ))))
                }
            })
            .collect();
        let r = FetchResponse::default()
            .with_throttle_time_ms(if version >= 1 { 5 } else { 0 })
            .with_responses(responses);
        if version >= 7 {
            r.with_session_id(0).with_error_code(0)
        } else {
            r
        }
    }

    fn check(version: i16, resp: FetchResponse, chunked: bool) {
        let body = ResponseKind::Fetch(resp);
        let whole = encode(ApiKey::Fetch, version, 77, &body).expect("kafka-protocol encodes it");
        let frame = encode_frame(ApiKey::Fetch, version, 77, &body).expect("chunked encoding");
        assert_eq!(frame.len(), whole.len(), "v{version}: length");
        assert_eq!(
            frame.chunks().len() > 1,
            chunked,
            "v{version}: chunked or not"
        );
        assert_eq!(
            frame.into_bytes(),
            whole,
            "v{version}: bytes differ from kafka-protocol's"
        );
    }

    #[test]
    fn chunks_are_kafka_protocols_encoding_in_every_version() {
        for version in 4..=18 {
            for topics in [0, 1, 3] {
                check(version, response(version, topics), topics > 0);
            }
        }
    }

    #[test]
    fn response_level_tagged_fields_take_the_whole_path() {
        let r = response(16, 2).with_node_endpoints(vec![
            NodeEndpoint::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(9092),
        ]);
        check(16, r, false);
    }

    #[test]
    fn a_large_record_set_is_the_engines_buffer_not_a_copy() {
        let recs = records(1 << 20, 9).expect("records");
        let resp = FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic_id(uuid::Uuid::from_u128(1))
                .with_partitions(vec![
                    PartitionData::default()
                        .with_aborted_transactions(Some(Vec::new()))
                        .with_records(Some(recs.clone())),
                ]),
        ]);
        let frame = encode_frame(ApiKey::Fetch, 16, 1, &ResponseKind::Fetch(resp)).expect("encode");
        assert!(
            frame
                .chunks()
                .iter()
                .any(|c| c.as_ptr() == recs.as_ptr() && c.len() == recs.len())
        );
    }
}
