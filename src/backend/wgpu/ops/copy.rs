//! Strided box copies behind take, rechunk and concatenate.

use super::super::{codegen, GpuBuf, WgpuBackend};
use crate::backend::copybox::{box_meta, CopyBox};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::Result;

impl WgpuBackend {
    /// Why a copy of `dtype` chunks cannot run here, or its WGSL source.
    pub(in crate::backend::wgpu) fn plan_copy(
        &self,
        dtype: DType,
        shape: &[usize],
    ) -> std::result::Result<String, Decline> {
        let caps = self.caps;
        codegen::no_packed_writes(dtype, "a copy")?;
        let scalar = codegen::storage_type(dtype, caps)?;
        let total: usize = shape.iter().product();
        if total * dtype.size().max(4) > self.limits.max_storage_buffer_binding_size as usize
            || total > u32::MAX as usize
        {
            return Err(Decline::size("copy target exceeds the storage binding"));
        }
        let enable = if dtype == DType::F16 {
            "enable f16;\n"
        } else {
            ""
        };
        Ok(format!(
            "{enable}{}",
            include_str!("../../../../shaders/copy.wgsl").replace("SCALAR", scalar)
        ))
    }

    pub(in crate::backend::wgpu) fn copy(
        &self,
        pipeline: &wgpu::ComputePipeline,
        dtype: DType,
        shape: &[usize],
        boxes: Vec<CopyBox>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = shape.iter().product();
        let out = self.alloc(total * dtype.size().max(4));
        if total > 0 {
            let ins: Vec<&GpuBuf> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
            self.scoped("copy", || {
                for b in &boxes {
                    let count: usize = b.shape.iter().product();
                    if count == 0 {
                        continue;
                    }
                    let input = ins
                        .get(b.slot)
                        .ok_or_else(|| self.fail("copy", "missing input"))?;
                    let meta = box_meta(b, &input.shape, shape);
                    let mbuf = self.alloc_init(bytemuck::cast_slice(&meta));
                    self.run_kernel(
                        pipeline,
                        &[&mbuf, &out, &input.buffer],
                        self.groups_1d(count),
                    );
                }
                Ok(())
            })?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec()))
    }
}
