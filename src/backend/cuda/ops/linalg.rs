//! Blocked Cholesky and triangular-solve steps on the GPU: the Schur updates
//! `S = A - Σ L_a L_bᵀ` (or `B - Σ T X`) as cuBLAS GEMMs, the diagonal block's factor on
//! cuSOLVER (`potrf`, its workspace asked first), and the off-diagonal and triangular
//! solves as cuBLAS `trsm`. f64 only: the CPU computes every linear-algebra block in f64
//! and casts the result back, and a GPU doing f32 would not agree with it.
//!
//! Chunks are row-major and cuBLAS/cuSOLVER column-major: a row-major `p × q` block is the
//! column-major `q × p` block of its transpose, with leading dimension `q`. Each call
//! below is the transposed form of the row-major step it computes (worked out at each
//! call). QR, SVD and the other multi-part decompositions are declined (they run on the
//! CPU): a device buffer holds one array, and their parts would need a layout first.

use super::super::{CuBuf, CudaBackend};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::LinalgOp;
use cudarc::cublas::sys as blas_sys;
use cudarc::cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
use cudarc::cublas::{Gemm, GemmConfig};
use cudarc::cusolver::sys as solver_sys;
use cudarc::driver::{DevicePtr, DevicePtrMut, PushKernelArg};

impl CudaBackend {
    /// Why a linear-algebra block other than a product cannot run here.
    pub(in crate::backend::cuda) fn plan_linalg(
        &self,
        op: &LinalgOp,
        dtype: DType,
    ) -> std::result::Result<(), Decline> {
        let name = match op {
            LinalgOp::Cholesky { .. } => "cholesky",
            LinalgOp::TriSolve { .. } => "triangular solve",
            other => {
                return Err(Decline::Op {
                    reason: format!("{other:?} runs on the CPU: QR, SVD and the other multi-part decompositions have no CUDA kernel (a CUDA buffer holds one array)"),
                })
            }
        };
        if self.blas.is_none() {
            return Err(Decline::feature(
                "cuBLAS",
                format!("{name} runs on the CPU: libcublas.so was not found"),
            ));
        }
        if matches!(op, LinalgOp::Cholesky { diagonal: true }) && self.solver.is_none() {
            return Err(Decline::feature(
                "cuSOLVER",
                "the Cholesky factor runs on the CPU: libcusolver.so was not found",
            ));
        }
        if dtype != DType::F64 {
            return Err(Decline::DType {
                dtype,
                reason: format!(
                    "{name} of {dtype} runs on the CPU, which computes linear algebra in f64"
                ),
            });
        }
        Ok(())
    }

