//! The per-partition and per-group series of `/metrics`, rendered at each scrape from the engine's live state
//! rather than registered with the `metrics` recorder: a deleted topic or group then leaves no stale series
//! behind, and partitions cost nothing between scrapes. The `# HELP` text comes from the catalogue
//! (`strait-metrics`), like every other series.
//!
//! On a cluster node every series covers the replicas this node hosts: offsets and lag are the same on each
//! replica once it has caught up (aggregate with `max`), while the `_in_` counters count on the leader only and
//! the `_out_` counters on the node that served the read, so `sum` over nodes is right for those.

use std::fmt::Write;

use strait_engine::{Engine, PartitionLog};

use crate::lag::HighWatermarks;

const LOG_START: &str = scraped("strait_partition_log_start_offset");
const HIGH_WATERMARK: &str = scraped("strait_partition_high_watermark");
const LOG_END: &str = scraped("strait_partition_log_end_offset");
const SIZE: &str = scraped("strait_partition_size_bytes");
const BYTES_IN: &str = scraped("strait_partition_in_bytes_total");
const RECORDS_IN: &str = scraped("strait_partition_in_records_total");
const BYTES_OUT: &str = scraped("strait_partition_out_bytes_total");
const RECORDS_OUT: &str = scraped("strait_partition_out_records_total");
const COMMITTED: &str = scraped("strait_consumer_group_committed_offset");
const LAG: &str = scraped("strait_consumer_group_lag");

/// Marks a series this module renders (`scripts/check-metrics.py` finds them by it, as it finds the recorder's
/// `counter!`/`gauge!`/`histogram!` calls).
const fn scraped(name: &'static str) -> &'static str {
    name
}

/// One metric family: its samples, rendered after its `# HELP`/`# TYPE` lines.
struct Family {
    name: &'static str,
    body: String,
}

impl Family {
    fn new(name: &'static str) -> Family {
        Family {
            name,
            body: String::new(),
        }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.body.push_str(self.name);
        self.body.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                self.body.push(',');
            }
            let _ = write!(self.body, "{k}=\"{}\"", escape(v));
        }
        let _ = writeln!(self.body, "}} {value}");
    }

    fn render(self, out: &mut String) {
        let (help, kind) = match strait_metrics::find(self.name) {
            Some(m) => (m.help, m.kind.as_str()),
            // Unreachable while the catalogue test passes; a series without help is still valid text.
            None => ("", "untyped"),
        };
        let _ = writeln!(out, "# HELP {} {}", self.name, help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, kind);
        out.push_str(&self.body);
    }
}

/// Label values escape backslash, double quote and newline (the exposition format's rules).
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Appends the partition and consumer-group families to a scrape.
pub fn render(engine: &Engine, out: &mut String) {
    let mut fams: Vec<Family> = [
        LOG_START,
        HIGH_WATERMARK,
        LOG_END,
        SIZE,
        BYTES_IN,
        RECORDS_IN,
        BYTES_OUT,
        RECORDS_OUT,
    ]
    .into_iter()
    .map(Family::new)
    .collect();
    // Collected on the way, for lag.
    let mut hws = HighWatermarks::default();
    let mut topics = engine.list_topics();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &topics {
        let Ok(parts) = engine.partitions(&t.name) else {
            continue;
        };
        for p in parts {
            let idx = p.index().to_string();
            let labels = [("topic", t.name.as_str()), ("partition", idx.as_str())];
            let o = p.offsets();
            let tr = p.traffic().totals();
            let values: [u64; 8] = [
                o.log_start.max(0) as u64,
                o.high_watermark.max(0) as u64,
                o.log_end.max(0) as u64,
                p.size_bytes(),
                tr.bytes_in,
                tr.records_in,
                tr.bytes_out,
                tr.records_out,
            ];
            for (f, v) in fams.iter_mut().zip(values) {
                f.sample(&labels, v);
            }
            hws.insert(&t.name, p.index() as i32, o.high_watermark);
        }
    }
    let mut committed = Family::new(COMMITTED);
    let mut lag = Family::new(LAG);
    match strait_kafka::group::offsets::all_committed(engine.meta()) {
        Ok(mut rows) => {
            rows.sort_by(|a, b| {
                (&a.group, &a.topic, a.partition).cmp(&(&b.group, &b.topic, b.partition))
            });
            for r in rows {
                // Offsets of topics that are gone, or whose partitions this node does not host, have no lag here.
                let Some(hw) = hws.get(&r.topic, r.partition) else {
                    continue;
                };
                let part = r.partition.to_string();
                let labels = [
                    ("group", r.group.as_str()),
                    ("topic", r.topic.as_str()),
                    ("partition", part.as_str()),
                ];
                committed.sample(&labels, r.offset);
                lag.sample(&labels, crate::lag::lag(hw, r.offset));
            }
        }
        Err(e) => tracing::warn!(error = %e, "/metrics: reading committed offsets failed"),
    }
    fams.push(committed);
    fams.push(lag);
    for f in fams {
        f.render(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_label_values_and_carry_catalogue_help() {
        let mut f = Family::new(LAG);
        f.sample(&[("group", "a\"b\\c\nd"), ("topic", "t")], 3);
        let mut out = String::new();
        f.render(&mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("# HELP strait_consumer_group_lag "));
        assert!(lines[0].len() > "# HELP strait_consumer_group_lag ".len());
        assert_eq!(lines[1], "# TYPE strait_consumer_group_lag gauge");
        assert_eq!(
            lines[2],
            r#"strait_consumer_group_lag{group="a\"b\\c\nd",topic="t"} 3"#
        );
    }
}
