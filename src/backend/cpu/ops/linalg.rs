//! Dense chunk kernels for the blocked linear algebra, on faer. Inputs are C-contiguous
//! chunks; everything is computed in f64 and cast to the task's dtype at the end.

use crate::dtype::{DType, HostArray};
use crate::kernel::{Chunk, LinalgOp};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use num_complex::{Complex32, Complex64};
use std::borrow::Cow;

fn f64s(h: &HostArray) -> Result<Cow<'_, [f64]>, String> {
    Ok(match h {
        HostArray::F64(a) => {
            Cow::Borrowed(a.as_slice_memory_order().ok_or("non-contiguous chunk")?)
        }
        other => Cow::Owned(other.to_f64().iter().copied().collect()),
    })
}

fn rows_cols(h: &HostArray) -> (usize, usize) {
    match h.shape() {
        [] => (1, 1),
        [n] => (*n, 1),
        s => (s[..s.len() - 1].iter().product(), s[s.len() - 1]),
    }
}

fn out(v: Vec<f64>, shape: &[usize], dtype: DType) -> HostArray {
    let d = IxDyn(shape);
    match dtype {
        DType::F32 => HostArray::F32(
            ArrayD::from_shape_vec(d, v.iter().map(|&x| x as f32).collect()).unwrap(),
        ),
        DType::F16 => HostArray::F16(
            ArrayD::from_shape_vec(d, v.iter().map(|&x| f16::from_f64(x)).collect()).unwrap(),
        ),
        DType::BF16 => HostArray::BF16(
            ArrayD::from_shape_vec(d, v.iter().map(|&x| bf16::from_f64(x)).collect()).unwrap(),
        ),
        _ => HostArray::F64(ArrayD::from_shape_vec(d, v).unwrap()),
    }
}

fn to_rows(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut v = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            v.push(m[(i, j)]);
        }
    }
    v
}

fn mat(v: &[f64], r: usize, c: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(v, r, c)
}

/// `S = first - Σ lhs_i · rhs_i` (rhs transposed when `t`), over input pairs.
fn subtract_products(inputs: &[&Chunk], t: bool) -> Result<(Vec<f64>, usize, usize), String> {
    let first = inputs[0].array();
    let (r, c) = rows_cols(first);
    let mut s = f64s(first)?.into_owned();
    for pair in inputs[1..].chunks_exact(2) {
        let (a, b) = (pair[0].array(), pair[1].array());
        let (ar, ac) = rows_cols(a);
        let (br, bc) = rows_cols(b);
        let (av, bv) = (f64s(a)?, f64s(b)?);
        let rhs = if t {
            mat(&bv, br, bc).transpose()
        } else {
            mat(&bv, br, bc)
        };
        let dst = MatMut::from_row_major_slice_mut(&mut s, r, c);
        if ar != r || rhs.ncols() != c || ac != rhs.nrows() {
            return Err(format!(
                "block shapes {ar}×{ac} and {}×{} do not update {r}×{c}",
                rhs.nrows(),
                rhs.ncols()
            ));
        }
        matmul(dst, Accum::Add, mat(&av, ar, ac), rhs, -1.0, Par::Seq);
    }
    Ok((s, r, c))
}

