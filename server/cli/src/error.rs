//! The CLI's errors and the exit code each one means. Scripts branch on the code, so the mapping is exhaustive (no
//! catch-all) and a code, once given a meaning, keeps it.

use std::process::ExitCode;

use kafka_protocol::error::ResponseError;

/// Every way a command fails.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line was valid for clap but not for the command (a bad `k=v`, an unparsable date, ...).
    #[error("{0}")]
    Usage(String),
    /// No TCP connection to a Kafka broker could be made (or it was dropped mid-request).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The broker did not answer within the request timeout.
    #[error("no answer from {addr} within {secs} s")]
    Timeout { addr: String, secs: u64 },
    /// A Kafka broker answered with an error code.
    #[error("{}: {context}{}", kafka_name(*.code), .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kafka {
        code: ResponseError,
        context: String,
        message: Option<String>,
    },
    /// The AWS endpoint could not be reached.
    #[error("cannot reach the AWS endpoint {endpoint}: {detail}")]
    AwsConnect { endpoint: String, detail: String },
    /// The Kinesis API answered with an error (its `__type`, e.g. ResourceNotFoundException).
    #[error("{code}: {message}")]
    Aws { code: String, message: String },
    /// The server answered with something this client cannot use: an undecodable frame, no common API version.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Reading stdin or writing stdout failed (a closed pipe is not an error: see `lib.rs`).
    #[error("local I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code: 0 is success and is never produced here.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Kafka { .. } | CliError::Aws { .. } => 1,
            CliError::Usage(_) => 2,
            CliError::Connect { .. } | CliError::Timeout { .. } | CliError::AwsConnect { .. } => 3,
            CliError::Protocol(_) => 4,
            CliError::Io(_) => 5,
        }
    }

    /// An error the broker answered for `context` (a topic, a group, ...), or `None` for code 0.
    pub fn kafka(code: i16, context: impl Into<String>, message: Option<&str>) -> Option<CliError> {
        ResponseError::try_from_code(code).map(|code| CliError::Kafka {
            code,
            context: context.into(),
            message: message.map(str::to_string),
        })
    }

    /// A partition the topic's metadata does not list, reported as the broker would.
    pub fn no_partition(topic: &str, partition: i32) -> CliError {
        CliError::Kafka {
            code: ResponseError::UnknownTopicOrPartition,
            context: format!("{topic}[{partition}]"),
            message: Some("no such partition".into()),
        }
    }

    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// Checks a response error code: `Ok` for 0, otherwise the named error.
pub(crate) fn check(code: i16, context: impl Into<String>, message: Option<&str>) -> Result<()> {
    match CliError::kafka(code, context, message) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// Kafka's own spelling of an error (`UNKNOWN_TOPIC_OR_PARTITION`), as the Java tools and the docs print it;
/// kafka-protocol names its variants in CamelCase.
pub(crate) fn kafka_name(code: ResponseError) -> String {
    if let ResponseError::Unknown(c) = code {
        return format!("UNKNOWN_ERROR_CODE_{c}");
    }
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

pub(crate) type Result<T> = std::result::Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_print_their_kafka_names() {
        assert_eq!(
            kafka_name(ResponseError::UnknownTopicOrPartition),
            "UNKNOWN_TOPIC_OR_PARTITION"
        );
        assert_eq!(kafka_name(ResponseError::NonEmptyGroup), "NON_EMPTY_GROUP");
        assert_eq!(
            kafka_name(ResponseError::Unknown(999)),
            "UNKNOWN_ERROR_CODE_999"
        );
        let e = CliError::kafka(3, "topic nope", None).expect("an error");
        assert_eq!(e.to_string(), "UNKNOWN_TOPIC_OR_PARTITION: topic nope");
        assert_eq!(e.exit_code(), 1);
        assert!(CliError::kafka(0, "fine", None).is_none());
    }

    #[test]
    fn exit_codes_are_distinct_per_kind() {
        let connect = CliError::Connect {
            addr: "x".into(),
            source: std::io::Error::other("refused"),
        };
        assert_eq!(connect.exit_code(), 3);
        assert_eq!(CliError::Usage("u".into()).exit_code(), 2);
        assert_eq!(CliError::Protocol("p".into()).exit_code(), 4);
        assert_eq!(CliError::Io(std::io::Error::other("x")).exit_code(), 5);
        let aws = CliError::Aws {
            code: "ResourceNotFoundException".into(),
            message: "m".into(),
        };
        assert_eq!(aws.exit_code(), 1);
    }
}
