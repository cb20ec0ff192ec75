//! The wgpu backend (Vulkan): adapter discovery, device buffers, and fused elementwise
//! maps compiled from [`FusedExpr`] to WGSL. Ops it does not run yet are declined with a
//! reason, and the scheduler runs them on the CPU and logs that it did.

mod codegen;
mod pool;

use super::caps::{AdapterSummary, TransposeKernel};
use super::{Backend, Buffer, Decline, Device, DeviceBuffer, Plan};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::kernel::LinalgOp;
use crate::kernel::{
    ArgIndex, Chunk, ChunkOp, Finalize, FusedExpr, Generator, LeafSource, Reduction,
};
use codegen::{Caps, Tiling};
use pool::{Pool, PooledBuffer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn instance() -> &'static wgpu::Instance {
    static INSTANCE: OnceLock<wgpu::Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::VULKAN;
        wgpu::Instance::new(desc)
    })
}

fn raw_adapters() -> &'static Vec<wgpu::Adapter> {
    static ADAPTERS: OnceLock<Vec<wgpu::Adapter>> = OnceLock::new();
    ADAPTERS
        .get_or_init(|| pollster::block_on(instance().enumerate_adapters(wgpu::Backends::VULKAN)))
}

/// Every Vulkan adapter wgpu finds (empty when no Vulkan driver is installed).
///
/// ```
/// for a in tessera::backend::wgpu_adapters() {
///     println!("{} ({}, software: {})", a.name, a.device_type, a.software);
/// }
/// ```
pub fn adapters() -> Vec<AdapterSummary> {
    // Adapters do not change within a process; `Device::Auto` asks on every compute.
    static SUMMARIES: OnceLock<Vec<AdapterSummary>> = OnceLock::new();
    SUMMARIES.get_or_init(summarize).clone()
}

fn summarize() -> Vec<AdapterSummary> {
    raw_adapters()
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let info = a.get_info();
            let f = a.features();
            let l = a.limits();
            AdapterSummary {
                index,
                name: info.name.clone(),
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                software: info.device_type == wgpu::DeviceType::Cpu,
                shader_f64: f.contains(wgpu::Features::SHADER_F64),
                shader_f16: f.contains(wgpu::Features::SHADER_F16),
                shader_i64: f.contains(wgpu::Features::SHADER_INT64),
                max_storage_binding: l.max_storage_buffer_binding_size,
                max_buffer: l.max_buffer_size,
            }
        })
        .collect()
}

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

/// One rectangular copy from input `slot` (start `src`) to the output (start `dst`).
struct CopyBox {
    slot: usize,
    src: Vec<usize>,
    dst: Vec<usize>,
    shape: Vec<usize>,
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
    /// Kernels (or decline reasons) by structure key (`codegen::structure_key`), so a
    /// task of a known structure skips generating its source.
    #[allow(clippy::type_complexity)]
    plans: Mutex<HashMap<Vec<u64>, std::result::Result<Arc<wgpu::ComputePipeline>, Decline>>>,
    pool: Arc<Pool>,
    software: bool,
    /// A [`TransposeKernel`] as u8 (0 auto, 1 tiled, 2 direct).
    transpose_kernel: std::sync::atomic::AtomicU8,
    /// Encoded kernels not yet submitted: many dispatches go in one submit, and every
    /// download flushes first (queue order follows encode order).
    pending: Mutex<Vec<wgpu::CommandBuffer>>,
}

impl std::fmt::Debug for WgpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WgpuBackend({}: {})", self.index, self.name)
    }
}

