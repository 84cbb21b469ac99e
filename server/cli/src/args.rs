//! Flags every command takes, and the small value parsers the commands share.

use clap::{Args, ValueEnum};

use crate::error::{CliError, Result};

/// Where to connect and how to print. `global = true`: accepted before or after the subcommand's own words.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Kafka bootstrap brokers, comma-separated.
    #[arg(
        long,
        global = true,
        env = "STRAIT_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// The Kinesis endpoint. Region and keys come from AWS_REGION (or AWS_DEFAULT_REGION) and
    /// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; without them, us-east-1 and dummy keys, which
    /// `strait dev` accepts.
    #[arg(
        long,
        global = true,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    pub aws_endpoint: String,
    /// Output: human tables, or JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Splits `k=v` (a config, a header). The value may itself contain `=`.
pub fn key_value(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(CliError::Usage(format!("expected key=value, got {s:?}"))),
    }
}

/// clap's parser for `k=v` arguments.
pub fn parse_key_value(s: &str) -> std::result::Result<(String, String), String> {
    key_value(s).map_err(|e| e.to_string())
}

/// Parses a time for `--timestamp`/`--to-datetime`: milliseconds since the epoch, or an ISO 8601 / RFC 3339 time
/// (`2026-01-02T03:04:05Z`, `2026-01-02T03:04:05.123+02:00` or `+0200`; a bare `2026-01-02T03:04:05` is UTC).
pub fn parse_time(s: &str) -> std::result::Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    rfc3339_ms(s).ok_or_else(|| {
        format!(
            "expected milliseconds since the epoch or a time like 2026-01-02T03:04:05Z, got {s:?}"
        )
    })
}

/// RFC 3339 in milliseconds, through the AWS front end's ISO 8601 parser (the same dates Kinesis accepts).
fn rfc3339_ms(s: &str) -> Option<i64> {
    strait_aws::time::parse_iso8601(s).map(|secs| (secs * 1000.0).round() as i64)
}

/// Formats milliseconds since the epoch as RFC 3339 UTC, for tables.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = strait_aws::time::civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_millis_or_rfc3339() {
        assert_eq!(parse_time("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20.5Z"), Ok(1_700_000_000_500));
        assert_eq!(
            parse_time("2023-11-15T00:13:20.123+02:00"),
            Ok(1_700_000_000_123)
        );
        assert_eq!(parse_time("2023-11-14T22:13:20"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-15T00:13:20+0200"),
            parse_time("2023-11-15T00:13:20+02:00")
        );
        for bad in ["yesterday", "2023-13-01T00:00:00Z", "2023-11-14"] {
            assert!(parse_time(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn times_format_back() {
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_time(&format_time(951_782_400_000)),
            Ok(951_782_400_000)
        );
    }

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(key_value("a=b=c").expect("ok"), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").expect("ok"), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
    }
}
