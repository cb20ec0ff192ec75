//! Stand-in for the CUDA backend in builds without the `cuda` feature: no devices, and
//! opening one is an error that says how to get it.
//!
//! Why a stand-in (as candle's `dummy_cuda_backend.rs`): code outside `backend/` names
//! `CudaBackend` and `cuda_devices()` the same way in every build, with no `cfg`.
//! `CudaBackend` here has no values, so none of its methods can ever be called.

use super::caps::CudaSummary;
use super::{Backend, Buffer, Decline, Device, Plan};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, ChunkOp};
use std::sync::Arc;

/// Always false: this build has no CUDA backend.
pub fn nvrtc_present() -> bool {
    false
}

/// No devices: this build has no CUDA backend.
pub fn devices() -> Vec<CudaSummary> {
    vec![]
}

/// Why no CUDA device can be used: this build has none.
pub fn missing() -> Option<String> {
    Some("this build has no CUDA backend (build with the `cuda` feature)".into())
}

/// The CUDA backend of builds without it: it cannot be opened.
#[derive(Debug)]
pub enum CudaBackend {}

impl CudaBackend {
    /// Always an error naming the missing feature.
    pub fn open(ordinal: usize) -> Result<Arc<CudaBackend>> {
        Err(Error::arg(
            "device",
            format!(
                "cuda:{ordinal}: this build has no CUDA backend; build with the `cuda` feature"
            ),
        ))
    }
}

impl Backend for CudaBackend {
    fn device(&self) -> Device {
        match *self {}
    }
    fn describe(&self) -> String {
        match *self {}
    }
    fn plan(&self, _op: &ChunkOp) -> std::result::Result<Plan, Decline> {
        match *self {}
    }
    fn run(&self, _op: &ChunkOp, _plan: Plan, _inputs: &[&Buffer]) -> Result<Buffer> {
        match *self {}
    }
    fn download(&self, _buf: &Buffer) -> Result<Chunk> {
        match *self {}
    }
    fn upload(&self, _chunk: Chunk) -> Result<Buffer> {
        match *self {}
    }
}
