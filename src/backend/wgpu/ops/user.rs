//! User kernels (`map_blocks_kernel`): the user's WGSL, compiled and cached by source
//! like the generated kernels, bound and dispatched by the contract `UserKernel`
//! documents.

use super::super::{codegen, WgpuBackend};
use crate::backend::{Buffer, Decline};
use crate::error::Result;
use crate::kernel::UserOp;

impl WgpuBackend {
    /// The user's WGSL for this block, or why it does not run here.
    pub(in crate::backend::wgpu) fn plan_user(
        &self,
        u: &UserOp,
    ) -> std::result::Result<(String, String), Decline> {
        let Some((src, entry)) = u
            .kernel
            .as_ref()
            .and_then(|k| k.wgsl.as_ref().map(|s| (s.clone(), k.entry.clone())))
        else {
            return Err(format!(
                "{} is host code (a function, not a WGSL kernel): it runs on the CPU",
                u.f.name()
            )
            .into());
        };
        // Every block the kernel binds must be one this adapter holds (an input it
        // cannot hold would fail its upload instead of running the CPU form).
        for d in std::iter::once(u.dtype).chain(u.info.inputs.iter().map(|i| i.dtype)) {
            codegen::storage_type(d, self.caps)?;
            // The binding contract gives a kernel arrays of elements, not packed words.
            codegen::no_packed_writes(d, "a user kernel")?;
        }
        let total: usize = u.shape.iter().product();
        if total * u.dtype.size().max(4) > self.limits.max_storage_buffer_binding_size as usize {
            return Err(Decline::size(
                "the output block exceeds the storage binding",
            ));
        }
        let max = self.limits.max_compute_workgroups_per_dimension as usize;
        if total.div_ceil(256) > max * max {
            return Err(Decline::size(
                "the output block needs more workgroups than a 2-d grid holds",
            ));
        }
        Ok((src, entry))
    }

    /// Runs the user's kernel on one block.
    pub(in crate::backend::wgpu) fn user(
        &self,
        pipeline: &wgpu::ComputePipeline,
        u: &UserOp,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = u.shape.iter().product();
        let out = self.alloc(total * u.dtype.size().max(4));
        if total == 0 {
            return Ok(self.wrap(out, u.dtype, u.shape.clone()));
        }
        let meta = crate::backend::codegen::user_dims(u);
        let max = self.limits.max_compute_workgroups_per_dimension as usize;
        let groups = total.div_ceil(256);
        let gx = groups.min(max);
        self.scoped("user kernel", || {
            self.launch(
                pipeline,
                &meta,
                (gx as u32, groups.div_ceil(gx) as u32),
                inputs,
                &out,
            )
        })?;
        Ok(self.wrap(out, u.dtype, u.shape.clone()))
    }
}
