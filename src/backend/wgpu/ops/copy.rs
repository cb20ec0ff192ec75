//! Strided box copies behind take, rechunk and concatenate.

use super::super::{codegen, CopyBox, GpuBuf, WgpuBackend};
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
            let dst_strides = crate::chunks::c_strides(shape);
            self.scoped("copy", || {
                for b in &boxes {
                    let count: usize = b.shape.iter().product();
                    if count == 0 {
                        continue;
                    }
                    let input = ins
                        .get(b.slot)
                        .ok_or_else(|| self.fail("copy", "missing input"))?;
                    let ss = crate::chunks::c_strides(&input.shape);
                    let offset = |start: &[usize], strides: &[i64]| {
                        start
                            .iter()
                            .zip(strides)
                            .map(|(&x, &s)| x as i64 * s)
                            .sum::<i64>() as u32
                    };
                    let mut meta: Vec<u32> = vec![shape.len() as u32, count as u32];
                    meta.extend(b.shape.iter().map(|&x| x as u32));
                    meta.push(offset(&b.src, &ss));
                    meta.extend(ss.iter().map(|&x| x as u32));
                    meta.push(offset(&b.dst, &dst_strides));
                    meta.extend(dst_strides.iter().map(|&x| x as u32));
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
