//! Per-matrix functions over stacks of matrices (`(..., M, N)` arrays), as NumPy and the
//! array API standard's linear-algebra extension define them: `det`, `slogdet`, `eigh`,
//! `eigvalsh`, `eig`, `eigvals`, `svdvals`, and the stacked forms of `inv`, `solve`,
//! `cholesky`, `qr` and `svd`. The matrix axes are rechunked whole (the leading axes
//! narrowed so a block stays near its old size, as an FFT pencil), then every matrix is
//! factorized on its own (faer, in double precision; results keep the input's dtype:
//! f32, f64, complex64, complex128). Integer and bool input gives f64, f16/bf16 f32
//! (NumPy refuses half precision; the array API leaves it open).

use super::indexing::pencil;
use super::{Array, Decomp, Op};
use crate::chunks::{ChunkGrid, Chunks};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::StackFn;

/// The dtype a stack computes in.
pub(super) fn stack_dtype(d: DType) -> DType {
    match d {
        DType::F32 | DType::F64 | DType::C64 | DType::C128 => d,
        DType::F16 | DType::BF16 => DType::F32,
        _ => DType::F64,
    }
}

fn needs_square(fun: StackFn) -> bool {
    !matches!(
        fun,
        StackFn::Svd { .. } | StackFn::Svdvals | StackFn::Qr { .. }
    )
}

/// Every part of `fun` over the stack `x` (with right sides `b` for a solve, already
/// broadcast to `(..., M, K)`).
fn parts(fun: StackFn, x: &Array, b: Option<&Array>) -> Result<Vec<Array>> {
    let op = fun.name();
    let n = x.node()?;
    let nd = n.shape.len();
    if nd < 2 {
        return Err(Error::arg(
            op,
            format!(
                "needs a stack of matrices (at least 2 axes, the last two the matrix), got shape {:?}",
                n.shape
            ),
        ));
    }
    let (rows, cols) = (n.shape[nd - 2], n.shape[nd - 1]);
    if needs_square(fun) && rows != cols {
        return Err(Error::arg(
            op,
            format!(
                "needs square matrices (..., M, M), got shape {:?}; svd, qr or lstsq work on rectangular ones",
                n.shape
            ),
        ));
    }
    let mut dtype = stack_dtype(n.dtype);
    if let Some(b) = b {
        dtype = stack_dtype(dtype.promote(b.dtype()));
    }
    let x = x.astype(dtype);
    let lead = nd - 2;
    let chunks = pencil(x.node()?, &[lead, lead + 1], dtype.size());
    let x = x.rechunk(Chunks::Explicit(chunks.clone()));
    let mut inputs = vec![x];
    let mut k = 0;
    if let Some(b) = b {
        let bn = b.node()?;
        k = bn.shape[nd - 1];
        let mut bc = chunks[..lead].to_vec();
        bc.push(vec![rows]);
        bc.push(vec![k]);
        inputs.push(b.astype(dtype).rechunk(Chunks::Explicit(bc)));
    }
    Ok(fun
        .parts(rows, cols, k, dtype)
        .into_iter()
        .enumerate()
        .map(|(p, (tail, d))| {
            let mut grid = chunks[..lead].to_vec();
            grid.extend(tail.iter().map(|&l| vec![l]));
            Array::new(
                Op::Decomp(Decomp::Stack { fun, part: p }),
                inputs.clone(),
                [&n.shape[..lead], &tail[..]].concat(),
                d,
                ChunkGrid::new(grid),
            )
        })
        .collect())
}

fn one(fun: StackFn, x: &Array) -> Array {
    match parts(fun, x, None) {
        Ok(mut p) => p.remove(0),
        Err(e) => Array::err(e),
    }
}

fn two(fun: StackFn, x: &Array) -> (Array, Array) {
    match parts(fun, x, None) {
        Ok(mut p) => {
            let second = p.remove(1);
            (p.remove(0), second)
        }
        Err(e) => (Array::err(e.clone()), Array::err(e)),
    }
}

/// The determinant of each matrix of a stack `(..., M, M)` (from its LU factors with
/// partial pivoting), shape `(...)`.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[2.0, 1.0], [4.0, 3.0]]).into_dyn(), 2).unwrap();
/// assert!((tessera::linalg::det(&a).compute_scalar::<f64>().unwrap() - 2.0).abs() < 1e-12);
/// ```
pub fn det(a: &Array) -> Array {
    one(StackFn::Det, a)
}

