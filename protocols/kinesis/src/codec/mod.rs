//! Request and response bodies in the two formats Kinesis speaks, mirrored from request to response.
//!
//! Both decoders produce a [`Value`] and both encoders render one; the differences between the formats (blobs,
//! timestamps) are handled here so operations never see them.

mod cbor;
mod json;

use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::value::Value;

/// Nesting deeper than any Kinesis shape (the deepest is 4) is refused instead of recursing without bound.
pub const MAX_DEPTH: usize = 32;

/// Why a body could not be decoded; answered with `SerializationException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON/CBOR, or not a structure: AWS cannot read it and names no reason (the text is only logged).
    #[error("{0}")]
    Malformed(String),
    /// Nested deeper than any Kinesis shape ([`MAX_DEPTH`]): Strait's own refusal, answered with its reason.
    #[error("request body is nested too deeply")]
    TooDeep,
}

impl From<DecodeError> for KinesisError {
    fn from(e: DecodeError) -> KinesisError {
        match e {
            DecodeError::Malformed(reason) => KinesisError::UnreadableBody(reason),
            DecodeError::TooDeep => KinesisError::Serialization(e.to_string()),
        }
    }
}

/// Decodes a request body. JSON SDKs send `{}` for an empty input and AWS answers an empty JSON body with a
/// SerializationException. An empty CBOR body is read as an empty map: whether every Java SDK version writes a map
/// for inputs without members is not verified, and refusing one would break such a client for no benefit.
pub fn decode(format: WireFormat, body: &[u8]) -> Result<Value, DecodeError> {
    if body.is_empty() {
        return match format {
            WireFormat::Json => Err(DecodeError::Malformed(
                "The request body is empty; expected a serialized structure.".into(),
            )),
            WireFormat::Cbor => Ok(Value::map()),
        };
    }
    let v = match format {
        WireFormat::Json => json::decode(body)?,
        WireFormat::Cbor => cbor::decode(body)?,
    };
    match v {
        Value::Map(_) => Ok(v),
        // AWS's own wording for a top-level value that is not an object.
        _ => Err(DecodeError::Malformed(
            "Start of structure or map found where not expected.".into(),
        )),
    }
}

/// Encodes a response body.
pub fn encode(format: WireFormat, v: &Value) -> Vec<u8> {
    match format {
        WireFormat::Json => json::encode(v),
        WireFormat::Cbor => cbor::encode(v),
    }
}
