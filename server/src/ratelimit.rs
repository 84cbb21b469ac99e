//! Rate-limited logging for messages an outsider can trigger at will (one per refused connection, oversized
//! frame, failed login): at most `log.max_repeated_per_minute` lines per kind and minute, then one line saying how
//! many similar messages were suppressed. Without it, a flood of bad connections is also a flood of the log.
//!
//! Use [`log_limited!`](crate::log_limited) with a kind (a short static name) and the usual `tracing` arguments.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The window a kind's budget applies to.
const WINDOW: Duration = Duration::from_secs(60);

/// Per-kind line budgets over a fixed one-minute window.
#[derive(Debug)]
pub struct LogLimiter {
    per_window: u32,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

/// What the caller may do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `suppressed` similar messages were dropped since the last line of this kind (say so when > 0).
    Log { suppressed: u64 },
    /// Drop it (it has been counted).
    Suppress,
}

impl LogLimiter {
    pub fn new(per_minute: u32) -> LogLimiter {
        LogLimiter {
            per_window: per_minute,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Decides about one message of `kind` arriving at `now`.
    pub fn check(&self, kind: &'static str, now: Instant) -> Verdict {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        let w = kinds.entry(kind).or_insert(Window {
            start: now,
            logged: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(w.start) >= WINDOW {
            w.start = now;
            w.logged = 0;
        }
        if w.logged < self.per_window {
            w.logged += 1;
            let suppressed = std::mem::take(&mut w.suppressed);
            Verdict::Log { suppressed }
        } else {
            w.suppressed += 1;
            Verdict::Suppress
        }
    }
}

static GLOBAL: OnceLock<LogLimiter> = OnceLock::new();

/// Sets the process-wide budget (`log.max_repeated_per_minute`); the first call wins, later ones (in-process
/// tests starting several nodes) keep it.
pub fn init(per_minute: u32) {
    let _ = GLOBAL.set(LogLimiter::new(per_minute));
}

/// The process-wide limiter (10 lines per minute per kind until [`init`] is called).
pub fn global() -> &'static LogLimiter {
    GLOBAL.get_or_init(|| LogLimiter::new(10))
}

/// `log_limited!(warn, "kind", field = value, "message")`: logs through `tracing` at the given level unless this
/// kind has used its budget for the minute; the first line after suppression carries `suppressed = N`.
#[macro_export]
macro_rules! log_limited {
    ($level:ident, $kind:expr, $($arg:tt)+) => {
        if let $crate::ratelimit::Verdict::Log { suppressed } =
            $crate::ratelimit::global().check($kind, std::time::Instant::now())
        {
            if suppressed > 0 {
                tracing::$level!(kind = $kind, suppressed, "suppressed {} similar messages", suppressed);
            }
            tracing::$level!(kind = $kind, $($arg)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_logs_its_budget_then_counts_until_the_next_window() {
        let l = LogLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check("conn", t0), Verdict::Log { suppressed: 0 });
        }
        for _ in 0..197 {
            assert_eq!(
                l.check("conn", t0 + Duration::from_secs(1)),
                Verdict::Suppress
            );
        }
        // Other kinds have budgets of their own.
        assert_eq!(l.check("frame", t0), Verdict::Log { suppressed: 0 });
        // The next window's first line reports what was dropped, once.
        let t1 = t0 + WINDOW;
        assert_eq!(l.check("conn", t1), Verdict::Log { suppressed: 197 });
        assert_eq!(l.check("conn", t1), Verdict::Log { suppressed: 0 });
    }
}
