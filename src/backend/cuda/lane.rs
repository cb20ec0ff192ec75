//! Lanes: one CUDA stream per worker, with its own cuBLAS and cuSOLVER handles and pinned
//! staging buffers, and the events that order work between lanes.
//!
//! Why lanes: with one stream per device, every worker's kernels and copies queued
//! behind each other, so a download of one chunk waited for every other worker's
//! kernels. A worker checks a lane out for one call (`run`, `upload`, `download`) and
//! returns it; there are as many lanes as calls ever ran at once, which is the number
//! of workers (the pool grows on demand and never shrinks while the device is open).
//!
//! Why our own events, not cudarc's: cudarc's per-slice tracking keeps one read event per
//! slice, re-recorded by each reader, so a buffer read on two streams could be freed
//! while the first reader still runs. Tracking is switched off for our contexts
//! (`device::context`) and instead:
//! - every op's output records `ready` on its lane after the op's last call; a lane
//!   reading a buffer made on another stream waits on that event first;
//! - a lane reading a buffer made elsewhere leaves an event in the buffer's `uses`
//!   (one per lane, the newest); dropping the buffer makes its own stream wait on them
//!   before the stream-ordered free, so memory is never reused under a running reader.
//!
//! Staging: two pinned buffers per direction per lane, [`STAGE`] bytes each, allocated on
//! a lane's first transfer. A transfer moves in pieces through them alternately, so the
//! host copy of one piece overlaps the DMA of the other; an upload returns once its last
//! piece is queued (the chunk's `ready` event orders its readers).

use super::{CuBuf, CudaBackend};
use crate::error::Result;
use cudarc::driver::{CudaEvent, CudaStream, DevicePtr, PinnedHostSlice};
use std::sync::{Arc, Mutex};

/// Bytes of one pinned staging buffer: big enough that a piece's DMA runs near the
/// link's rate, small enough that every lane can hold four.
pub(super) const STAGE: usize = 16 << 20;

/// One worker's stream and what runs on it.
pub(super) struct Lane {
    /// Index in the device's pool; names the lane in a buffer's `uses`.
    pub id: usize,
    pub stream: Arc<CudaStream>,
    /// cuBLAS bound to `stream`, when the library is present.
    pub blas: Option<cudarc::cublas::CudaBlas>,
    /// cuSOLVER bound to `stream`, when the library is present.
    pub solver: Option<cudarc::cusolver::safe::DnHandle>,
    up: Option<[Stage; 2]>,
    down: Option<[Stage; 2]>,
}

/// A pinned buffer and the event after the last copy that used it.
struct Stage {
    buf: PinnedHostSlice<u8>,
    done: CudaEvent,
}

/// The lanes of one device: idle ones wait in `free`.
#[derive(Default)]
pub(super) struct Lanes {
    free: Mutex<Vec<Lane>>,
    made: std::sync::atomic::AtomicUsize,
}

/// A lane checked out of its device's pool; returned on drop.
pub(super) struct LaneGuard<'a> {
    lanes: &'a Lanes,
    lane: Option<Lane>,
}

impl std::ops::Deref for LaneGuard<'_> {
    type Target = Lane;
    fn deref(&self) -> &Lane {
        self.lane.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for LaneGuard<'_> {
    fn deref_mut(&mut self) -> &mut Lane {
        self.lane.as_mut().expect("held until drop")
    }
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        if let Some(l) = self.lane.take() {
            self.lanes
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(l);
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // cudarc frees pinned memory after its own event, which our copies never record:
        // wait for ours, or a DMA still in flight would read or write freed memory.
        let _ = self.done.synchronize();
    }
}

