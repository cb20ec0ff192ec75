//! The CUDA backend: chunk ops as kernels from `kernels/*.cu` and the shared codegen
//! walk, compiled by NVRTC at run time for the device's architecture; matrix products on
//! cuBLAS; QR, SVD, Cholesky and triangular-solve blocks on cuBLAS and cuSOLVER. Ops it does not
//! run are declined by kind, and the scheduler runs them on the CPU and logs that it did.
//!
//! Rooms (as `wgpu/`): `device.rs` (finding and opening devices without a panic),
//! `compile.rs` (NVRTC), `cache.rs` (modules and kernels, loaded once per device),
//! `codegen.rs` (CUDA C), `ops/` (map, reduce, copy, matmul, linalg: plan and run),
//! `lane.rs` (a stream per worker, its handles, pinned staging and the events between
//! lanes), `transfer.rs` (uploads, downloads, byte layouts), `nccl.rs` (the device link
//! to other ranks; `nccl_off.rs` without the feature). This file holds the types
//! they share and the `Backend` impl that picks among them.
//!
//! Every call (`run`, `upload`, `download`) checks out a lane, waits on its inputs'
//! `ready` events, queues its work, records its output's `ready` event and returns
//! without waiting for the GPU; only a download waits, for its own copies.

mod cache;
pub mod codegen;
pub mod compile;
#[cfg(test)]
mod compile_tests;
mod device;
mod lane;
#[cfg(feature = "nccl")]
mod nccl;
#[cfg(not(feature = "nccl"))]
#[path = "nccl_off.rs"]
mod nccl;
mod ops;
mod transfer;

pub use compile::nvrtc_present;
pub use device::{devices, missing};

use super::{Backend, Buffer, Decline, Device, DeviceBuffer, KernelCache, Plan};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{
    AssembleOp, Chunk, ChunkOp, CombineOp, LinalgOp, LinalgTask, MapOp, Reduction, TakeOp,
};
use cudarc::driver::{CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream};
use std::sync::{Arc, Mutex, OnceLock};

/// A device allocation and what it holds.
struct CuBuf {
    data: CudaSlice<u8>,
    dtype: DType,
    shape: Vec<usize>,
    /// A reduction partial: its parts lie one after another (see `kernels/reduce.cu`).
    partial: Option<Reduction>,
    /// Shapes of the parts after the first, for a multi-part chunk (a QR block's `[Q, R]`):
    /// each lies right after the one before, in C order; empty for a dense chunk.
    more: Vec<Vec<usize>>,
    /// Recorded on the lane that made `data`, after its last write (`lane.rs`).
    ready: OnceLock<Arc<CudaEvent>>,
    /// The newest use by each other lane: freeing `data` waits on them (`lane.rs`).
    uses: Mutex<Vec<(usize, Arc<CudaEvent>)>>,
}

impl CuBuf {
    /// Shape and byte offset of part `p` (0 is `shape`, at the start).
    fn part(&self, p: usize) -> Option<(&[usize], usize)> {
        let w = self.dtype.size();
        let mut off = 0;
        for (i, sh) in std::iter::once(&self.shape).chain(&self.more).enumerate() {
            if i == p {
                return Some((sh, off));
            }
            off += sh.iter().product::<usize>() * w;
        }
        None
    }
}

/// One opened CUDA device.
pub struct CudaBackend {
    ordinal: usize,
    name: String,
    ctx: Arc<CudaContext>,
    /// One stream per concurrent caller, with its handles and staging (`lane.rs`).
    lanes: lane::Lanes,
    /// What NVRTC compiles for: `sm_XY` of the device, or PTX for the newest it knows.
    arch: String,
    /// Generated kernels (or declines) by structure.
    kernels: KernelCache<CudaFunction>,
    /// The fixed kernels (`kernels/copy.cu`, `kernels/linalg.cu`), loaded on first use.
    fixed: Mutex<Option<Arc<cudarc::driver::CudaModule>>>,
    /// Whether cuBLAS loaded and a handle could be made (each lane makes its own).
    has_blas: bool,
    /// Whether cuSOLVER loaded and a handle could be made (each lane makes its own).
    has_solver: bool,
    /// NCCL communicators with the other ranks, once connected (`nccl.rs`; the stand-in
    /// without the feature holds nothing and is never read).
    #[cfg_attr(not(feature = "nccl"), allow(dead_code))]
    peers: nccl::Peers,
}

/// One call's view of the device: the backend and the lane the call runs on. Ops that
/// queue work are methods of this; what needs no stream (plans, kernels, errors) is
/// the backend's, reached through `Deref`.
pub(super) struct On<'a> {
    dev: &'a CudaBackend,
    stream: &'a Arc<CudaStream>,
    blas: Option<&'a cudarc::cublas::CudaBlas>,
    solver: Option<&'a cudarc::cusolver::safe::DnHandle>,
}

