//! Cancelling a compute from outside it: a flag the workers read between tasks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A handle that stops the computes it is given to (through
/// [`crate::ComputeOptions::cancel`]): workers look at it before each task, so a compute
/// stops within one task's time (and at most ~50 ms more for a waiting worker), then
/// returns [`crate::Error::Cancelled`] with its spill files and any half-written output
/// removed. Clones share one flag; it stays cancelled once cancelled.
///
/// A host (a CLI's signal handler, Python's `KeyboardInterrupt`) keeps a clone and calls
/// [`CancelToken::cancel`]; that only stores to an atomic, so it is safe in a signal
/// handler.
///
/// ```
/// use tessera::{CancelToken, ComputeOptions, Error};
/// let token = CancelToken::new();
/// let opts = ComputeOptions { cancel: Some(token.clone()), ..Default::default() };
/// token.cancel();
/// let x = tessera::random::uniform(&[1000, 1000], 100, 0).unwrap();
/// assert!(matches!(x.sum().compute_with::<f64>(&opts), Err(Error::Cancelled { .. })));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks every compute holding this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Two options are equal when they hold the same token (a clone), not merely two
/// tokens in the same state.
impl PartialEq for CancelToken {
    fn eq(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
