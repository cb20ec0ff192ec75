//! The CPU kernels by op family, as in every backend folder: fused maps (`map.rs`, on the
//! typed tile registers of `regs.rs`, with the multi-step definitions in `scalar.rs` and
//! the complex ones in `complex.rs`), reductions, copies, Fourier transforms and dense linear algebra;
//! `CpuBackend::run` in `mod.rs` picks among them.

pub(super) mod complex;
pub(super) mod copy;
pub(super) mod fft;
pub(super) mod linalg;
pub(super) mod map;
pub(super) mod reduce;
pub(super) mod regs;
pub(super) mod scalar;
pub(super) mod scan;
pub(super) mod stacked;
pub(super) mod user;
