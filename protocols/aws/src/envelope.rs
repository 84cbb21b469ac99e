//! AWS error envelopes: the bodies Kinesis, DynamoDB and CloudWatch answer errors with, in each wire format.
//!
//! A modelled error is a two-entry structure `{"__type": <type>, "message": <text>}` in the request's format (AWS
//! JSON 1.0/1.1 or CBOR); awsQuery (CloudWatch's XML protocol) wraps a code and message in `<ErrorResponse>`. The
//! services decide *which* type, status and message; the bytes are written here, once.

/// An error as a service will render it: HTTP status, the `__type` (or awsQuery shape) name, the awsQuery code
/// (the short type name for JSON-only services), and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEnvelope {
    pub status: u16,
    pub type_name: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// `{"__type": type_name, message_key: message}` in JSON; AWS spells the message member `message` except for a
/// few exceptions (`Message`).
pub fn json_error(type_name: &str, message_key: &str, message: &str) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert("__type".into(), type_name.into());
    m.insert(message_key.into(), message.into());
    serde_json::Value::Object(m).to_string().into_bytes()
}

/// The same two-entry structure as a definite-length CBOR map of text strings.
pub fn cbor_error(type_name: &str, message_key: &str, message: &str) -> Vec<u8> {
    let mut out = vec![0xa2]; // a definite-length map of two entries
    for s in ["__type", type_name, message_key, message] {
        cbor_text(&mut out, s);
    }
    out
}

/// Appends a CBOR text string (major type 3) with the shortest length head.
pub fn cbor_text(out: &mut Vec<u8>, s: &str) {
    crate::cbor::text(out, s);
}

/// Escapes text for an XML element or attribute value.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// awsQuery's error document: `<ErrorResponse xmlns=..><Error><Type>Sender|Receiver</Type><Code>..</Code>
/// <Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`.
pub fn query_error(
    xmlns: &str,
    fault: &str,
    code: &str,
    message: &str,
    request_id: &str,
) -> Vec<u8> {
    format!(
        "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{fault}</Type><Code>{code}</Code><Message>{}</Message>\
         </Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_escape(message),
        xml_escape(request_id)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_body_is_a_two_entry_text_map() {
        let b = cbor_error(
            "MissingAuthenticationTokenException",
            "message",
            "Missing Authentication Token",
        );
        let mut want = vec![0xa2, 0x66];
        want.extend_from_slice(b"__type");
        want.extend_from_slice(&[0x78, 35]);
        want.extend_from_slice(b"MissingAuthenticationTokenException");
        want.push(0x67);
        want.extend_from_slice(b"message");
        want.extend_from_slice(&[0x78, 28]);
        want.extend_from_slice(b"Missing Authentication Token");
        assert_eq!(b, want);
    }

    #[test]
    fn cbor_lengths_use_the_shortest_form() {
        let mut out = Vec::new();
        cbor_text(&mut out, &"x".repeat(300));
        assert_eq!(&out[..3], &[0x79, 0x01, 0x2c]);
        assert_eq!(out.len(), 303);
    }

    #[test]
    fn json_keeps_member_order_and_escapes() {
        assert_eq!(
            String::from_utf8(json_error("T", "Message", "a \"b\"")).expect("utf-8"),
            r#"{"Message":"a \"b\"","__type":"T"}"#
        );
    }
}
