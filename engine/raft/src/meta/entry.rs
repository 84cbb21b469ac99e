//! The wire format of one controller entry: a metadata batch (`Vec<MetaOp>`) plus who proposed it, stored as one
//! Kafka v2 record batch holding **one record** whose value is a compact binary encoding (no key, no headers).
//! One record rather than one per op keeps a batch's ops indivisible in the log itself, and the value is
//! hand-encoded so encoding cannot fail and the format is pinned here, not by a serializer's version.
//!
//! Value layout (all integers big-endian):
//!
//! ```text
//! u8  format (= 1)
//! u64 origin node   u64 origin incarnation   u64 request id
//! u32 op count, then per op:
//!   u8 kind (1 Put, 2 Delete, 3 DeletePrefix, 4 Absent)
//!   u16 table length, table bytes (UTF-8)
//!   u32 key (or prefix) length, key bytes
//!   Put only: u32 value length, value bytes
//! ```
//!
//! An Absent op is not a change but the batch's precondition (see `strait_engine::Absent`): the batch applies only
//! if that key is absent when it applies. Absent ops come first; a log written before they existed has none.
//!
//! The origin (node, incarnation, request id) names the proposal: the origin node applies the batch's node-scope
//! ops, and a retried proposal that ends up in the log twice is applied once (see `apply`).

use bytes::{BufMut, Bytes, BytesMut};
use strait_engine::batch::{BatchBuilder, BatchError, RecordInput, decode_records};
use strait_engine::{Absent, MetaOp};

use crate::types::RaftNodeId;

const FORMAT_V1: u8 = 1;
const PUT: u8 = 1;
const DELETE: u8 = 2;
const DELETE_PREFIX: u8 = 3;
const ABSENT: u8 = 4;

/// Who proposed an entry, and which of its proposals it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub(crate) node: RaftNodeId,
    /// Random per process start: request ids restart at 1 with every incarnation.
    pub(crate) incarnation: u64,
    pub(crate) req: u64,
}

/// A decoded controller entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) origin: Origin,
    /// Keys that must be absent for `ops` to apply.
    pub(crate) absent: Vec<Absent>,
    pub(crate) ops: Vec<MetaOp>,
}

/// Why bytes in the controller log are not a controller entry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EntryError {
    #[error("controller entry is not a record batch: {0}")]
    Batch(#[from] BatchError),
    #[error("controller entry holds {0} records, expected 1")]
    Records(usize),
    #[error("controller entry record has no value")]
    NoValue,
    #[error("controller entry format {0} is unknown")]
    Format(u8),
    #[error("controller entry is cut short at byte {0}")]
    Truncated(usize),
    #[error("controller entry op kind {0} is unknown")]
    OpKind(u8),
    #[error("controller entry table name is not UTF-8")]
    TableName,
    #[error("controller entry has {0} trailing bytes")]
    Trailing(usize),
}

fn put_bytes32(buf: &mut BytesMut, b: &[u8]) {
    // Metadata keys and values are far below 4 GiB (a record batch is capped at max.message.bytes).
    buf.put_u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
    buf.put_slice(b);
}

fn encode_value(e: &Entry) -> BytesMut {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_u8(FORMAT_V1);
    buf.put_u64(e.origin.node);
    buf.put_u64(e.origin.incarnation);
    buf.put_u64(e.origin.req);
    buf.put_u32(u32::try_from(e.absent.len() + e.ops.len()).unwrap_or(u32::MAX));
    for a in &e.absent {
        put_op(&mut buf, ABSENT, &a.table, &a.key);
    }
    for op in &e.ops {
        let (kind, table, key, value) = match op {
            MetaOp::Put { table, key, value } => (PUT, table, key, Some(value)),
            MetaOp::Delete { table, key } => (DELETE, table, key, None),
            MetaOp::DeletePrefix { table, prefix } => (DELETE_PREFIX, table, prefix, None),
        };
        put_op(&mut buf, kind, table, key);
        if let Some(v) = value {
            put_bytes32(&mut buf, v);
        }
    }
    buf
}

