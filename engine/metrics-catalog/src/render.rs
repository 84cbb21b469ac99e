//! Renders the catalogue as `docs/metrics.md`.

use crate::catalogue::CATALOGUE;

/// The catalogue as a Markdown document (the exact content of `docs/metrics.md`).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Metrics\n\n\
         <!-- Generated from engine/metrics-catalog/src/catalogue.rs: edit the catalogue, then run\n     \
         `STRAIT_BLESS=1 cargo test -p strait-metrics` (a unit test fails while this file differs). -->\n\n\
         Every metric a Strait node exposes at `GET /metrics` on the admin listener (Prometheus text format).\n\
         The names live in one catalogue, the `strait-metrics` crate (`engine/metrics-catalog`); the server\n\
         registers each one's `# HELP` text from it at start, and `scripts/check-metrics.py` (part of\n\
         `scripts/test.sh`, quick and full) fails when the code emits a `strait_*` name the catalogue does not list or\n\
         the catalogue lists one nothing emits. To add a metric: add its row to the catalogue, emit it with\n\
         `metrics::counter!/gauge!/histogram!(\"strait_...\")`, and re-render this file.\n\n\
         Reading them:\n\n\
         - Every `_seconds` series is a histogram (`_bucket`, `_sum`, `_count`) with the same buckets, from 100 µs to\n  \
         30 s, so quantiles can be computed over any window and aggregated across nodes\n  \
         (`histogram_quantile(0.99, sum by (le, api) (rate(strait_kafka_request_seconds_bucket[5m])))`).\n\
         - Each event is counted in one family only: `strait_kafka_frames_total` counts frames read,\n  \
         `strait_kafka_requests_total{api}` decoded requests, so a `sum()` of either never double counts.\n\
         - The `strait_partition_*` and `strait_consumer_group_*` series are rendered from the engine's live state at\n  \
         each scrape: a deleted topic or group has no series in the next scrape. On a cluster each node reports the\n  \
         replicas it hosts: offsets, sizes and lag are per replica (aggregate offsets and lag with `max by (topic,\n  \
         partition)`), the `_in_` counters are counted on the node that accepted the write and the `_out_` ones on\n  \
         the node that served the read (aggregate those with `sum`). A KCL application's lag is its group's: KCL\n  \
         checkpoints are stored as the group offsets of the application name (docs/migration.md).\n\
         - Per-partition counters start at zero when a partition is opened on a node (a restart, a new replica);\n  \
         `rate()` and `increase()` handle the reset.\n\
         - A Grafana dashboard built on these series is `deploy/grafana/strait.json`; its queries are parsed by\n  \
         `promtool` in the metrics compat suite (`compat-tests/metrics`), which also runs `promtool check metrics`\n  \
         on a busy node's scrape.\n\n\
         | Name | Type | Unit | Labels | Emitted by | Help |\n\
         |---|---|---|---|---|---|\n",
    );
    for m in CATALOGUE {
        let labels = if m.labels.is_empty() {
            String::from("-")
        } else {
            m.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let unit = if m.unit.as_str().is_empty() {
            "-"
        } else {
            m.unit.as_str()
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            m.name,
            m.kind.as_str(),
            unit,
            labels,
            m.emitted_by.join(", "),
            m.help.replace('|', "\\|"),
        ));
    }
    out
}
