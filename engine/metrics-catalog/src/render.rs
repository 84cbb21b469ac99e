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
