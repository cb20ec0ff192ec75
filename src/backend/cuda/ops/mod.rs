//! The CUDA kernels by op family: plan (check, generate, compile) and run (launch).

mod copy;
mod linalg;
mod map;
mod matmul;
mod reduce;
mod user;

/// Device pointers of up to 16 inputs, passed by value (`TsrInputs` in
/// `kernels/common.cu`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct Inputs(pub [u64; 16]);

// SAFETY: a plain C struct of sixteen 64-bit device addresses, as the kernels declare it.
unsafe impl cudarc::driver::DeviceRepr for Inputs {}
