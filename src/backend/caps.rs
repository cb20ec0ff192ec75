//! What a device can do, as values: an adapter's capabilities and limits, and the
//! kernel choices a device offers. Shared by the wgpu backend and its stand-in (builds
//! without the `wgpu` feature), so code outside `backend/` names one type either way.

/// What `tessera info` shows about one adapter.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// Its index (`Device::Wgpu(index)`).
    pub index: usize,
    /// The driver's name for it.
    pub name: String,
    /// The graphics API (Vulkan).
    pub backend: String,
    /// Discrete, integrated, virtual or CPU (software).
    pub device_type: String,
    /// A software rasteriser (lavapipe, SwiftShader): never chosen by `Device::Auto`.
    pub software: bool,
    /// SHADER_F64: f64 kernels.
    pub shader_f64: bool,
    /// SHADER_F16: f16 kernels.
    pub shader_f16: bool,
    /// SHADER_INT64: i64 data and exact integer reductions on the device.
    pub shader_i64: bool,
    /// Largest storage-buffer binding, in bytes (the chunk-size limit).
    pub max_storage_binding: u64,
    /// Largest buffer, in bytes.
    pub max_buffer: u64,
}

/// Which kernel a map over transposed inputs uses.
///
/// `Tiled` stages each transposed input through a 32×32 workgroup-memory tile, so both
/// its reads and the output's writes are contiguous: the standard choice on GPUs. On a
/// software adapter (lavapipe) workgroup barriers are expensive and strided reads are
/// merely cache misses, so there the direct kernel measured faster; `Auto` (the default)
/// picks `Tiled` on hardware adapters and `Direct` on software ones.
///
/// ```no_run
/// use tessera::backend::{TransposeKernel, WgpuBackend};
/// WgpuBackend::open(0).unwrap().set_transpose_kernel(TransposeKernel::Tiled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransposeKernel {
    #[default]
    /// Tiled on hardware adapters, direct on software ones.
    Auto,
    /// Always stage transposed inputs through workgroup tiles.
    Tiled,
    /// Always read transposed inputs directly (strided).
    Direct,
}

/// One CUDA device as `tessera info` lists it.
#[derive(Debug, Clone)]
pub struct CudaSummary {
    /// Its ordinal (`cuda:N`).
    pub ordinal: usize,
    /// The device's name.
    pub name: String,
    /// Compute capability (major, minor).
    pub capability: (i32, i32),
    /// Total device memory in bytes.
    pub memory: u64,
    /// Theoretical memory bandwidth in bytes/s (twice the memory clock times the bus
    /// width, from the driver's attributes); 0 when the driver does not say.
    pub bandwidth: f64,
}
