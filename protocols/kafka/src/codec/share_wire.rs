//! Hand-written codecs for the KIP-932 data-path messages at the versions `kafka-protocol` 0.18 lacks.
//!
//! The crate stops at ShareFetch v1 and ShareAcknowledge v1 (Kafka 4.1); Kafka 4.2 added v2 of both (KIP-1206
//! `ShareAcquireMode`, KIP-1222 `IsRenewAck`; ShareAcknowledge v2's response also gained
//! `AcquisitionLockTimeoutMs`). Both messages are flexible in every version, so these follow the compact
//! encodings (unsigned-varint lengths plus one, tagged-field sections) of Apache Kafka's JSON specs
//! `ShareFetchRequest.json`, `ShareFetchResponse.json`, `ShareAcknowledgeRequest.json` and
//! `ShareAcknowledgeResponse.json`. Versions 1 and 2 are decoded and encoded here alike, so one handler serves
//! both. Unknown tagged fields are skipped, as Kafka does.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

pub use crate::error::WireError;

type Result<T> = std::result::Result<T, WireError>;

/// One acknowledgement batch: `types` has one entry for the whole range or one per offset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub types: Vec<i8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionReq {
    pub partition: i32,
    pub acks: Vec<AckBatch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicReq {
    pub topic_id: Uuid,
    pub partitions: Vec<PartitionReq>,
}

/// ShareFetch (key 78) v1–2 and ShareAcknowledge (key 79) v1–2 requests, which share their prefix and their
/// topic/partition/ack-batch structure; the fetch-only fields are zero for an acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareRequest {
    pub group_id: Option<String>,
    pub member_id: Option<String>,
    pub session_epoch: i32,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub max_records: i32,
    pub batch_size: i32,
    /// v2: 0 batch-optimized, 1 record-limit.
    pub acquire_mode: i8,
    /// v2: acknowledgements include RENEW (type 4).
    pub is_renew_ack: bool,
    pub topics: Vec<TopicReq>,
    /// ShareFetch only: partitions to drop from the session.
    pub forgotten: Vec<(Uuid, Vec<i32>)>,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn need(&self, n: usize, what: &'static str) -> Result<()> {
        if self.0.remaining() < n {
            Err(WireError::Truncated(what))
        } else {
            Ok(())
        }
    }
    fn i8(&mut self, what: &'static str) -> Result<i8> {
        self.need(1, what)?;
        Ok(self.0.get_i8())
    }
    fn i32(&mut self, what: &'static str) -> Result<i32> {
        self.need(4, what)?;
        Ok(self.0.get_i32())
    }
    fn i64(&mut self, what: &'static str) -> Result<i64> {
        self.need(8, what)?;
        Ok(self.0.get_i64())
    }
    fn uuid(&mut self, what: &'static str) -> Result<Uuid> {
        self.need(16, what)?;
        let mut b = [0u8; 16];
        self.0.copy_to_slice(&mut b);
        Ok(Uuid::from_bytes(b))
    }
    fn varint(&mut self, what: &'static str) -> Result<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            self.need(1, what)?;
            let byte = self.0.get_u8();
            v |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::Invalid(what))
    }
    /// A compact length: `None` for null (0), else the count.
    fn compact_len(&mut self, what: &'static str) -> Result<Option<usize>> {
        let n = self.varint(what)?;
        Ok(n.checked_sub(1).map(|n| n as usize))
    }
    fn nullable_string(&mut self, what: &'static str) -> Result<Option<String>> {
        let Some(n) = self.compact_len(what)? else {
            return Ok(None);
        };
        self.need(n, what)?;
        let s = std::str::from_utf8(&self.0[..n])
            .map_err(|_| WireError::Invalid(what))?
            .to_string();
        self.0.advance(n);
        Ok(Some(s))
    }
    /// A compact array's element count; null arrays are read as empty. Each element takes at least one byte,
    /// so a count beyond the remaining bytes is rejected before anything is allocated.
    fn array(&mut self, what: &'static str) -> Result<usize> {
        let n = self.compact_len(what)?.unwrap_or(0);
        if n > self.0.remaining() {
            return Err(WireError::Truncated(what));
        }
        Ok(n)
    }
    /// Initial capacity for `n` elements that passed [`Reader::array`]: a few, not `n`. An element's in-memory
    /// size is many times its smallest wire size, so `n` near a 100 MiB frame's length would still reserve
    /// gigabytes; vectors grow as elements actually decode.
    fn prealloc(n: usize) -> usize {
        n.min(1024)
    }
    fn skip_tags(&mut self) -> Result<()> {
        let n = self.varint("tagged fields")?;
        for _ in 0..n {
            self.varint("tag")?;
            let len = self.varint("tag size")? as usize;
            self.need(len, "tagged field")?;
            self.0.advance(len);
        }
        Ok(())
    }
}

