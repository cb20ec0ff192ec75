//! Adapter discovery and opening a device: one wgpu instance and adapter list per
//! process, one `WgpuBackend` per adapter (shared by every compute), and the settings
//! and counters a caller may read or change on it.

use super::codegen::Caps;
use super::WgpuBackend;
use crate::backend::caps::{AdapterSummary, TransposeKernel};
use crate::backend::KernelCache;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub(in crate::backend::wgpu) fn instance() -> &'static wgpu::Instance {
    static INSTANCE: OnceLock<wgpu::Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::VULKAN;
        wgpu::Instance::new(desc)
    })
}

pub(in crate::backend::wgpu) fn raw_adapters() -> &'static Vec<wgpu::Adapter> {
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

pub(in crate::backend::wgpu) fn summarize() -> Vec<AdapterSummary> {
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
            plans: KernelCache::default(),
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
}
