//! How `consume` prints a record: a kcat-style format string (`-f '%p %o %k %s\n'`) or one JSON object per line.

use bytes::Bytes;
use serde_json::{Map, Value, json};

/// One record to print, from either protocol: Kafka's partition/offset or Kinesis' shard/sequence number.
pub(crate) struct Shown<'a> {
    pub topic: &'a str,
    pub partition: String,
    pub offset: String,
    pub timestamp: i64,
    pub key: Option<&'a Bytes>,
    pub value: Option<&'a Bytes>,
    pub headers: &'a [(String, Option<Bytes>)],
}

fn text(b: Option<&Bytes>) -> String {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Expands a format string: `%t` topic/stream, `%p` partition/shard, `%o` offset/sequence number, `%k` key or
/// partition key, `%s` value, `%T` timestamp (ms), `%h` headers as `k=v,k=v`, `%K`/`%S` key/value length (-1
/// when null), `%%` a percent sign; `\n`, `\t`, `\\` escapes. Unknown `%x` are kept as they are.
pub(crate) fn render(fmt: &str, r: &Shown<'_>) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('%', Some(n)) => {
                chars.next();
                match n {
                    't' => out.push_str(r.topic),
                    'p' => out.push_str(&r.partition),
                    'o' => out.push_str(&r.offset),
                    'k' => out.push_str(&text(r.key)),
                    's' => out.push_str(&text(r.value)),
                    'T' => out.push_str(&r.timestamp.to_string()),
                    'K' => out.push_str(&r.key.map_or(-1, |k| k.len() as i64).to_string()),
                    'S' => out.push_str(&r.value.map_or(-1, |v| v.len() as i64).to_string()),
                    'h' => {
                        let hs: Vec<String> = r
                            .headers
                            .iter()
                            .map(|(k, v)| format!("{k}={}", text(v.as_ref())))
                            .collect();
                        out.push_str(&hs.join(","));
                    }
                    '%' => out.push('%'),
                    other => {
                        out.push('%');
                        out.push(other);
                    }
                }
            }
            ('\\', Some(n)) if matches!(n, 'n' | 't' | '\\') => {
                chars.next();
                out.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    _ => '\\',
                });
            }
            _ => out.push(c),
        }
    }
    out
}

/// A Kafka record as one JSON line. Keys, values and header values are UTF-8 text (invalid bytes replaced).
pub(crate) fn kafka_json(r: &Shown<'_>) -> String {
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_ref()
                    .map_or(Value::Null, |v| Value::String(text(Some(v)))),
            )
        })
        .collect();
    json!({
        "topic": r.topic,
        "partition": r.partition.parse::<i64>().ok(),
        "offset": r.offset.parse::<i64>().ok(),
        "timestamp": r.timestamp,
        "key": r.key.map(|k| text(Some(k))),
        "value": r.value.map(|v| text(Some(v))),
        "headers": headers,
    })
    .to_string()
}

/// A Kinesis record as one JSON line, with the API's names.
pub(crate) fn kinesis_json(r: &Shown<'_>) -> String {
    json!({
        "stream": r.topic,
        "shard_id": r.partition,
        "sequence_number": r.offset,
        "partition_key": text(r.key),
        "approximate_arrival_timestamp": r.timestamp,
        "data": text(r.value),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_strings_expand_like_kcat() {
        let key = Bytes::from_static(b"k1");
        let value = Bytes::from_static(b"hello");
        let headers = vec![
            ("a".to_string(), Some(Bytes::from_static(b"1"))),
            ("b".to_string(), None),
        ];
        let r = Shown {
            topic: "orders",
            partition: "2".into(),
            offset: "17".into(),
            timestamp: 1_000,
            key: Some(&key),
            value: Some(&value),
            headers: &headers,
        };
        assert_eq!(render("%p %o %k %s\\n", &r), "2 17 k1 hello\n");
        assert_eq!(
            render("%t\\t%T %K/%S %h 100%% %x", &r),
            "orders\t1000 2/5 a=1,b= 100% %x"
        );
        let line: Value = serde_json::from_str(&kafka_json(&r)).expect("json");
        assert_eq!(line["partition"], 2);
        assert_eq!(line["value"], "hello");
        assert_eq!(line["headers"]["a"], "1");
        assert!(line["headers"]["b"].is_null());
    }
}
