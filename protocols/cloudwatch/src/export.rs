//! Accepted data as Prometheus series through the `metrics` facade (the server's recorder renders them on the
//! admin `/metrics` endpoint). The number of distinct series is capped, because dimension values are client data.

use std::collections::HashSet;
use std::sync::Mutex;

use metrics::Label;

use crate::put_metric_data::{Datum, PutMetricData};

/// Labels every series carries; a dimension that sanitises to one of these is prefixed `dim_`.
const RESERVED: [&str; 2] = ["namespace", "metric"];

/// The distinct-series cap and the series seen so far.
#[derive(Debug)]
pub(crate) struct Exporter {
    max_series: usize,
    seen: Mutex<HashSet<String>>,
}

impl Exporter {
    pub(crate) fn new(max_series: usize) -> Exporter {
        Exporter {
            max_series,
            seen: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn record(&self, req: &PutMetricData) {
        for d in &req.data {
            let labels = labels(&req.namespace, d);
            if !self.admit(&labels) {
                metrics::counter!("strait_cloudwatch_dropped_total").increment(1);
                continue;
            }
            metrics::gauge!("strait_cloudwatch_value", labels.clone()).set(d.figures.last);
            // Gauges rather than counters: CloudWatch sums are doubles and may be negative.
            metrics::gauge!("strait_cloudwatch_summed_value", labels.clone())
                .increment(d.figures.sum);
            metrics::gauge!("strait_cloudwatch_samples", labels).increment(d.figures.count);
        }
    }

    /// Whether the series may be recorded: already known, or room for one more.
    fn admit(&self, labels: &[Label]) -> bool {
        let key = labels
            .iter()
            .map(|l| format!("{}\u{0}{}", l.key(), l.value()))
            .collect::<Vec<_>>()
            .join("\u{1}");
        // A poisoned lock only means another thread panicked mid-insert; the set itself is still sound.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&key) {
            return true;
        }
        if seen.len() >= self.max_series {
            return false;
        }
        seen.insert(key);
        true
    }
}

fn labels(namespace: &str, d: &Datum) -> Vec<Label> {
    let mut out = vec![
        Label::new("namespace", namespace.to_string()),
        Label::new("metric", d.metric.clone()),
    ];
    let mut used: Vec<String> = RESERVED.iter().map(|s| s.to_string()).collect();
    for (name, value) in &d.dimensions {
        let mut n = sanitize(name);
        while used.contains(&n) {
            n = format!("dim_{n}");
        }
        used.push(n.clone());
        out.push(Label::new(n, value.clone()));
    }
    out
}

/// A Prometheus label name in snake_case (`ShardId` → `shard_id`, `KPLVersion` → `kpl_version`, as
/// `promtool check metrics` requires): `[a-z_][a-z0-9_]*`, and not the reserved `__` prefix.
pub fn sanitize(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut s = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            s.push('_');
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // A word starts at an upper-case letter after a lower-case one or a digit, or at the last capital of
            // an acronym that a lower-case letter follows.
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                s.push('_');
            }
        }
        s.push(c.to_ascii_lowercase());
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with("__") {
        s = format!("dim_{s}");
    }
    s
}
