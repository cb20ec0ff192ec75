//! The wgpu backend (Vulkan): chunk ops as WGSL kernels generated from
//! [`crate::kernel::FusedExpr`]. Ops it does not run are declined by kind, and the
//! scheduler runs them on the CPU and logs that it did.
//!
//! Rooms: `device.rs` (adapters, opening), `submit.rs` (buffers, batched submits, error
//! scopes, kernel metadata), `cache.rs` (compiled kernels by source and by structure),
//! `codegen.rs` (WGSL generation), `ops/` (map, reduce, copy, matmul, fft: plan and run),
//! `transfer.rs` (uploads, batched downloads, byte layouts), `pool.rs` (buffer reuse).
//! This file holds the types they share and the `Backend` impl that picks among them.

mod cache;
mod codegen;
mod device;
mod ops;
mod pool;
mod submit;
mod transfer;

pub use device::adapters;

use super::copybox::{assemble_boxes, take_boxes};
use super::{Backend, Buffer, Decline, Device, DeviceBuffer, KernelCache, Plan};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::LinalgOp;
use crate::kernel::{AssembleOp, CombineOp, LinalgTask, MapOp, TakeOp};
use crate::kernel::{Chunk, ChunkOp, Reduction};
use codegen::{Caps, Tiling};
use pool::{Pool, PooledBuffer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What `plan` prepared for `run`: the compiled kernel (or why it failed to compile)
/// and, for maps, the transpose tiling the kernel was generated for.
struct Prepared {
    pipeline: Result<Arc<wgpu::ComputePipeline>>,
    tiling: Option<Tiling>,
}

/// A device buffer and what it holds.
struct GpuBuf {
    buffer: PooledBuffer,
    dtype: DType,
    shape: Vec<usize>,
    /// A reduction partial: its parts lie one after another (see `codegen::reduce_source`).
    partial: Option<Reduction>,
}

/// One opened wgpu adapter.
pub struct WgpuBackend {
    index: usize,
    name: String,
    device: wgpu::Device,
    queue: wgpu::Queue,
    caps: Caps,
    limits: wgpu::Limits,
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    /// Kernels (or decline reasons) by structure, so a task of a known structure skips
    /// generating its source.
    plans: KernelCache<Arc<wgpu::ComputePipeline>>,
    pool: Arc<Pool>,
    software: bool,
    /// A [`TransposeKernel`] as u8 (0 auto, 1 tiled, 2 direct).
    transpose_kernel: std::sync::atomic::AtomicU8,
    /// Encoded kernels not yet submitted: many dispatches go in one submit, and every
    /// download flushes first (queue order follows encode order).
    pending: Mutex<Vec<wgpu::CommandBuffer>>,
}

impl WgpuBackend {
    pub(in crate::backend::wgpu) fn fail(&self, op: &str, reason: impl Into<String>) -> Error {
        Error::Backend {
            device: format!("wgpu:{}", self.index),
            op: op.into(),
            reason: reason.into(),
        }
    }

    pub(in crate::backend::wgpu) fn buf<'a>(&self, b: &'a Buffer) -> Result<&'a GpuBuf> {
        super::device_handle(b, Device::Wgpu(self.index)).map_err(|e| self.fail("bind", e))
    }

    pub(in crate::backend::wgpu) fn wrap(
        &self,
        buffer: PooledBuffer,
        dtype: DType,
        shape: Vec<usize>,
    ) -> Buffer {
        let bytes = shape.iter().product::<usize>() * dtype.size();
        Buffer::Device(DeviceBuffer {
            device: Device::Wgpu(self.index),
            bytes,
            handle: Arc::new(GpuBuf {
                buffer,
                dtype,
                shape,
                partial: None,
            }),
        })
    }
}

impl Backend for WgpuBackend {
    fn device(&self) -> Device {
        Device::Wgpu(self.index)
    }

    fn describe(&self) -> String {
        format!("wgpu:{} {}", self.index, self.name)
    }