impl WgpuBackend {
    /// Opens adapter `index` once per process (later calls share it), requesting the
    /// adapter's own limits (not wgpu's 128 MiB defaults) and f64 where offered.
    pub fn open(index: usize) -> Result<Arc<WgpuBackend>> {
        static OPEN: Mutex<Vec<(usize, Arc<WgpuBackend>)>> = Mutex::new(Vec::new());
        let mut open = OPEN.lock().expect("wgpu device cache");
        if let Some((_, b)) = open.iter().find(|(i, _)| *i == index) {
            return Ok(b.clone());
        }
        let adapter = raw_adapters().get(index).ok_or_else(|| {
            Error::arg(
                "compute",
                format!("wgpu adapter {index} does not exist ({} found); install a Vulkan driver (e.g. mesa-vulkan-drivers) or use Device::Cpu", raw_adapters().len()),
            )
        })?;
        let wanted =
            wgpu::Features::SHADER_F64 | wgpu::Features::SHADER_F16 | wgpu::Features::SHADER_INT64;
        let features = adapter.features() & wanted;
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tessera"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Backend {
            device: format!("wgpu:{index}"),
            op: "open".into(),
            reason: e.to_string(),
        })?;
        // Errors outside an error scope are logged, never a panic inside a worker.
        device.on_uncaptured_error(Arc::new(
            |e: wgpu::Error| tracing::error!(error = %e, "uncaptured wgpu error"),
        ));
        let b = Arc::new(WgpuBackend {
            index,
            name: adapter.get_info().name,
            device,
            queue,
            caps: Caps {
                f64: features.contains(wgpu::Features::SHADER_F64),
                f16: features.contains(wgpu::Features::SHADER_F16),
                i64: features.contains(wgpu::Features::SHADER_INT64),
            },
            limits,
            pipelines: Mutex::new(HashMap::new()),
            plans: Mutex::new(HashMap::new()),
            pool: Arc::default(),
            software: adapter.get_info().device_type == wgpu::DeviceType::Cpu,
            transpose_kernel: Default::default(),
            pending: Mutex::new(Vec::new()),
        });
        open.push((index, b.clone()));
        Ok(b)
    }

    /// Chooses the kernel for maps over transposed inputs (for every later task on this
    /// device, which the whole process shares).
    pub fn set_transpose_kernel(&self, k: TransposeKernel) {
        let v = match k {
            TransposeKernel::Auto => 0,
            TransposeKernel::Tiled => 1,
            TransposeKernel::Direct => 2,
        };
        self.transpose_kernel
            .store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// The kernel choice for maps over transposed inputs.
    pub fn transpose_kernel(&self) -> TransposeKernel {
        match self
            .transpose_kernel
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            1 => TransposeKernel::Tiled,
            2 => TransposeKernel::Direct,
            _ => TransposeKernel::Auto,
        }
    }

    /// Bytes of device buffers idle in this device's pool, waiting to be reused.
    ///
    /// ```no_run
    /// let gpu = tessera::backend::WgpuBackend::open(0).unwrap();
    /// println!("{} bytes pooled", gpu.pooled_bytes());
    /// ```
    pub fn pooled_bytes(&self) -> u64 {
        self.pool.idle_bytes()
    }

    /// Device buffers this backend has created so far; the pool serves the rest.
    ///
    /// ```no_run
    /// let gpu = tessera::backend::WgpuBackend::open(0).unwrap();
    /// println!("{} buffers created", gpu.buffers_created());
    /// ```
    pub fn buffers_created(&self) -> u64 {
        self.pool.created()
    }

    fn fail(&self, op: &str, reason: impl Into<String>) -> Error {
        Error::Backend {
            device: format!("wgpu:{}", self.index),
            op: op.into(),
            reason: reason.into(),
        }
    }

    /// Queues an encoded kernel, submitting a batch every 32.
    fn enqueue(&self, cb: wgpu::CommandBuffer) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.push(cb);
        if p.len() >= 32 {
            self.queue.submit(p.drain(..));
            // Still under the pending lock: see `pool` on why reuse waits for a submit.
            self.pool.release_quarantine();
        }
    }

    /// Submits everything queued.
    fn flush(&self) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !p.is_empty() {
            self.queue.submit(p.drain(..));
        }
        self.pool.release_quarantine();
    }

    /// Returns quarantined buffers to the pool when nothing is waiting to be submitted
    /// (then every kernel that read them has been submitted; see `pool`).
    fn reclaim(&self) {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_empty() {
            self.pool.release_quarantine();
        }
    }

    /// A storage buffer of at least `size` bytes from the pool (contents undefined).
    fn alloc(&self, size: usize) -> PooledBuffer {
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
    fn alloc_init(&self, bytes: &[u8]) -> PooledBuffer {
        let b = self.alloc(bytes.len());
        if bytes.len() % 4 == 0 {
            self.queue.write_buffer(&b, 0, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            self.queue.write_buffer(&b, 0, &padded);
        }
        b
    }

    /// Workgroups for a grid-stride kernel over `n` elements (256 per workgroup).
    fn groups_1d(&self, n: usize) -> (u32, u32, u32) {
        (
            n.div_ceil(256)
                .min(self.limits.max_compute_workgroups_per_dimension as usize) as u32,
            1,
            1,
        )
    }

    /// Binds `buffers` at bindings 0, 1, … of group 0 and queues one dispatch.
    fn run_kernel(
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
    fn scoped<T>(&self, op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
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

    fn pipeline(&self, source: &str) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(source) {
            return Ok(p.clone());
        }
        let p = self.scoped("compile", || Ok(self.compile(source)))?;
        cache.insert(source.to_string(), p.clone());
        Ok(p)
    }

    fn compile(&self, source: &str) -> Arc<wgpu::ComputePipeline> {
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("tessera-map"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        Arc::new(
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("tessera-map"),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                }),
        )
    }

    /// Why `expr` over `shape` cannot run here, or its kernel and tiling (see
    /// [`TransposeKernel`]).
    fn plan_map(
        &self,
        expr: &FusedExpr,
        shape: &[usize],
    ) -> std::result::Result<Prepared, Decline> {
        self.check_map(expr, shape)?;
        let tiled = match self.transpose_kernel() {
            TransposeKernel::Tiled => true,
            TransposeKernel::Direct => false,
            TransposeKernel::Auto => !self.software,
        };
        let budget = self.limits.max_compute_workgroup_storage_size as usize;
        let tiling = tiled
            .then(|| codegen::transpose_tiling(expr, shape, self.caps, budget))
            .flatten();
        let mut key = vec![1, shape.len() as u64];
        match &tiling {
            Some(t) => {
                key.extend([t.axis as u64 + 1, t.leaves.len() as u64]);
                key.extend(t.leaves.iter().map(|&l| l as u64));
            }
            None => key.push(0),
        }
        codegen::structure_key(expr, &mut key);
        let pipeline = self.kernel(key, || {
            codegen::map_source(expr, shape.len(), self.caps, tiling.as_ref())
        })?;
        Ok(Prepared { pipeline, tiling })
    }

    /// The kernel merging `take` device partials of `red` over `d` values (finalizing to
    /// `fin`), through the plan cache.
    fn combine_kernel(
        &self,
        red: Reduction,
        d: DType,
        fin: Option<DType>,
        take: usize,
    ) -> std::result::Result<Result<Arc<wgpu::ComputePipeline>>, Decline> {
        let mut key = vec![3, d as u64, take as u64];
        key.extend(reduction_words(red, fin));
        self.kernel(key, || {
            codegen::combine_source(red, d, self.caps, fin, take)
        })
    }

    /// The kernel for structure `key`: from the plan cache, or generated by `source`,
    /// compiled and remembered (declines too, so a declined structure is not generated
    /// again for every chunk; compile failures are not remembered).
    fn kernel(
        &self,
        key: Vec<u64>,
        source: impl FnOnce() -> std::result::Result<String, Decline>,
    ) -> std::result::Result<Result<Arc<wgpu::ComputePipeline>>, Decline> {
        if let Some(known) = self
            .plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return known.clone().map(Ok);
        }
        let remember = |v: std::result::Result<Arc<wgpu::ComputePipeline>, Decline>| {
            let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
            if plans.len() >= 4096 {
                plans.clear(); // distinct structures are few; this only bounds a pathology
            }
            plans.insert(key, v);
        };
        match source() {
            Err(reason) => {
                remember(Err(reason.clone()));
                Err(reason)
            }
            Ok(text) => {
                let compiled = self.pipeline(&text);
                if let Ok(p) = &compiled {
                    remember(Ok(p.clone()));
                }
                Ok(compiled)
            }
        }
    }

    /// Why `expr` over `shape` cannot run here (sizes and index ranges).
    fn check_map(&self, expr: &FusedExpr, shape: &[usize]) -> std::result::Result<(), Decline> {
        let total: usize = shape.iter().product();
        let max = self.limits.max_storage_buffer_binding_size as usize;
        if total * expr.dtype().size().max(4) > max {
            return Err(Decline::size(format!("chunk of {total} elements exceeds the {max}-byte storage binding; use smaller chunks")));
        }
        if total > i32::MAX as usize {
            return Err(Decline::size("chunk has more than 2³¹ elements"));
        }
        for leaf in &expr.leaves {
            let (below, reach) = stride_span(&leaf.strides, shape);
            let lo = leaf.offset + below;
            if lo < 0 || leaf.offset + reach > i32::MAX as i64 {
                return Err(Decline::size(
                    "leaf indices exceed the 32-bit range of GPU kernels",
                ));
            }
            if let LeafSource::Gen(Generator::Random { .. }) = leaf.source {
                if leaf.offset + reach > u32::MAX as i64 / 4 {
                    return Err(Decline::size(
                        "random index beyond the 32-bit counter range of GPU kernels",
                    ));
                }
            }
        }
        if expr.num_inputs() + 2 > self.limits.max_storage_buffers_per_shader_stage as usize {
            return Err(Decline::size("too many inputs for one kernel"));
        }
        Ok(())
    }

    /// Merges device partials in input order, at most a binding-limited group per kernel
    /// (intermediate partials stay on the device), finalizing in the last one.
    fn combine(
        &self,
        red: Reduction,
        d: DType,
        finalize: &Option<Finalize>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let parts: Vec<&GpuBuf> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        let acc = codegen::acc_dtype(red, d, self.caps)
            .map_err(|e| self.fail("combine", e.to_string()))?;
        let first = parts
            .first()
            .ok_or_else(|| self.fail("combine", "nothing to combine"))?;
        if parts
            .iter()
            .any(|p| p.partial != Some(red) || p.dtype != acc || p.shape != first.shape)
        {
            return Err(self.fail(
                "combine",
                "inputs are not device partials of this reduction",
            ));
        }
        let nout: usize = first.shape.iter().product();
        let group = (self.limits.max_storage_buffers_per_shader_stage as usize)
            .saturating_sub(2)
            .max(2);
        // Intermediate partials live in `keep` until every kernel that reads them is queued.
        let mut keep: Vec<PooledBuffer> = vec![];
        let mut current: Vec<wgpu::Buffer> = parts.iter().map(|p| (*p.buffer).clone()).collect();
        loop {
            let last = current.len() <= group;
            let take = current.len().min(group);
            let fin = if last {
                finalize.as_ref().map(|f| f.dtype)
            } else {
                None
            };
            let pipeline = self
                .combine_kernel(red, d, fin, take)
                .map_err(|e| self.fail("combine", e.to_string()))??;
            let (dtype, shape, nparts) = match (last, finalize) {
                (true, Some(f)) => (f.dtype, f.shape.clone(), 1),
                _ => (acc, first.shape.clone(), red.partial_parts()),
            };
            let out = self.alloc(nout * nparts * dtype.size().max(4));
            if nout > 0 {
                let mbuf = self.alloc_init(bytemuck::cast_slice(&[nout as i32]));
                self.scoped("combine", || {
                    let mut bufs: Vec<&wgpu::Buffer> = vec![&mbuf, &out];
                    bufs.extend(current[..take].iter());
                    self.run_kernel(&pipeline, &bufs, self.groups_1d(nout));
                    Ok(())
                })?;
            }
            if last {
                let partial = if finalize.is_some() { None } else { Some(red) };
                return Ok(Buffer::Device(DeviceBuffer {
                    device: Device::Wgpu(self.index),
                    bytes: nout * nparts * 8,
                    handle: Arc::new(GpuBuf {
                        buffer: out,
                        dtype,
                        shape,
                        partial,
                    }),
                }));
            }
            let rest = current.split_off(take);
            current = std::iter::once((*out).clone()).chain(rest).collect();
            keep.push(out);
        }
    }

    /// Why a copy of `dtype` chunks cannot run here, or its WGSL source.
    fn plan_copy(&self, dtype: DType, shape: &[usize]) -> std::result::Result<String, Decline> {
        let caps = self.caps;
        let scalar = codegen::storage_type(dtype, caps)?;
        let total: usize = shape.iter().product();
        if total * dtype.size().max(4) > self.limits.max_storage_buffer_binding_size as usize
            || total > u32::MAX as usize
        {
            return Err(Decline::size("copy target exceeds the storage binding"));
        }
        let enable = if dtype == DType::F16 {
            "enable f16;\n"
        } else {
            ""
        };
        Ok(format!(
            "{enable}{}",
            include_str!("../../../shaders/copy.wgsl").replace("SCALAR", scalar)
        ))
    }

    fn copy(
        &self,
        pipeline: &wgpu::ComputePipeline,
        dtype: DType,
        shape: &[usize],
        boxes: Vec<CopyBox>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = shape.iter().product();
        let out = self.alloc(total * dtype.size().max(4));
        if total > 0 {
            let ins: Vec<&GpuBuf> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
            let dst_strides = crate::chunks::c_strides(shape);
            self.scoped("copy", || {
                for b in &boxes {
                    let count: usize = b.shape.iter().product();
                    if count == 0 {
                        continue;
                    }
                    let input = ins
                        .get(b.slot)
                        .ok_or_else(|| self.fail("copy", "missing input"))?;
                    let ss = crate::chunks::c_strides(&input.shape);
                    let offset = |start: &[usize], strides: &[i64]| {
                        start
                            .iter()
                            .zip(strides)
                            .map(|(&x, &s)| x as i64 * s)
                            .sum::<i64>() as u32
                    };
                    let mut meta: Vec<u32> = vec![shape.len() as u32, count as u32];
                    meta.extend(b.shape.iter().map(|&x| x as u32));
                    meta.push(offset(&b.src, &ss));
                    meta.extend(ss.iter().map(|&x| x as u32));
                    meta.push(offset(&b.dst, &dst_strides));
                    meta.extend(dst_strides.iter().map(|&x| x as u32));
                    let mbuf = self.alloc_init(bytemuck::cast_slice(&meta));
                    self.run_kernel(
                        pipeline,
                        &[&mbuf, &out, &input.buffer],
                        self.groups_1d(count),
                    );
                }
                Ok(())
            })?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec()))
    }

    /// Why a matrix product cannot run here, or its WGSL source.
    fn plan_matmul(
        &self,
        dtype: DType,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
    ) -> std::result::Result<String, Decline> {
        let scalar = match dtype {
            DType::F32 => "f32",
            DType::F64 if self.caps.f64 => "f64",
            other => {
                return Err(Decline::DType {
                    dtype: other,
                    reason: format!("matmul of {other} runs on the CPU"),
                })
            }
        };
        let max = self.limits.max_storage_buffer_binding_size as usize;
        for (what, len) in [
            ("a", batch * m * k),
            ("b", batch * k * n),
            ("c", batch * m * n),
        ] {
            if len * dtype.size() > max {
                return Err(Decline::size(format!("matmul operand {what} exceeds the {max}-byte storage binding; use smaller chunks")));
            }
        }
        let limit = self.limits.max_compute_workgroups_per_dimension as usize;
        if n.div_ceil(64) > limit || m.div_ceil(64) > limit || batch > limit {
            return Err(Decline::size("matmul grid exceeds the dispatch limits"));
        }
        Ok(include_str!("../../../shaders/matmul.wgsl").replace("SCALAR", scalar))
    }

    fn matmul(
        &self,
        pipeline: &wgpu::ComputePipeline,
        dtype: DType,
        (batch, m, k, n): (usize, usize, usize, usize),
        shape: &[usize],
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let out = self.alloc(batch * m * n * dtype.size());
        for b in inputs {
            if self.buf(b)?.dtype != dtype {
                return Err(self.fail("matmul", "operand dtype differs from the product's"));
            }
        }
        if batch * m * n > 0 {
            let dims = [batch as u32, m as u32, k as u32, n as u32];
            let dims_buf = self.alloc_init(bytemuck::cast_slice(&dims));
            self.scoped("matmul", || {
                let ins: Vec<&GpuBuf> =
                    inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
                let grid = (n.div_ceil(64) as u32, m.div_ceil(64) as u32, batch as u32);
                self.run_kernel(
                    pipeline,
                    &[&dims_buf, &out, &ins[0].buffer, &ins[1].buffer],
                    grid,
                );
                Ok(())
            })?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec()))
    }

    /// Why a reduction partial cannot run here, or its WGSL source.
    fn plan_reduce(
        &self,
        expr: &FusedExpr,
        shape: &[usize],
        red: Reduction,
        axes: &[usize],
        arg: &ArgIndex,
        finalize: &Option<Finalize>,
    ) -> std::result::Result<Prepared, Decline> {
        self.check_map(expr, shape)?;
        let total: i64 = shape.iter().map(|&n| n as i64).product();
        let (_, reach) = stride_span(&arg.strides, shape);
        if matches!(red, Reduction::ArgMin | Reduction::ArgMax)
            && arg.base + reach >= u32::MAX as i64
        {
            return Err(Decline::size("arg index beyond 32 bits"));
        }
        if total >= u32::MAX as i64 {
            return Err(Decline::size(
                "reduction over more than 2³² elements per chunk",
            ));
        }
        let serial = codegen::serial_reduction(shape, axes);
        let fin = finalize.as_ref().map(|f| f.dtype);
        let mut key = vec![2, shape.len() as u64, serial as u64];
        key.extend(reduction_words(red, fin));
        codegen::structure_key(expr, &mut key);
        let pipeline = self.kernel(key, || {
            codegen::reduce_source(expr, shape.len(), self.caps, red, fin, serial)
        })?;
        Ok(Prepared {
            pipeline,
            tiling: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn reduce(
        &self,
        pipeline: &wgpu::ComputePipeline,
        expr: &FusedExpr,
        shape: &[usize],
        red: Reduction,
        axes: &[usize],
        arg: &ArgIndex,
        finalize: &Option<Finalize>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let ndim = shape.len();
        let acc_shape: Vec<usize> = (0..ndim)
            .map(|k| if axes.contains(&k) { 1 } else { shape[k] })
            .collect();
        let nout: usize = acc_shape.iter().product();
        let nred: usize = axes.iter().map(|&k| shape[k]).product();
        let acc = codegen::acc_dtype(red, expr.dtype(), self.caps)
            .map_err(|e| self.fail("reduce", e.to_string()))?;
        let (dtype, out_shape, parts) = match finalize {
            Some(f) => (f.dtype, f.shape.clone(), 1),
            None => (acc, acc_shape.clone(), red.partial_parts()),
        };
        let out = self.alloc(nout * parts * dtype.size().max(4));
        if nout > 0 {
            let mut meta = self.meta(expr, shape);
            meta.push(nout as i32);
            meta.push(nred as i32);
            meta.extend((0..ndim).map(|k| axes.contains(&k) as i32));
            meta.push(arg.base as i32);
            meta.extend((0..ndim).map(|k| arg.strides.get(k).copied().unwrap_or(0) as i32));
            let max = self.limits.max_compute_workgroups_per_dimension as usize;
            let groups = if codegen::serial_reduction(shape, axes) {
                (nout.div_ceil(256).min(max) as u32, 1)
            } else {
                let gx = nout.min(max);
                (gx as u32, nout.div_ceil(gx) as u32)
            };
            self.scoped("reduce", || {
                self.launch(pipeline, &meta, groups, inputs, &out)
            })?;
        }
        let bytes = nout * parts * 8;
        Ok(Buffer::Device(DeviceBuffer {
            device: Device::Wgpu(self.index),
            bytes,
            handle: Arc::new(GpuBuf {
                buffer: out,
                dtype,
                shape: out_shape,
                partial: finalize.is_none().then_some(red),
            }),
        }))
    }

    fn meta(&self, expr: &FusedExpr, shape: &[usize]) -> Vec<i32> {
        let ndim = shape.len();
        let nleaves = expr.leaves.len();
        let mut m = vec![0i32; codegen::gen_base(ndim, nleaves, nleaves)];
        m[0] = ndim as i32;
        m[1] = shape.iter().product::<usize>() as i32;
        for (k, &n) in shape.iter().enumerate() {
            m[2 + k] = n as i32;
        }
        for (l, leaf) in expr.leaves.iter().enumerate() {
            let b = codegen::leaf_base(ndim, l);
            m[b] = leaf.offset as i32;
            for k in 0..ndim {
                m[b + 1 + k] = leaf.strides[k] as i32;
            }
            let p = codegen::gen_base(ndim, nleaves, l);
            match leaf.source {
                LeafSource::Gen(Generator::Random { seed, dist }) => {
                    m[p] = seed as u32 as i32;
                    m[p + 1] = (seed >> 32) as u32 as i32;
                    let (shift, scale) = match dist {
                        crate::kernel::Dist::Uniform { low, high } => (low, high - low),
                        crate::kernel::Dist::Normal { mean, std } => (mean, std),
                    };
                    if leaf.dtype == DType::F64 {
                        // f64 kernels rebuild both from three f32 parts (as the CPU,
                        // the scale is high − low computed in f64).
                        m[p + 2..p + 5].copy_from_slice(&codegen::f64_meta(shift));
                        m[p + 5..p + 8].copy_from_slice(&codegen::f64_meta(scale));
                    } else {
                        m[p + 2] = (shift as f32).to_bits() as i32;
                        m[p + 3] = (scale as f32).to_bits() as i32;
                    }
                }
                LeafSource::Gen(Generator::Range { start, step, last }) => {
                    m[p..p + 3].copy_from_slice(&codegen::f64_meta(start));
                    m[p + 3..p + 6].copy_from_slice(&codegen::f64_meta(step));
                    let (idx, stop) = last.map_or((-1, 0.0), |(i, v)| (i as i32, v));
                    m[p + 6] = idx;
                    m[p + 7..p + 10].copy_from_slice(&codegen::f64_meta(stop));
                }
                LeafSource::Gen(Generator::Eye { ncols, k }) => {
                    m[p] = ncols as i32;
                    m[p + 1] = k as i32;
                }
                _ => {}
            }
        }
        m
    }

    fn buf<'a>(&self, b: &'a Buffer) -> Result<&'a GpuBuf> {
        match b {
            Buffer::Device(d) if d.device == Device::Wgpu(self.index) => d
                .handle
                .downcast_ref::<GpuBuf>()
                .ok_or_else(|| self.fail("bind", "foreign buffer handle")),
            other => Err(self.fail(
                "bind",
                format!(
                    "input lives on {}; the scheduler must upload it first",
                    other.device()
                ),
            )),
        }
    }

    fn wrap(&self, buffer: PooledBuffer, dtype: DType, shape: Vec<usize>) -> Buffer {
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

/// A reduction and its finalized dtype as plan-key words.
fn reduction_words(red: Reduction, fin: Option<DType>) -> [u64; 3] {
    let (code, ddof) = match red {
        Reduction::Sum => (0, 0),
        Reduction::Prod => (1, 0),
        Reduction::Min => (2, 0),
        Reduction::Max => (3, 0),
        Reduction::ArgMin => (4, 0),
        Reduction::ArgMax => (5, 0),
        Reduction::Any => (6, 0),
        Reduction::All => (7, 0),
        Reduction::Mean => (8, 0),
        Reduction::Var { ddof } => (9, ddof),
        Reduction::Std { ddof } => (10, ddof),
    };
    [code, ddof as u64, fin.map_or(u64::MAX, |d| d as u64)]
}

/// How far an affine view over `shape` reaches from its offset: (the most negative step
/// sum, the total span Σ |stride|·(n − 1)), so index checks need no per-element work.
fn stride_span(strides: &[i64], shape: &[usize]) -> (i64, i64) {
    strides
        .iter()
        .zip(shape)
        .fold((0, 0), |(lo, span), (&s, &n)| {
            let len = n.max(1) as i64 - 1;
            (lo + s.min(0) * len, span + s.abs() * len)
        })
}

fn host_bytes(a: &HostArray) -> std::result::Result<Vec<u8>, String> {
    let std = a.clone().into_standard();
    Ok(match &std {
        HostArray::F32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::F64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::F16(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::I32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::I64(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::U32(x) => bytemuck::cast_slice(x.as_slice().unwrap()).to_vec(),
        HostArray::Bool(x) => {
            bytemuck::cast_slice(&x.iter().map(|&b| b as u32).collect::<Vec<u32>>()).to_vec()
        }
        other => {
            return Err(format!(
                "dtype {} is not stored on wgpu devices yet",
                other.dtype()
            ))
        }
    })
}

fn from_bytes(
    bytes: &[u8],
    dtype: DType,
    shape: &[usize],
) -> std::result::Result<HostArray, String> {
    let n: usize = shape.iter().product();
    fn arr<T: bytemuck::Pod>(
        bytes: &[u8],
        n: usize,
        shape: &[usize],
    ) -> std::result::Result<ndarray::ArrayD<T>, String> {
        let v = bytemuck::pod_collect_to_vec::<u8, T>(bytes);
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v[..n].to_vec())
            .map_err(|e| e.to_string())
    }
    Ok(match dtype {
        DType::F32 => HostArray::F32(arr(bytes, n, shape)?),
        DType::F64 => HostArray::F64(arr(bytes, n, shape)?),
        DType::F16 => HostArray::F16(arr::<half::f16>(bytes, n, shape)?),
        DType::I32 => HostArray::I32(arr(bytes, n, shape)?),
        DType::I64 => HostArray::I64(arr(bytes, n, shape)?),
        DType::U32 => HostArray::U32(arr(bytes, n, shape)?),
        DType::Bool => HostArray::Bool(arr::<u32>(bytes, n, shape)?.mapv(|v| v != 0)),
        other => return Err(format!("dtype {other} is not stored on wgpu devices yet")),
    })
}

impl Backend for WgpuBackend {
    fn device(&self) -> Device {
        Device::Wgpu(self.index)
    }

    fn describe(&self) -> String {
        format!("wgpu:{} {}", self.index, self.name)
    }

    fn plan(&self, op: &ChunkOp) -> std::result::Result<Plan, Decline> {
        let source = match op {
            ChunkOp::Map { expr, shape } => return self.plan_map(expr, shape).map(Plan::new),
            ChunkOp::Reduce {
                expr,
                shape,
                reduction,
                axes,
                arg,
                finalize,
            } => {
                return self
                    .plan_reduce(expr, shape, *reduction, axes, arg, finalize)
                    .map(Plan::new)
            }
            ChunkOp::Linalg {
                op: LinalgOp::MatMul { batch, m, k, n },
                dtype,
                ..
            } => self.plan_matmul(*dtype, *batch, *m, *k, *n)?,
            ChunkOp::Assemble { dtype, shape, .. } | ChunkOp::Take { dtype, shape, .. } => {
                self.plan_copy(*dtype, shape)?
            }
            ChunkOp::Combine {
                reduction,
                input_dtype,
                finalize,
            } => {
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
        if let ChunkOp::Combine {
            reduction,
            input_dtype,
            finalize,
        } = op
        {
            return self.combine(*reduction, *input_dtype, finalize, inputs);
        }
        let Some(Prepared { pipeline, tiling }) = plan.take::<Prepared>() else {
            return Err(self.fail(&op.name(), "run without a wgpu plan"));
        };
        let pipeline = pipeline?;
        let pipeline = pipeline.as_ref();
        if let ChunkOp::Reduce {
            expr,
            shape,
            reduction,
            axes,
            arg,
            finalize,
        } = op
        {
            return self.reduce(
                pipeline, expr, shape, *reduction, axes, arg, finalize, inputs,
            );
        }
        if let ChunkOp::Linalg {
            op: LinalgOp::MatMul { batch, m, k, n },
            dtype,
            shape,
        } = op
        {
            return self.matmul(pipeline, *dtype, (*batch, *m, *k, *n), shape, inputs);
        }
        if let ChunkOp::Assemble {
            dtype,
            shape,
            pieces,
        } = op
        {
            let boxes = pieces
                .iter()
                .map(|p| CopyBox {
                    slot: p.slot,
                    src: p.src_start.clone(),
                    dst: p.dst_start.clone(),
                    shape: p.shape.clone(),
                })
                .collect();
            return self.copy(pipeline, *dtype, shape, boxes, inputs);
        }
        if let ChunkOp::Take {
            dtype,
            shape,
            axis,
            picks,
        } = op
        {
            // Runs of consecutive indices from one input become one box each.
            let mut boxes: Vec<CopyBox> = vec![];
            for (i, &(slot, j)) in picks.iter().enumerate() {
                if let Some(last) = boxes.last_mut() {
                    if last.slot == slot
                        && last.src[*axis] + last.shape[*axis] == j
                        && last.dst[*axis] + last.shape[*axis] == i
                    {
                        last.shape[*axis] += 1;
                        continue;
                    }
                }
                let mut src = vec![0; shape.len()];
                let mut dst = vec![0; shape.len()];
                let mut bshape = shape.clone();
                src[*axis] = j;
                dst[*axis] = i;
                bshape[*axis] = 1;
                boxes.push(CopyBox {
                    slot,
                    src,
                    dst,
                    shape: bshape,
                });
            }
            return self.copy(pipeline, *dtype, shape, boxes, inputs);
        }
        let ChunkOp::Map { expr, shape } = op else {
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

impl WgpuBackend {
    fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        tiling: Option<&Tiling>,
        expr: &FusedExpr,
        shape: &[usize],
        inputs: &[&Buffer],
        out: &wgpu::Buffer,
    ) -> Result<()> {
        let total: usize = shape.iter().product();
        let meta = self.meta(expr, shape);
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

    fn launch(
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

    /// Copies every buffer into a staging buffer in one submit, waits once, and decodes.
    fn download_now(&self, bufs: &[&Buffer]) -> Result<Vec<Chunk>> {
        let gbufs: Vec<&GpuBuf> = bufs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        self.reclaim();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let staged: Vec<(PooledBuffer, u64)> = gbufs
            .iter()
            .map(|b| {
                let parts = b.partial.map_or(1, |r| r.partial_parts());
                let n: usize = b.shape.iter().product::<usize>() * parts;
                // Bools are stored as u32; everything else at its own width.
                let width = if b.dtype == DType::Bool {
                    4
                } else {
                    b.dtype.size()
                };
                let size = (n * width).next_multiple_of(4).max(4) as u64;
                let staging = self.pool.take(
                    &self.device,
                    size,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                );
                enc.copy_buffer_to_buffer(&b.buffer, 0, &staging, 0, size);
                (staging, size)
            })
            .collect();
        self.enqueue(enc.finish());
        self.flush();
        let (tx, rx) = std::sync::mpsc::channel();
        for (staging, size) in &staged {
            let tx = tx.clone();
            staging
                .slice(..*size)
                .map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send(r);
                });
        }
        drop(tx);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.fail("download", e.to_string()))?;
        for r in rx.iter() {
            r.map_err(|e| self.fail("download", e.to_string()))?;
        }
        gbufs
            .iter()
            .zip(&staged)
            .map(|(b, (staging, size))| {
                let bytes = staging
                    .slice(..*size)
                    .get_mapped_range()
                    .map_err(|e| self.fail("download", format!("{e:?}")))?
                    .to_vec();
                staging.unmap();
                self.decode(b, bytes)
            })
            .collect()
    }

    /// A downloaded buffer's bytes as a host chunk (partials in the CPU's f64 layout).
    fn decode(&self, b: &GpuBuf, bytes: Vec<u8>) -> Result<Chunk> {
        let parts = b.partial.map_or(1, |r| r.partial_parts());
        let n: usize = b.shape.iter().product::<usize>() * parts;
        let Some(red) = b.partial else {
            let arr =
                from_bytes(&bytes, b.dtype, &b.shape).map_err(|e| self.fail("download", e))?;
            return Ok(Chunk::dense(arr));
        };
        // A partial → the CPU's layout: f64 parts for float accumulators, i64 for integer
        // ones, arg indices as i64 (the u32::MAX "none yet" sentinel becomes -1).
        let m = n / parts;
        let dims = ndarray::IxDyn(&b.shape);
        let arg = matches!(red, Reduction::ArgMin | Reduction::ArgMax);
        let index = |u: u64| if u == u32::MAX as u64 { -1 } else { u as i64 };
        let ints = |v: Vec<i64>| {
            ndarray::ArrayD::from_shape_vec(dims.clone(), v)
                .map(HostArray::I64)
                .map_err(|e| self.fail("download", e.to_string()))
        };
        let floats = |v: Vec<f64>| {
            ndarray::ArrayD::from_shape_vec(dims.clone(), v)
                .map(HostArray::F64)
                .map_err(|e| self.fail("download", e.to_string()))
        };
        let mut out = vec![];
        for p in 0..parts {
            let r = p * m..(p + 1) * m;
            let is_idx = p == 1 && arg;
            out.push(match b.dtype {
                DType::I64 => {
                    let v = &bytemuck::pod_collect_to_vec::<u8, i64>(&bytes)[r];
                    if is_idx {
                        ints(v.iter().map(|&x| index(x as u64)).collect())?
                    } else {
                        ints(v.to_vec())?
                    }
                }
                // Indices were stored as raw bits: read them as u32, not through floats.
                DType::F32 if is_idx => ints(
                    bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[r]
                        .iter()
                        .map(|&u| index(u as u64))
                        .collect(),
                )?,
                DType::F32 => floats(
                    bytemuck::pod_collect_to_vec::<u8, f32>(&bytes)[r]
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                )?,
                _ => {
                    let v = &bytemuck::pod_collect_to_vec::<u8, f64>(&bytes)[r];
                    if is_idx {
                        ints(v.iter().map(|&x| index(x as u64)).collect())?
                    } else {
                        floats(v.to_vec())?
                    }
                }
            });
        }
        Ok(Chunk { parts: out })
    }

    fn upload_now(&self, chunk: Chunk) -> Result<Buffer> {
        if chunk.parts.len() != 1 {
            return Err(self.fail("upload", "only dense chunks live on wgpu devices"));
        }
        let a = chunk.array();
        let bytes = host_bytes(a).map_err(|e| self.fail("upload", e))?;
        let buffer = self.alloc_init(&bytes);
        Ok(self.wrap(buffer, a.dtype(), a.shape().to_vec()))
    }
}