fn read_topics(r: &mut Reader<'_>) -> Result<Vec<TopicReq>> {
    let nt = r.array("topics")?;
    let mut topics = Vec::with_capacity(Reader::prealloc(nt));
    for _ in 0..nt {
        let topic_id = r.uuid("topic id")?;
        let np = r.array("partitions")?;
        let mut partitions = Vec::with_capacity(Reader::prealloc(np));
        for _ in 0..np {
            let partition = r.i32("partition")?;
            let nb = r.array("acknowledgement batches")?;
            let mut acks = Vec::with_capacity(Reader::prealloc(nb));
            for _ in 0..nb {
                let first_offset = r.i64("first offset")?;
                let last_offset = r.i64("last offset")?;
                let nty = r.array("acknowledge types")?;
                let mut types = Vec::with_capacity(Reader::prealloc(nty));
                for _ in 0..nty {
                    types.push(r.i8("acknowledge type")?);
                }
                r.skip_tags()?;
                acks.push(AckBatch {
                    first_offset,
                    last_offset,
                    types,
                });
            }
            r.skip_tags()?;
            partitions.push(PartitionReq { partition, acks });
        }
        r.skip_tags()?;
        topics.push(TopicReq {
            topic_id,
            partitions,
        });
    }
    Ok(topics)
}

/// Decodes a ShareFetch v1–2 body (after the request header).
pub fn decode_share_fetch(body: &[u8], version: i16) -> Result<ShareRequest> {
    let mut r = Reader(body);
    let mut q = ShareRequest {
        group_id: r.nullable_string("group id")?,
        member_id: r.nullable_string("member id")?,
        session_epoch: r.i32("share session epoch")?,
        max_wait_ms: r.i32("max wait")?,
        min_bytes: r.i32("min bytes")?,
        max_bytes: r.i32("max bytes")?,
        max_records: r.i32("max records")?,
        batch_size: r.i32("batch size")?,
        ..Default::default()
    };
    if version >= 2 {
        q.acquire_mode = r.i8("share acquire mode")?;
        q.is_renew_ack = r.i8("is renew ack")? != 0;
    }
    q.topics = read_topics(&mut r)?;
    let nf = r.array("forgotten topics")?;
    for _ in 0..nf {
        let id = r.uuid("forgotten topic id")?;
        let np = r.array("forgotten partitions")?;
        let mut ps = Vec::with_capacity(Reader::prealloc(np));
        for _ in 0..np {
            ps.push(r.i32("forgotten partition")?);
        }
        r.skip_tags()?;
        q.forgotten.push((id, ps));
    }
    r.skip_tags()?;
    Ok(q)
}

/// Decodes a ShareAcknowledge v1–2 body (after the request header).
pub fn decode_share_acknowledge(body: &[u8], version: i16) -> Result<ShareRequest> {
    let mut r = Reader(body);
    let mut q = ShareRequest {
        group_id: r.nullable_string("group id")?,
        member_id: r.nullable_string("member id")?,
        session_epoch: r.i32("share session epoch")?,
        ..Default::default()
    };
    if version >= 2 {
        q.is_renew_ack = r.i8("is renew ack")? != 0;
    }
    q.topics = read_topics(&mut r)?;
    r.skip_tags()?;
    Ok(q)
}