/// `(batch, m, k) @ (batch, k, n)` of complex operands, in complex128 with faer.
fn complex_matmul(
    a: &HostArray,
    b: &HostArray,
    (batch, m, k, n): (usize, usize, usize, usize),
    shape: &[usize],
    dtype: DType,
) -> Result<HostArray, String> {
    let c = |h: &HostArray| -> Vec<Complex64> {
        match h {
            HostArray::C128(a) => a.iter().copied().collect(),
            HostArray::C64(a) => a
                .iter()
                .map(|z| Complex64::new(z.re as f64, z.im as f64))
                .collect(),
            other => other
                .to_f64()
                .iter()
                .map(|&x| Complex64::new(x, 0.0))
                .collect(),
        }
    };
    let (av, bv) = (c(a), c(b));
    let mut o = vec![Complex64::new(0.0, 0.0); batch * m * n];
    for (i, dst) in o.chunks_mut((m * n).max(1)).enumerate().take(batch) {
        matmul(
            MatMut::from_row_major_slice_mut(dst, m, n),
            Accum::Replace,
            MatRef::from_row_major_slice(&av[i * m * k..(i + 1) * m * k], m, k),
            MatRef::from_row_major_slice(&bv[i * k * n..(i + 1) * k * n], k, n),
            Complex64::new(1.0, 0.0),
            Par::Seq,
        );
    }
    let d = IxDyn(shape);
    Ok(match dtype {
        DType::C64 => HostArray::C64(
            ArrayD::from_shape_vec(
                d,
                o.iter()
                    .map(|z| Complex32::new(z.re as f32, z.im as f32))
                    .collect(),
            )
            .map_err(|e| e.to_string())?,
        ),
        _ => HostArray::C128(ArrayD::from_shape_vec(d, o).map_err(|e| e.to_string())?),
    })
}

