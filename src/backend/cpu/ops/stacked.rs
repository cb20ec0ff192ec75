//! Per-matrix decompositions over a stack of matrices (the linear-algebra extension's
//! batched `det`, `slogdet`, `inv`, `solve`, `cholesky`, `eigh`, `eig`, `svd`, `qr`, ...)
//! on faer, in double precision: f32 and complex64 stacks are widened to f64 and
//! complex128 and their results rounded once back (as accurate or more, and one copy of
//! faer's generic decompositions per element type in every binary instead of two: four
//! made the GPU kit 49 MiB, over its 48 MiB limit).
//!
//! A chunk holds whole matrices (`(..., rows, cols)`); each is factorized on its own.
//! Results are gathered as complex128 (which holds every value of the four dtypes
//! exactly) and written in each part's dtype at the end: the O(n²) copy is small next to
//! the O(n³) factorizations, and it keeps one code path for real and complex parts.

use super::linalg::Fail;
use crate::dtype::{DType, HostArray};
use crate::kernel::{Chunk, StackFn};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::traits::ComplexField;
use faer::traits::Conjugate;
use faer::{Mat, MatRef, Side};
use ndarray::{ArrayD, IxDyn};
use num_complex::{Complex, Complex32, Complex64};
use rayon::prelude::*;
use std::borrow::Cow;

/// The element types the kernels run in.
trait Field:
    ComplexField<Real = Self::R> + Conjugate<Canonical = Self> + Copy + Send + Sync + 'static
{
    type R: faer::traits::RealField + Copy + Into<f64>;
    fn values(h: &HostArray) -> Option<Cow<'_, [Self]>>;
    fn c(self) -> Complex64;
}

macro_rules! field {
    ($t:ty, $r:ty, $variant:ident, |$x:ident| $c:expr) => {
        impl Field for $t {
            type R = $r;
            fn values(h: &HostArray) -> Option<Cow<'_, [Self]>> {
                match h {
                    HostArray::$variant(a) => Some(
                        a.as_slice()
                            .map(Cow::Borrowed)
                            .unwrap_or_else(|| Cow::Owned(a.iter().copied().collect())),
                    ),
                    _ => None,
                }
            }
            fn c(self) -> Complex64 {
                let $x = self;
                $c
            }
        }
    };
}

field!(f64, f64, F64, |x| Complex64::new(x, 0.0));
field!(Complex64, f64, C128, |x| x);

fn host(v: Vec<Complex64>, shape: &[usize], dtype: DType) -> Result<HostArray, Fail> {
    let d = IxDyn(shape);
    let bad = |e: ndarray::ShapeError| Fail::Internal(format!("stack part {shape:?}: {e}"));
    Ok(match dtype {
        DType::F32 => HostArray::F32(
            ArrayD::from_shape_vec(d, v.iter().map(|z| z.re as f32).collect()).map_err(bad)?,
        ),
        DType::F64 => HostArray::F64(
            ArrayD::from_shape_vec(d, v.iter().map(|z| z.re).collect()).map_err(bad)?,
        ),
        DType::C64 => HostArray::C64(
            ArrayD::from_shape_vec(
                d,
                v.iter()
                    .map(|z| Complex32::new(z.re as f32, z.im as f32))
                    .collect(),
            )
            .map_err(bad)?,
        ),
        DType::C128 => HostArray::C128(ArrayD::from_shape_vec(d, v).map_err(bad)?),
        other => return Err(Fail::Internal(format!("a stack part of {other}"))),
    })
}

/// Row-major values of `m`, each through `f`.
fn push<T: Copy>(out: &mut Vec<Complex64>, m: MatRef<'_, T>, f: impl Fn(T) -> Complex64) {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(f(m[(i, j)]));
        }
    }
}

/// Row-major values of `mᴴ`.
fn push_adjoint<T: Field>(out: &mut Vec<Complex64>, m: MatRef<'_, T>) {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            out.push(m[(i, j)].c().conj());
        }
    }
}

fn identity(out: &mut Vec<Complex64>, rows: usize, cols: usize) {
    for i in 0..rows {
        for j in 0..cols {
            out.push(Complex64::new(if i == j { 1.0 } else { 0.0 }, 0.0));
        }
    }
}

