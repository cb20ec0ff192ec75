//! Backends: one implementation per device kind, behind one trait.
//!
//! A backend owns its buffers (host memory for the CPU; device allocations for GPUs),
//! executes one [`ChunkOp`] at a time, and may decline an op it cannot run; the
//! scheduler then routes that task elsewhere and logs why. Moving data between devices
//! is an explicit `download` / `upload` step the scheduler plans.

mod cpu;
#[cfg(feature = "wgpu")]
mod wgpu;

#[cfg(feature = "wgpu")]
pub use self::wgpu::{adapters as wgpu_adapters, AdapterSummary, WgpuBackend};
pub use cpu::{map_chunk, CpuBackend};

use crate::error::Result;
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
    /// A CUDA device by ordinal (not built yet: falls back with a logged reason).
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

/// A buffer owned by a non-host device; the handle is opaque to everyone but its backend.
#[derive(Clone)]
pub struct DeviceBuffer {
    pub device: Device,
    pub bytes: usize,
    pub handle: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceBuffer({}, {} bytes)", self.device, self.bytes)
    }
}

/// A task's output, wherever it lives.
#[derive(Debug, Clone)]
pub enum Buffer {
    Host(Chunk),
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
/// use tessera::kernel::{Chunk, ChunkOp};
/// use std::sync::Arc;
/// let data = Arc::new(tessera::HostArray::from(ndarray::arr1(&[1.0, 2.0, 3.0]).into_dyn()));
/// let op = ChunkOp::Source { data, start: vec![1], shape: vec![2] };
/// let out = CpuBackend.execute(&op, &[]).unwrap();
/// assert_eq!(out.nbytes(), 16);
/// ```
pub trait Backend: Send + Sync {
    /// The device this backend drives.
    fn device(&self) -> Device;
    /// A one-line description for `tessera info` and logs.
    fn describe(&self) -> String;
    /// `Ok` when the backend can run `op`; otherwise the reason it declines.
    fn accepts(&self, op: &ChunkOp) -> std::result::Result<(), String>;
    /// Runs `op` on inputs that already live on this device.
    fn execute(&self, op: &ChunkOp, inputs: &[&Buffer]) -> Result<Buffer>;
    /// Copies a buffer of this device to host memory.
    fn download(&self, buf: &Buffer) -> Result<Chunk>;
    /// Copies host data onto this device.
    fn upload(&self, chunk: Chunk) -> Result<Buffer>;
}