/// A contiguous run of acquired offsets delivered the same number of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acquired {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: i16,
}

#[derive(Debug, Clone, Default)]
pub struct PartitionResp {
    pub partition: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub ack_error_code: i16,
    pub ack_error_message: Option<String>,
    pub leader_id: i32,
    pub leader_epoch: i32,
    /// Whole stored batches; `None` encodes as null.
    pub records: Option<Bytes>,
    pub acquired: Vec<Acquired>,
}

#[derive(Debug, Clone, Default)]
pub struct TopicResp {
    pub topic_id: Uuid,
    pub partitions: Vec<PartitionResp>,
}

#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// ShareFetch v1–2 and ShareAcknowledge v1–2 responses.
#[derive(Debug, Clone, Default)]
pub struct ShareResponse {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub acquisition_lock_timeout_ms: i32,
    pub topics: Vec<TopicResp>,
    pub node_endpoints: Vec<Endpoint>,
}

fn put_varint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn put_len(buf: &mut BytesMut, n: usize) {
    put_varint(buf, u32::try_from(n + 1).unwrap_or(u32::MAX));
}

fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        None => put_varint(buf, 0),
        Some(s) => {
            put_len(buf, s.len());
            buf.put_slice(s.as_bytes());
        }
    }
}

fn put_tags(buf: &mut BytesMut) {
    put_varint(buf, 0);
}

/// Encodes a ShareFetch response body (v1 and v2 have the same layout).
pub fn encode_share_fetch_response(buf: &mut BytesMut, r: &ShareResponse) {
    buf.put_i32(0); // throttle time
    buf.put_i16(r.error_code);
    put_nullable_string(buf, r.error_message.as_deref());
    buf.put_i32(r.acquisition_lock_timeout_ms);
    put_len(buf, r.topics.len());
    for t in &r.topics {
        buf.put_slice(t.topic_id.as_bytes());
        put_len(buf, t.partitions.len());
        for p in &t.partitions {
            buf.put_i32(p.partition);
            buf.put_i16(p.error_code);
            put_nullable_string(buf, p.error_message.as_deref());
            buf.put_i16(p.ack_error_code);
            put_nullable_string(buf, p.ack_error_message.as_deref());
            buf.put_i32(p.leader_id);
            buf.put_i32(p.leader_epoch);
            put_tags(buf); // end of CurrentLeader
            match &p.records {
                None => put_varint(buf, 0),
                Some(b) => {
                    put_len(buf, b.len());
                    buf.put_slice(b);
                }
            }
            put_len(buf, p.acquired.len());
            for a in &p.acquired {
                buf.put_i64(a.first_offset);
                buf.put_i64(a.last_offset);
                buf.put_i16(a.delivery_count);
                put_tags(buf);
            }
            put_tags(buf);
        }
        put_tags(buf);
    }
    put_endpoints(buf, &r.node_endpoints);
    put_tags(buf);
}

/// Encodes a ShareAcknowledge response body; v2 adds `AcquisitionLockTimeoutMs`.
pub fn encode_share_acknowledge_response(buf: &mut BytesMut, r: &ShareResponse, version: i16) {
    buf.put_i32(0); // throttle time
    buf.put_i16(r.error_code);
    put_nullable_string(buf, r.error_message.as_deref());
    if version >= 2 {
        buf.put_i32(r.acquisition_lock_timeout_ms);
    }
    put_len(buf, r.topics.len());
    for t in &r.topics {
        buf.put_slice(t.topic_id.as_bytes());
        put_len(buf, t.partitions.len());
        for p in &t.partitions {
            buf.put_i32(p.partition);
            buf.put_i16(p.ack_error_code);
            put_nullable_string(buf, p.ack_error_message.as_deref());
            buf.put_i32(p.leader_id);
            buf.put_i32(p.leader_epoch);
            put_tags(buf); // end of CurrentLeader
            put_tags(buf);
        }
        put_tags(buf);
    }
    put_endpoints(buf, &r.node_endpoints);
    put_tags(buf);
}