fn zeros(out: &mut Vec<Complex64>, n: usize) {
    out.extend(std::iter::repeat_n(Complex64::new(0.0, 0.0), n));
}

/// `c` with f32 parts as f64 and complex64 parts as complex128 (exact).
fn widen(c: &Chunk) -> Chunk {
    let parts = c
        .parts
        .iter()
        .map(|h| match h {
            HostArray::F32(a) => HostArray::F64(a.mapv(f64::from)),
            HostArray::C64(a) => {
                HostArray::C128(a.mapv(|z| Complex64::new(z.re.into(), z.im.into())))
            }
            other => other.clone(),
        })
        .collect();
    Chunk { parts }
}

/// Runs `fun` on every matrix of input 0 (`(..., rows, cols)`; input 1 holds the right
/// sides of a solve). `dtype` is the input's.
pub(crate) fn run(
    fun: StackFn,
    (rows, cols): (usize, usize),
    origin: &[usize],
    inputs: &[&Chunk],
    dtype: DType,
) -> Result<Chunk, Fail> {
    let x = inputs.first().ok_or("a stack without input")?.array();
    match dtype {
        DType::F64 => each::<f64>(fun, (rows, cols), origin, inputs, dtype),
        DType::C128 => each::<Complex64>(fun, (rows, cols), origin, inputs, dtype),
        DType::F32 | DType::C64 => {
            let wide: Vec<Chunk> = inputs.iter().map(|c| widen(c)).collect();
            let refs: Vec<&Chunk> = wide.iter().collect();
            if dtype == DType::F32 {
                each::<f64>(fun, (rows, cols), origin, &refs, dtype)
            } else {
                each::<Complex64>(fun, (rows, cols), origin, &refs, dtype)
            }
        }
        other => Err(Fail::Internal(format!(
            "{} of a {other} stack of shape {:?}: the graph casts to a float dtype first",
            fun.name(),
            x.shape()
        ))),
    }
}

