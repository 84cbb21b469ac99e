//! ARNs of streams and consumers, and the account/stream wording AWS uses in messages.

use crate::state::KinesisConfig;

/// `arn:aws:kinesis:<region>:<account>:stream/<name>`.
pub fn stream_arn(cfg: &KinesisConfig, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:stream/{name}",
        cfg.region, cfg.account_id
    )
}

/// `arn:aws:kinesis:<region>:<account>:stream/<name>/consumer/<consumer>:<creation epoch seconds>`.
pub fn consumer_arn(cfg: &KinesisConfig, stream: &str, consumer: &str, created_ms: i64) -> String {
    format!(
        "{}/consumer/{consumer}:{}",
        stream_arn(cfg, stream),
        created_ms.div_euclid(1000)
    )
}

/// The parts of a Kinesis ARN this node serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Stream(String),
    Consumer {
        stream: String,
        consumer: String,
        created_secs: i64,
    },
}

/// Parses a stream or consumer ARN. `Err` carries the account the ARN names when it is not this node's (the
/// caller answers "not found under account …"), `Ok(None)` means the ARN is not a stream or consumer ARN.
pub fn parse(cfg: &KinesisConfig, arn: &str) -> Result<Option<Resource>, String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("kinesis"), Some(_region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Ok(None);
    };
    if !partition.starts_with("aws") {
        return Ok(None);
    }
    if account != cfg.account_id {
        return Err(account.to_string());
    }
    let Some(path) = rest.strip_prefix("stream/") else {
        return Ok(None);
    };
    match path.split_once("/consumer/") {
        None => Ok(Some(Resource::Stream(path.to_string()))),
        Some((stream, c)) => {
            let Some((consumer, secs)) = c.rsplit_once(':') else {
                return Ok(None);
            };
            let Ok(created_secs) = secs.parse::<i64>() else {
                return Ok(None);
            };
            Ok(Some(Resource::Consumer {
                stream: stream.to_string(),
                consumer: consumer.to_string(),
                created_secs,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let cfg = KinesisConfig::default();
        let s = stream_arn(&cfg, "orders");
        assert_eq!(s, "arn:aws:kinesis:us-east-1:000000000000:stream/orders");
        assert_eq!(parse(&cfg, &s), Ok(Some(Resource::Stream("orders".into()))));
        let c = consumer_arn(&cfg, "orders", "app", 1_700_000_000_999);
        assert_eq!(c, format!("{s}/consumer/app:1700000000"));
        assert_eq!(
            parse(&cfg, &c),
            Ok(Some(Resource::Consumer {
                stream: "orders".into(),
                consumer: "app".into(),
                created_secs: 1_700_000_000
            }))
        );
        assert_eq!(
            parse(&cfg, "arn:aws:kinesis:us-east-1:123456789012:stream/x"),
            Err("123456789012".into())
        );
        assert_eq!(parse(&cfg, "arn:aws:s3:::bucket"), Ok(None));
    }
}
