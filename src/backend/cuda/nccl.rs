//! The device link between ranks on NCCL (feature `nccl`): chunks move GPU to GPU with
//! `ncclSend`/`ncclRecv`, never through host memory.
//!
//! Why one two-rank communicator per *direction* (rank i sends to rank j on its own
//! communicator and stream): NCCL runs a communicator's operations in the order they
//! were queued, and a send does not finish until its receive is posted. With one
//! communicator for everything, rank A's queue could hold "send to B" before "receive
//! from C" while B's holds "send to C" before "receive from A", and C's "send to A"
//! before "receive from B": each waits on the next, forever. A direction's communicator
//! carries only sends one way and receives the other, both sides queue them in the same
//! order (the receiver follows the sender's announcements, which MPI delivers in order),
//! so nothing waits on anything but its own partner.
//!
//! Connecting: rank 0 makes one NCCL id per ordered pair and broadcasts them over the
//! ranks' transport (MPI); every rank then initialises its communicators in one global
//! order of the pairs, so the lowest pair not yet connected always has both its ranks
//! waiting on it. Two ranks on one GPU cannot share a communicator (NCCL refuses), so the
//! exchange uses the link only when every rank's [`PeerLink::identity`] differs.
//!
//! Reductions: partials cross on the link too (in this backend's layout, read by the
//! same backend's combine on the other side), and the combine tree runs our kernels, not
//! `ncclReduce`: NCCL's summation order is its own, and results must stay bit-identical
//! to one process.
//!
//! Streams and memory: a send waits on the chunk's `ready` event on the direction's
//! stream and leaves a use event in it, so the chunk is not freed under the send; a
//! receive allocates on the direction's stream and records the chunk's `ready` event
//! there, which every lane reading it waits on (`lane.rs`).
//!
//! Not run anywhere yet: it compiles in CI; running it takes two GPUs on different ranks.

use super::{CuBuf, CudaBackend};
use crate::backend::{Buffer, PeerChunk, PeerCollectives, PeerLink};
use crate::error::{Error, Result};
use cudarc::nccl::safe::{Comm, Id};
use std::sync::{Arc, Mutex};

/// Bytes of one NCCL id.
const ID_BYTES: usize = 128;

/// The communicators of this device, once connected.
#[derive(Default)]
pub(super) struct Peers {
    links: Mutex<Option<Links>>,
}

struct Links {
    size: usize,
    /// To each rank (none to this one).
    sends: Vec<Option<Comm>>,
    /// From each rank.
    recvs: Vec<Option<Comm>>,
}

// SAFETY: an NCCL communicator may be used from any thread, one call at a time; every
// use goes through `Peers::links`' lock.
unsafe impl Send for Links {}

/// This device's link: NCCL, in builds with the `nccl` feature.
pub(super) fn link(dev: &CudaBackend) -> Option<&dyn PeerLink> {
    Some(dev)
}

/// The id of the stream of the direction to or from `peer` in buffers' `uses` (lanes
/// count up from 0).
fn stream_id(peer: usize, send: bool) -> usize {
    usize::MAX - 2 * peer - send as usize
}

impl CudaBackend {
    /// Makes this device's context current: NCCL calls (and cudarc's wrappers of them)
    /// do not.
    fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| self.fail("device link", format!("{e:?}")))
    }

    fn nccl_fail(&self, op: &str, e: impl std::fmt::Debug) -> Error {
        self.fail(op, format!("NCCL: {e:?}"))
    }

    /// The communicator to (`send`) or from `peer`, under the lock.
    fn comm<'a>(&self, links: &'a Option<Links>, peer: usize, send: bool) -> Result<&'a Comm> {
        links
            .as_ref()
            .and_then(|l| if send { &l.sends } else { &l.recvs }.get(peer))
            .and_then(|c| c.as_ref())
            .ok_or_else(|| {
                self.fail(
                    "device link",
                    format!("no NCCL communicator with rank {peer} (not connected)"),
                )
            })
    }
}

