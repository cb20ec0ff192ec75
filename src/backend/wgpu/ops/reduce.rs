//! Reductions: a partial per chunk (a workgroup tree, or a thread per output), and
//! the combine tree across chunks that stays on the device up to the result.

use super::super::pool::PooledBuffer;
use super::super::{codegen, GpuBuf, Prepared, WgpuBackend};
use crate::backend::codegen::{exact_f64_params, reduce_meta, serial_reduction, stride_span};
use crate::backend::partial::check_combine;
use crate::backend::{Buffer, Decline, Device, DeviceBuffer, KernelKey};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::{Finalize, ReduceOp, Reduction};
use std::sync::Arc;

impl WgpuBackend {
    /// Why a reduction partial cannot run here, or its WGSL source.
    pub(in crate::backend::wgpu) fn plan_reduce(
        &self,
        op: &ReduceOp,
    ) -> std::result::Result<Prepared, Decline> {
        let (expr, shape, red) = (&op.expr, &op.shape[..], op.reduction);
        self.check_map(expr, shape)?;
        let total: i64 = shape.iter().map(|&n| n as i64).product();
        let (_, reach) = stride_span(&op.arg.strides, shape);
        if matches!(red, Reduction::ArgMin | Reduction::ArgMax)
            && op.arg.base + reach >= u32::MAX as i64
        {
            return Err(Decline::size("arg index beyond 32 bits"));
        }
        if total >= u32::MAX as i64 {
            return Err(Decline::size(
                "reduction over more than 2³² elements per chunk",
            ));
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
        let pipeline = self.kernel(key, || {
            codegen::reduce_source(expr, shape.len(), self.caps, red, fin, serial)
        })?;
        Ok(Prepared {
            pipeline,
            tiling: None,
        })
    }

    pub(in crate::backend::wgpu) fn reduce(
        &self,
        pipeline: &wgpu::ComputePipeline,
        op: &ReduceOp,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let ReduceOp {
            expr,
            shape,
            reduction: red,
            axes,
            finalize,
            ..
        } = op;
        let red = *red;
        let (meta, acc_shape, nout, _) = reduce_meta(op);
        let acc = codegen::acc_dtype(red, expr.dtype(), self.caps)
            .map_err(|e| self.fail("reduce", e.to_string()))?;
        let (dtype, out_shape, parts) = match finalize {
            Some(f) => (f.dtype, f.shape.clone(), 1),
            None => (acc, acc_shape.clone(), red.partial_parts()),
        };
        let out = self.alloc(nout * parts * dtype.size().max(4));
        if nout > 0 {
            let max = self.limits.max_compute_workgroups_per_dimension as usize;
            let groups = if serial_reduction(shape, axes) {
                (nout.div_ceil(256).min(max) as u32, 1)
            } else {
                let gx = nout.min(max);
                (gx as u32, nout.div_ceil(gx) as u32)
            };
            self.scoped("reduce", || {
                self.launch(pipeline, &meta, groups, inputs, &out)
            })?;
        }
        let bytes = nout * parts * 8;
        Ok(Buffer::Device(DeviceBuffer {
            device: Device::Wgpu(self.index),
            bytes,
            handle: Arc::new(GpuBuf {
                buffer: out,
                dtype,
                shape: out_shape,
                partial: finalize.is_none().then_some(red),
            }),
        }))
    }

    /// The kernel merging `take` device partials of `red` over `d` values (finalizing to
    /// `fin`), through the plan cache.
    pub(in crate::backend::wgpu) fn combine_kernel(
        &self,
        red: Reduction,
        d: DType,
        fin: Option<DType>,
        take: usize,
    ) -> std::result::Result<Result<Arc<wgpu::ComputePipeline>>, Decline> {
        let key = KernelKey::Combine {
            reduction: red,
            dtype: d,
            take,
            finalize: fin,
        };
        self.kernel(key, || {
            codegen::combine_source(red, d, self.caps, fin, take)
        })
    }

    /// Merges device partials in input order, at most a binding-limited group per kernel
    /// (intermediate partials stay on the device), finalizing in the last one.
    pub(in crate::backend::wgpu) fn combine(
        &self,
        red: Reduction,
        d: DType,
        finalize: &Option<Finalize>,
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let parts: Vec<&GpuBuf> = inputs.iter().map(|b| self.buf(b)).collect::<Result<_>>()?;
        let acc = codegen::acc_dtype(red, d, self.caps)
            .map_err(|e| self.fail("combine", e.to_string()))?;
        let shape = check_combine(
            parts.iter().map(|p| (p.partial, p.dtype, &p.shape[..])),
            red,
            acc,
        )
        .map_err(|e| self.fail("combine", e))?
        .to_vec();
        let nout: usize = shape.iter().product();
        let group = (self.limits.max_storage_buffers_per_shader_stage as usize)
            .saturating_sub(2)
            .max(2);
        // Intermediate partials live in `keep` until every kernel that reads them is queued.
        let mut keep: Vec<PooledBuffer> = vec![];
        let mut current: Vec<wgpu::Buffer> = parts.iter().map(|p| (*p.buffer).clone()).collect();
        loop {
            let last = current.len() <= group;
            let take = current.len().min(group);
            let fin = if last {
                finalize.as_ref().map(|f| f.dtype)
            } else {
                None
            };
            let pipeline = self
                .combine_kernel(red, d, fin, take)
                .map_err(|e| self.fail("combine", e.to_string()))??;
            let (dtype, shape, nparts) = match (last, finalize) {
                (true, Some(f)) => (f.dtype, f.shape.clone(), 1),
                _ => (acc, shape.clone(), red.partial_parts()),
            };
            let out = self.alloc(nout * nparts * dtype.size().max(4));
            if nout > 0 {
                let mbuf = self.alloc_init(bytemuck::cast_slice(&[nout as i32]));
                self.scoped("combine", || {
                    let mut bufs: Vec<&wgpu::Buffer> = vec![&mbuf, &out];
                    bufs.extend(current[..take].iter());
                    self.run_kernel(&pipeline, &bufs, self.groups_1d(nout));
                    Ok(())
                })?;
            }
            if last {
                let partial = if finalize.is_some() { None } else { Some(red) };
                return Ok(Buffer::Device(DeviceBuffer {
                    device: Device::Wgpu(self.index),
                    bytes: nout * nparts * 8,
                    handle: Arc::new(GpuBuf {
                        buffer: out,
                        dtype,
                        shape,
                        partial,
                    }),
                }));
            }
            let rest = current.split_off(take);
            current = std::iter::once((*out).clone()).chain(rest).collect();
            keep.push(out);
        }
    }
}
