//! Printing: aligned tables for people, JSON for scripts. Each command builds its rows once and its JSON once.

use std::io::Write;

use serde_json::Value;

use crate::args::Output;
use crate::error::Result;

/// A table with a header row; columns are padded to their widest cell, two spaces apart.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn render(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![0; cols];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate().take(cols) {
                if i + 1 == cols {
                    line.push_str(c);
                } else {
                    line.push_str(&format!("{c:<w$}  ", w = width[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints `json` or, for `--output table`, the text `table` renders.
pub(crate) fn emit(output: Output, json: &Value, table: impl FnOnce() -> String) -> Result<()> {
    let text = match output {
        Output::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(json).unwrap_or_default()
        ),
        Output::Table => table(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// A cell for an optional value: `-` when absent.
pub(crate) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_trailing_space() {
        let mut t = Table::new(&["NAME", "PARTITIONS", "NOTE"]);
        t.row(vec!["orders".into(), "3".into(), String::new()]);
        t.row(vec!["a".into(), "12".into(), "x".into()]);
        assert_eq!(
            t.render(),
            "NAME    PARTITIONS  NOTE\norders  3\na       12          x\n"
        );
    }
}
