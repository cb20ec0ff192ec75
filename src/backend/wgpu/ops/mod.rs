//! The wgpu kernels by op family, each planning its kernel (or declining) and running
//! it; `WgpuBackend::plan` and `run` in `mod.rs` pick among them.

mod copy;
mod fft;
mod map;
mod matmul;
mod reduce;
mod user;
