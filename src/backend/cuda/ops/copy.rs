//! Strided box copies behind take, rechunk and concatenate (one kernel per element
//! size, from `kernels/copy.cu`).

use super::super::{CudaBackend, On};
use crate::backend::copybox::{assemble_boxes, box_meta, take_boxes, CopyBox};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::{AssembleOp, TakeOp};
use cudarc::driver::PushKernelArg;

impl CudaBackend {
    /// Why a copy into a `shape` chunk cannot run here (its `cmeta` words are u32).
    pub(in crate::backend::cuda) fn plan_copy(
        &self,
        _dtype: DType,
        shape: &[usize],
    ) -> std::result::Result<(), Decline> {
        let total: usize = shape.iter().product();
        if total > u32::MAX as usize {
            return Err(Decline::size("copy target has more than 2³² elements"));
        }
        Ok(())
    }
}

impl On<'_> {
    pub(in crate::backend::cuda) fn assemble(
        &self,
        op: &AssembleOp,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        self.copy(op.dtype, &op.shape, assemble_boxes(op), inputs)
    }

    pub(in crate::backend::cuda) fn take(&self, op: &TakeOp, inputs: &[&Buffer]) -> Result<Buffer> {
        self.copy(op.dtype, &op.shape, take_boxes(op), inputs)
    }

    fn copy(
        &self,
        dtype: DType,
        shape: &[usize],
        boxes: Vec<CopyBox>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = shape.iter().product();
        let mut out = self.alloc(total * dtype.size())?;
        let f = self.fixed_kernel(&format!("tsr_copy_{}", dtype.size()))?;
        for b in &boxes {
            let count: usize = b.shape.iter().product();
            if count == 0 {
                continue;
            }
            let input = self.buf(
                inputs
                    .get(b.slot)
                    .ok_or_else(|| self.fail("copy", format!("input {} missing", b.slot)))?,
            )?;
            if input.dtype != dtype {
                return Err(self.fail(
                    "copy",
                    format!("input holds {}, the copy moves {dtype}", input.dtype),
                ));
            }
            let m = self
                .stream
                .clone_htod(&box_meta(b, &input.shape, shape))
                .map_err(|e| self.fail("copy", format!("{e:?}")))?;
            let cfg = CudaBackend::cfg_1d(count);
            // SAFETY: parameters (const u32* cmeta, T* dst, const T* src) with T of the
            // dtype's width; the box lies inside both the input and the output shapes
            // (the graph built it so), which `cmeta` describes.
            unsafe {
                self.stream
                    .launch_builder(&f)
                    .arg(&m)
                    .arg(&mut out)
                    .arg(&input.data)
                    .launch(cfg)
            }
            .map_err(|e| self.fail("copy", format!("{e:?}")))?;
        }
        Ok(self.wrap(out, dtype, shape.to_vec(), None))
    }
}