    /// Runs a Cholesky or triangular-solve block (see [`LinalgOp`]).
    pub(in crate::backend::cuda) fn linalg(
        &self,
        op: &LinalgOp,
        shape: &[usize],
        inputs: &[&Buffer],
    ) -> Result<Buffer> {
        let bufs = inputs
            .iter()
            .map(|b| self.buf(b))
            .collect::<Result<Vec<&CuBuf>>>()?;
        let (updates, last) = match op {
            LinalgOp::Cholesky { diagonal: true } => (&bufs[..], None),
            LinalgOp::Cholesky { diagonal: false } | LinalgOp::TriSolve { .. } => {
                let (l, rest) = bufs
                    .split_last()
                    .ok_or_else(|| self.fail("linalg", "no inputs"))?;
                (rest, Some(*l))
            }
            other => return Err(self.fail("linalg", format!("{other:?} reached the CUDA backend"))),
        };
        let cholesky = matches!(op, LinalgOp::Cholesky { .. });
        let mut s = self.schur(updates, cholesky)?;
        let (r, c) = rows_cols(&updates[0].shape);
        match (op, last) {
            (LinalgOp::Cholesky { diagonal: true }, _) if r == c => self.potrf_lower(&mut s, r)?,
            // X L_kkᵀ = S. Transposed: L_kk Xᵀ = Sᵀ, and Xᵀ, Sᵀ are X, S read column-major
            // (c × r, ld c); L_kk row-major lower read column-major is L_kkᵀ (upper), so
            // op(A) = Aᵀ with A upper.
            (LinalgOp::Cholesky { diagonal: false }, Some(l)) => self.trsm(
                &mut s,
                l,
                (c, r),
                blas_sys::cublasSideMode_t::CUBLAS_SIDE_LEFT,
                blas_sys::cublasFillMode_t::CUBLAS_FILL_MODE_UPPER,
                CUBLAS_OP_T,
            )?,
            // T X = S. Transposed: Xᵀ Tᵀ = Sᵀ: Xᵀ Sᵀ are X, S column-major (c × r, ld c),
            // Tᵀ is T read column-major (r × r), upper when T is lower.
            (LinalgOp::TriSolve { lower }, Some(t)) => self.trsm(
                &mut s,
                t,
                (c, r),
                blas_sys::cublasSideMode_t::CUBLAS_SIDE_RIGHT,
                if *lower {
                    blas_sys::cublasFillMode_t::CUBLAS_FILL_MODE_UPPER
                } else {
                    blas_sys::cublasFillMode_t::CUBLAS_FILL_MODE_LOWER
                },
                CUBLAS_OP_N,
            )?,
            _ => {
                return Err(self.fail(
                    "linalg",
                    format!("a {r}×{c} block without what its step needs (a square diagonal block, or the triangular block of a solve)"),
                ))
            }
        }
        Ok(self.wrap(s, DType::F64, shape.to_vec(), None))
    }

    /// `S = A - Σ L_a L_bᵀ` (`cholesky`) or `S = B - Σ T X`, from `bufs[0]` and the pairs
    /// after it, as a new f64 buffer of `A`'s shape.
    fn schur(&self, bufs: &[&CuBuf], cholesky: bool) -> Result<cudarc::driver::CudaSlice<u8>> {
        let blas = self
            .blas
            .as_ref()
            .ok_or_else(|| self.fail("linalg", "cuBLAS is not loaded"))?;
        let first = bufs
            .first()
            .ok_or_else(|| self.fail("linalg", "no inputs"))?;
        let (r, c) = rows_cols(&first.shape);
        self.check_f64(first, r * c, "the block")?;
        let mut s = self.alloc(r * c * 8)?;
        if r * c > 0 {
            self.stream
                .memcpy_dtod(&first.data.slice(..r * c * 8), &mut s)
                .map_err(|e| self.fail("linalg", format!("{e:?}")))?;
        }
        let int =
            |v: usize| i32::try_from(v).map_err(|_| self.fail("linalg", "dimension beyond 2³¹"));
        for pair in bufs[1..].chunks(2) {
            let [a, b] = pair else {
                return Err(self.fail("linalg", "an update without its second factor"));
            };
            let (ar, ak) = rows_cols(&a.shape);
            let (br, bc) = rows_cols(&b.shape);
            // Row-major S (r × c) -= A (r × k) · Bᵀ, B (c × k) [Cholesky]; or
            // -= A (r × k) · B (k × c) [solve]. Transposed, column-major:
            // Sᵀ (c × r, ld c) -= op(B) · Aᵀ, with Aᵀ = A read column-major (k × r, ld k)
            // and op(B) = Bᵀ-read-column-major transposed (Cholesky: B column-major is
            // k × c, ld k, op T) or B read column-major (solve: c × k, ld c, op N).
            let (k, transa, lda) = if cholesky {
                if br != c || bc != ak {
                    return Err(self.fail(
                        "linalg",
                        format!("update {ar}×{ak} · ({br}×{bc})ᵀ does not fit {r}×{c}"),
                    ));
                }
                (ak, CUBLAS_OP_T, ak)
            } else {
                if br != ak || bc != c {
                    return Err(self.fail(
                        "linalg",
                        format!("update {ar}×{ak} · {br}×{bc} does not fit {r}×{c}"),
                    ));
                }
                (ak, CUBLAS_OP_N, c)
            };
            if ar != r {
                return Err(self.fail("linalg", format!("update rows {ar} for a {r}-row block")));
            }
            self.check_f64(a, r * k, "an update's left factor")?;
            self.check_f64(b, c * k, "an update's right factor")?;
            if r * c * k == 0 {
                continue;
            }
            let cfg = GemmConfig {
                transa,
                transb: CUBLAS_OP_N,
                m: int(c)?,
                n: int(r)?,
                k: int(k)?,
                alpha: -1.0f64,
                lda: int(lda.max(1))?,
                ldb: int(k.max(1))?,
                beta: 1.0f64,
                ldc: int(c.max(1))?,
            };
            // SAFETY: each buffer holds at least the f64 elements checked above, and the
            // dimensions and leading dimensions describe exactly those blocks.
            unsafe {
                let bv = b
                    .data
                    .transmute::<f64>(c * k)
                    .ok_or_else(|| self.fail("linalg", "view"))?;
                let av = a
                    .data
                    .transmute::<f64>(r * k)
                    .ok_or_else(|| self.fail("linalg", "view"))?;
                let mut sv = s
                    .transmute_mut::<f64>(r * c)
                    .ok_or_else(|| self.fail("linalg", "view"))?;
                blas.gemm(cfg, &bv, &av, &mut sv)
            }
            .map_err(|e| self.fail("linalg", format!("gemm: {e:?}")))?;
        }
        Ok(s)
    }

