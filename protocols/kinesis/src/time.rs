//! Dates as AWS prints them in messages: Java's `Date.toString()`, `Wed Nov 25 16:07:49 UTC 2026` (shared with the
//! other AWS services in `strait-aws`).

pub use strait_aws::time::java_date;