fn put_endpoints(buf: &mut BytesMut, eps: &[Endpoint]) {
    put_len(buf, eps.len());
    for e in eps {
        buf.put_i32(e.node_id);
        put_nullable_string(buf, Some(&e.host));
        buf.put_i32(e.port);
        put_nullable_string(buf, e.rack.as_deref());
        put_tags(buf);
    }
}

/// Encoders for requests, used by tests (and handy for any future client side).
pub mod request {
    use super::*;

    fn put_topics(buf: &mut BytesMut, topics: &[TopicReq]) {
        put_len(buf, topics.len());
        for t in topics {
            buf.put_slice(t.topic_id.as_bytes());
            put_len(buf, t.partitions.len());
            for p in &t.partitions {
                buf.put_i32(p.partition);
                put_len(buf, p.acks.len());
                for a in &p.acks {
                    buf.put_i64(a.first_offset);
                    buf.put_i64(a.last_offset);
                    put_len(buf, a.types.len());
                    for ty in &a.types {
                        buf.put_i8(*ty);
                    }
                    put_tags(buf);
                }
                put_tags(buf);
            }
            put_tags(buf);
        }
    }

    pub fn encode_share_fetch(buf: &mut BytesMut, q: &ShareRequest, version: i16) {
        put_nullable_string(buf, q.group_id.as_deref());
        put_nullable_string(buf, q.member_id.as_deref());
        buf.put_i32(q.session_epoch);
        buf.put_i32(q.max_wait_ms);
        buf.put_i32(q.min_bytes);
        buf.put_i32(q.max_bytes);
        buf.put_i32(q.max_records);
        buf.put_i32(q.batch_size);
        if version >= 2 {
            buf.put_i8(q.acquire_mode);
            buf.put_i8(i8::from(q.is_renew_ack));
        }
        put_topics(buf, &q.topics);
        put_len(buf, q.forgotten.len());
        for (id, ps) in &q.forgotten {
            buf.put_slice(id.as_bytes());
            put_len(buf, ps.len());
            for p in ps {
                buf.put_i32(*p);
            }
            put_tags(buf);
        }
        put_tags(buf);
    }

    pub fn encode_share_acknowledge(buf: &mut BytesMut, q: &ShareRequest, version: i16) {
        put_nullable_string(buf, q.group_id.as_deref());
        put_nullable_string(buf, q.member_id.as_deref());
        buf.put_i32(q.session_epoch);
        if version >= 2 {
            buf.put_i8(i8::from(q.is_renew_ack));
        }
        put_topics(buf, &q.topics);
        put_tags(buf);
    }
}

/// Decoders for responses, used by tests.
pub mod response {
    use super::*;

    fn endpoints(r: &mut Reader<'_>) -> Result<Vec<Endpoint>> {
        let n = r.array("node endpoints")?;
        let mut out = Vec::with_capacity(Reader::prealloc(n));
        for _ in 0..n {
            let node_id = r.i32("node id")?;
            let host = r.nullable_string("host")?.unwrap_or_default();
            let port = r.i32("port")?;
            let rack = r.nullable_string("rack")?;
            r.skip_tags()?;
            out.push(Endpoint {
                node_id,
                host,
                port,
                rack,
            });
        }
        Ok(out)
    }