    /// The lower Cholesky factor of the symmetric `n × n` block `s`, in place, with zeros
    /// above the diagonal (as the CPU's). Row-major L is column-major Lᵀ = U, so this is
    /// `potrf` of the upper triangle; a matrix that is not positive definite is
    /// [`Error::LinAlg`], as on the CPU.
    fn potrf_lower(&self, s: &mut cudarc::driver::CudaSlice<u8>, n: usize) -> Result<()> {
        let solver = self
            .solver
            .as_ref()
            .ok_or_else(|| self.fail("cholesky", "cuSOLVER is not loaded"))?;
        let ni = i32::try_from(n).map_err(|_| self.fail("cholesky", "block beyond 2³¹"))?;
        if n == 0 {
            return Ok(());
        }
        let uplo = solver_sys::cublasFillMode_t::CUBLAS_FILL_MODE_UPPER;
        let mut info = self
            .stream
            .alloc_zeros::<i32>(1)
            .map_err(|e| self.fail("cholesky", format!("{e:?}")))?;
        {
            // SAFETY: `s` holds n·n f64 (checked by `schur`); the workspace is allocated
            // at the size cuSOLVER asked for; `info` holds one i32; the handle's stream is
            // this backend's, which the pointers are taken on.
            let mut a = unsafe { s.transmute_mut::<f64>(n * n) }
                .ok_or_else(|| self.fail("cholesky", "view"))?;
            let (a_ptr, _ga) = a.device_ptr_mut(&self.stream);
            let mut lwork = 0i32;
            unsafe {
                solver_sys::cusolverDnDpotrf_bufferSize(
                    solver.cu(),
                    uplo,
                    ni,
                    a_ptr as *mut f64,
                    ni,
                    &mut lwork,
                )
            }
            .result()
            .map_err(|e| self.fail("cholesky", format!("potrf workspace: {e:?}")))?;
            let mut work = self
                .stream
                .alloc_zeros::<f64>(lwork.max(1) as usize)
                .map_err(|e| self.fail("cholesky", format!("{e:?}")))?;
            let (w_ptr, _gw) = work.device_ptr_mut(&self.stream);
            let (i_ptr, _gi) = info.device_ptr_mut(&self.stream);
            unsafe {
                solver_sys::cusolverDnDpotrf(
                    solver.cu(),
                    uplo,
                    ni,
                    a_ptr as *mut f64,
                    ni,
                    w_ptr as *mut f64,
                    lwork,
                    i_ptr as *mut i32,
                )
            }
            .result()
            .map_err(|e| self.fail("cholesky", format!("potrf: {e:?}")))?;
        }
        let info = self
            .stream
            .clone_dtoh(&info)
            .map_err(|e| self.fail("cholesky", format!("{e:?}")))?;
        if info[0] > 0 {
            return Err(Error::LinAlg {
                op: "cholesky",
                reason: format!("the matrix is not positive definite (the leading minor of order {} of a diagonal block is not); cholesky needs a symmetric positive definite matrix (use qr or lstsq otherwise)", info[0]),
            });
        }
        if info[0] < 0 {
            return Err(self.fail("cholesky", format!("potrf rejected argument {}", -info[0])));
        }
        let f = self.fixed_kernel("tsr_zero_upper_f64")?;
        let n32 = u32::try_from(n).map_err(|_| self.fail("cholesky", "block beyond 2³²"))?;
        // SAFETY: parameters (double* a, u32 n); the kernel writes only the n·n elements
        // `s` holds.
        unsafe {
            self.stream
                .launch_builder(&f)
                .arg(s)
                .arg(&n32)
                .launch(Self::cfg_1d(n * n))
        }
        .map_err(|e| self.fail("cholesky", format!("{e:?}")))?;
        Ok(())
    }