/// `(sign, log|det|)` of each matrix of a stack: the sign is ±1 (a unit complex number
/// for complex input) and `log|det|` real; a singular matrix gives `(0, -inf)`, as NumPy.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[0.0, 2.0], [3.0, 0.0]]).into_dyn(), 2).unwrap();
/// let (sign, logabs) = tessera::linalg::slogdet(&a);
/// assert_eq!(sign.compute_scalar::<f64>().unwrap(), -1.0);
/// assert!((logabs.compute_scalar::<f64>().unwrap() - 6f64.ln()).abs() < 1e-12);
/// ```
pub fn slogdet(a: &Array) -> (Array, Array) {
    two(StackFn::Slogdet, a)
}

/// `(eigenvalues, eigenvectors)` of each Hermitian matrix of a stack (its lower triangle
/// read, as NumPy's default): real eigenvalues in ascending order, eigenvectors as columns.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[2.0, 1.0], [1.0, 2.0]]).into_dyn(), 2).unwrap();
/// let (w, _v) = tessera::linalg::eigh(&a);
/// let w = w.compute::<f64>().unwrap();
/// assert!((w[[0]] - 1.0).abs() < 1e-12 && (w[[1]] - 3.0).abs() < 1e-12);
/// ```
pub fn eigh(a: &Array) -> (Array, Array) {
    two(StackFn::Eigh, a)
}

/// The eigenvalues of [`eigh`] alone (ascending), without computing eigenvectors.
pub fn eigvalsh(a: &Array) -> Array {
    one(StackFn::Eigvalsh, a)
}

/// `(eigenvalues, eigenvectors)` of each general square matrix of a stack, both complex
/// (complex64 for f32/complex64 input, complex128 otherwise); eigenvectors as columns.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[0.0, -1.0], [1.0, 0.0]]).into_dyn(), 2).unwrap();
/// let w = tessera::linalg::eigvals(&a).compute::<tessera::Complex64>().unwrap();
/// assert!(w.iter().all(|z| z.re.abs() < 1e-12 && (z.im.abs() - 1.0).abs() < 1e-12));
/// ```
pub fn eig(a: &Array) -> (Array, Array) {
    two(StackFn::Eig, a)
}

/// The eigenvalues of [`eig`] alone.
pub fn eigvals(a: &Array) -> Array {
    one(StackFn::Eigvals, a)
}

/// The singular values of each matrix of a stack, largest first (real).
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[3.0, 0.0], [0.0, -4.0]]).into_dyn(), 2).unwrap();
/// let s = tessera::linalg::svdvals(&a).compute::<f64>().unwrap();
/// assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![4.0, 3.0]);
/// ```
pub fn svdvals(a: &Array) -> Array {
    one(StackFn::Svdvals, a)
}

/// `(Q, R)` of each matrix of a stack `(..., M, N)`: with `complete`, `Q` is `M × M` and
/// `R` `M × N`; otherwise (NumPy's and the standard's `"reduced"`) `M × K` and `K × N`,
/// `K = min(M, N)`. `R` is exactly zero below its diagonal.
///
/// ```
/// let a = tessera::ones(&[3, 4, 2], 2).unwrap();
/// let (q, r) = tessera::linalg::qr_mode(&a, true);
/// assert_eq!((q.shape(), r.shape()), (&[3, 4, 4][..], &[3, 4, 2][..]));
/// ```
pub fn qr_mode(a: &Array, complete: bool) -> (Array, Array) {
    two(StackFn::Qr { complete }, a)
}

