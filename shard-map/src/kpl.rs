//! Recognising KPL-aggregated records (the Kinesis Producer Library's format, which KCL de-aggregates), so that
//! checkpoints with sub-sequence numbers can be mapped onto whole-record Kafka offsets.
//!
//! Format: the 4 magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord` (field 1 `partition_key_table`, field 2
//! `explicit_hash_key_table`, field 3 repeated `records`), then the MD5 of the protobuf bytes. KCL treats a record
//! whose magic or MD5 does not match as an ordinary record, and so does this module.

use md5::{Digest, Md5};

/// The KPL aggregation magic number.
pub const KPL_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// The number of user records inside `data` if it is a well-formed KPL aggregate, `None` for an ordinary record.
pub fn aggregated_record_count(data: &[u8]) -> Option<usize> {
    let body = data.strip_prefix(&KPL_MAGIC)?;
    if body.len() < DIGEST_LEN {
        return None;
    }
    let (proto, digest) = body.split_at(body.len() - DIGEST_LEN);
    if Md5::digest(proto).as_slice() != digest {
        return None;
    }
    count_records(proto)
}

/// Walks the protobuf fields, counting field 3 (`records`); `None` if the bytes are not valid protobuf.
fn count_records(mut p: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !p.is_empty() {
        let tag = varint(&mut p)?;
        match tag & 7 {
            0 => {
                varint(&mut p)?;
            }
            1 => p = p.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut p)?).ok()?;
                p = p.get(len..)?;
                if tag >> 3 == 3 {
                    n += 1;
                }
            }
            5 => p = p.get(4..)?,
            _ => return None,
        }
    }
    Some(n)
}

fn varint(p: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = p.split_first()?;
        *p = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    fn aggregate(records: usize) -> Vec<u8> {
        let mut proto = field(1, b"pk");
        for i in 0..records {
            // Record { partition_key_index = 0 (field 1 varint), data = field 3 }
            let mut rec = vec![0x08, 0x00];
            rec.extend(field(3, format!("r{i}").as_bytes()));
            proto.extend(field(3, &rec));
        }
        let mut out = KPL_MAGIC.to_vec();
        out.extend_from_slice(&proto);
        out.extend_from_slice(&Md5::digest(&proto));
        out
    }

    #[test]
    fn counts_the_records_of_an_aggregate() {
        assert_eq!(aggregated_record_count(&aggregate(3)), Some(3));
        assert_eq!(aggregated_record_count(&aggregate(1)), Some(1));
    }

    #[test]
    fn ordinary_and_damaged_records_are_not_aggregates() {
        assert_eq!(aggregated_record_count(b"hello"), None);
        assert_eq!(aggregated_record_count(&KPL_MAGIC), None);
        let mut bad = aggregate(2);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(aggregated_record_count(&bad), None);
    }
}
