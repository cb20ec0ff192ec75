//! MPI through the `mpi` crate: joining the job, and the scheduler's `Transport` as
//! non-blocking point-to-point messages. Only the scheduler's exchange thread (and the
//! caller, for the graph check) talks to MPI, and every call is made under one lock, so
//! `MPI_THREAD_SERIALIZED` is all this needs of the library.

use crate::error::{Error, Result};
use crate::scheduler::Transport;
use mpi::environment::Universe;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::request::{Request, StaticScope};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Threading;
use std::sync::Mutex;

/// Every chunk message carries this tag.
const CHUNK: i32 = 7;
/// The tag of what `gather` collects (after the chunks).
const GATHER: i32 = 8;

/// A send in flight: MPI reads the bytes until it completes, so they are leaked to
/// `'static` and taken back then.
struct InFlight {
    request: Request<'static, [u8], StaticScope>,
    bytes: *mut [u8],
}

pub(super) struct Inner {
    universe: Option<Universe>,
    rank: usize,
    size: usize,
    sends: Mutex<Vec<InFlight>>,
}

// SAFETY: the handles are plain MPI handles of the world communicator and requests;
// every MPI call goes through `sends`' lock (one at a time), which the SERIALIZED
// threading level permits from any thread, and each leaked buffer is owned by exactly
// one `InFlight`.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

fn world() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

/// MPI counts are 32-bit: one message holds at most 2 GiB - 1 bytes.
fn too_big(len: usize) -> Result<()> {
    if len > i32::MAX as usize {
        return Err(Error::arg(
            "compute",
            format!("a chunk message of {len} bytes exceeds MPI's 2 GiB limit; rechunk into smaller blocks"),
        ));
    }
    Ok(())
}

impl Inner {
    pub fn init() -> Result<Inner> {
        let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Serialized)
        else {
            return Err(Error::arg(
                "distributed::init",
                "MPI is initialised already (one World per process)",
            ));
        };
        if matches!(threading, Threading::Single | Threading::Funneled) {
            return Err(Error::arg(
                "distributed::init",
                format!("the MPI library provides only {threading:?} threading; Tessera's exchange thread needs MPI_THREAD_SERIALIZED"),
            ));
        }
        // A panicking rank would unwind into MPI_Finalize and hang mpirun: end the job.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // SAFETY: MPI is initialised; MPI_Abort ends every rank and does not return.
            unsafe {
                mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 101);
            }
        }));
        let w = universe.world();
        Ok(Inner {
            rank: w.rank() as usize,
            size: w.size() as usize,
            universe: Some(universe),
            sends: Mutex::new(vec![]),
        })
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn transport(&self) -> Option<&dyn Transport> {
        Some(self)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<InFlight>> {
        self.sends.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Sends complete before a compute returns; wait for any left by an error path
        // (MPI must not finalise under them, and rsmpi aborts on dropped requests).
        for f in self.lock().drain(..) {
            f.request.wait();
            // SAFETY: the request completed, so MPI no longer reads the buffer.
            drop(unsafe { Box::from_raw(f.bytes) });
        }
        drop(self.universe.take());
    }
}

impl Transport for Inner {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, value: u64) -> Result<Vec<u64>> {
        let _serial = self.lock();
        let mut all = vec![0u64; self.size];
        world().all_gather_into(&value, &mut all[..]);
        Ok(all)
    }

    fn send(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        too_big(bytes.len())?;
        let mut sends = self.lock();
        let leaked: &'static mut [u8] = Box::leak(bytes.into_boxed_slice());
        let ptr: *mut [u8] = leaked;
        // SAFETY: `ptr` came from the leak just above and is only read until the request
        // completes; `pending` and `drop` free it after that.
        let view: &'static [u8] = unsafe { &*ptr };
        let request =
            world()
                .process_at_rank(to as i32)
                .immediate_send_with_tag(StaticScope, view, CHUNK);
        sends.push(InFlight {
            request,
            bytes: ptr,
        });
        Ok(())
    }

    fn pending(&self) -> Result<(usize, u64)> {
        let mut sends = self.lock();
        let mut left = Vec::with_capacity(sends.len());
        for f in sends.drain(..) {
            match f.request.test() {
                Ok(_) => {
                    // SAFETY: completed: MPI is done with the buffer.
                    drop(unsafe { Box::from_raw(f.bytes) });
                }
                Err(request) => left.push(InFlight {
                    request,
                    bytes: f.bytes,
                }),
            }
        }
        *sends = left;
        let bytes = sends.iter().map(|f| f.bytes.len() as u64).sum();
        Ok((sends.len(), bytes))
    }

    fn receive(&self) -> Result<Option<(usize, Vec<u8>)>> {
        let _serial = self.lock();
        let w = world();
        let Some(probe) = w.any_process().immediate_matched_probe_with_tag(CHUNK) else {
            return Ok(None);
        };
        let (bytes, status) = probe.matched_receive_vec::<u8>();
        Ok(Some((status.source_rank() as usize, bytes)))
    }

    fn gather(&self, bytes: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        let _serial = self.lock();
        let w = world();
        if self.rank != 0 {
            too_big(bytes.len())?;
            w.process_at_rank(0).send_with_tag(&bytes[..], GATHER);
            return Ok(vec![]);
        }
        let mut all = vec![vec![]; self.size];
        all[0] = bytes;
        for _ in 1..self.size {
            let (b, status) = w
                .any_process()
                .matched_probe_with_tag(GATHER)
                .matched_receive_vec::<u8>();
            all[status.source_rank() as usize] = b;
        }
        Ok(all)
    }

    fn broadcast(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        let _serial = self.lock();
        let w = world();
        let root = w.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        let mut buf = if self.rank == 0 {
            bytes
        } else {
            vec![0u8; len as usize]
        };
        // In pieces: MPI counts are 32-bit.
        for piece in buf.chunks_mut(1 << 30) {
            root.broadcast_into(piece);
        }
        Ok(buf)
    }

    fn abort(&self, why: &str) -> ! {
        eprintln!("tessera: {why}; aborting every rank");
        world().abort(1)
    }
}
