//! Counts the engine's group-commit fsync rounds and their durations through its own metrics
//! (`strait_log_fsyncs_total`, `strait_log_fsync_seconds`), so the benchmark needs no hook in the engine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

const FSYNCS: &str = "strait_log_fsyncs_total";
const FSYNC_SECONDS: &str = "strait_log_fsync_seconds";

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
    }
}

/// A recorder that keeps only the two fsync metrics and drops everything else.
#[derive(Default, Clone)]
pub(crate) struct FsyncRecorder {
    count: Arc<AtomicU64>,
    seconds: Arc<Samples>,
}

impl FsyncRecorder {
    /// Installs a recorder as the process-wide one (the engine records from its runtime's threads).
    pub(crate) fn install() -> Result<FsyncRecorder, String> {
        let r = FsyncRecorder::default();
        metrics::set_global_recorder(r.clone())
            .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        Ok(r)
    }

    /// Takes the fsync count and durations (seconds) recorded since the last call.
    pub(crate) fn take(&self) -> (u64, Vec<f64>) {
        let n = self.count.swap(0, Ordering::AcqRel);
        let d = std::mem::take(
            &mut *self
                .seconds
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        (n, d)
    }
}

impl Recorder for FsyncRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == FSYNCS {
            Counter::from_arc(self.count.clone())
        } else {
            Counter::noop()
        }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        if key.name() == FSYNC_SECONDS {
            Histogram::from_arc(self.seconds.clone())
        } else {
            Histogram::noop()
        }
    }
}
