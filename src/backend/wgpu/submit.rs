//! Submitting work: buffers from the pool, kernels encoded into command buffers that
//! go to the queue in batches (one submit for many dispatches), error scopes, and the
//! metadata words every generated kernel reads.

use super::codegen::Tiling;
use super::pool::PooledBuffer;
use super::{GpuBuf, WgpuBackend};
use crate::backend::Buffer;
use crate::error::Result;
use crate::kernel::FusedExpr;

impl WgpuBackend {
    /// Queues an encoded kernel, submitting a batch every 32.
    pub(in crate::backend::wgpu) fn enqueue(&self, cb: wgpu::CommandBuffer) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.push(cb);
        if p.len() >= 32 {
            self.queue.submit(p.drain(..));
            // Still under the pending lock: see `pool` on why reuse waits for a submit.
            self.pool.release_quarantine();
        }
    }

    /// Submits everything queued.
    pub(in crate::backend::wgpu) fn flush(&self) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !p.is_empty() {
            self.queue.submit(p.drain(..));
        }
        self.pool.release_quarantine();
    }

    /// Returns quarantined buffers to the pool when nothing is waiting to be submitted
    /// (then every kernel that read them has been submitted; see `pool`).
    pub(in crate::backend::wgpu) fn reclaim(&self) {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_empty() {
            self.pool.release_quarantine();
        }
    }

    /// A storage buffer of at least `size` bytes from the pool (contents undefined).
    pub(in crate::backend::wgpu) fn alloc(&self, size: usize) -> PooledBuffer {
        self.reclaim();
        self.pool.take(
            &self.device,
            (size as u64).max(4),
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// A pooled storage buffer holding `bytes` (padded to 4), written through the queue.
    pub(in crate::backend::wgpu) fn alloc_init(&self, bytes: &[u8]) -> PooledBuffer {
        let b = self.alloc(bytes.len());
        if bytes.len().is_multiple_of(4) {
            self.queue.write_buffer(&b, 0, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            self.queue.write_buffer(&b, 0, &padded);
        }
        b
    }

    /// Workgroups for a grid-stride kernel over `n` elements (256 per workgroup).
    pub(in crate::backend::wgpu) fn groups_1d(&self, n: usize) -> (u32, u32, u32) {
        (
            n.div_ceil(256)
                .min(self.limits.max_compute_workgroups_per_dimension as usize) as u32,
            1,
            1,
        )
    }

    /// Binds `buffers` at bindings 0, 1, … of group 0 and queues one dispatch.
    pub(in crate::backend::wgpu) fn run_kernel(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                // Pooled buffers may exceed the request (size classes), and so the
                // binding limit; kernels index only what the request covered.
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b,
                    offset: 0,
                    size: std::num::NonZeroU64::new(
                        b.size().min(self.limits.max_storage_buffer_binding_size) / 4 * 4,
                    ),
                }),
            })
            .collect();
        let layout = pipeline.get_bind_group_layout(0);
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        }
        self.enqueue(enc.finish());
    }

    /// Runs `f` with validation and out-of-memory errors captured as values (wgpu would
    /// otherwise panic on them).
    pub(in crate::backend::wgpu) fn scoped<T>(
        &self,
        op: &str,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = v.or(o) {
            return Err(self.fail(op, e.to_string()));
        }
        out
    }

    pub(in crate::backend::wgpu) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        tiling: Option<&Tiling>,
        expr: &FusedExpr,
        shape: &[usize],
        inputs: &[&Buffer],
        out: &wgpu::Buffer,
    ) -> Result<()> {
        let total: usize = shape.iter().product();
        let meta = crate::backend::codegen::meta(expr, shape);
        let max = self.limits.max_compute_workgroups_per_dimension as usize;
        let groups = match tiling {
            // One workgroup per 32×32 tile, in a 2-d grid when one dimension is too few.
            Some(t) => {
                let (np, nl) = (shape[t.axis], shape[shape.len() - 1]);
                let tiles = total / (np * nl) * np.div_ceil(32) * nl.div_ceil(32);
                let gx = tiles.min(max);
                (gx as u32, tiles.div_ceil(gx).min(max) as u32)
            }
            None => (total.div_ceil(256).min(max) as u32, 1),
        };
        self.launch(pipeline, &meta, groups, inputs, out)
    }

    pub(in crate::backend::wgpu) fn launch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        meta: &[i32],
        groups: (u32, u32),
        inputs: &[&Buffer],
        out: &wgpu::Buffer,
    ) -> Result<()> {
        let meta_buf = self.alloc_init(bytemuck::cast_slice(meta));
        let ins: Vec<&GpuBuf> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        let mut bufs: Vec<&wgpu::Buffer> = vec![&meta_buf, out];
        bufs.extend(ins.iter().map(|b| &*b.buffer));
        // Queued, not waited on: later kernels run behind it, downloads flush and wait.
        self.run_kernel(pipeline, &bufs, (groups.0, groups.1, 1));
        Ok(())
    }
}
