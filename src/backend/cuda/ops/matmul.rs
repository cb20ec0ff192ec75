//! Matrix products on cuBLAS, strided batched: f32 and f64 (`gemm`), f16 and bf16
//! (`GemmEx` with f32 accumulation, on tensor cores where the GPU has them). No
//! hand-written GEMM.
//!
//! Chunks are row-major and cuBLAS is column-major, so C = A·B is computed as
//! Cᵀ = Bᵀ·Aᵀ: the same bytes, read as column-major, with the operands swapped.

use super::super::{CudaBackend, On};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::Result;
use cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N;
use cudarc::cublas::{Gemm, GemmConfig, StridedBatchedConfig};

impl CudaBackend {
    /// Why a product of `dtype` blocks cannot run here.
    pub(in crate::backend::cuda) fn plan_matmul(
        &self,
        dtype: DType,
    ) -> std::result::Result<(), Decline> {
        if !self.has_blas {
            return Err(Decline::feature(
                "cuBLAS",
                "matmul runs on the CPU: libcublas.so was not found on the library path",
            ));
        }
        match dtype {
            DType::F32 | DType::F64 => Ok(()),
            other => Err(Decline::DType {
                dtype: other,
                reason: format!(
                    "matmul of {other} runs on the CPU (cuBLAS is used for f32 and f64)"
                ),
            }),
        }
    }
}

impl On<'_> {
    pub(in crate::backend::cuda) fn matmul(
        &self,
        dtype: DType,
        (batch, m, k, n): (usize, usize, usize, usize),
        shape: &[usize],
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let blas = self
            .blas
            .as_ref()
            .ok_or_else(|| self.fail("matmul", "cuBLAS is not loaded"))?;
        let (a, b) = match inputs {
            [a, b] => (self.buf(a)?, self.buf(b)?),
            _ => return Err(self.fail("matmul", "a product takes two operands")),
        };
        if a.dtype != dtype || b.dtype != dtype {
            return Err(self.fail("matmul", "operand dtype differs from the product's"));
        }
        let need = |x: &super::super::CuBuf, len: usize, what: &str| {
            if x.data.len() < len * dtype.size() {
                Err(self.fail(
                    "matmul",
                    format!("operand {what} holds fewer than {len} elements"),
                ))
            } else {
                Ok(())
            }
        };
        need(a, batch * m * k, "a")?;
        need(b, batch * k * n, "b")?;
        let mut out = self.alloc(batch * m * n * dtype.size())?;
        if batch * m * n > 0 {
            let int = |v: usize| {
                i32::try_from(v).map_err(|_| self.fail("matmul", "dimension beyond 2³¹"))
            };
            let (mi, ni, ki) = (int(m)?, int(n)?, int(k)?);
            macro_rules! gemm {
                ($t:ty, $one:expr, $zero:expr) => {{
                    let cfg = StridedBatchedConfig {
                        gemm: GemmConfig {
                            transa: CUBLAS_OP_N,
                            transb: CUBLAS_OP_N,
                            m: ni,
                            n: mi,
                            k: ki,
                            alpha: $one,
                            lda: ni.max(1),
                            ldb: ki.max(1),
                            beta: $zero,
                            ldc: ni.max(1),
                        },
                        batch_size: int(batch)?,
                        stride_a: (k * n) as i64,
                        stride_b: (m * k) as i64,
                        stride_c: (m * n) as i64,
                    };
                    // SAFETY: the byte buffers hold at least the elements checked above,
                    // viewed as their dtype; leading dimensions and strides describe
                    // exactly those row-major blocks.
                    unsafe {
                        let av = a
                            .data
                            .transmute::<$t>(batch * m * k)
                            .ok_or_else(|| self.fail("matmul", "a view"))?;
                        let bv = b
                            .data
                            .transmute::<$t>(batch * k * n)
                            .ok_or_else(|| self.fail("matmul", "b view"))?;
                        let mut cv = out
                            .transmute_mut::<$t>(batch * m * n)
                            .ok_or_else(|| self.fail("matmul", "c view"))?;
                        blas.gemm_strided_batched(cfg, &bv, &av, &mut cv)
                    }
                    .map_err(|e| self.fail("matmul", format!("{e:?}")))?;
                }};
            }
            match dtype {
                DType::F32 => gemm!(f32, 1.0, 0.0),
                DType::F64 => gemm!(f64, 1.0, 0.0),
                // GemmEx with f32 accumulation (tensor cores where the GPU has them).
                DType::F16 => gemm!(half::f16, half::f16::ONE, half::f16::ZERO),
                _ => gemm!(half::bf16, half::bf16::ONE, half::bf16::ZERO),
            }
        }
        Ok(self.wrap(out, dtype, shape.to_vec(), None))
    }
}
