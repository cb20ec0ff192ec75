//! The tiled matmul kernel (f32, f64 where the adapter has it; batched).

use super::super::{GpuBuf, WgpuBackend};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::Result;

impl WgpuBackend {
    /// Why a matrix product cannot run here, or its WGSL source.
    pub(in crate::backend::wgpu) fn plan_matmul(
        &self,
        dtype: DType,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
    ) -> std::result::Result<String, Decline> {
        let scalar = match dtype {
            DType::F32 => "f32",
            DType::F64 if self.caps.f64 => "f64",
            other => {
                return Err(Decline::DType {
                    dtype: other,
                    reason: format!("matmul of {other} runs on the CPU"),
                })
            }
        };
        let max = self.limits.max_storage_buffer_binding_size as usize;
        for (what, len) in [
            ("a", batch * m * k),
            ("b", batch * k * n),
            ("c", batch * m * n),
        ] {
            if len * dtype.size() > max {
                return Err(Decline::size(format!("matmul operand {what} exceeds the {max}-byte storage binding; use smaller chunks")));
            }
        }
        let limit = self.limits.max_compute_workgroups_per_dimension as usize;
        if n.div_ceil(64) > limit || m.div_ceil(64) > limit || batch > limit {
            return Err(Decline::size("matmul grid exceeds the dispatch limits"));
        }
        Ok(include_str!("../../../../shaders/matmul.wgsl").replace("SCALAR", scalar))
    }

    pub(in crate::backend::wgpu) fn matmul(
        &self,
        pipeline: &wgpu::ComputePipeline,
        dtype: DType,
        (batch, m, k, n): (usize, usize, usize, usize),
        shape: &[usize],
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let out = self.alloc(batch * m * n * dtype.size());
        for b in inputs {
            if self.buf(b)?.dtype != dtype {
                return Err(self.fail("matmul", "operand dtype differs from the product's"));
            }
        }
        if batch * m * n > 0 {
            let dims = [batch as u32, m as u32, k as u32, n as u32];
            let dims_buf = self.alloc_init(bytemuck::cast_slice(&dims));
            self.scoped("matmul", || {
                let ins: Vec<&GpuBuf> =
                    inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
                let grid = (n.div_ceil(64) as u32, m.div_ceil(64) as u32, batch as u32);
                self.run_kernel(
                    pipeline,
                    &[&dims_buf, &out, &ins[0].buffer, &ins[1].buffer],
                    grid,
                );
                Ok(())
            })?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec()))
    }
}