    fn plan(&self, op: &ChunkOp) -> std::result::Result<Plan, Decline> {
        if let ChunkOp::Fft(f) = op {
            // Complex in and out, by its own kernels (not the codegen walk).
            self.plan_fft(f)?;
            return Ok(Plan::empty());
        }
        Decline::complex(op, "wgpu")?;
        if let ChunkOp::User(u) = op {
            let (source, entry) = self.plan_user(u)?;
            return Ok(Plan::new(Prepared {
                pipeline: self.pipeline_at(&source, &entry),
                tiling: None,
            }));
        }
        let source = match op {
            ChunkOp::Map(MapOp { expr, shape }) => {
                return self.plan_map(expr, shape).map(Plan::new)
            }
            ChunkOp::Reduce(r) => return self.plan_reduce(r).map(Plan::new),
            ChunkOp::Linalg(LinalgTask {
                op: LinalgOp::MatMul { batch, m, k, n },
                dtype,
                ..
            }) => self.plan_matmul(*dtype, *batch, *m, *k, *n)?,
            ChunkOp::Assemble(AssembleOp { dtype, shape, .. })
            | ChunkOp::Take(TakeOp { dtype, shape, .. }) => self.plan_copy(*dtype, shape)?,
            ChunkOp::Combine(CombineOp {
                reduction,
                input_dtype,
                finalize,
            }) => {
                // Its kernels depend on how many partials arrive; `combine` picks them.
                // A pair tells whether this reduction combines here at all.
                let fin = finalize.as_ref().map(|f| f.dtype);
                // (A compile failure is left for `run`, which meets it again as an error.)
                let _compiled = self.combine_kernel(*reduction, *input_dtype, fin, 2)?;
                return Ok(Plan::empty());
            }
            other => return Err(format!("{} has no wgpu kernel yet", other.name()).into()),
        };
        // A kernel that fails to compile is an error of the task (not a reason to
        // decline it): the plan carries the failure to `run`.
        Ok(Plan::new(Prepared {
            pipeline: self.pipeline(&source),
            tiling: None,
        }))
    }

    fn run(&self, op: &ChunkOp, plan: Plan, inputs: &[&Buffer]) -> Result<Buffer> {
        if let ChunkOp::Combine(CombineOp {
            reduction,
            input_dtype,
            finalize,
        }) = op
        {
            return self.combine(*reduction, *input_dtype, finalize, inputs);
        }
        if let ChunkOp::Fft(f) = op {
            return self.fft(f, inputs);
        }
        let Some(Prepared { pipeline, tiling }) = plan.take::<Prepared>() else {
            return Err(self.fail(&op.name(), "run without a wgpu plan"));
        };
        let pipeline = pipeline?;
        let pipeline = pipeline.as_ref();
        if let ChunkOp::Reduce(r) = op {
            return self.reduce(pipeline, r, inputs);
        }
        if let ChunkOp::User(u) = op {
            return self.user(pipeline, u, inputs);
        }
        if let ChunkOp::Linalg(LinalgTask {
            op: LinalgOp::MatMul { batch, m, k, n },
            dtype,
            shape,
        }) = op
        {
            return self.matmul(pipeline, *dtype, (*batch, *m, *k, *n), shape, inputs);
        }
        if let ChunkOp::Assemble(a) = op {
            return self.copy(pipeline, a.dtype, &a.shape, assemble_boxes(a), inputs);
        }
        if let ChunkOp::Take(t) = op {
            return self.copy(pipeline, t.dtype, &t.shape, take_boxes(t), inputs);
        }
        let ChunkOp::Map(MapOp { expr, shape }) = op else {
            return Err(self.fail(&op.name(), "declined op reached the wgpu backend"));
        };
        let total: usize = shape.iter().product();
        let dtype = expr.dtype();
        let out = self.alloc(total * dtype.size().max(4));
        if total == 0 {
            return Ok(self.wrap(out, dtype, shape.clone()));
        }
        self.scoped("map", || {
            self.dispatch(pipeline, tiling.as_ref(), expr, shape, inputs, &out)
        })?;
        Ok(self.wrap(out, dtype, shape.clone()))
    }

    fn download(&self, buf: &Buffer) -> Result<Chunk> {
        let mut one = self.download_many(&[buf])?;
        one.pop()
            .ok_or_else(|| self.fail("download", "nothing came back"))
    }

    fn download_many(&self, bufs: &[&Buffer]) -> Result<Vec<Chunk>> {
        self.scoped("download", || self.download_now(bufs))
    }

    fn upload(&self, chunk: Chunk) -> Result<Buffer> {
        self.scoped("upload", || self.upload_now(chunk))
    }
}
