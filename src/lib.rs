//! # Tessera
//!
//! Lazy chunked n-dimensional arrays with a NumPy-like API. Operations build an
//! expression DAG; `compute()` lowers it to a graph of per-chunk tasks (fusing
//! elementwise chains, random generation and fills into one kernel per chunk), orders
//! them so memory is freed early, and runs them on a backend.
//!
//! ```
//! let x = tessera::random::uniform(&[2_000, 2_000], &[500, 500], 42)?;
//! let y = (&x + &x.t()).sum_axis(0).mean();
//! let v: f64 = y.compute_scalar()?;
//! assert!((v - 2_000.0).abs() < 10.0);
//! # Ok::<(), tessera::Error>(())
//! ```
#![warn(missing_docs)]

#[cfg(all(feature = "cuda", not(any(feature = "cuda-12", feature = "cuda-13"))))]
compile_error!("the cuda feature needs a CUDA version: enable cuda-12 (the default) or cuda-13");
#[cfg(all(feature = "cuda-12", feature = "cuda-13"))]
compile_error!("cuda-12 and cuda-13 exclude each other: build cuda-13 with --no-default-features --features wgpu,zarr,cuda-13");

pub mod array;
pub mod backend;
pub mod chunks;
pub mod distributed;
pub mod dtype;
pub mod error;
mod expr;
pub mod graph;
pub mod kernel;
mod multiversion;
pub mod philox;
pub mod sampling;
pub mod scheduler;
mod spill;
pub mod storage;
pub mod userfn;

pub use array::linalg;
pub use array::Operand;
pub use array::{
    arange, compute_all, compute_all_with, concatenate, eye, fftfreq, from_ndarray, from_npy,
    from_zarr, from_zarr_with, full, linspace, map_blocks, map_overlap, ones, random, rfftfreq,
    stack, where_, zeros, Array, Index,
};
pub use backend::Device;
pub use chunks::{ChunkGrid, Chunks};
pub use dtype::{Complex32, Complex64, DType, Element, HostArray, Scalar};
pub use error::{Error, Result};
pub use scheduler::{set_default_options, CancelToken, ComputeOptions, Scheduler};

/// Everything a typical program needs.
pub mod prelude {
    pub use crate::{Array, ComputeOptions, DType, Device, Index, Scheduler};
}
