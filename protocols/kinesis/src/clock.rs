//! Wall-clock time, injectable so tests can expire iterators and finish status transitions without sleeping. The
//! clock is `strait-aws`'s (shared by every AWS service); this module names it for the Kinesis crate's modules.

pub use strait_aws::{Clock, ManualClock, SystemClock};