    /// Solves in place, column-major: `op(A) X = S` (left) or `X op(A) = S` (right), `S`
    /// being `m × n` (ld m) and `A` the triangular block `t`.
    fn trsm(
        &self,
        s: &mut cudarc::driver::CudaSlice<u8>,
        t: &CuBuf,
        (m, n): (usize, usize),
        side: blas_sys::cublasSideMode_t,
        uplo: blas_sys::cublasFillMode_t,
        op: blas_sys::cublasOperation_t,
    ) -> Result<()> {
        let blas = self
            .blas
            .as_ref()
            .ok_or_else(|| self.fail("linalg", "cuBLAS is not loaded"))?;
        let k = if side == blas_sys::cublasSideMode_t::CUBLAS_SIDE_LEFT {
            m
        } else {
            n
        };
        if rows_cols(&t.shape) != (k, k) {
            return Err(self.fail(
                "linalg",
                format!("a {:?} triangular block for a {k}-wide solve", t.shape),
            ));
        }
        self.check_f64(t, k * k, "the triangular block")?;
        if m * n == 0 {
            return Ok(());
        }
        let int =
            |v: usize| i32::try_from(v).map_err(|_| self.fail("linalg", "dimension beyond 2³¹"));
        let alpha = 1.0f64;
        // SAFETY: `t` holds k·k f64 and `s` m·n (checked); the handle runs on this
        // backend's stream, on which the pointers are taken.
        let tv =
            unsafe { t.data.transmute::<f64>(k * k) }.ok_or_else(|| self.fail("linalg", "view"))?;
        let mut sv =
            unsafe { s.transmute_mut::<f64>(m * n) }.ok_or_else(|| self.fail("linalg", "view"))?;
        let (t_ptr, _gt) = tv.device_ptr(&self.stream);
        let (s_ptr, _gs) = sv.device_ptr_mut(&self.stream);
        unsafe {
            blas_sys::cublasDtrsm_v2(
                *blas.handle(),
                side,
                uplo,
                op,
                blas_sys::cublasDiagType_t::CUBLAS_DIAG_NON_UNIT,
                int(m)?,
                int(n)?,
                &alpha,
                t_ptr as *const f64,
                int(k)?,
                s_ptr as *mut f64,
                int(m)?,
            )
        }
        .result()
        .map_err(|e| self.fail("linalg", format!("trsm: {e:?}")))
    }

    fn check_f64(&self, b: &CuBuf, len: usize, what: &str) -> Result<()> {
        if b.dtype != DType::F64 || b.data.len() < len * 8 || b.partial.is_some() {
            return Err(self.fail(
                "linalg",
                format!("{what} is not a dense f64 block of {len} elements"),
            ));
        }
        Ok(())
    }
}

/// Rows and columns of a block, as the CPU reads them: a 1-d block is one column (the
/// right side of a solve), leading axes are rows.
fn rows_cols(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, 1),
        s => (s[..s.len() - 1].iter().product(), s[s.len() - 1]),
    }
}