    pub fn decode_share_fetch(body: &[u8]) -> Result<ShareResponse> {
        let mut r = Reader(body);
        r.i32("throttle")?;
        let mut out = ShareResponse {
            error_code: i16::from_be_bytes(read2(&mut r)?),
            error_message: r.nullable_string("error message")?,
            acquisition_lock_timeout_ms: r.i32("lock timeout")?,
            ..Default::default()
        };
        let nt = r.array("topics")?;
        for _ in 0..nt {
            let topic_id = r.uuid("topic id")?;
            let np = r.array("partitions")?;
            let mut partitions = Vec::with_capacity(Reader::prealloc(np));
            for _ in 0..np {
                let partition = r.i32("partition")?;
                let error_code = i16::from_be_bytes(read2(&mut r)?);
                let error_message = r.nullable_string("error message")?;
                let ack_error_code = i16::from_be_bytes(read2(&mut r)?);
                let ack_error_message = r.nullable_string("ack error message")?;
                let leader_id = r.i32("leader")?;
                let leader_epoch = r.i32("leader epoch")?;
                r.skip_tags()?;
                let records = match r.compact_len("records")? {
                    None => None,
                    Some(n) => {
                        r.need(n, "records")?;
                        let b = Bytes::copy_from_slice(&r.0[..n]);
                        r.0.advance(n);
                        Some(b)
                    }
                };
                let na = r.array("acquired records")?;
                let mut acquired = Vec::with_capacity(Reader::prealloc(na));
                for _ in 0..na {
                    let first_offset = r.i64("first")?;
                    let last_offset = r.i64("last")?;
                    let delivery_count = i16::from_be_bytes(read2(&mut r)?);
                    r.skip_tags()?;
                    acquired.push(Acquired {
                        first_offset,
                        last_offset,
                        delivery_count,
                    });
                }
                r.skip_tags()?;
                partitions.push(PartitionResp {
                    partition,
                    error_code,
                    error_message,
                    ack_error_code,
                    ack_error_message,
                    leader_id,
                    leader_epoch,
                    records,
                    acquired,
                });
            }
            r.skip_tags()?;
            out.topics.push(TopicResp {
                topic_id,
                partitions,
            });
        }
        out.node_endpoints = endpoints(&mut r)?;
        r.skip_tags()?;
        Ok(out)
    }

    pub fn decode_share_acknowledge(body: &[u8], version: i16) -> Result<ShareResponse> {
        let mut r = Reader(body);
        r.i32("throttle")?;
        let mut out = ShareResponse {
            error_code: i16::from_be_bytes(read2(&mut r)?),
            error_message: r.nullable_string("error message")?,
            ..Default::default()
        };
        if version >= 2 {
            out.acquisition_lock_timeout_ms = r.i32("lock timeout")?;
        }
        let nt = r.array("topics")?;
        for _ in 0..nt {
            let topic_id = r.uuid("topic id")?;
            let np = r.array("partitions")?;
            let mut partitions = Vec::with_capacity(Reader::prealloc(np));
            for _ in 0..np {
                let partition = r.i32("partition")?;
                let ack_error_code = i16::from_be_bytes(read2(&mut r)?);
                let ack_error_message = r.nullable_string("error message")?;
                let leader_id = r.i32("leader")?;
                let leader_epoch = r.i32("leader epoch")?;
                r.skip_tags()?;
                r.skip_tags()?;
                partitions.push(PartitionResp {
                    partition,
                    ack_error_code,
                    ack_error_message,
                    leader_id,
                    leader_epoch,
                    ..Default::default()
                });
            }
            r.skip_tags()?;
            out.topics.push(TopicResp {
                topic_id,
                partitions,
            });
        }
        out.node_endpoints = endpoints(&mut r)?;
        r.skip_tags()?;
        Ok(out)
    }