impl std::ops::Deref for On<'_> {
    type Target = CudaBackend;
    fn deref(&self) -> &CudaBackend {
        self.dev
    }
}

impl CudaBackend {
    /// Opens `cuda:ordinal` once per process (later calls share it, with its compiled
    /// kernels, lanes and handles), or says why it cannot (no driver, no NVRTC, no such
    /// device).
    pub fn open(ordinal: usize) -> Result<Arc<CudaBackend>> {
        static OPEN: Mutex<Vec<Arc<CudaBackend>>> = Mutex::new(Vec::new());
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = open.iter().find(|b| b.ordinal == ordinal) {
            return Ok(b.clone());
        }
        let b = Self::connect(ordinal)?;
        open.push(b.clone());
        Ok(b)
    }

    fn connect(ordinal: usize) -> Result<Arc<CudaBackend>> {
        let fail = |reason: String| Error::Backend {
            device: format!("cuda:{ordinal}"),
            op: "open".into(),
            reason,
        };
        let ctx = device::context(ordinal).map_err(fail)?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| fail(format!("{e:?}")))?;
        // The first lane is made now: a handle that cannot be made (a library of the
        // wrong version) turns its ops into declines here, not errors in every task.
        let stream = ctx.new_stream().map_err(|e| fail(format!("{e:?}")))?;
        let has_blas =
            device::cublas_present() && cudarc::cublas::CudaBlas::new(stream.clone()).is_ok();
        let has_solver = device::cusolver_present()
            && cudarc::cusolver::safe::DnHandle::new(stream.clone()).is_ok();
        drop(stream);
        let dev = Arc::new(CudaBackend {
            ordinal,
            name: ctx.name().unwrap_or_else(|_| "unknown".into()),
            arch: compile::arch_for(major, minor),
            ctx,
            lanes: lane::Lanes::default(),
            kernels: KernelCache::default(),
            fixed: Mutex::new(None),
            has_blas,
            has_solver,
            peers: nccl::Peers::default(),
        });
        drop(dev.lane()?);
        Ok(dev)
    }

    /// The view of one call on `lane`.
    fn on<'a>(&'a self, lane: &'a lane::Lane) -> On<'a> {
        On {
            dev: self,
            stream: &lane.stream,
            blas: lane.blas.as_ref(),
            solver: lane.solver.as_ref(),
        }
    }

    fn fail(&self, op: &str, reason: impl Into<String>) -> Error {
        Error::Backend {
            device: format!("cuda:{}", self.ordinal),
            op: op.into(),
            reason: reason.into(),
        }
    }

    fn buf<'a>(&self, b: &'a Buffer) -> Result<&'a CuBuf> {
        super::device_handle(b, Device::Cuda(self.ordinal)).map_err(|e| self.fail("bind", e))
    }

    fn wrap(
        &self,
        data: CudaSlice<u8>,
        dtype: DType,
        shape: Vec<usize>,
        partial: Option<Reduction>,
    ) -> Buffer {
        self.handle(CuBuf {
            data,
            dtype,
            shape,
            partial,
            more: vec![],
            ready: OnceLock::new(),
            uses: Mutex::new(vec![]),
        })
    }

    /// A multi-part chunk: `shapes[p]` is part `p`'s, the parts one after another.
    fn wrap_parts(&self, data: CudaSlice<u8>, dtype: DType, mut shapes: Vec<Vec<usize>>) -> Buffer {
        let shape = shapes.remove(0);
        self.handle(CuBuf {
            data,
            dtype,
            shape,
            partial: None,
            more: shapes,
            ready: OnceLock::new(),
            uses: Mutex::new(vec![]),
        })
    }

    fn handle(&self, b: CuBuf) -> Buffer {
        Buffer::Device(DeviceBuffer {
            device: Device::Cuda(self.ordinal),
            bytes: b.data.len(),
            handle: Arc::new(b),
        })
    }

    /// Blocks for a 1-d grid-stride loop over `n` elements.
    fn grid_1d(n: usize) -> u32 {
        n.div_ceil(256).clamp(1, 65_535 * 8) as u32
    }

    /// A 1-d grid-stride launch over `n` elements, 256 threads per block.
    fn cfg_1d(n: usize) -> cudarc::driver::LaunchConfig {
        Self::cfg((Self::grid_1d(n), 1, 1))
    }

    /// A launch of `grid` blocks of 256 threads.
    fn cfg(grid: (u32, u32, u32)) -> cudarc::driver::LaunchConfig {
        cudarc::driver::LaunchConfig {
            grid_dim: grid,
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}

impl Backend for CudaBackend {
    fn device(&self) -> Device {
        Device::Cuda(self.ordinal)
    }

    fn describe(&self) -> String {
        format!("cuda:{} {} ({})", self.ordinal, self.name, self.arch)
    }

    fn plan(&self, op: &ChunkOp) -> std::result::Result<Plan, Decline> {
        Decline::complex(op, "CUDA")?;
        match op {
            ChunkOp::Map(MapOp { expr, shape }) => self.plan_map(expr, shape).map(Plan::new),
            ChunkOp::Reduce(r) => self.plan_reduce(r).map(Plan::new),
            ChunkOp::Combine(CombineOp {
                reduction,
                input_dtype,
                finalize,
            }) => {
                let fin = finalize.as_ref().map(|f| f.dtype);
                self.combine_kernel(*reduction, *input_dtype, fin)
                    .map(Plan::new)
            }
            ChunkOp::Assemble(AssembleOp { dtype, shape, .. })
            | ChunkOp::Take(TakeOp { dtype, shape, .. }) => {
                self.plan_copy(*dtype, shape).map(|_| Plan::empty())
            }
            ChunkOp::Linalg(LinalgTask {
                op: LinalgOp::MatMul { .. },
                dtype,
                ..
            }) => self.plan_matmul(*dtype).map(|_| Plan::empty()),
            ChunkOp::Linalg(LinalgTask { op, dtype, shape }) => {
                self.plan_linalg(op, *dtype, shape).map(|_| Plan::empty())
            }
            ChunkOp::User(u) => self.plan_user(u).map(Plan::new),
            other => Err(format!("{} has no CUDA kernel yet", other.name()).into()),
        }
    }

    fn run(&self, op: &ChunkOp, plan: Plan, inputs: &[&Buffer]) -> Result<Buffer> {
        let bufs: Vec<&CuBuf> = inputs.iter().filter_map(|b| self.buf(b).ok()).collect();
        let lane = self.lane()?;
        self.after(&lane, &bufs)?;
        let out = self.on(&lane).run(op, plan, inputs)?;
        let done = self.record(&lane, &bufs)?;
        let _ = self.buf(&out)?.ready.set(done);
        Ok(out)
    }

    fn download(&self, buf: &Buffer) -> Result<Chunk> {
        let b = self.buf(buf)?;
        let mut lane = self.lane()?;
        self.after(&lane, &[b])?;
        self.download_on(&mut lane, b)
    }

    fn upload(&self, chunk: Chunk) -> Result<Buffer> {
        let mut lane = self.lane()?;
        let out = self.upload_on(&mut lane, chunk)?;
        let done = self.record(&lane, &[])?;
        let _ = self.buf(&out)?.ready.set(done);
        Ok(out)
    }

    fn memory_bytes(&self) -> Option<u64> {
        // What is free now (cuMemGetInfo), not the total: other processes and contexts
        // hold the rest.
        self.ctx.mem_get_info().ok().map(|(free, _)| free as u64)
    }

    fn peers(&self) -> Option<&dyn super::PeerLink> {
        nccl::link(self)
    }
}

impl On<'_> {
    /// `bytes` of device memory (at least one, so every buffer has an address), zeroed,
    /// on this call's stream.
    fn alloc(&self, bytes: usize) -> Result<CudaSlice<u8>> {
        self.stream
            .alloc_zeros::<u8>(bytes.max(1))
            .map_err(|e| self.fail("alloc", format!("{bytes} bytes: {e:?}")))
    }

    fn run(&self, op: &ChunkOp, plan: Plan, inputs: &[&Buffer]) -> Result<Buffer> {
        let kernel = || {
            plan.take::<Result<CudaFunction>>()
                .ok_or_else(|| self.fail(&op.name(), "run without a CUDA plan"))?
        };
        match op {
            ChunkOp::Map(MapOp { expr, shape }) => self.map(&kernel()?, expr, shape, inputs),
            ChunkOp::Reduce(r) => self.reduce(&kernel()?, r, inputs),
            ChunkOp::Combine(CombineOp {
                reduction,
                input_dtype,
                finalize,
            }) => self.combine(&kernel()?, *reduction, *input_dtype, finalize, inputs),
            ChunkOp::Assemble(a) => self.assemble(a, inputs),
            ChunkOp::Take(t) => self.take(t, inputs),
            ChunkOp::User(u) => self.user(&kernel()?, u, inputs),
            ChunkOp::Linalg(LinalgTask {
                op: LinalgOp::MatMul { batch, m, k, n },
                dtype,
                shape,
            }) => self.matmul(*dtype, (*batch, *m, *k, *n), shape, inputs),
            ChunkOp::Linalg(LinalgTask { op, shape, .. }) => self.linalg(op, shape, inputs),
            other => Err(self.fail(&other.name(), "declined op reached the CUDA backend")),
        }
    }
}
