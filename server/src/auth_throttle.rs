//! Slowing down failed authentications (SASL/PLAIN on Kafka, SigV4 on the AWS API), so that guessing passwords or
//! keys is slow, without blocking anything else.
//!
//! Each source IP address has a penalty: its first failure is answered after `security.auth_failure_delay_ms`,
//! each further one after twice the previous delay, up to `security.auth_failure_max_delay_ms`. Failure answers to
//! one address are also spaced by that delay, so opening more connections does not guess faster. The wait is a
//! timer in the failing connection's own task; successful logins and other addresses are never delayed. An
//! address's penalty is forgotten after a quiet minute.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A quiet period after which an address starts over at the base delay.
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// Addresses tracked at once; beyond it, failures from new addresses share one entry (so a spoofing flood cannot
/// grow the table, and is throttled as a whole).
const MAX_TRACKED: usize = 10_000;
/// The shared entry used when the table is full.
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[derive(Debug)]
pub struct AuthThrottle {
    base: Duration,
    max: Duration,
    sources: Mutex<HashMap<IpAddr, Penalty>>,
}

#[derive(Debug, Clone, Copy)]
struct Penalty {
    /// The delay the next failure adds.
    next_delay: Duration,
    /// No failure answer to this address goes out before this instant.
    free_at: Instant,
    last_failure: Instant,
}

impl AuthThrottle {
    pub fn new(base: Duration, max: Duration) -> AuthThrottle {
        AuthThrottle {
            base,
            max: max.max(base),
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure from `ip` at `now` and returns when its answer may go out.
    pub fn penalise(&self, ip: IpAddr, now: Instant) -> Instant {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if sources.len() >= MAX_TRACKED && !sources.contains_key(&ip) {
            sources.retain(|_, p| now.saturating_duration_since(p.last_failure) < FORGET_AFTER);
        }
        let key = if sources.len() >= MAX_TRACKED && !sources.contains_key(&ip) {
            OVERFLOW
        } else {
            ip
        };
        let fresh = Penalty {
            next_delay: self.base,
            free_at: now,
            last_failure: now,
        };
        let p = sources.entry(key).or_insert(fresh);
        if now.saturating_duration_since(p.last_failure) >= FORGET_AFTER {
            *p = fresh;
        }
        let answer_at = p.free_at.max(now) + p.next_delay;
        p.free_at = answer_at;
        p.last_failure = now;
        p.next_delay = (p.next_delay * 2).min(self.max);
        answer_at
    }

    /// Counts a failed authentication of `protocol` from `ip`, logs it (rate-limited), and waits until its answer
    /// may go out.
    pub async fn failed(&self, protocol: &'static str, ip: IpAddr, reason: &str) {
        metrics::counter!("strait_auth_failures_total", "protocol" => protocol).increment(1);
        crate::log_limited!(
            warn,
            "auth_failed",
            protocol,
            %ip,
            reason,
            "authentication failed"
        );
        let at = self.penalise(ip, Instant::now());
        tokio::time::sleep_until(at.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_grow_per_address_up_to_the_cap_and_are_spaced() {
        let t = AuthThrottle::new(100 * MS, 400 * MS);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let now = Instant::now();
        // Concurrent failures from one address are answered one delay after another: 100, +200, +400, +400.
        assert_eq!(t.penalise(a, now), now + 100 * MS);
        assert_eq!(t.penalise(a, now), now + 300 * MS);
        assert_eq!(t.penalise(a, now), now + 700 * MS);
        assert_eq!(t.penalise(a, now), now + 1100 * MS);
        // Another address starts at the base delay.
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_eq!(t.penalise(b, now), now + 100 * MS);
        // After a quiet minute an address starts over.
        let later = now + FORGET_AFTER + 2 * Duration::from_secs(1);
        assert_eq!(t.penalise(a, later), later + 100 * MS);
    }

    #[test]
    fn the_table_is_bounded() {
        let t = AuthThrottle::new(MS, MS);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 50) {
            t.penalise(IpAddr::V4(Ipv4Addr::from(i + 1)), now);
        }
        let tracked = t.sources.lock().map(|s| s.len()).unwrap_or(usize::MAX);
        assert!(tracked <= MAX_TRACKED + 1, "{tracked}");
    }
}
