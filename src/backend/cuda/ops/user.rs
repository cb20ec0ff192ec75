//! User kernels (`map_blocks_kernel` with CUDA C): the user's source compiled by NVRTC
//! once per source and entry point, launched by the contract `UserKernel` documents.

use super::super::{CudaBackend, On};
use crate::backend::{Buffer, Decline, KernelKey};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::UserOp;
use cudarc::driver::{CudaFunction, PushKernelArg};

impl CudaBackend {
    /// The user's kernel for this block, or why it does not run here.
    pub(in crate::backend::cuda) fn plan_user(
        &self,
        u: &UserOp,
    ) -> std::result::Result<Result<CudaFunction>, Decline> {
        let Some(k) = u.kernel.as_ref().filter(|k| k.cuda.is_some()) else {
            return Err(format!(
                "{} has no CUDA C form (host code, or a WGSL kernel): it runs on the CPU",
                u.f.name()
            )
            .into());
        };
        // The output and every input block: each is a plain C array the kernel indexes.
        for d in std::iter::once(u.dtype).chain(u.info.inputs.iter().map(|i| i.dtype)) {
            if matches!(d, DType::Bool | DType::F16 | DType::BF16) {
                return Err(Decline::DType {
                    dtype: d,
                    reason:
                        "user CUDA kernels take numeric blocks of a C type (f32, f64, integers)"
                            .into(),
                });
            }
        }
        let source = k.cuda.clone().unwrap_or_default();
        let key = KernelKey::User {
            source: source.clone(),
            entry: k.entry.clone(),
        };
        self.kernel(key, &k.entry, || Ok(source))
    }
}

impl On<'_> {
    /// Runs the user's kernel on one block.
    pub(in crate::backend::cuda) fn user(
        &self,
        f: &CudaFunction,
        u: &UserOp,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let total: usize = u.shape.iter().product();
        let mut out = self.alloc(total * u.dtype.size())?;
        if total > 0 {
            let dims = crate::backend::codegen::user_dims(u);
            let m = self
                .stream
                .clone_htod(&dims)
                .map_err(|e| self.fail("user kernel", format!("{e:?}")))?;
            let ins = inputs
                .iter()
                .map(|b| self.buf(b))
                .collect::<Result<Vec<_>>>()?;
            let mut launch = self.stream.launch_builder(f);
            launch.arg(&m).arg(&mut out);
            for b in &ins {
                launch.arg(&b.data);
            }
            // SAFETY: the user's contract (`UserKernel`): (const int* dims, T* out, const T*
            // in…); `out` holds the block's `total` elements of the task's dtype and every
            // input its block; what the kernel reads past `dims` is the user's to keep in
            // bounds, as in any hand-written CUDA.
            unsafe { launch.launch(CudaBackend::cfg_1d(total)) }
                .map_err(|e| self.fail("user kernel", format!("{e:?}")))?;
        }
        Ok(self.wrap(out, u.dtype, u.shape.clone(), None))
    }
}
