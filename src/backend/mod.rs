//! Backends: one implementation per device kind, behind one trait.
//!
//! A backend owns its buffers (host memory for the CPU; device allocations for GPUs),
//! executes one [`ChunkOp`] at a time, and may decline an op it cannot run; the
//! scheduler then routes that task elsewhere and logs why. Moving data between devices
//! is an explicit `download` / `upload` step the scheduler plans.

mod cache;
mod caps;
pub(crate) mod codegen;
mod copybox;
mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(not(feature = "cuda"))]
#[path = "cuda_off.rs"]
mod cuda;
mod decline;
mod partial;
#[cfg(feature = "wgpu")]
mod wgpu;
#[cfg(not(feature = "wgpu"))]
#[path = "wgpu_off.rs"]
mod wgpu;

pub use self::wgpu::{adapters as wgpu_adapters, WgpuBackend};
pub use cache::{KernelCache, KernelKey};
pub use caps::{AdapterSummary, CudaSummary, TransposeKernel};
pub use cpu::{map_chunk, CpuBackend};
pub use cuda::{
    devices as cuda_devices, missing as cuda_missing, nvrtc_present as cuda_nvrtc_present,
    CudaBackend,
};
pub use decline::Decline;

use crate::error::{Error, Result};
use crate::kernel::{Chunk, ChunkOp};
use std::any::Any;
use std::sync::Arc;

