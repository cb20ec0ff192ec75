//! Reductions: a partial per chunk (a block tree, or a thread per output), and the
//! combine of partials that stays on the device up to the result.

use super::super::{codegen, CudaBackend, On};
use super::map::check_map;
use super::Inputs;
use crate::backend::codegen::{exact_f64_params, reduce_meta, serial_reduction, stride_span};
use crate::backend::partial::check_combine;
use crate::backend::{Buffer, Decline, KernelKey};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::{Finalize, ReduceOp, Reduction};
use cudarc::driver::{CudaFunction, DevicePtr, PushKernelArg};

/// Most partials one combine kernel merges (`TsrInputs` holds 16 pointers).
const GROUP: usize = 16;

impl CudaBackend {
    /// Why a reduction partial cannot run here, or its kernel.
    pub(in crate::backend::cuda) fn plan_reduce(
        &self,
        op: &ReduceOp,
    ) -> std::result::Result<Result<CudaFunction>, Decline> {
        let (expr, shape, red) = (&op.expr, &op.shape[..], op.reduction);
        check_map(expr, shape)?;
        let (_, reach) = stride_span(&op.arg.strides, shape);
        if matches!(red, Reduction::ArgMin | Reduction::ArgMax)
            && op.arg.base + reach >= u32::MAX as i64
        {
            return Err(Decline::size("arg index beyond 32 bits"));
        }
        let serial = serial_reduction(shape, &op.axes);
        let fin = op.finalize.as_ref().map(|f| f.dtype);
        let key = KernelKey::Reduce {
            ndim: shape.len(),
            serial,
            reduction: red,
            finalize: fin,
            expr: expr.structure_key(),
            exact: exact_f64_params(expr),
        };
        self.kernel(key, "tsr_reduce", || {
            codegen::reduce_source(expr, shape.len(), red, fin, serial)
        })
    }

    /// The kernel merging partials of `red` over `d` values (finalizing to `fin`).
    pub(in crate::backend::cuda) fn combine_kernel(
        &self,
        red: Reduction,
        d: DType,
        fin: Option<DType>,
    ) -> std::result::Result<Result<CudaFunction>, Decline> {
        // One kernel takes any number of partials up to GROUP (a run-time argument).
        let key = KernelKey::Combine {
            reduction: red,
            dtype: d,
            take: GROUP,
            finalize: fin,
        };
        self.kernel(key, "tsr_combine", || codegen::combine_source(red, d, fin))
    }
}

impl On<'_> {
    pub(in crate::backend::cuda) fn reduce(
        &self,
        f: &CudaFunction,
        op: &ReduceOp,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let red = op.reduction;
        let (meta, acc_shape, nout, _) = reduce_meta(op);
        let acc = codegen::acc_dtype(red, op.expr.dtype());
        let (dtype, out_shape, parts) = match &op.finalize {
            Some(f) => (f.dtype, f.shape.clone(), 1),
            None => (acc, acc_shape, red.partial_parts()),
        };
        let mut out = self.alloc(nout * parts * dtype.size())?;
        if nout > 0 {
            let grid = if serial_reduction(&op.shape, &op.axes) {
                (CudaBackend::grid_1d(nout), 1, 1)
            } else {
                let gx = nout.min(65_535);
                (gx as u32, nout.div_ceil(gx) as u32, 1)
            };
            self.launch_fused(
                "reduce",
                f,
                &meta,
                &mut out,
                &op.expr,
                inputs,
                CudaBackend::cfg(grid),
            )?;
        }
        let partial = op.finalize.is_none().then_some(red);
        Ok(self.wrap(out, dtype, out_shape, partial))
    }

    /// Merges device partials in input order, GROUP at a time (intermediate partials stay
    /// on the device), finalizing in the last kernel with `last`.
    pub(in crate::backend::cuda) fn combine(
        &self,
        last: &CudaFunction,
        red: Reduction,
        d: DType,
        finalize: &Option<Finalize>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let acc = codegen::acc_dtype(red, d);
        let parts: Vec<_> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        let shape = check_combine(
            parts.iter().map(|p| (p.partial, p.dtype, &p.shape[..])),
            red,
            acc,
        )
        .map_err(|e| self.fail("combine", e))?
        .to_vec();
        let nout: usize = shape.iter().product();
        let mut current: Vec<u64> = parts
            .iter()
            .map(|p| p.data.device_ptr(self.stream).0)
            .collect();
        // Intermediate partials live here until the kernels that read them are queued.
        let mut keep = vec![];
        loop {
            let is_last = current.len() <= GROUP;
            let take = current.len().min(GROUP);
            let (f, dtype, out_shape, nparts) = match (is_last, finalize) {
                (true, Some(fz)) => (last.clone(), fz.dtype, fz.shape.clone(), 1),
                (true, None) => (last.clone(), acc, shape.clone(), red.partial_parts()),
                (false, _) => {
                    let f = self
                        .combine_kernel(red, d, None)
                        .map_err(|e| self.fail("combine", e.to_string()))??;
                    (f, acc, shape.clone(), red.partial_parts())
                }
            };
            let mut out = self.alloc(nout * nparts * dtype.size())?;
            if nout > 0 {
                let mut ins = Inputs::default();
                ins.0[..take].copy_from_slice(&current[..take]);
                let (n_in, n_out) = (take as i32, nout as u32);
                let cfg = CudaBackend::cfg_1d(nout);
                // SAFETY: parameters (TsrInputs, int ninputs, u32 nout, T* out); the
                // first `take` pointers are partials of `nout` elements in `acc` layout.
                unsafe {
                    self.stream
                        .launch_builder(&f)
                        .arg(&ins)
                        .arg(&n_in)
                        .arg(&n_out)
                        .arg(&mut out)
                        .launch(cfg)
                }
                .map_err(|e| self.fail("combine", format!("{e:?}")))?;
            }
            if is_last {
                let partial = finalize.is_none().then_some(red);
                return Ok(self.wrap(out, dtype, out_shape, partial));
            }
            let rest = current.split_off(take);
            current = std::iter::once(out.device_ptr(self.stream).0)
                .chain(rest)
                .collect();
            keep.push(out);
        }
    }
}
