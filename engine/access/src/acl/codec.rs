//! The stored form of a binding. The whole binding is the metadata key (the value is empty), so storing a binding
//! twice is one row, as Kafka keeps one copy of an ACL created twice, and deleting one is deleting its key.
//!
//! Layout: the format byte `1`; resource type, pattern type, operation and permission as Kafka's wire codes; then
//! resource name, principal and host, each as a big-endian `u32` length and UTF-8 bytes.

use super::{AclBinding, AclOperation, PatternType, Permission, ResourceType};

const FORMAT: u8 = 1;

/// A stored key that is not a binding this version can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ACL binding key: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The metadata key of `b`.
pub fn encode_key(b: &AclBinding) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(5 + 12 + b.resource_name.len() + b.principal.len() + b.host.len());
    out.push(FORMAT);
    for code in [
        b.resource_type.code(),
        b.pattern_type.code(),
        b.operation.code(),
        b.permission.code(),
    ] {
        out.push(code as u8);
    }
    for s in [&b.resource_name, &b.principal, &b.host] {
        // Names come from Kafka strings (at most i16::MAX bytes), so the length always fits.
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// The binding stored under `key`.
pub fn decode_key(key: &[u8]) -> Result<AclBinding, DecodeError> {
    let (head, mut rest) = key
        .split_at_checked(5)
        .ok_or(DecodeError("truncated header"))?;
    if head[0] != FORMAT {
        return Err(DecodeError("unknown format"));
    }
    let mut text = || -> Result<String, DecodeError> {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or(DecodeError("truncated length"))?;
        let (s, tail) = tail
            .split_at_checked(u32::from_be_bytes(*len) as usize)
            .ok_or(DecodeError("truncated string"))?;
        rest = tail;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError("not UTF-8"))
    };
    let b = AclBinding {
        resource_type: ResourceType::from_code(head[1] as i8),
        pattern_type: PatternType::from_code(head[2] as i8),
        operation: AclOperation::from_code(head[3] as i8),
        permission: Permission::from_code(head[4] as i8),
        resource_name: text()?,
        principal: text()?,
        host: text()?,
    };
    if !rest.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    b.validate().map_err(|_| DecodeError("invalid binding"))?;
    Ok(b)
}