impl PeerLink for CudaBackend {
    fn identity(&self) -> u64 {
        // SAFETY: only tries to open the library by its candidate names.
        if !unsafe { cudarc::nccl::sys::is_culib_present() } {
            return 0;
        }
        let Ok(uuid) = self.ctx.uuid() else {
            return 0;
        };
        // FNV-1a of the GPU's UUID, kept non-zero in its upper 63 bits.
        let h = uuid.bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ b as u8 as u64).wrapping_mul(0x0100_0000_01b3)
        });
        h | 1 << 62
    }

    fn connected(&self, size: usize) -> bool {
        let links = self.peers.links.lock().unwrap_or_else(|p| p.into_inner());
        links.as_ref().is_some_and(|l| l.size == size)
    }

    fn connect(&self, rank: usize, size: usize, coll: &dyn PeerCollectives) -> Result<()> {
        let pairs: Vec<(usize, usize)> = (0..size)
            .flat_map(|i| (0..size).filter(move |&j| j != i).map(move |j| (i, j)))
            .collect();
        // Rank 0 broadcasts even when it could not make the ids (then nothing), so the
        // other ranks never wait on a broadcast that does not come.
        let mine = if rank == 0 {
            let mut ids = Vec::with_capacity(pairs.len() * ID_BYTES);
            for _ in &pairs {
                match Id::new() {
                    Ok(id) => ids.extend(id.internal().iter().map(|&c| c as u8)),
                    Err(e) => {
                        tracing::warn!("ncclGetUniqueId: {e:?}");
                        ids.clear();
                        break;
                    }
                }
            }
            ids
        } else {
            vec![]
        };
        let ids = coll.broadcast(mine)?;
        if ids.len() != pairs.len() * ID_BYTES {
            return Err(self.fail(
                "device link",
                "rank 0 could not make NCCL ids (see its log)",
            ));
        }
        self.bind()?;
        let mut links = Links {
            size,
            sends: (0..size).map(|_| None).collect(),
            recvs: (0..size).map(|_| None).collect(),
        };
        for (k, &(i, j)) in pairs.iter().enumerate() {
            if rank != i && rank != j {
                continue;
            }
            let mut internal = [0 as std::ffi::c_char; ID_BYTES];
            for (d, &b) in internal
                .iter_mut()
                .zip(&ids[k * ID_BYTES..(k + 1) * ID_BYTES])
            {
                *d = b as std::ffi::c_char;
            }
            let stream = self
                .ctx
                .new_stream()
                .map_err(|e| self.fail("device link", format!("{e:?}")))?;
            // In a direction's communicator the sender is rank 0, the receiver rank 1.
            let comm = Comm::from_rank(stream, (rank == j) as usize, 2, Id::uninit(internal))
                .map_err(|e| self.nccl_fail("connect", e))?;
            if rank == i {
                links.sends[j] = Some(comm);
            } else {
                links.recvs[i] = Some(comm);
            }
        }
        *self.peers.links.lock().unwrap_or_else(|p| p.into_inner()) = Some(links);
        Ok(())
    }

    fn send(&self, to: usize, buf: &Buffer) -> Result<Option<PeerChunk>> {
        let b: &CuBuf = self.buf(buf)?;
        let what = match b.partial {
            // A partial in this backend's layout: its whole allocation, read by the same
            // backend's combine on the other side.
            Some(red) => PeerChunk {
                dtype: b.dtype,
                shapes: vec![b.shape.clone()],
                partial: Some(red),
                bytes: b.data.len() as u64,
            },
            None => PeerChunk::dense(
                b.dtype,
                std::iter::once(&b.shape).chain(&b.more).cloned().collect(),
            ),
        };
        let n = what.bytes as usize;
        if b.data.len() < n {
            return Err(self.fail("device link", "a chunk smaller than its parts"));
        }
        let links = self.peers.links.lock().unwrap_or_else(|p| p.into_inner());
        let comm = self.comm(&links, to, true)?;
        let stream = comm.stream();
        self.bind()?;
        self.after_on(&stream, &[b])?;
        if n > 0 {
            comm.send(&b.data.slice(..n), 1)
                .map_err(|e| self.nccl_fail("send", e))?;
        }
        self.record_on(&stream, stream_id(to, true), &[b])?;
        Ok(Some(what))
    }

    fn recv(&self, from: usize, what: &PeerChunk) -> Result<Buffer> {
        let n = what.bytes as usize;
        if what.shapes.is_empty() || (what.partial.is_some() && what.shapes.len() != 1) {
            return Err(self.fail("device link", format!("a chunk described as {what:?}")));
        }
        let links = self.peers.links.lock().unwrap_or_else(|p| p.into_inner());
        let comm = self.comm(&links, from, false)?;
        let stream = comm.stream();
        self.bind()?;
        // SAFETY: the receive below writes all `n` bytes before the `ready` event
        // recorded after it, which every reader waits on (one byte, never read, when
        // the chunk is empty: CUDA refuses size 0).
        let mut data = unsafe { stream.alloc::<u8>(n.max(1)) }
            .map_err(|e| self.fail("device link", format!("{n} bytes: {e:?}")))?;
        if n > 0 {
            comm.recv(&mut data.slice_mut(..n), 0)
                .map_err(|e| self.nccl_fail("recv", e))?;
        }
        let done = stream
            .record_event(None)
            .map_err(|e| self.fail("device link", format!("{e:?}")))?;
        let out = if what.shapes.len() == 1 {
            self.wrap(data, what.dtype, what.shapes[0].clone(), what.partial)
        } else {
            self.wrap_parts(data, what.dtype, what.shapes.clone())
        };
        let _ = self.buf(&out)?.ready.set(Arc::new(done));
        Ok(out)
    }

    fn flush(&self) -> Result<()> {
        let links = self.peers.links.lock().unwrap_or_else(|p| p.into_inner());
        let Some(l) = links.as_ref() else {
            return Ok(());
        };
        for c in l.sends.iter().chain(&l.recvs).flatten() {
            c.stream()
                .synchronize()
                .map_err(|e| self.fail("device link", format!("{e:?}")))?;
        }
        Ok(())
    }
}
