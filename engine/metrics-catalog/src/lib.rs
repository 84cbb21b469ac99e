//! The one place where Strait's metric names live.
//!
//! [`CATALOGUE`] lists every `strait_*` metric the workspace emits, with its type, unit, labels, help text and the
//! crates that emit it. The server registers the `# HELP`/`# TYPE` lines from it at start
//! (`server/src/telemetry.rs`); `scripts/check-metrics.py` fails when code emits a `strait_*` name the catalogue
//! does not list, when the catalogue lists a name nothing emits, or when the emitting crates differ; and
//! `docs/metrics.md` is rendered from it by [`markdown`] (a unit test keeps the file identical).
//!
//! Call sites keep their string literals (`metrics::counter!("strait_...")`) so that a metric stays greppable where
//! it is counted; the catalogue plus the check is what keeps the names in one place.

mod catalogue;
mod render;

pub use catalogue::CATALOGUE;
pub use render::markdown;

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    /// The name Prometheus' exposition format uses (`# TYPE name counter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// The unit a metric is measured in; the server maps it onto `metrics::Unit` when describing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain count or a ratio with no unit.
    Count,
    Bytes,
    Seconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "",
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
        }
    }
}

/// One metric the workspace emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The full Prometheus name, `strait_` prefixed; counters end in `_total`.
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// Label names every sample carries (some metrics add dynamic ones; their help says so).
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
    /// Crates (package names) whose code emits it; checked by `scripts/check-metrics.py`.
    pub emitted_by: &'static [&'static str],
}

/// Looks a metric up by its full name.
pub fn find(name: &str) -> Option<&'static Metric> {
    CATALOGUE.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_prefixed_and_typed_consistently() {
        let mut seen = HashSet::new();
        for m in CATALOGUE {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            assert!(
                m.name.starts_with("strait_"),
                "{} lacks the strait_ prefix",
                m.name
            );
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{} is not snake_case",
                m.name
            );
            // Prometheus convention: only counters end in _total, and every counter does.
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.name
            );
            assert!(
                !m.help.is_empty() && m.help.ends_with('.'),
                "{}: help must be a sentence",
                m.name
            );
            assert!(!m.emitted_by.is_empty(), "{}: no emitting crate", m.name);
        }
    }

    #[test]
    fn find_knows_every_listed_name() {
        for m in CATALOGUE {
            assert_eq!(find(m.name), Some(m));
        }
        assert_eq!(find("strait_no_such_metric"), None);
    }

    /// `docs/metrics.md` is the rendered catalogue. `STRAIT_BLESS=1 cargo test -p strait-metrics` rewrites it.
    #[test]
    fn docs_metrics_md_matches_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/metrics.md");
        let want = markdown();
        if std::env::var_os("STRAIT_BLESS").is_some() {
            std::fs::write(path, &want).expect("writing docs/metrics.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/metrics.md differs from the catalogue: run STRAIT_BLESS=1 cargo test -p strait-metrics"
        );
    }
}
