//! Dense linear-algebra blocks on the GPU, f64 only (the CPU computes every such block
//! in f64 and casts the result back; a GPU doing f32 would not agree with it):
//! - blocked Cholesky and triangular solves: the Schur updates `S = A - Σ L_a L_bᵀ` (or
//!   `B - Σ T X`) as cuBLAS GEMMs, the diagonal factor on cuSOLVER (`potrf`, its
//!   workspace asked first), the off-diagonal and triangular solves as cuBLAS `trsm`;
//! - TSQR's blocks: the QR of stacked parts on cuSOLVER (`geqrf`, then `orgqr` for the
//!   thin Q; LAPACK's sign convention, which faer's matches), the products that carry Q
//!   down the tree (`QMul`) as GEMMs, and parts taken out of a `[Q, R]` chunk.
//!
//! Chunks are row-major and cuBLAS/cuSOLVER column-major: a row-major `p × q` block is the
//! column-major `q × p` block of its transpose, with leading dimension `q`. Each call
//! below is the transposed form of the row-major step it computes (worked out at each
//! call); QR needs the matrix itself column-major, so its input is copied across with a
//! strided copy (`kernels/copy.cu`) and Q and R back. Singular vectors' signs are the
//! library's choice; `linalg::svd` fixes them after the blocks, on every device alike.

use super::super::{CuBuf, CudaBackend, On};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::LinalgOp;
use cudarc::cublas::sys as blas_sys;
use cudarc::cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
use cudarc::cublas::{Gemm, GemmConfig};
use cudarc::cusolver::sys as solver_sys;
use cudarc::driver::{
    CudaSlice, DevicePtr, DevicePtrMut, DeviceRepr, PushKernelArg, ValidAsZeroBits,
};

impl CudaBackend {
    /// Why a linear-algebra block other than a product cannot run here.
    pub(in crate::backend::cuda) fn plan_linalg(
        &self,
        op: &LinalgOp,
        dtype: DType,
        shape: &[usize],
    ) -> std::result::Result<(), Decline> {
        // U of a tall block (k × r, r = n < k): gesvd here needs the block square or wide.
        if matches!(op, LinalgOp::Svd) && matches!(shape, [k, r] if k > r) {
            return Err(Decline::Op {
                reason: "the SVD of a block with more rows than columns runs on the CPU".into(),
            });
        }
        let name = match op {
            LinalgOp::Cholesky { .. } => "cholesky",
            LinalgOp::TriSolve { .. } => "triangular solve",
            LinalgOp::Qr { .. } => "qr",
            LinalgOp::QMul { .. } => "the TSQR product",
            LinalgOp::Part(_) => "a part of a QR block",
            LinalgOp::Svd => "svd",
            LinalgOp::Stack { fun, .. } => {
                return Err(Decline::Op {
                    reason: format!(
                        "{} of a stack of matrices runs on the CPU (batched cuSOLVER kernels are not built yet)",
                        fun.name()
                    ),
                })
            }
            LinalgOp::StackPart(_) => {
                return Err(Decline::Op {
                    reason: "a part of a stacked factorization stays where it was computed (the CPU)".into(),
                })
            }
            other => {
                return Err(Decline::Op {
                    reason: format!("{other:?} runs on the CPU (a decision on the host)"),
                })
            }
        };
        if matches!(op, LinalgOp::Qr { .. } | LinalgOp::Svd) && !self.has_solver {
            return Err(Decline::feature(
                "cuSOLVER",
                format!("{name} runs on the CPU: libcusolver.so was not found"),
            ));
        }
        if !self.has_blas {
            return Err(Decline::feature(
                "cuBLAS",
                format!("{name} runs on the CPU: libcublas.so was not found"),
            ));
        }
        if matches!(op, LinalgOp::Cholesky { diagonal: true }) && !self.has_solver {
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
}

impl On<'_> {
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
        match op {
            LinalgOp::Qr { part, n } => return self.qr(&bufs, *part, *n),
            LinalgOp::QMul { row0 } => return self.qmul(&bufs, *row0, shape),
            LinalgOp::Part(p) => return self.take_part(&bufs, *p, shape),
            LinalgOp::Svd => return self.svd(&bufs),
            _ => {}
        }
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
    fn schur(&self, bufs: &[&CuBuf], cholesky: bool) -> Result<CudaSlice<u8>> {
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
            self.gemm_f64(
                "linalg",
                cfg,
                (b.data.slice(..), c * k),
                (a.data.slice(..), r * k),
                (&mut s, r * c),
            )?;
        }
        Ok(s)
    }

