//! The CUDA backend: kernels from `kernels/*.cu` and the shared codegen walk, compiled
//! by NVRTC at run time for the device's architecture.
//!
//! Rooms (the same as `wgpu/`): `codegen` (CUDA C from a fused expression), `compile`
//! (NVRTC, cubin or PTX).

pub mod codegen;
pub mod compile;
#[cfg(test)]
mod compile_tests;

pub use compile::nvrtc_present;
