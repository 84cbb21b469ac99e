//! The progress bar of a long produce or consume: drawn on stderr only when stderr is a terminal, so pipes, CI
//! logs and scripts that capture stderr never see it; and only while stdout is not that terminal too (`strait
//! consume t > file`), since records printed on the terminal already show progress and a bar redrawn between
//! them would only flicker.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar towards `total` records, or a spinner counting them when there is no total.
    pub(crate) fn new(total: Option<u64>, verb: &'static str) -> Progress {
        if !std::io::stderr().is_terminal() || std::io::stdout().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "{msg} [{bar:30}] {pos}/{len} records ({per_sec})"
        } else {
            "{spinner} {msg} {pos} records ({per_sec})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(verb);
        Progress { bar: Some(bar) }
    }

    pub(crate) fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