    /// The lower Cholesky factor of the symmetric `n × n` block `s`, in place, with zeros
    /// above the diagonal (as the CPU's). Row-major L is column-major Lᵀ = U, so this is
    /// `potrf` of the upper triangle; a matrix that is not positive definite is
    /// [`Error::LinAlg`], as on the CPU.
    fn potrf_lower(&self, s: &mut CudaSlice<u8>, n: usize) -> Result<()> {
        let solver = self.solver("cholesky")?;
        let ni = i32::try_from(n).map_err(|_| self.fail("cholesky", "block beyond 2³¹"))?;
        if n == 0 {
            return Ok(());
        }
        let uplo = solver_sys::cublasFillMode_t::CUBLAS_FILL_MODE_UPPER;
        let mut info = self.scratch::<i32>("cholesky", 1)?;
        let a = self.raw(s) as *mut f64;
        let mut lwork = 0i32;
        // SAFETY: `s` holds n·n f64 (checked by `schur`); the workspace is the size
        // cuSOLVER asks for; `info` holds one i32.
        unsafe {
            solver_sys::cusolverDnDpotrf_bufferSize(solver.cu(), uplo, ni, a, ni, &mut lwork)
        }
        .result()
        .map_err(|e| self.fail("cholesky", format!("potrf workspace: {e:?}")))?;
        let mut work = self.scratch::<f64>("cholesky", lwork.max(1) as usize)?;
        let (w, i) = (
            self.raw(&mut work) as *mut f64,
            self.raw(&mut info) as *mut i32,
        );
        // SAFETY: as above.
        unsafe { solver_sys::cusolverDnDpotrf(solver.cu(), uplo, ni, a, ni, w, lwork, i) }
            .result()
            .map_err(|e| self.fail("cholesky", format!("potrf: {e:?}")))?;
        let minor = self.dev_info("cholesky", &info)?;
        if minor > 0 {
            return Err(Error::LinAlg {
                op: "cholesky",
                reason: format!("the matrix is not positive definite (the leading minor of order {minor} of a diagonal block is not); cholesky needs a symmetric positive definite matrix (use qr or lstsq otherwise)"),
            });
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
                .launch(CudaBackend::cfg_1d(n * n))
        }
        .map_err(|e| self.fail("cholesky", format!("{e:?}")))?;
        Ok(())
    }