fn put_op(buf: &mut BytesMut, kind: u8, table: &str, key: &[u8]) {
    buf.put_u8(kind);
    buf.put_u16(u16::try_from(table.len()).unwrap_or(u16::MAX));
    buf.put_slice(table.as_bytes());
    put_bytes32(buf, key);
}

/// The record batch carrying `e`.
pub(crate) fn encode(e: &Entry, timestamp_ms: i64) -> Result<Bytes, BatchError> {
    let value = encode_value(e);
    let mut b = BatchBuilder::with_capacity(value.len() + 32);
    b.push(RecordInput {
        key: None,
        value: Some(&value),
        headers: &[],
        timestamp_ms,
    });
    Ok(b.try_finish()?.freeze())
}

/// A cursor over the value that reports where it ran out.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(EntryError::Truncated(self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, EntryError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, EntryError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, EntryError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn bytes32(&mut self) -> Result<Vec<u8>, EntryError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

fn decode_value(b: &[u8]) -> Result<Entry, EntryError> {
    let mut r = Reader { b, at: 0 };
    let format = r.u8()?;
    if format != FORMAT_V1 {
        return Err(EntryError::Format(format));
    }
    let origin = Origin {
        node: r.u64()?,
        incarnation: r.u64()?,
        req: r.u64()?,
    };
    let n = r.u32()?;
    // Never trust a count for an allocation: each op takes at least 7 bytes.
    let mut ops = Vec::with_capacity((n as usize).min(b.len() / 7));
    let mut absent = Vec::new();
    for _ in 0..n {
        let kind = r.u8()?;
        let tlen = r.u16()? as usize;
        let table = std::str::from_utf8(r.take(tlen)?)
            .map_err(|_| EntryError::TableName)?
            .to_string();
        let key = r.bytes32()?;
        ops.push(match kind {
            PUT => MetaOp::Put {
                table,
                key,
                value: r.bytes32()?,
            },
            DELETE => MetaOp::Delete { table, key },
            DELETE_PREFIX => MetaOp::DeletePrefix { table, prefix: key },
            ABSENT => {
                absent.push(Absent { table, key });
                continue;
            }
            other => return Err(EntryError::OpKind(other)),
        });
    }
    if r.at != b.len() {
        return Err(EntryError::Trailing(b.len() - r.at));
    }
    Ok(Entry {
        origin,
        absent,
        ops,
    })
}

/// The entry a controller record batch carries.
pub(crate) fn decode(batch: &[u8]) -> Result<Entry, EntryError> {
    let (_, records) = decode_records(batch)?;
    if records.len() != 1 {
        return Err(EntryError::Records(records.len()));
    }
    let value = records[0].value.ok_or(EntryError::NoValue)?;
    decode_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            origin: Origin {
                node: 3,
                incarnation: 0xdead_beef,
                req: 42,
            },
            absent: vec![Absent {
                table: "topics".into(),
                key: b"orders".to_vec(),
            }],
            ops: vec![
                MetaOp::Put {
                    table: "dynamodb".into(),
                    key: b"lease\0shard-1".to_vec(),
                    value: vec![1, 2, 3],
                },
                MetaOp::Delete {
                    table: "kinesis".into(),
                    key: Vec::new(),
                },
                MetaOp::DeletePrefix {
                    table: "kafka_group_offsets".into(),
                    prefix: b"g\0".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn an_entry_round_trips_through_a_record_batch() {
        let e = sample();
        let b = encode(&e, 1_000).expect("encode");
        let d = decode(&b).expect("decode");
        assert_eq!(d.origin, e.origin);
        assert_eq!(d.absent, e.absent);
        assert_eq!(format!("{:?}", d.ops), format!("{:?}", e.ops));
    }

    #[test]
    fn damaged_values_are_refused_not_misread() {
        let v = encode_value(&sample());
        for cut in 0..v.len() {
            assert!(decode_value(&v[..cut]).is_err(), "cut at {cut} decoded");
        }
        let mut long = v.to_vec();
        long.push(0);
        assert!(matches!(decode_value(&long), Err(EntryError::Trailing(1))));
        let mut bad = v.to_vec();
        bad[0] = 9;
        assert!(matches!(decode_value(&bad), Err(EntryError::Format(9))));
    }
}
