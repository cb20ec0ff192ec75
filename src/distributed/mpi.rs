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
use std::sync::{Arc, Mutex};

/// Every chunk message carries this tag.
const CHUNK: i32 = 7;
/// The tag of what `gather` collects (after the chunks).
const GATHER: i32 = 8;

/// A send in flight: MPI reads the bytes until it completes, so the request keeps them
/// (shared by the sends of one message to several ranks).
struct InFlight {
    request: Request<'static, [u8], StaticScope>,
    bytes: Arc<Vec<u8>>,
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
// of the `InFlight`s it was sent with.
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
        // A host that never drops its World (Python keeps one alive past its own
        // teardown when a user function's globals refer back to the arrays) must still
        // finalise, or mpirun reports an abnormal exit: finalise at process exit unless
        // the World's drop did it first.
        extern "C" fn finalize_at_exit() {
            let mut done = 0;
            // SAFETY: MPI_Finalized may be called at any time; MPI_Finalize once, after
            // init, from the exiting thread with no MPI call in flight (every compute's
            // sends complete before it returns).
            unsafe {
                mpi::ffi::MPI_Finalized(&mut done);
                if done == 0 {
                    mpi::ffi::MPI_Finalize();
                }
            }
        }
        // SAFETY: registers a plain extern "C" function once per process (init runs once).
        unsafe {
            libc::atexit(finalize_at_exit);
        }
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
            // The bytes are let go (with `f`) only after the request completed.
            f.request.wait();
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

    fn send(&self, to: usize, bytes: Arc<Vec<u8>>) -> Result<()> {
        too_big(bytes.len())?;
        let mut sends = self.lock();
        // SAFETY: the bytes live as long as the `Arc` kept beside the request, which
        // `pending` and `drop` let go only once the request has completed.
        let view: &'static [u8] = unsafe { &*(bytes.as_slice() as *const [u8]) };
        let request =
            world()
                .process_at_rank(to as i32)
                .immediate_send_with_tag(StaticScope, view, CHUNK);
        sends.push(InFlight { request, bytes });
        Ok(())
    }

    fn pending(&self) -> Result<(usize, u64)> {
        let mut sends = self.lock();
        let mut left = Vec::with_capacity(sends.len());
        for f in sends.drain(..) {
            match f.request.test() {
                // Completed: MPI is done with the bytes, dropped with `f`.
                Ok(_) => {}
                Err(request) => left.push(InFlight {
                    request,
                    bytes: f.bytes,
                }),
            }
        }
        *sends = left;
        // One message sent to several ranks is one copy: count each once.
        let bytes = sends
            .iter()
            .map(|f| (f.bytes.as_ptr(), f.bytes.len() as u64))
            .collect::<std::collections::BTreeMap<_, _>>()
            .values()
            .sum();
        Ok((sends.len(), bytes))
    }

    fn receive(
        &self,
        admit: &mut dyn FnMut(usize, u64) -> Result<bool>,
    ) -> Result<Option<(usize, Vec<u8>)>> {
        let _serial = self.lock();
        let w = world();
        // A plain probe first: a message not admitted stays with MPI (the sender's
        // request stays open, which holds the sender back too).
        let Some(status) = w.any_process().immediate_probe_with_tag(CHUNK) else {
            return Ok(None);
        };
        let from = status.source_rank();
        let bytes = status.count(u8::equivalent_datatype()).max(0) as u64;
        if !admit(from as usize, bytes)? {
            return Ok(None);
        }
        // Messages from one rank arrive in order: this is the message just probed.
        let (bytes, _) = w
            .process_at_rank(from)
            .matched_probe_with_tag(CHUNK)
            .matched_receive_vec::<u8>();
        Ok(Some((from as usize, bytes)))
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
