//! Fused elementwise maps: one generated kernel per structure, a grid-stride loop.

use super::super::{codegen, CudaBackend, On};
use super::Inputs;
use crate::backend::codegen::{check_leaf_ranges, exact_f64_params, meta};
use crate::backend::{Buffer, Decline, KernelKey};
use crate::error::Result;
use crate::kernel::{FusedExpr, LeafSource};
use cudarc::driver::{CudaFunction, CudaSlice, DevicePtr, LaunchConfig, PushKernelArg};

impl CudaBackend {
    /// Why `expr` over `shape` cannot run here, or its kernel.
    pub(in crate::backend::cuda) fn plan_map(
        &self,
        expr: &FusedExpr,
        shape: &[usize],
    ) -> std::result::Result<Result<CudaFunction>, Decline> {
        check_map(expr, shape)?;
        let key = KernelKey::Map {
            ndim: shape.len(),
            tiling: None,
            expr: expr.structure_key(),
            exact: exact_f64_params(expr),
        };
        self.kernel(key, "tsr_map", || codegen::map_source(expr, shape.len()))
    }
}

impl On<'_> {
    /// Launches a generated kernel `(const int* tmeta, T* out, TsrInputs in)` of `expr`
    /// (a map or a reduction partial) on `inputs`.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::backend::cuda) fn launch_fused(
        &self,
        what: &str,
        f: &CudaFunction,
        tmeta: &[i32],
        out: &mut CudaSlice<u8>,
        expr: &FusedExpr,
        inputs: &[&Buffer],
        cfg: LaunchConfig,
    ) -> Result<()> {
        let ins = self.inputs(expr, inputs)?;
        let m = self
            .stream
            .clone_htod(tmeta)
            .map_err(|e| self.fail(what, format!("{e:?}")))?;
        // SAFETY: generated kernels take (const int* tmeta, T* out, TsrInputs); the caller
        // sized `out` for the kernel's output, every input pointer was checked to hold
        // the dtype its leaf reads, and `check_map` bounded every leaf's index range.
        unsafe {
            self.stream
                .launch_builder(f)
                .arg(&m)
                .arg(out)
                .arg(&ins)
                .launch(cfg)
        }
        .map(|_| ())
        .map_err(|e| self.fail(what, format!("{e:?}")))
    }

    /// The device pointers of `inputs`, checked against the dtypes `expr` reads.
    pub(in crate::backend::cuda) fn inputs(
        &self,
        expr: &FusedExpr,
        inputs: &[&Buffer],
    ) -> Result<Inputs> {
        let mut ptrs = Inputs::default();
        for leaf in &expr.leaves {
            if let LeafSource::Input(slot) = leaf.source {
                let b = self.buf(
                    inputs
                        .get(slot)
                        .ok_or_else(|| self.fail("map", format!("input {slot} missing")))?,
                )?;
                if b.dtype != leaf.dtype || b.partial.is_some() {
                    return Err(self.fail(
                        "map",
                        format!(
                            "input {slot} holds {} where the kernel reads {}",
                            b.dtype, leaf.dtype
                        ),
                    ));
                }
                let (ptr, _sync) = b.data.device_ptr(self.stream);
                ptrs.0[slot] = ptr;
            }
        }
        Ok(ptrs)
    }

    pub(in crate::backend::cuda) fn map(
        &self,
        f: &CudaFunction,
        expr: &FusedExpr,
        shape: &[usize],
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = shape.iter().product();
        let dtype = expr.dtype();
        let mut out = self.alloc(total * dtype.size())?;
        if total > 0 {
            let m = meta(expr, shape);
            self.launch_fused(
                "map",
                f,
                &m,
                &mut out,
                expr,
                inputs,
                CudaBackend::cfg_1d(total),
            )?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec(), None))
    }
}

/// Why `expr` over `shape` cannot run in one kernel: `meta` holds i32 words, so chunk
/// sizes, leaf offsets and spans stay below 2³¹ (as on wgpu).
pub(in crate::backend::cuda) fn check_map(
    expr: &FusedExpr,
    shape: &[usize],
) -> std::result::Result<(), Decline> {
    let total: usize = shape.iter().product();
    if total > i32::MAX as usize {
        return Err(Decline::size("chunk has more than 2³¹ elements"));
    }
    if shape.len() > crate::backend::codegen::MAX_NDIM {
        return Err(Decline::size(format!(
            "{} dimensions (kernels handle up to {})",
            shape.len(),
            crate::backend::codegen::MAX_NDIM
        )));
    }
    check_leaf_ranges(expr, shape)
}