/// The SVD `A = U diag(S) Vh` of each matrix of a stack: with `full_matrices`, `U` is
/// `M × M` and `Vh` `N × N`, otherwise `M × K` and `K × N`. For a real stack the largest
/// entry of every column of `U` (of its first `K` columns) is made positive, as
/// [`super::linalg::svd`] does, so the signs do not depend on the chunking.
///
/// ```
/// let a = tessera::random::normal(&[2, 5, 3], 2, 1).unwrap();
/// let svd = tessera::linalg::svd_full(&a, false);
/// assert_eq!(svd.u.shape(), &[2, 5, 3]);
/// assert_eq!(svd.s.shape(), &[2, 3]);
/// ```
pub fn svd_full(a: &Array, full_matrices: bool) -> super::linalg::Svd {
    match parts(
        StackFn::Svd {
            full: full_matrices,
        },
        a,
        None,
    ) {
        Ok(p) => {
            let (mut u, s, mut vt) = (p[0].clone(), p[1].clone(), p[2].clone());
            if !u.dtype().is_complex() && !full_matrices {
                (u, vt) = fix_stack_signs(&u, &vt);
            }
            super::linalg::Svd { u, s, vt }
        }
        Err(e) => super::linalg::Svd {
            u: Array::err(e.clone()),
            s: Array::err(e.clone()),
            vt: Array::err(e),
        },
    }
}

/// Flips each singular pair so the largest-magnitude entry of the column of `u` is positive.
fn fix_stack_signs(u: &Array, vt: &Array) -> (Array, Array) {
    let sign = super::where_(&u.max_axis(-2).ge(-u.min_axis(-2)), 1.0, -1.0).astype(u.dtype());
    (u * &sign.expand_dims(-2), vt * &sign.expand_dims(-1))
}

/// The lower (`L Lᴴ = A`) or upper (`Uᴴ U = A`) Cholesky factor of each Hermitian
/// positive definite matrix of a stack; one that is not positive definite is a
/// [`Error::LinAlg`].
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[4.0, 2.0], [2.0, 5.0]]).into_dyn(), 2).unwrap();
/// let u = tessera::linalg::cholesky_upper(&a, true).compute::<f64>().unwrap();
/// assert_eq!(u[[1, 0]], 0.0);
/// assert!((u[[0, 1]] - 1.0).abs() < 1e-12 && (u[[1, 1]] - 2.0).abs() < 1e-12);
/// ```
pub fn cholesky_upper(a: &Array, upper: bool) -> Array {
    one(StackFn::Cholesky { upper }, a)
}

/// The stacked forms behind [`super::linalg::inv`], `solve`, `cholesky`, `qr`, `svd`.
pub(super) fn inv_stack(a: &Array) -> Array {
    one(StackFn::Inv, a)
}

/// `A⁻¹ B` per matrix: `b` is `(M,)` (one right side for every matrix; the result is
/// `(..., M)`) or `(..., M, K)`, its stack broadcast against `a`'s.
pub(super) fn solve_stack(a: &Array, b: &Array) -> Array {
    let go = || -> Result<Array> {
        let (an, bn) = (a.node()?, b.node()?);
        let nd = an.shape.len();
        if nd < 2 || bn.shape.is_empty() {
            return Err(Error::arg(
                "solve",
                format!(
                    "needs a stack of square matrices (..., M, M) and right sides (M,) or (..., M, K), got {:?} and {:?}",
                    an.shape, bn.shape
                ),
            ));
        }
        let m = an.shape[nd - 1];
        let vector = bn.shape.len() == 1;
        let b2 = if vector { b.expand_dims(-1) } else { b.clone() };
        let bs = b2.shape().to_vec();
        if bs[bs.len() - 2] != m {
            return Err(Error::ShapeMismatch {
                op: "solve",
                left: an.shape.clone(),
                right: bn.shape.clone(),
                hint: format!(
                    "the right sides need {m} rows (shape (M,) or (..., M, K) with M = {m})"
                ),
            });
        }
        let batch = super::elementwise::broadcast_shapes(
            "solve",
            &an.shape[..nd - 2],
            &bs[..bs.len() - 2],
        )?;
        let a3 = a.broadcast_to(&[batch.clone(), vec![m, m]].concat());
        let b3 = b2.broadcast_to(&[batch, bs[bs.len() - 2..].to_vec()].concat());
        let x = parts(StackFn::Solve, &a3, Some(&b3))?.remove(0);
        Ok(if vector { x.squeeze(Some(&[-1])) } else { x })
    };
    go().unwrap_or_else(Array::err)
}

pub(super) fn cholesky_stack(a: &Array) -> Array {
    one(StackFn::Cholesky { upper: false }, a)
}