/// Which device runs the chunks. Changing it changes nothing else in user code.
///
/// ```
/// use tessera::Device;
/// assert_eq!(Device::default(), Device::Auto);
/// assert_eq!(Device::Cpu.to_string(), "cpu");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// The best device present: CUDA, then a real (non-software) wgpu adapter, then CPU.
    #[default]
    Auto,
    /// The host CPU (rayon worker threads).
    Cpu,
    /// A wgpu (Vulkan) adapter by index; ops it has no kernel for run on the CPU, logged.
    Wgpu(usize),
    /// A CUDA device by ordinal; ops it has no kernel for run on the CPU, logged.
    Cuda(usize),
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Auto => write!(f, "auto"),
            Device::Cpu => write!(f, "cpu"),
            Device::Wgpu(i) => write!(f, "wgpu:{i}"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// Parses `auto`, `cpu`, `wgpu:N`, `wgpu:NAME` (the first adapter whose name contains
/// NAME, ignoring case — how a software adapter such as lavapipe is asked for by name)
/// and `cuda:N`.
///
/// ```
/// use tessera::Device;
/// assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
/// assert_eq!("wgpu:1".parse::<Device>().unwrap(), Device::Wgpu(1));
/// let e = "tpu".parse::<Device>().unwrap_err();
/// assert!(e.to_string().contains("auto, cpu, wgpu:N"));
/// ```
impl std::str::FromStr for Device {
    type Err = Error;

    fn from_str(s: &str) -> Result<Device> {
        let bad = |why: String| Error::arg("device", why);
        let spec = s.trim();
        match spec.to_ascii_lowercase().as_str() {
            "auto" => return Ok(Device::Auto),
            "cpu" => return Ok(Device::Cpu),
            _ => {}
        }
        if let Some(rest) = spec.strip_prefix("cuda:") {
            return rest.parse().map(Device::Cuda).map_err(|_| {
                bad(format!(
                    "{s:?}: a CUDA device is named by its ordinal, e.g. cuda:0"
                ))
            });
        }
        let Some(rest) = spec.strip_prefix("wgpu:") else {
            return Err(bad(format!(
                "unknown device {s:?}; use auto, cpu, wgpu:N, wgpu:NAME or cuda:N"
            )));
        };
        if let Ok(i) = rest.parse::<usize>() {
            return Ok(Device::Wgpu(i));
        }
        {
            let adapters = wgpu_adapters();
            let want = rest.to_ascii_lowercase();
            if let Some(a) = adapters
                .iter()
                .find(|a| a.name.to_ascii_lowercase().contains(&want))
            {
                return Ok(Device::Wgpu(a.index));
            }
            let names: Vec<String> = adapters
                .iter()
                .map(|a| format!("wgpu:{} {}", a.index, a.name))
                .collect();
            Err(bad(format!(
                "no wgpu adapter's name contains {rest:?}; found: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )))
        }
    }
}

/// Whether this build has the wgpu backend (the `wgpu` feature, on by default).
///
/// ```
/// let _ = tessera::backend::wgpu_built();
/// ```
pub fn wgpu_built() -> bool {
    cfg!(feature = "wgpu")
}

/// Opens the device backends `device` asks for, in the order the scheduler gives them
/// memory tiers (empty: the CPU alone). The one place that knows which backends this
/// build has.
///
/// ```
/// assert!(tessera::backend::open(tessera::Device::Cpu).unwrap().is_empty());
/// // Without a CUDA driver (or without the `cuda` feature) this is an error, not a panic.
/// if tessera::backend::cuda_devices().is_empty() {
///     assert!(tessera::backend::open(tessera::Device::Cuda(0)).is_err());
/// }
/// ```
pub fn open(device: Device) -> Result<Vec<Arc<dyn Backend>>> {
    match resolve(device) {
        Device::Cpu | Device::Auto => Ok(vec![]),
        Device::Wgpu(i) => Ok(vec![WgpuBackend::open(i)? as Arc<dyn Backend>]),
        Device::Cuda(i) => Ok(vec![CudaBackend::open(i)? as Arc<dyn Backend>]),
    }
}

/// The device `device` means, without opening it: `Auto` is CUDA device 0 when there is
/// one, else the first hardware wgpu adapter (never a software one such as lavapipe,
/// which is used only when asked for by index), else the CPU; any other device is itself.
///
/// ```
/// use tessera::Device;
/// assert_eq!(tessera::backend::resolve(Device::Cpu), Device::Cpu);
/// assert_ne!(tessera::backend::resolve(Device::Auto), Device::Auto);
/// ```
pub fn resolve(device: Device) -> Device {
    if device != Device::Auto {
        return device;
    }
    if let Some(d) = cuda_devices().first() {
        return Device::Cuda(d.ordinal);
    }
    match wgpu_adapters().into_iter().find(|a| !a.software) {
        Some(a) => Device::Wgpu(a.index),
        None => Device::Cpu,
    }
}

/// A buffer owned by a non-host device; the handle is opaque to everyone but its backend.
#[derive(Clone)]
pub struct DeviceBuffer {
    /// The device that owns it.
    pub device: Device,
    /// Bytes it holds.
    pub bytes: usize,
    /// The owning backend's own handle.
    pub handle: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceBuffer({}, {} bytes)", self.device, self.bytes)
    }
}

/// The handle of type `T` behind `b` when `b` lives on `device`, else why not: how a
/// device backend reads its own buffers.
#[cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(dead_code))]
pub(crate) fn device_handle<T: Any>(b: &Buffer, device: Device) -> std::result::Result<&T, String> {
    match b {
        Buffer::Device(d) if d.device == device => d
            .handle
            .downcast_ref::<T>()
            .ok_or_else(|| "foreign buffer handle".to_string()),
        other => Err(format!(
            "input lives on {}; the scheduler must upload it first",
            other.device()
        )),
    }
}

/// A task's output, wherever it lives.
#[derive(Debug, Clone)]
pub enum Buffer {
    /// A chunk in host memory.
    Host(Chunk),
    /// A buffer on a device.
    Device(DeviceBuffer),
}

impl Buffer {
    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match self {
            Buffer::Host(c) => c.nbytes(),
            Buffer::Device(d) => d.bytes,
        }
    }

    /// The device the bytes live on.
    pub fn device(&self) -> Device {
        match self {
            Buffer::Host(_) => Device::Cpu,
            Buffer::Device(d) => d.device,
        }
    }
}

/// One device kind's implementation of every chunk op.
///
/// ```
/// use tessera::backend::{Backend, Buffer, CpuBackend};
/// use tessera::kernel::{Chunk, ChunkOp, SourceOp};
/// use std::sync::Arc;
/// let data: Arc<dyn tessera::storage::ChunkSource> =
///     Arc::new(tessera::HostArray::from(ndarray::arr1(&[1.0, 2.0, 3.0]).into_dyn()));
/// let op = ChunkOp::Source(SourceOp { data, start: vec![1], shape: vec![2] });
/// let out = CpuBackend.execute(&op, &[]).unwrap();
/// assert_eq!(out.nbytes(), 16);
/// ```
pub trait Backend: Send + Sync {
    /// The device this backend drives.
    fn device(&self) -> Device;
    /// A one-line description for `tessera info` and logs.
    fn describe(&self) -> String;
    /// A [`Plan`] when the backend can run `op`; otherwise why it declines, by kind.
    fn plan(&self, op: &ChunkOp) -> std::result::Result<Plan, Decline>;
    /// Runs `op`, as `plan` prepared it, on inputs that already live on this device.
    fn run(&self, op: &ChunkOp, plan: Plan, inputs: &[&Buffer]) -> Result<Buffer>;
    /// Plans and runs `op` (a declined op is an [`Error::Backend`] naming the reason).
    fn execute(&self, op: &ChunkOp, inputs: &[&Buffer]) -> Result<Buffer> {
        let plan = self.plan(op).map_err(|d| Error::Backend {
            device: self.device().to_string(),
            op: op.name(),
            reason: d.to_string(),
        })?;
        self.run(op, plan, inputs)
    }
    /// Copies a buffer of this device to host memory.
    fn download(&self, buf: &Buffer) -> Result<Chunk>;
    /// Copies many buffers to host memory; a device backend overrides this to wait once
    /// for all of them instead of once per buffer.
    fn download_many(&self, bufs: &[&Buffer]) -> Result<Vec<Chunk>> {
        bufs.iter().map(|b| self.download(b)).collect()
    }
    /// Copies host data onto this device.
    fn upload(&self, chunk: Chunk) -> Result<Buffer>;
    /// Bytes of memory the device has for buffers, when it reports it (the scheduler's
    /// default device limit is 0.8 of this). wgpu does not; the CPU's memory is the
    /// host tier, not a device.
    fn memory_bytes(&self) -> Option<u64> {
        None
    }
}

/// What a backend worked out while deciding it can run a task (the wgpu backend keeps
/// the compiled pipeline here), handed to [`Backend::run`] so that work is not repeated.
///
/// ```
/// use tessera::backend::Plan;
/// let p = Plan::new(42u32);
/// assert_eq!(p.take::<u32>(), Some(42));
/// assert!(Plan::empty().take::<u32>().is_none());
/// ```
#[derive(Default)]
pub struct Plan(Option<Box<dyn Any + Send + Sync>>);

impl Plan {
    /// A plan that carries nothing (the CPU backend needs nothing more than the op).
    pub fn empty() -> Plan {
        Plan(None)
    }

    /// A plan carrying `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> Plan {
        Plan(Some(Box::new(value)))
    }

    /// The carried value, if it is a `T`.
    pub fn take<T: Any>(self) -> Option<T> {
        self.0.and_then(|b| b.downcast::<T>().ok()).map(|b| *b)
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Plan({})",
            if self.0.is_some() {
                "prepared"
            } else {
                "empty"
            }
        )
    }
}
