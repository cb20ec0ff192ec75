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
mod devices;
mod partial;
mod peer;
mod report;
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
pub use devices::{local_rank, open, open_all, parse_devices, resolve, wgpu_built, Device, Opened};
pub use peer::{PeerChunk, PeerCollectives, PeerLink};
pub use report::device_lines;

use crate::error::{Error, Result};
use crate::kernel::{Chunk, ChunkOp};
use std::any::Any;
use std::sync::Arc;

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
    /// This device's direct link to the same kind of device on other ranks (NCCL for
    /// CUDA, in builds with the `nccl` feature), if it has one.
    fn peers(&self) -> Option<&dyn PeerLink> {
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