/// `(batch, m, k) @ (batch, k, n)` of integers: products and sums wrap in the dtype's
/// width, as NumPy's do. They are computed in i64 with wrapping arithmetic and then
/// truncated, which gives the same bits (truncation is a ring homomorphism).
fn int_matmul(
    a: &HostArray,
    b: &HostArray,
    (batch, m, k, n): (usize, usize, usize, usize),
    shape: &[usize],
    dtype: DType,
) -> Result<HostArray, String> {
    let ints = |h: &HostArray| -> Result<Vec<i64>, String> {
        Ok(match h {
            HostArray::Bool(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::I8(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::U8(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::I16(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::U16(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::I32(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::U32(a) => a.iter().map(|&v| v as i64).collect(),
            HostArray::I64(a) => a.iter().copied().collect(),
            HostArray::U64(a) => a.iter().map(|&v| v as i64).collect(),
            other => return Err(format!("integer matmul of a {} chunk", other.dtype())),
        })
    };
    let (av, bv) = (ints(a)?, ints(b)?);
    let mut o = vec![0i64; batch * m * n];
    for i in 0..batch {
        for r in 0..m {
            let row = &mut o[(i * m + r) * n..(i * m + r + 1) * n];
            for p in 0..k {
                let x = av[(i * m + r) * k + p];
                if x == 0 {
                    continue;
                }
                let brow = &bv[(i * k + p) * n..(i * k + p + 1) * n];
                for (d, &y) in row.iter_mut().zip(brow) {
                    *d = d.wrapping_add(x.wrapping_mul(y));
                }
            }
        }
    }
    let d = IxDyn(shape);
    macro_rules! wrap {
        ($v:ident, $t:ty) => {
            HostArray::$v(
                ArrayD::from_shape_vec(d, o.iter().map(|&x| x as $t).collect())
                    .map_err(|e| e.to_string())?,
            )
        };
    }
    Ok(match dtype {
        DType::I8 => wrap!(I8, i8),
        DType::U8 => wrap!(U8, u8),
        DType::I16 => wrap!(I16, i16),
        DType::U16 => wrap!(U16, u16),
        DType::I32 => wrap!(I32, i32),
        DType::U32 => wrap!(U32, u32),
        DType::U64 => wrap!(U64, u64),
        DType::Bool => HostArray::Bool(
            ArrayD::from_shape_vec(d, o.iter().map(|&x| x != 0).collect())
                .map_err(|e| e.to_string())?,
        ),
        _ => HostArray::I64(ArrayD::from_shape_vec(d, o).map_err(|e| e.to_string())?),
    })
}

/// Why a kernel failed: the input has no answer (the user's to fix, reported as
/// [`crate::Error::LinAlg`]), or something inside went wrong (a bug: `Error::Backend`).
#[derive(Debug)]
pub(crate) enum Fail {
    /// The matrix has no answer for this op.
    Math {
        /// The user's operation.
        op: &'static str,
        /// What was found, and the fix.
        reason: String,
    },
    /// Inputs that the graph should never have produced.
    Internal(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Internal(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Fail::Internal(s.to_string())
    }
}

/// Runs one linear-algebra kernel.
pub(crate) fn run(
    op: &LinalgOp,
    inputs: &[&Chunk],
    dtype: DType,
    shape: &[usize],
) -> Result<Chunk, Fail> {
    match op {
        LinalgOp::MatMul { batch, m, k, n } => {
            let (a, b) = (inputs[0].array(), inputs[1].array());
            if a.len() != batch * m * k || b.len() != batch * k * n {
                return Err(format!("matmul inputs of {} and {} values for ({batch}, {m}, {k}) @ ({batch}, {k}, {n})", a.len(), b.len()).into());
            }
            let dims = (*batch, *m, *k, *n);
            if dtype.is_complex() {
                return Ok(Chunk::dense(complex_matmul(a, b, dims, shape, dtype)?));
            }
            if !dtype.is_float() {
                return Ok(Chunk::dense(int_matmul(a, b, dims, shape, dtype)?));
            }
            let (a, b) = (f64s(a)?, f64s(b)?);
            let mut o = vec![0.0; batch * m * n];
            for (i, dst) in o.chunks_mut((m * n).max(1)).enumerate().take(*batch) {
                let dst = MatMut::from_row_major_slice_mut(dst, *m, *n);
                matmul(
                    dst,
                    Accum::Replace,
                    mat(&a[i * m * k..(i + 1) * m * k], *m, *k),
                    mat(&b[i * k * n..(i + 1) * k * n], *k, *n),
                    1.0,
                    Par::Seq,
                );
            }
            Ok(Chunk::dense(out(o, shape, dtype)))
        }
        LinalgOp::Qr { part, n } => {
            let mut stacked = Vec::new();
            let mut rows = 0;
            for c in inputs {
                let p = c.parts.get(*part).ok_or("missing QR part")?;
                let (r, cols) = rows_cols(p);
                if cols != *n {
                    return Err(format!("QR block has {cols} columns, expected {n}").into());
                }
                stacked.extend_from_slice(&f64s(p)?);
                rows += r;
            }
            let a = Mat::from_fn(rows, *n, |i, j| stacked[i * n + j]);
            let qr = a.qr();
            let q = qr.compute_thin_Q();
            let r = qr.thin_R();
            let kk = q.ncols();
            Ok(Chunk {
                parts: vec![
                    out(to_rows(q.as_ref()), &[rows, kk], dtype),
                    out(to_rows(r), &[kk, *n], dtype),
                ],
            })
        }
        LinalgOp::QMul { row0 } => {
            let (l, r) = (inputs[0].array(), inputs[1].array());
            let (m, k) = rows_cols(l);
            let (_, n) = rows_cols(r);
            let (lv, rv) = (f64s(l)?, f64s(r)?);
            let mut o = vec![0.0; m * n];
            let rhs = mat(&rv[row0 * n..(row0 + k) * n], k, n);
            matmul(
                MatMut::from_row_major_slice_mut(&mut o, m, n),
                Accum::Replace,
                mat(&lv, m, k),
                rhs,
                1.0,
                Par::Seq,
            );
            Ok(Chunk::dense(out(o, shape, dtype)))
        }
        LinalgOp::Part(p) => {
            let a = inputs[0].parts.get(*p).ok_or("missing part")?;
            Ok(Chunk::dense(out(f64s(a)?.into_owned(), shape, dtype)))
        }
        LinalgOp::Svd => {
            let a = inputs[0].array();
            let (k, n) = rows_cols(a);
            let v = f64s(a)?;
            let svd = Mat::from_fn(k, n, |i, j| v[i * n + j])
                .thin_svd()
                .map_err(|e| format!("SVD did not converge: {e:?}"))?;
            let r = k.min(n);
            let s: Vec<f64> = (0..r).map(|i| svd.S()[i]).collect();
            Ok(Chunk {
                parts: vec![
                    out(to_rows(svd.U()), &[k, r], dtype),
                    out(s, &[r], dtype),
                    out(to_rows(svd.V().transpose()), &[r, n], dtype),
                ],
            })
        }
        LinalgOp::Cholesky { diagonal } => {
            let last = if *diagonal {
                inputs.len()
            } else {
                inputs.len() - 1
            };
            let (s, r, c) = subtract_products(&inputs[..last], true)?;
            if *diagonal {
                let llt = Mat::from_fn(r, c, |i, j| s[i * c + j])
                    .llt(Side::Lower)
                    .map_err(|e| Fail::Math {
                        op: "cholesky",
                        reason: format!("the matrix is not positive definite ({e:?} in a diagonal block); cholesky needs a symmetric positive definite matrix (use qr or lstsq otherwise)"),
                    })?;
                let l = llt.L();
                let v = (0..r)
                    .flat_map(|i| (0..c).map(move |j| (i, j)))
                    .map(|(i, j)| if j <= i { l[(i, j)] } else { 0.0 })
                    .collect();
                Ok(Chunk::dense(out(v, shape, dtype)))
            } else {
                // X L_kkᵀ = S  ⇔  L_kk Xᵀ = Sᵀ.
                let lkk = inputs[last].array();
                let (lr, lc) = rows_cols(lkk);
                let lv = f64s(lkk)?;
                let mut xt = Mat::from_fn(c, r, |i, j| s[j * c + i]);
                solve_lower_triangular_in_place(mat(&lv, lr, lc), xt.as_mut(), Par::Seq);
                Ok(Chunk::dense(out(to_rows(xt.transpose()), shape, dtype)))
            }
        }
        LinalgOp::FullRank { op, rows, cols } => {
            let s = f64s(inputs[1].array())?;
            // numpy.linalg.matrix_rank's tolerance.
            let tol =
                s.iter().fold(0.0f64, |m, &v| m.max(v)) * (*rows.max(cols) as f64) * f64::EPSILON;
            let rank = s.iter().filter(|&&v| v > tol).count();
            if rank < (*rows).min(*cols) {
                return Err(Fail::Math {
                    op,
                    reason: format!(
                        "the {rows}x{cols} matrix is singular: numerical rank {rank} of {} (singular values at or below {tol:.3e} count as zero); use lstsq for a least-squares solution",
                        (*rows).min(*cols)
                    ),
                });
            }
            Ok(inputs[0].clone())
        }
        LinalgOp::Stack {
            fun,
            rows,
            cols,
            origin,
        } => super::stacked::run(*fun, (*rows, *cols), origin, inputs, dtype),
        LinalgOp::StackPart(p) => inputs[0]
            .parts
            .get(*p)
            .map(|a| Chunk::dense(a.clone()))
            .ok_or_else(|| Fail::Internal(format!("a stack result without part {p}"))),
        LinalgOp::TriSolve { lower } => {
            let last = inputs.len() - 1;
            let (s, r, c) = subtract_products(&inputs[..last], false)?;
            let t = inputs[last].array();
            let (tr, tc) = rows_cols(t);
            let tv = f64s(t)?;
            let mut x = Mat::from_fn(r, c, |i, j| s[i * c + j]);
            if *lower {
                solve_lower_triangular_in_place(mat(&tv, tr, tc), x.as_mut(), Par::Seq);
            } else {
                solve_upper_triangular_in_place(mat(&tv, tr, tc), x.as_mut(), Par::Seq);
            }
            Ok(Chunk::dense(out(to_rows(x.as_ref()), shape, dtype)))
        }
    }
}