impl CudaBackend {
    /// A lane for this call: an idle one (the most recently returned, so a worker
    /// usually gets its own back), or a new one.
    pub(super) fn lane(&self) -> Result<LaneGuard<'_>> {
        let idle = self
            .lanes
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let lane = match idle {
            Some(l) => l,
            None => self.new_lane()?,
        };
        Ok(LaneGuard {
            lanes: &self.lanes,
            lane: Some(lane),
        })
    }

    fn new_lane(&self) -> Result<Lane> {
        let stream = self
            .ctx
            .new_stream()
            .map_err(|e| self.fail("stream", format!("{e:?}")))?;
        let blas = if self.has_blas {
            Some(
                cudarc::cublas::CudaBlas::new(stream.clone())
                    .map_err(|e| self.fail("cublas", format!("{e:?}")))?,
            )
        } else {
            None
        };
        let solver = if self.has_solver {
            Some(
                cudarc::cusolver::safe::DnHandle::new(stream.clone())
                    .map_err(|e| self.fail("cusolver", format!("{e:?}")))?,
            )
        } else {
            None
        };
        let id = self
            .lanes
            .made
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Lane {
            id,
            stream,
            blas,
            solver,
            up: None,
            down: None,
        })
    }

    /// Makes `lane` wait until every buffer in `bufs` is written (no wait for a buffer
    /// made on the lane's own stream: the stream orders it).
    pub(super) fn after(&self, lane: &Lane, bufs: &[&CuBuf]) -> Result<()> {
        self.after_on(&lane.stream, bufs)
    }

    /// As [`CudaBackend::after`], for any stream of this device.
    pub(super) fn after_on(&self, stream: &Arc<CudaStream>, bufs: &[&CuBuf]) -> Result<()> {
        for b in bufs {
            if Arc::ptr_eq(b.data.stream(), stream) {
                continue;
            }
            if let Some(ready) = b.ready.get() {
                stream
                    .wait(ready)
                    .map_err(|e| self.fail("wait", format!("{e:?}")))?;
            }
        }
        Ok(())
    }

    /// Records the end of `lane`'s queued work: the `ready` event of what it made, and a
    /// use of every input made on another stream (so freeing those waits for it).
    pub(super) fn record(&self, lane: &Lane, inputs: &[&CuBuf]) -> Result<Arc<CudaEvent>> {
        self.record_on(&lane.stream, lane.id, inputs)
    }

    /// As [`CudaBackend::record`], for any stream of this device; `id` names the stream
    /// in the inputs' `uses` (lanes count up from 0, other streams down from the top).
    pub(super) fn record_on(
        &self,
        stream: &Arc<CudaStream>,
        id: usize,
        inputs: &[&CuBuf],
    ) -> Result<Arc<CudaEvent>> {
        let done = Arc::new(
            stream
                .record_event(None)
                .map_err(|e| self.fail("record", format!("{e:?}")))?,
        );
        for b in inputs {
            if Arc::ptr_eq(b.data.stream(), stream) {
                continue;
            }
            let mut uses = b.uses.lock().unwrap_or_else(|p| p.into_inner());
            // A newer event on the same stream covers the older one.
            match uses.iter_mut().find(|(u, _)| *u == id) {
                Some(u) => u.1 = done.clone(),
                None => uses.push((id, done.clone())),
            }
        }
        Ok(done)
    }

    /// Queues `src` to device memory at `dst` on `lane`, in pieces through the lane's
    /// upload staging; returns once the last piece is queued.
    pub(super) fn stage_up(
        &self,
        lane: &mut Lane,
        src: &[u8],
        dst: cudarc::driver::sys::CUdeviceptr,
    ) -> Result<()> {
        let fail = |e: cudarc::driver::DriverError| self.fail("upload", format!("{e:?}"));
        // The raw copies below do not make the context current themselves.
        self.ctx.bind_to_thread().map_err(fail)?;
        if lane.up.is_none() {
            // Write-combined: the host only writes these, and the DMA reads them faster.
            lane.up = Some([self.stage(true)?, self.stage(true)?]);
        }
        let stream = lane.stream.clone();
        let stages = lane.up.as_mut().expect("made above");
        for (i, piece) in src.chunks(STAGE).enumerate() {
            let st = &mut stages[i % 2];
            // The DMA from this buffer two pieces ago must be done before it is refilled.
            st.done.synchronize().map_err(fail)?;
            let pinned = st.buf.as_mut_slice().map_err(fail)?;
            pinned[..piece.len()].copy_from_slice(piece);
            // SAFETY: `dst + i·STAGE` and the next `piece.len()` bytes lie inside the
            // caller's allocation; the pinned source is not touched again until `done`
            // (recorded right after) has completed.
            unsafe {
                cudarc::driver::result::memcpy_htod_async(
                    dst + (i * STAGE) as u64,
                    &pinned[..piece.len()],
                    stream.cu_stream(),
                )
            }
            .map_err(fail)?;
            st.done.record(&stream).map_err(fail)?;
        }
        Ok(())
    }

    /// Copies bytes `off..off + dst.len()` of `src` into `dst` on `lane`, in pieces through
    /// the lane's download staging (the DMA of one piece overlaps the host copy of the
    /// one before); returns when `dst` is filled.
    pub(super) fn stage_down(
        &self,
        lane: &mut Lane,
        src: &CuBuf,
        off: usize,
        dst: &mut [u8],
    ) -> Result<()> {
        let fail = |e: cudarc::driver::DriverError| self.fail("download", format!("{e:?}"));
        if dst.is_empty() {
            return Ok(());
        }
        if src.data.len() < off + dst.len() {
            return Err(self.fail("download", "bytes beyond the buffer"));
        }
        self.ctx.bind_to_thread().map_err(fail)?;
        if lane.down.is_none() {
            lane.down = Some([self.stage(false)?, self.stage(false)?]);
        }
        let stream = lane.stream.clone();
        let stages = lane.down.as_mut().expect("made above");
        let (base, _) = src.data.device_ptr(&stream);
        let len = dst.len();
        let n = len.div_ceil(STAGE);
        let piece = |i: usize| i * STAGE..((i + 1) * STAGE).min(len);
        let drain = |st: &mut Stage, out: &mut [u8]| -> Result<()> {
            st.done.synchronize().map_err(fail)?;
            out.copy_from_slice(&st.buf.as_slice().map_err(fail)?[..out.len()]);
            Ok(())
        };
        for i in 0..n {
            let r = piece(i);
            let st = &mut stages[i % 2];
            let pinned = st.buf.as_mut_slice().map_err(fail)?;
            // SAFETY: bytes `off + r` lie inside `src` (checked above); the pinned buffer
            // was drained (below, one piece later) before it is written again.
            unsafe {
                cudarc::driver::result::memcpy_dtoh_async(
                    &mut pinned[..r.len()],
                    base + (off + r.start) as u64,
                    stream.cu_stream(),
                )
            }
            .map_err(fail)?;
            st.done.record(&stream).map_err(fail)?;
            if i > 0 {
                let prev = piece(i - 1);
                drain(&mut stages[(i - 1) % 2], &mut dst[prev])?;
            }
        }
        let last = piece(n - 1);
        drain(&mut stages[(n - 1) % 2], &mut dst[last])
    }

    fn stage(&self, write_combined: bool) -> Result<Stage> {
        let flags = if write_combined {
            cudarc::driver::sys::CU_MEMHOSTALLOC_WRITECOMBINED
        } else {
            0
        };
        // SAFETY: the bytes are uninitialised until a copy fills them; nothing reads a
        // staging buffer beyond what a copy into it wrote.
        let buf = unsafe { self.ctx.alloc_pinned_with_flags::<u8>(STAGE, flags) }
            .map_err(|e| self.fail("pinned", format!("{STAGE} bytes: {e:?}")))?;
        let done = self
            .ctx
            .new_event(None)
            .map_err(|e| self.fail("event", format!("{e:?}")))?;
        Ok(Stage { buf, done })
    }
}

impl Drop for CuBuf {
    fn drop(&mut self) {
        // The free below is ordered on the buffer's own stream; readers on other lanes
        // must finish first. Errors cannot be returned from a drop; the context keeps
        // them (`check_err`).
        let uses = self.uses.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, e) in uses.drain(..) {
            let s = self.data.stream();
            s.context().record_err(s.wait(&e));
        }
    }
}
