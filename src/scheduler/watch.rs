//! Watching a compute from outside it: counters the workers bump as tasks finish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How far the computes it is given to (through [`crate::ComputeOptions::watch`]) have
/// got: tasks finished out of tasks in the run. A host that draws its own progress
/// display (Python's `ProgressBar`, a notebook widget) polls it from another thread;
/// reading it costs two atomic loads. Clones share the counters; each compute resets
/// them when it starts.
///
/// ```
/// use tessera::scheduler::Progress;
/// let watch = Progress::new();
/// let opts = tessera::ComputeOptions { watch: Some(watch.clone()), ..Default::default() };
/// let x = tessera::random::uniform(&[100, 100], 50, 0).unwrap();
/// x.sum().compute_with::<f64>(&opts).unwrap();
/// assert!(watch.total() > 0);
/// assert_eq!(watch.done(), watch.total());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    /// Counters at zero.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Tasks finished so far in the current (or last) compute.
    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    /// Tasks in the current (or last) compute (0 before one starts).
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    pub(crate) fn start(&self, total: usize) {
        self.0.done.store(0, Ordering::Relaxed);
        self.0.total.store(total as u64, Ordering::Relaxed);
    }

    pub(crate) fn tick(&self) {
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Two options are equal when they hold the same counters (a clone).
impl PartialEq for Progress {
    fn eq(&self, other: &Progress) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
