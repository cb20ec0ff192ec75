//! Stand-in for the wgpu backend in builds without the `wgpu` feature: there are no
//! adapters, and opening one is an error that says how to get it.
//!
//! Why a stand-in (as candle's `dummy_cuda_backend.rs`): code outside `backend/` names
//! `WgpuBackend` and `wgpu_adapters()` the same way in every build, with no `cfg`.
//! `WgpuBackend` here has no values, so none of its methods can ever be called.

use super::caps::{AdapterSummary, TransposeKernel};
use super::{Backend, Buffer, Decline, Device, Plan};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, ChunkOp};
use std::sync::Arc;

/// No adapters: this build has no wgpu backend.
pub fn adapters() -> Vec<AdapterSummary> {
    vec![]
}

/// The wgpu backend of builds without it: it cannot be opened.
#[derive(Debug)]
pub enum WgpuBackend {}

impl WgpuBackend {
    /// Always an error naming the missing feature.
    pub fn open(index: usize) -> Result<Arc<WgpuBackend>> {
        Err(Error::arg(
            "device",
            format!("wgpu:{index}: this build has no wgpu backend; build with the `wgpu` feature (on by default)"),
        ))
    }

    /// Never called: there is no `WgpuBackend` value.
    pub fn set_transpose_kernel(&self, _k: TransposeKernel) {
        match *self {}
    }

    /// Never called: there is no `WgpuBackend` value.
    pub fn transpose_kernel(&self) -> TransposeKernel {
        match *self {}
    }

    /// Never called: there is no `WgpuBackend` value.
    pub fn pooled_bytes(&self) -> u64 {
        match *self {}
    }

    /// Never called: there is no `WgpuBackend` value.
    pub fn buffers_created(&self) -> u64 {
        match *self {}
    }
}

impl Backend for WgpuBackend {
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
