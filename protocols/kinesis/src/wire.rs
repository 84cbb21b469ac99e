//! The two body formats of the Kinesis API, named by the request's content type.

/// The body format of a request, and so of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `application/x-amz-json-1.1`.
    Json,
    /// `application/x-amz-cbor-1.1`, the Java SDKs' default.
    Cbor,
}

impl WireFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            WireFormat::Json => "application/x-amz-json-1.1",
            WireFormat::Cbor => "application/x-amz-cbor-1.1",
        }
    }

    /// The format of a `Content-Type` value (parameters ignored), if it is one of the two.
    pub fn from_content_type(value: &str) -> Option<WireFormat> {
        let media = value.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/x-amz-json-1.1") {
            Some(WireFormat::Json)
        } else if media.eq_ignore_ascii_case("application/x-amz-cbor-1.1") {
            Some(WireFormat::Cbor)
        } else {
            None
        }
    }
}
