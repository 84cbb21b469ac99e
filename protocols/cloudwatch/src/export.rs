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
            metrics::gauge!("strait_cloudwatch_sum", labels.clone()).increment(d.figures.sum);
            metrics::gauge!("strait_cloudwatch_count", labels).increment(d.figures.count);
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

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, and not the reserved `__` prefix.
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with("__") {
        s = format!("dim_{s}");
    }
    s
}