fn each<T: Field>(
    fun: StackFn,
    (rows, cols): (usize, usize),
    origin: &[usize],
    inputs: &[&Chunk],
    dtype: DType,
) -> Result<Chunk, Fail> {
    let x = inputs[0].array();
    let shape = x.shape();
    let nd = shape.len();
    if nd < 2 || shape[nd - 2..] != [rows, cols] {
        return Err(format!("a stack of shape {shape:?} for {rows}×{cols} matrices").into());
    }
    let lead = &shape[..nd - 2];
    let batch: usize = lead.iter().product();
    let xv = T::values(x).ok_or("stack input of another dtype")?;
    let (bv, k) = if fun == StackFn::Solve {
        let b = inputs.get(1).ok_or("a solve without right sides")?.array();
        let bs = b.shape();
        if bs.len() != nd || bs[..nd - 1] != shape[..nd - 1] {
            return Err(format!("right sides {bs:?} for a stack {shape:?}").into());
        }
        let k = bs[nd - 1];
        (Some(T::values(b).ok_or("right sides of another dtype")?), k)
    } else {
        (None, 0)
    };
    let specs = fun.parts(rows, cols, k, dtype);
    let per: Vec<usize> = specs.iter().map(|(s, _)| s.iter().product()).collect();
    // Matrices are independent: factorized in parallel, gathered in order.
    let results: Vec<Result<Vec<Vec<Complex64>>, Fail>> = (0..batch)
        .into_par_iter()
        .map(|i| {
            let m = MatRef::from_row_major_slice(
                &xv[i * rows * cols..(i + 1) * rows * cols],
                rows,
                cols,
            );
            let b = bv.as_ref().map(|b| {
                MatRef::from_row_major_slice(&b[i * rows * k..(i + 1) * rows * k], rows, k)
            });
            let mut outs: Vec<Vec<Complex64>> =
                per.iter().map(|&n| Vec::with_capacity(n)).collect();
            one(fun, m, b, &mut outs).map_err(|e| match e {
                Fail::Math { op, reason } if !lead.is_empty() => Fail::Math {
                    op,
                    reason: format!("matrix {:?} of the stack: {reason}", index(i, lead, origin)),
                },
                e => e,
            })?;
            Ok(outs)
        })
        .collect();
    let mut parts: Vec<Vec<Complex64>> =
        per.iter().map(|&n| Vec::with_capacity(n * batch)).collect();
    for r in results {
        for (p, v) in parts.iter_mut().zip(r?) {
            p.extend(v);
        }
    }
    let parts = parts
        .into_iter()
        .zip(&specs)
        .map(|(v, (s, d))| host(v, &[lead, s].concat(), *d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Chunk { parts })
}

/// The index in the whole stack of the chunk's `i`-th matrix.
fn index(i: usize, lead: &[usize], origin: &[usize]) -> Vec<usize> {
    let mut rest = i;
    let mut ix = vec![0; lead.len()];
    for a in (0..lead.len()).rev() {
        ix[a] = origin.get(a).copied().unwrap_or(0) + rest % lead[a].max(1);
        rest /= lead[a].max(1);
    }
    ix
}

fn math(op: &'static str, reason: impl Into<String>) -> Fail {
    Fail::Math {
        op,
        reason: reason.into(),
    }
}

/// The sign of the row permutation and the pivots of the LU factors of `m`.
fn pivots<T: Field>(m: MatRef<'_, T>) -> (f64, Vec<Complex64>) {
    let n = m.nrows();
    if n == 0 {
        return (1.0, vec![]);
    }
    let lu = m.partial_piv_lu();
    let (fwd, _) = lu.P().arrays();
    let mut seen = vec![false; n];
    let mut swaps = 0;
    for s in 0..n {
        let mut i = s;
        let mut len = 0;
        while !seen[i] {
            seen[i] = true;
            i = fwd[i];
            len += 1;
        }
        swaps += len.max(1) - 1;
    }
    let u = lu.U();
    let sign = if swaps % 2 == 0 { 1.0 } else { -1.0 };
    (sign, (0..n).map(|i| u[(i, i)].c()).collect())
}

/// `(sign, log|det|)`: 0 and -inf for a singular matrix, as NumPy.
fn slogdet<T: Field>(m: MatRef<'_, T>) -> (Complex64, f64) {
    let (parity, piv) = pivots(m);
    let mut sign = Complex64::new(parity, 0.0);
    let mut log = 0.0;
    for d in piv {
        let a = d.norm();
        if a == 0.0 {
            return (Complex64::new(0.0, 0.0), f64::NEG_INFINITY);
        }
        sign *= d / a;
        log += a.ln();
    }
    (sign, log)
}

/// The LU factors of a square matrix, or the error NumPy raises for an exactly singular one.
fn lu_regular<T: Field>(
    op: &'static str,
    m: MatRef<'_, T>,
) -> Result<faer::linalg::solvers::PartialPivLu<T>, Fail> {
    let lu = m.partial_piv_lu();
    let u = lu.U();
    if let Some(i) = (0..m.nrows()).find(|&i| u[(i, i)].c().norm() == 0.0) {
        return Err(math(
            op,
            format!(
                "the {n}×{n} matrix is singular (pivot {i} of its LU factorization is exactly zero); use pinv or lstsq for a least-squares answer",
                n = m.nrows()
            ),
        ));
    }
    Ok(lu)
}

fn one<T: Field>(
    fun: StackFn,
    m: MatRef<'_, T>,
    b: Option<MatRef<'_, T>>,
    outs: &mut [Vec<Complex64>],
) -> Result<(), Fail> {
    let (rows, cols) = (m.nrows(), m.ncols());
    let kk = rows.min(cols);
    let id = |z: T| z.c();
    match fun {
        StackFn::Det => {
            // The product of the pivots (not exp of the log: that rounds twice).
            let (parity, piv) = pivots(m);
            outs[0].push(
                piv.into_iter()
                    .fold(Complex64::new(parity, 0.0), |p, d| p * d),
            );
        }
        StackFn::Slogdet => {
            let (s, l) = slogdet(m);
            outs[0].push(s);
            outs[1].push(Complex64::new(l, 0.0));
        }
        StackFn::Inv => {
            if rows > 0 {
                let inv = lu_regular("inv", m)?.inverse();
                push(&mut outs[0], inv.as_ref(), id);
            }
        }
        StackFn::Solve => {
            let b = b.ok_or("a solve without right sides")?;
            if rows > 0 && b.ncols() > 0 {
                let lu = lu_regular("solve", m)?;
                let mut x = b.to_owned();
                lu.solve_in_place(x.as_mut());
                push(&mut outs[0], x.as_ref(), id);
            } else {
                zeros(&mut outs[0], rows * b.ncols());
            }
        }
        StackFn::Cholesky { upper } => {
            if rows > 0 {
                let llt = m.llt(Side::Lower).map_err(|e| {
                    math(
                        "cholesky",
                        format!("the {rows}×{rows} matrix is not positive definite ({e:?}); cholesky needs a Hermitian positive definite matrix (eigh or qr work on others)"),
                    )
                })?;
                let l = llt.L();
                for i in 0..rows {
                    for j in 0..rows {
                        let z = match (upper, j <= i, j >= i) {
                            (false, true, _) => l[(i, j)].c(),
                            (true, _, true) => l[(j, i)].c().conj(),
                            _ => Complex64::new(0.0, 0.0),
                        };
                        outs[0].push(z);
                    }
                }
            }
        }
        StackFn::Eigh | StackFn::Eigvalsh => {
            if rows > 0 {
                let no = |e| {
                    math(
                        fun.name(),
                        format!("the eigenvalue iteration did not converge ({e:?})"),
                    )
                };
                if fun == StackFn::Eigh {
                    let e = m.self_adjoint_eigen(Side::Lower).map_err(no)?;
                    let s = e.S().column_vector();
                    outs[0].extend((0..rows).map(|i| Complex64::new(s[i].c().re, 0.0)));
                    push(&mut outs[1], e.U(), id);
                } else {
                    let s = m.self_adjoint_eigenvalues(Side::Lower).map_err(no)?;
                    outs[0].extend(s.into_iter().map(|v| Complex64::new(v.into(), 0.0)));
                }
            }
        }
        StackFn::Eig | StackFn::Eigvals => {
            if rows > 0 {
                let no = |e| {
                    math(
                        fun.name(),
                        format!("the eigenvalue iteration did not converge ({e:?})"),
                    )
                };
                let cz = |z: Complex<T::R>| Complex64::new(z.re.into(), z.im.into());
                if fun == StackFn::Eig {
                    let e = m.eigen().map_err(no)?;
                    let s = e.S().column_vector();
                    outs[0].extend((0..rows).map(|i| cz(s[i])));
                    push(&mut outs[1], e.U(), cz);
                } else {
                    let s = m.eigenvalues().map_err(no)?;
                    outs[0].extend(s.into_iter().map(cz));
                }
            }
        }
        StackFn::Svd { full } => {
            if kk == 0 {
                let (u, v) = if full { (rows, cols) } else { (0, 0) };
                identity(&mut outs[0], rows, u);
                identity(&mut outs[2], v, cols);
            } else {
                let svd = if full { m.svd() } else { m.thin_svd() }
                    .map_err(|e| math("svd", format!("the SVD did not converge ({e:?})")))?;
                push(&mut outs[0], svd.U(), id);
                let s = svd.S().column_vector();
                outs[1].extend((0..kk).map(|i| Complex64::new(s[i].c().re, 0.0)));
                push_adjoint(&mut outs[2], svd.V());
            }
        }
        StackFn::Svdvals => {
            if kk > 0 {
                let s = m
                    .singular_values()
                    .map_err(|e| math("svdvals", format!("the SVD did not converge ({e:?})")))?;
                outs[0].extend(s.into_iter().map(|v| Complex64::new(v.into(), 0.0)));
            }
        }
        StackFn::Qr { complete } => {
            if kk == 0 {
                if complete {
                    identity(&mut outs[0], rows, rows);
                    zeros(&mut outs[1], rows * cols);
                }
            } else {
                let qr = m.qr();
                let q: Mat<T> = if complete {
                    qr.compute_Q()
                } else {
                    qr.compute_thin_Q()
                };
                push(&mut outs[0], q.as_ref(), id);
                // faer keeps R's first K rows; complete mode's other rows are zero. Below
                // the diagonal is exactly zero too (R is upper trapezoidal).
                let r = qr.thin_R();
                let r_rows = if complete { rows } else { kk };
                for i in 0..r_rows {
                    for j in 0..cols {
                        let v = if j >= i && i < r.nrows() {
                            r[(i, j)].c()
                        } else {
                            Complex64::new(0.0, 0.0)
                        };
                        outs[1].push(v);
                    }
                }
            }
        }
    }
    Ok(())
}
