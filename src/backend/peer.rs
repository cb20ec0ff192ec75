//! Device links between ranks: how a backend moves its chunks to another rank's device
//! without staging them through host memory (NCCL on CUDA).
//!
//! Why a contract of its own: the scheduler's exchange decides *which* chunk goes *where*
//! and keeps the control messages (small headers) on its transport; a link only moves
//! bytes device to device, in the order each side is asked to, and says what it moved.
//! Both ends see the same order because a receiver asks for chunks in the order their
//! headers arrive, and headers from one rank arrive in the order they were sent.

use super::Buffer;
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::Reduction;

/// What a link moved: enough for the receiving side to allocate and describe the chunk
/// (a dense or multi-part chunk, its parts one after another, of one dtype; or a
/// reduction partial in the device's own layout, which only the same backend reads).
///
/// ```
/// use tessera::backend::PeerChunk;
/// use tessera::DType;
/// let c = PeerChunk::dense(DType::F32, vec![vec![2, 3]]);
/// assert_eq!(c.bytes, 24);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerChunk {
    /// The dtype of every part (of a partial: its accumulator's).
    pub dtype: DType,
    /// Each part's shape, in order (a partial: one, its output's).
    pub shapes: Vec<Vec<usize>>,
    /// The reduction whose partial this is, if it is one.
    pub partial: Option<Reduction>,
    /// Bytes moved.
    pub bytes: u64,
}

impl PeerChunk {
    /// A dense or multi-part chunk of `dtype` with parts of `shapes`.
    pub fn dense(dtype: DType, shapes: Vec<Vec<usize>>) -> PeerChunk {
        let elements: u64 = shapes
            .iter()
            .map(|s| s.iter().product::<usize>() as u64)
            .sum();
        PeerChunk {
            dtype,
            shapes,
            partial: None,
            bytes: elements * dtype.size() as u64,
        }
    }
}

/// The collectives a link needs while it connects (the ranks' transport provides them).
pub trait PeerCollectives {
    /// `value` from every rank, in rank order.
    fn all_gather(&self, value: u64) -> Result<Vec<u64>>;
    /// Rank 0's `bytes` on every rank.
    fn broadcast(&self, bytes: Vec<u8>) -> Result<Vec<u8>>;
}

/// A backend's direct path to the same backend on other ranks.
///
/// Every method but [`PeerLink::identity`] is for the scheduler's exchange thread: it
/// calls them in one order per peer, which is what makes both ends agree.
pub trait PeerLink: Send + Sync {
    /// A non-zero number naming this rank's physical device (so that the ranks can see
    /// two of them sharing one, which the link cannot serve), or 0 when the link cannot
    /// be used here at all (its library is missing).
    fn identity(&self) -> u64;
    /// Whether a [`PeerLink::connect`] over `size` ranks already succeeded.
    fn connected(&self, size: usize) -> bool;
    /// Connects this rank (`rank` of `size`) with every other. A collective: every rank
    /// calls it, after the ranks agreed (by their identities) that all of them can.
    fn connect(&self, rank: usize, size: usize, coll: &dyn PeerCollectives) -> Result<()>;
    /// Queues `buf` to rank `to`, after earlier sends to `to`; `None` when `buf` is not a
    /// chunk the link moves (then it goes through the host).
    fn send(&self, to: usize, buf: &Buffer) -> Result<Option<PeerChunk>>;
    /// Queues the receive of the next chunk `from` sent, which it described as `what`;
    /// the buffer is ready for this device's kernels (they wait for the bytes).
    fn recv(&self, from: usize, what: &PeerChunk) -> Result<Buffer>;
    /// Waits until every queued send and receive has completed (before the process may
    /// end: a peer may still be reading).
    fn flush(&self) -> Result<()>;
}
