//! Chunks that outlive a compute: what `Array::persist()` returns points here. Each block
//! is in host memory, on disk in the array's own directory, or both; a later compute
//! takes the copies into its store (where they count against its limits and may spill),
//! and gives them back, wherever they ended up, when it finishes.
//!
//! Why check out and back: a persisted chunk in memory is memory the next compute must
//! count, and it is the store of that compute that decides to spill it. Holding the
//! lock for the whole compute makes two computes on one persisted array take turns
//! instead of both counting the same bytes.

use super::{SpillDir, SpillFile};
use crate::backend::Buffer;
use std::sync::{Arc, Mutex, MutexGuard};

/// One block's copies.
#[derive(Default, Debug)]
pub(crate) struct StoredChunk {
    pub host: Option<Arc<Buffer>>,
    pub disk: Option<Arc<SpillFile>>,
}

/// The blocks of a persisted array, in C order of its chunk grid.
///
/// ```
/// let x = tessera::random::uniform(&[100, 100], 50, 1).unwrap().persist().unwrap();
/// let p = x.persisted().unwrap();
/// assert_eq!(p.blocks(), 4);
/// assert_eq!(p.bytes_in_memory() + p.bytes_on_disk(), 100 * 100 * 8);
/// ```
#[derive(Debug)]
pub struct Persisted {
    chunks: Mutex<Vec<StoredChunk>>,
    /// Where its blocks spill; removed with the last handle.
    pub(crate) dir: Arc<SpillDir>,
    /// Directories of other persisted arrays whose blocks this one shares (an unchanged
    /// block, e.g. of `p.t().t()`): kept until this array is dropped too.
    _shares: Vec<Arc<SpillDir>>,
    /// Persisted over MPI ranks: the rank holding each block (this process holds only
    /// its own) and the number of ranks; `None` when one process holds them all.
    holders: Option<(Vec<usize>, usize)>,
}

impl Persisted {
    pub(crate) fn new(
        chunks: Vec<StoredChunk>,
        dir: Arc<SpillDir>,
        shares: Vec<Arc<SpillDir>>,
    ) -> Persisted {
        Persisted {
            chunks: Mutex::new(chunks),
            dir,
            _shares: shares,
            holders: None,
        }
    }

    /// The same blocks, held by `ranks` ranks: `holders[b]` holds block `b`.
    pub(crate) fn held_by(mut self, holders: Vec<usize>, ranks: usize) -> Persisted {
        self.holders = Some((holders, ranks));
        self
    }

    /// The rank that holds block `b` of an array persisted over MPI ranks
    /// (`distributed::World::persist`), or `None` when this process holds every block.
    ///
    /// ```
    /// let x = tessera::random::uniform(&[100, 100], 50, 1).unwrap().persist().unwrap();
    /// assert_eq!(x.persisted().unwrap().holder(0), None);
    /// ```
    pub fn holder(&self, b: usize) -> Option<usize> {
        self.holders.as_ref().map(|h| h.0[b])
    }

    /// The number of ranks it was persisted over (1 for one process).
    pub fn ranks(&self) -> usize {
        self.holders.as_ref().map_or(1, |h| h.1)
    }

    /// The blocks, locked for one compute.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<StoredChunk>> {
        self.chunks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.lock().len()
    }

    /// Bytes of blocks held in host memory (in this process).
    pub fn bytes_in_memory(&self) -> u64 {
        self.lock()
            .iter()
            .filter_map(|c| c.host.as_ref())
            .map(|b| b.nbytes() as u64)
            .sum()
    }

    /// Bytes of blocks that exist only on disk.
    pub fn bytes_on_disk(&self) -> u64 {
        self.lock()
            .iter()
            .filter(|c| c.host.is_none())
            .filter_map(|c| c.disk.as_ref())
            .map(|f| f.bytes())
            .sum()
    }

    /// The directory its spill files live in (gone once the array is dropped).
    pub fn spill_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}
