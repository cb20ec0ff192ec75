//! Fused elementwise maps: checking that a chunk fits one kernel, and planning the
//! generated kernel (direct, or through workgroup tiles for transposed inputs).

use super::super::{codegen, Prepared, WgpuBackend};
use crate::backend::caps::TransposeKernel;
use crate::backend::codegen::{check_leaf_ranges, exact_f64_params};
use crate::backend::{Decline, KernelKey};
use crate::kernel::FusedExpr;

impl WgpuBackend {
    /// Why `expr` over `shape` cannot run here, or its kernel and tiling (see
    /// [`TransposeKernel`]).
    pub(in crate::backend::wgpu) fn plan_map(
        &self,
        expr: &FusedExpr,
        shape: &[usize],
    ) -> std::result::Result<Prepared, Decline> {
        self.check_map(expr, shape)?;
        let tiled = match self.transpose_kernel() {
            TransposeKernel::Tiled => true,
            TransposeKernel::Direct => false,
            TransposeKernel::Auto => !self.software,
        };
        let budget = self.limits.max_compute_workgroup_storage_size as usize;
        let tiling = tiled
            .then(|| codegen::transpose_tiling(expr, shape, self.caps, budget))
            .flatten();
        let key = KernelKey::Map {
            ndim: shape.len(),
            tiling: tiling.as_ref().map(|t| (t.axis, t.leaves.clone())),
            expr: expr.structure_key(),
            exact: exact_f64_params(expr),
        };
        let pipeline = self.kernel(key, || {
            codegen::map_source(expr, shape.len(), self.caps, tiling.as_ref())
        })?;
        Ok(Prepared { pipeline, tiling })
    }

    /// Why `expr` over `shape` cannot run here (sizes and index ranges).
    pub(in crate::backend::wgpu) fn check_map(
        &self,
        expr: &FusedExpr,
        shape: &[usize],
    ) -> std::result::Result<(), Decline> {
        let total: usize = shape.iter().product();
        let max = self.limits.max_storage_buffer_binding_size as usize;
        if total * expr.dtype().size().max(4) > max {
            return Err(Decline::size(format!("chunk of {total} elements exceeds the {max}-byte storage binding; use smaller chunks")));
        }
        if total > i32::MAX as usize {
            return Err(Decline::size("chunk has more than 2³¹ elements"));
        }
        check_leaf_ranges(expr, shape)?;
        if expr.num_inputs() + 2 > self.limits.max_storage_buffers_per_shader_stage as usize {
            return Err(Decline::size("too many inputs for one kernel"));
        }
        Ok(())
    }
}