    fn read2(r: &mut Reader<'_>) -> Result<[u8; 2]> {
        r.need(2, "int16")?;
        let mut b = [0u8; 2];
        r.0.copy_to_slice(&mut b);
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(version: i16) -> ShareRequest {
        ShareRequest {
            group_id: Some("g".into()),
            member_id: Some("m-1".into()),
            session_epoch: 3,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 1 << 20,
            max_records: 500,
            batch_size: 500,
            acquire_mode: if version >= 2 { 1 } else { 0 },
            is_renew_ack: version >= 2,
            topics: vec![TopicReq {
                topic_id: Uuid::from_u128(7),
                partitions: vec![PartitionReq {
                    partition: 2,
                    acks: vec![AckBatch {
                        first_offset: 10,
                        last_offset: 12,
                        types: vec![1, 0, 3],
                    }],
                }],
            }],
            forgotten: vec![(Uuid::from_u128(9), vec![0, 1])],
        }
    }

    #[test]
    fn share_fetch_request_round_trips() {
        for v in [1, 2] {
            let q = sample(v);
            let mut buf = BytesMut::new();
            request::encode_share_fetch(&mut buf, &q, v);
            assert_eq!(decode_share_fetch(&buf, v), Ok(q));
        }
    }

    #[test]
    fn share_acknowledge_request_round_trips() {
        for v in [1, 2] {
            let mut q = sample(v);
            q.max_wait_ms = 0;
            q.min_bytes = 0;
            q.max_bytes = 0;
            q.max_records = 0;
            q.batch_size = 0;
            q.acquire_mode = 0;
            q.forgotten.clear();
            let mut buf = BytesMut::new();
            request::encode_share_acknowledge(&mut buf, &q, v);
            assert_eq!(decode_share_acknowledge(&buf, v), Ok(q));
        }
    }

    #[test]
    fn truncated_requests_are_errors_not_panics() {
        let q = sample(2);
        let mut buf = BytesMut::new();
        request::encode_share_fetch(&mut buf, &q, 2);
        for n in 0..buf.len() {
            assert!(decode_share_fetch(&buf[..n], 2).is_err(), "prefix {n}");
        }
        // A huge array count with no bytes behind it is rejected, not allocated.
        let mut bogus = BytesMut::new();
        put_varint(&mut bogus, 0); // null group
        put_varint(&mut bogus, 0); // null member
        bogus.put_i32(0);
        put_varint(&mut bogus, u32::MAX);
        assert!(decode_share_acknowledge(&bogus, 1).is_err());
    }

    #[test]
    fn responses_round_trip() {
        let r = ShareResponse {
            error_code: 0,
            error_message: None,
            acquisition_lock_timeout_ms: 30_000,
            topics: vec![TopicResp {
                topic_id: Uuid::from_u128(5),
                partitions: vec![PartitionResp {
                    partition: 0,
                    error_code: 0,
                    error_message: None,
                    ack_error_code: 121,
                    ack_error_message: Some("bad".into()),
                    leader_id: 1,
                    leader_epoch: 0,
                    records: Some(Bytes::from_static(b"abc")),
                    acquired: vec![Acquired {
                        first_offset: 0,
                        last_offset: 4,
                        delivery_count: 1,
                    }],
                }],
            }],
            node_endpoints: vec![Endpoint {
                node_id: 1,
                host: "h".into(),
                port: 9092,
                rack: None,
            }],
        };
        let mut buf = BytesMut::new();
        encode_share_fetch_response(&mut buf, &r);
        let back = response::decode_share_fetch(&buf).expect("decodes");
        assert_eq!(back.acquisition_lock_timeout_ms, 30_000);
        let p = &back.topics[0].partitions[0];
        assert_eq!(p.ack_error_code, 121);
        assert_eq!(p.records.as_deref(), Some(&b"abc"[..]));
        assert_eq!(p.acquired, r.topics[0].partitions[0].acquired);
        assert_eq!(back.node_endpoints[0].port, 9092);
        for v in [1, 2] {
            let mut buf = BytesMut::new();
            encode_share_acknowledge_response(&mut buf, &r, v);
            let back = response::decode_share_acknowledge(&buf, v).expect("decodes");
            assert_eq!(back.topics[0].partitions[0].ack_error_code, 121);
            assert_eq!(
                back.acquisition_lock_timeout_ms,
                if v >= 2 { 30_000 } else { 0 }
            );
        }
    }
}