    /// Solves in place, column-major: `op(A) X = S` (left) or `X op(A) = S` (right), `S`
    /// being `m × n` (ld m) and `A` the triangular block `t`.
    fn trsm(
        &self,
        s: &mut CudaSlice<u8>,
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
        // lane's stream, on which the pointers are taken.
        let tv =
            unsafe { t.data.transmute::<f64>(k * k) }.ok_or_else(|| self.fail("linalg", "view"))?;
        let mut sv =
            unsafe { s.transmute_mut::<f64>(m * n) }.ok_or_else(|| self.fail("linalg", "view"))?;
        let (t_ptr, _gt) = tv.device_ptr(self.stream);
        let (s_ptr, _gs) = sv.device_ptr_mut(self.stream);
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

    /// QR of the rows of part `part` of every input stacked (each `_ × n`): a chunk of
    /// parts `[Q (m × k), R (k × n)]`, `k = min(m, n)`, as the CPU's.
    fn qr(&self, bufs: &[&CuBuf], part: usize, n: usize) -> Result<Buffer> {
        let mut pieces = vec![];
        let mut m = 0;
        for b in bufs {
            let (shape, off) = b
                .part(part)
                .ok_or_else(|| self.fail("qr", format!("an input without part {part}")))?;
            let (r, c) = rows_cols(shape);
            if c != n {
                return Err(self.fail("qr", format!("a block of {c} columns, expected {n}")));
            }
            if b.dtype != DType::F64 || b.partial.is_some() || b.data.len() < off + r * c * 8 {
                return Err(self.fail("qr", "an input that is not an f64 block"));
            }
            pieces.push((*b, off / 8, r));
            m += r;
        }
        let k = m.min(n);
        let int = |v: usize| i32::try_from(v).map_err(|_| self.fail("qr", "dimension beyond 2³¹"));
        if m.checked_mul(n).is_none_or(|t| t > u32::MAX as usize) {
            return Err(self.fail("qr", "a block of more than 2³² elements"));
        }
        // A, column-major (m × n, ld m): piece rows land at their row offset.
        let mut a = self.alloc(m * n * 8)?;
        let mut row = 0;
        for (b, off, r) in pieces {
            self.copy_f64(&b.data, &mut a, [r, n], (off, [n, 1]), (row, [1, m]))?;
            row += r;
        }
        let mut out = self.alloc((m * k + k * n) * 8)?;
        if m * n > 0 {
            let solver = self.solver("qr")?;
            let (mi, ni, ki) = (int(m)?, int(n)?, int(k)?);
            let mut tau = self.scratch::<f64>("qr", k.max(1))?;
            let mut info = self.scratch::<i32>("qr", 1)?;
            let (a_ptr, t_ptr) = (self.raw(&mut a) as *mut f64, self.raw(&mut tau) as *mut f64);
            let (mut lq, mut lg) = (0i32, 0i32);
            // SAFETY: `a` holds m·n f64, `tau` k, `info` one i32; the workspace is the
            // larger of the sizes cuSOLVER asks for.
            unsafe {
                solver_sys::cusolverDnDgeqrf_bufferSize(solver.cu(), mi, ni, a_ptr, mi, &mut lq)
                    .result()
                    .and_then(|_| {
                        solver_sys::cusolverDnDorgqr_bufferSize(
                            solver.cu(),
                            mi,
                            ki,
                            ki,
                            a_ptr,
                            mi,
                            t_ptr,
                            &mut lg,
                        )
                        .result()
                    })
            }
            .map_err(|e| self.fail("qr", format!("workspace: {e:?}")))?;
            let lwork = lq.max(lg).max(1);
            let mut work = self.scratch::<f64>("qr", lwork as usize)?;
            let (w, i) = (
                self.raw(&mut work) as *mut f64,
                self.raw(&mut info) as *mut i32,
            );
            // SAFETY: as above.
            unsafe {
                solver_sys::cusolverDnDgeqrf(solver.cu(), mi, ni, a_ptr, mi, t_ptr, w, lwork, i)
            }
            .result()
            .map_err(|e| self.fail("qr", format!("geqrf: {e:?}")))?;
            // R (k × n, row-major) from A's upper triangle, before orgqr overwrites it.
            self.copy_f64(&a, &mut out, [k, n], (0, [1, m]), (m * k, [n, 1]))?;
            // SAFETY: as above.
            unsafe {
                solver_sys::cusolverDnDorgqr(solver.cu(), mi, ki, ki, a_ptr, mi, t_ptr, w, lwork, i)
            }
            .result()
            .map_err(|e| self.fail("qr", format!("orgqr: {e:?}")))?;
            // geqrf and orgqr report only rejected arguments, which `dev_info` turns
            // into errors.
            self.dev_info("qr", &info)?;
            // Q (m × k, row-major) from A's first k columns.
            self.copy_f64(&a, &mut out, [m, k], (0, [1, m]), (0, [k, 1]))?;
            // R's lower triangle holds Householder vectors: zeros, as the CPU's R.
            let f = self.fixed_kernel("tsr_zero_lower_f64")?;
            let mut rv = out.slice_mut(m * k * 8..);
            let (k32, n32) = (k as u32, n as u32);
            // SAFETY: parameters (double* a, u32 rows, u32 cols); the kernel writes only
            // the k·n elements of R, which lie at the end of `out`.
            unsafe {
                self.stream
                    .launch_builder(&f)
                    .arg(&mut rv)
                    .arg(&k32)
                    .arg(&n32)
                    .launch(CudaBackend::cfg_1d(k * n))
            }
            .map_err(|e| self.fail("qr", format!("{e:?}")))?;
        }
        Ok(self.wrap_parts(out, DType::F64, vec![vec![m, k], vec![k, n]]))
    }

    /// Thin SVD of a `k × n` block, `k ≤ n`: parts `[U (k × k), S (k), Vt (k × n)]`. The
    /// row-major block is the column-major `n × k` matrix `M = Aᵀ` (gesvd needs rows ≥
    /// columns), and `M = U_M S V_Mᵀ` gives `A = V_M S U_Mᵀ`: `V_Mᵀ` column-major is `U`
    /// row-major, and `U_M` column-major is `Vt` row-major, so gesvd writes both parts
    /// in place. Signs are fixed afterwards as on the CPU (`linalg::svd`'s `fix_signs`).
    fn svd(&self, bufs: &[&CuBuf]) -> Result<Buffer> {
        let solver = self.solver("svd")?;
        let [a] = bufs else {
            return Err(self.fail("svd", "the SVD takes one block"));
        };
        let (k, n) = rows_cols(&a.shape);
        if k > n {
            return Err(self.fail("svd", format!("a {k}×{n} block: more rows than columns (the graph gives the SVD square or wide blocks)")));
        }
        self.check_f64(a, k * n, "the block")?;
        let mut out = self.alloc((k * k + k + k * n) * 8)?;
        if k == 0 {
            return Ok(self.wrap_parts(out, DType::F64, vec![vec![0, 0], vec![0], vec![0, n]]));
        }
        let int = |v: usize| i32::try_from(v).map_err(|_| self.fail("svd", "dimension beyond 2³¹"));
        let (ki, ni) = (int(k)?, int(n)?);
        // gesvd overwrites its input: a copy.
        let mut m = self.alloc(k * n * 8)?;
        self.stream
            .memcpy_dtod(&a.data.slice(..k * n * 8), &mut m)
            .map_err(|e| self.fail("svd", format!("{e:?}")))?;
        let mut info = self.scratch::<i32>("svd", 1)?;
        let mut lwork = 0i32;
        // SAFETY: only asks for the workspace size of an n × k gesvd.
        unsafe { solver_sys::cusolverDnDgesvd_bufferSize(solver.cu(), ni, ki, &mut lwork) }
            .result()
            .map_err(|e| self.fail("svd", format!("workspace: {e:?}")))?;
        let lwork = lwork.max(1);
        // The workspace, then k values for rwork.
        let mut work = self.scratch::<f64>("svd", lwork as usize + k)?;
        let base = self.raw(&mut out);
        let (u_rm, s_at, vt_rm) = (
            base as *mut f64,
            (base + (k * k * 8) as u64) as *mut f64,
            (base + ((k * k + k) * 8) as u64) as *mut f64,
        );
        let (m_ptr, w) = (
            self.raw(&mut m) as *mut f64,
            self.raw(&mut work) as *mut f64,
        );
        let i = self.raw(&mut info) as *mut i32;
        // SAFETY: `m` holds n·k f64; the output holds U (k·k, written as gesvd's VT, ld k),
        // S (k) and Vt (k·n, written as gesvd's U, ld n); the workspace is what cuSOLVER
        // asked for, with k more for rwork after it.
        unsafe {
            solver_sys::cusolverDnDgesvd(
                solver.cu(),
                b'S' as i8,
                b'S' as i8,
                ni,
                ki,
                m_ptr,
                ni,
                s_at,
                vt_rm,
                ni,
                u_rm,
                ki,
                w,
                lwork,
                w.wrapping_add(lwork as usize),
                i,
            )
        }
        .result()
        .map_err(|e| self.fail("svd", format!("gesvd: {e:?}")))?;
        let left = self.dev_info("svd", &info)?;
        if left > 0 {
            return Err(Error::LinAlg {
                op: "svd",
                reason: format!("the SVD of a block did not converge ({left} superdiagonals left); check the input for NaN or infinite values"),
            });
        }
        Ok(self.wrap_parts(out, DType::F64, vec![vec![k, k], vec![k], vec![k, n]]))
    }

    /// Part 0 of input 0 (`m × k`) times rows `row0..row0 + k` of part 0 of input 1.
    fn qmul(&self, bufs: &[&CuBuf], row0: usize, shape: &[usize]) -> Result<Buffer> {
        let [l, r] = bufs else {
            return Err(self.fail("qmul", "the TSQR product takes two inputs"));
        };
        let (m, k) = rows_cols(&l.shape);
        let (rr, n) = rows_cols(&r.shape);
        if row0 + k > rr {
            return Err(self.fail(
                "qmul",
                format!("rows {row0}..{} of a {rr}-row block", row0 + k),
            ));
        }
        self.check_f64(l, m * k, "the block's Q")?;
        self.check_f64(r, rr * n, "the upper levels' Q")?;
        let mut out = self.alloc(m * n * 8)?;
        if m * n * k > 0 {
            let int =
                |v: usize| i32::try_from(v).map_err(|_| self.fail("qmul", "dimension beyond 2³¹"));
            // Row-major C (m × n) = L (m × k) · Rs (k × n). Transposed, column-major:
            // C (n × m, ld n) = Rs (n × k, ld n) · L (k × m, ld k).
            let cfg = GemmConfig {
                transa: CUBLAS_OP_N,
                transb: CUBLAS_OP_N,
                m: int(n)?,
                n: int(m)?,
                k: int(k)?,
                alpha: 1.0f64,
                lda: int(n)?,
                ldb: int(k)?,
                beta: 0.0f64,
                ldc: int(n)?,
            };
            self.gemm_f64(
                "qmul",
                cfg,
                (r.data.slice(row0 * n * 8..(row0 + k) * n * 8), k * n),
                (l.data.slice(..), m * k),
                (&mut out, m * n),
            )?;
        }
        Ok(self.wrap(out, DType::F64, shape.to_vec(), None))
    }

    /// Part `p` of the input as a dense chunk.
    fn take_part(&self, bufs: &[&CuBuf], p: usize, shape: &[usize]) -> Result<Buffer> {
        let b = bufs.first().ok_or_else(|| self.fail("part", "no input"))?;
        let (sh, off) = b
            .part(p)
            .ok_or_else(|| self.fail("part", format!("an input without part {p}")))?;
        let len = sh.iter().product::<usize>() * b.dtype.size();
        if sh.iter().product::<usize>() != shape.iter().product::<usize>()
            || b.data.len() < off + len
        {
            return Err(self.fail(
                "part",
                format!("part {p} is {sh:?}, the task makes {shape:?}"),
            ));
        }
        let mut out = self.alloc(len)?;
        if len > 0 {
            self.stream
                .memcpy_dtod(&b.data.slice(off..off + len), &mut out)
                .map_err(|e| self.fail("part", format!("{e:?}")))?;
        }
        Ok(self.wrap(out, b.dtype, shape.to_vec(), None))
    }

    /// `c = alpha·op(a)·op(b) + beta·c` on cuBLAS, over the first `len` f64 of each
    /// buffer (the callers checked they hold that many).
    fn gemm_f64(
        &self,
        op: &str,
        cfg: GemmConfig<f64>,
        (a, a_len): (cudarc::driver::CudaView<'_, u8>, usize),
        (b, b_len): (cudarc::driver::CudaView<'_, u8>, usize),
        (c, c_len): (&mut CudaSlice<u8>, usize),
    ) -> Result<()> {
        let blas = self
            .blas
            .as_ref()
            .ok_or_else(|| self.fail(op, "cuBLAS is not loaded"))?;
        let view = || self.fail(op, "a buffer smaller than its matrix");
        // SAFETY: each view holds at least its `len` f64 (checked by `transmute`), and the
        // callers' dimensions and leading dimensions describe those matrices.
        unsafe {
            let av = a.transmute::<f64>(a_len).ok_or_else(view)?;
            let bv = b.transmute::<f64>(b_len).ok_or_else(view)?;
            let mut cv = c.transmute_mut::<f64>(c_len).ok_or_else(view)?;
            blas.gemm(cfg, &av, &bv, &mut cv)
        }
        .map_err(|e| self.fail(op, format!("gemm: {e:?}")))
    }

    /// Copies a 2-d box of f64 (`shape`) from `src` to `dst`, each side an element offset
    /// and strides: how a row-major block becomes column-major and back.
    fn copy_f64(
        &self,
        src: &CudaSlice<u8>,
        dst: &mut CudaSlice<u8>,
        shape: [usize; 2],
        (src_off, ss): (usize, [usize; 2]),
        (dst_off, ds): (usize, [usize; 2]),
    ) -> Result<()> {
        let count = shape[0] * shape[1];
        if count == 0 {
            return Ok(());
        }
        let w = |v: usize| u32::try_from(v).map_err(|_| self.fail("copy", "offset beyond 2³²"));
        let meta = vec![
            2,
            w(count)?,
            w(shape[0])?,
            w(shape[1])?,
            w(src_off)?,
            w(ss[0])?,
            w(ss[1])?,
            w(dst_off)?,
            w(ds[0])?,
            w(ds[1])?,
        ];
        let m = self
            .stream
            .clone_htod(&meta)
            .map_err(|e| self.fail("copy", format!("{e:?}")))?;
        let f = self.fixed_kernel("tsr_copy_8")?;
        // SAFETY: parameters (const u32* cmeta, u64* dst, const u64* src); the callers'
        // boxes lie inside both buffers.
        unsafe {
            self.stream
                .launch_builder(&f)
                .arg(&m)
                .arg(dst)
                .arg(src)
                .launch(CudaBackend::cfg_1d(count))
        }
        .map_err(|e| self.fail("copy", format!("{e:?}")))?;
        Ok(())
    }

    /// cuSOLVER's dense handle, or why there is none.
    fn solver(&self, op: &str) -> Result<&cudarc::cusolver::safe::DnHandle> {
        self.solver
            .ok_or_else(|| self.fail(op, "cuSOLVER is not loaded"))
    }

    /// The device address of `s`: every call in this room is queued on this call's lane
    /// (the stream of its cuBLAS and cuSOLVER handles), in order, and the buffers outlive
    /// the calls (freeing is stream-ordered too, and waits for other lanes' uses).
    fn raw<T>(&self, s: &mut CudaSlice<T>) -> u64 {
        let (p, _g) = s.device_ptr_mut(self.stream);
        p
    }

    /// `len` zeroed values on the device (a workspace, `tau`, `devInfo`).
    fn scratch<T: DeviceRepr + ValidAsZeroBits>(
        &self,
        op: &str,
        len: usize,
    ) -> Result<CudaSlice<T>> {
        self.stream
            .alloc_zeros::<T>(len)
            .map_err(|e| self.fail(op, format!("{len} values: {e:?}")))
    }

    /// cuSOLVER's `devInfo` once its calls are done: a negative value is an argument it
    /// rejected (a bug here, an error); zero or a positive value (a minor that is not
    /// positive definite, superdiagonals that did not converge) is the caller's to read.
    fn dev_info(&self, op: &str, info: &CudaSlice<i32>) -> Result<i32> {
        let v = self
            .stream
            .clone_dtoh(info)
            .map_err(|e| self.fail(op, format!("{e:?}")))?[0];
        if v < 0 {
            return Err(self.fail(op, format!("cuSOLVER rejected argument {}", -v)));
        }
        Ok(v)
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
