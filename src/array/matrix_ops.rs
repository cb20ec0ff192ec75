//! The linear-algebra extension's functions that are compositions of other operations
//! (no kernel of their own): `matrix_power` (repeated squaring of batched matmuls),
//! `matrix_rank` and `pinv` (from the stacked SVD), `matrix_norm`, `vector_norm`,
//! `trace`, `cross` and `outer`. All work on stacks of matrices (leading axes batched).

use super::stacked::stack_dtype;
use super::Array;
use crate::dtype::DType;
use crate::error::{Error, Result};

fn matrices(op: &'static str, shape: &[usize]) -> Result<()> {
    if shape.len() < 2 {
        return Err(Error::arg(
            op,
            format!("needs a stack of matrices (..., M, N), got shape {shape:?}"),
        ));
    }
    Ok(())
}

fn square_stack(op: &'static str, a: &Array) -> Result<usize> {
    let n = a.node()?;
    let nd = n.shape.len();
    if nd < 2 || n.shape[nd - 1] != n.shape[nd - 2] {
        return Err(Error::arg(
            op,
            format!(
                "needs a stack of square matrices (..., M, M), got shape {:?}",
                n.shape
            ),
        ));
    }
    Ok(n.shape[nd - 1])
}

/// `Aⁿ` for each square matrix of a stack: the identity for `n = 0`, powers of the
/// inverse for `n < 0` (an error for a singular matrix), by repeated squaring.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, 1.0], [0.0, 1.0]]).into_dyn(), 2).unwrap();
/// let p = tessera::linalg::matrix_power(&a, 5).compute::<f64>().unwrap();
/// assert_eq!(p[[0, 1]], 5.0);
/// ```
pub fn matrix_power(a: &Array, n: i64) -> Array {
    let go = || -> Result<Array> {
        let m = square_stack("matrix_power", a)?;
        let shape = a.shape().to_vec();
        if n == 0 {
            let eye = crate::eye(m, None, 0, m.max(1))?.astype(a.dtype());
            return Ok(eye.broadcast_to(&shape));
        }
        let mut base = if n < 0 {
            super::linalg::inv(a)
        } else {
            a.clone()
        };
        let mut e = n.unsigned_abs();
        let mut acc: Option<Array> = None;
        loop {
            if e & 1 == 1 {
                acc = Some(match acc {
                    Some(x) => x.matmul(&base),
                    None => base.clone(),
                });
            }
            e >>= 1;
            if e == 0 {
                break;
            }
            base = base.matmul(&base);
        }
        acc.ok_or_else(|| Error::arg("matrix_power", "no power was formed"))
    };
    go().unwrap_or_else(Array::err)
}

/// `max(M, N) · eps`: NumPy's and the standard's default relative tolerance.
fn default_rtol(a: &Array) -> f64 {
    let s = a.shape();
    let mn = s[s.len() - 2].max(s[s.len() - 1]) as f64;
    let eps = match stack_dtype(a.dtype()).real_part() {
        DType::F32 => f32::EPSILON as f64,
        _ => f64::EPSILON,
    };
    mn * eps
}

/// The cutoff `rtol · max(S)` per matrix, shaped `(..., 1)` to compare with `S`.
fn cutoff(s: &Array, a: &Array, rtol: Option<&Array>) -> Array {
    let smax = s.max_axes(&[-1], true);
    match rtol {
        Some(r) => &smax * &r.astype(s.dtype()).expand_dims(-1),
        None => &smax * default_rtol(a),
    }
}

/// The number of singular values of each matrix above `rtol · max(S)` (`rtol` per matrix
/// of the stack or one for all; default `max(M, N) · eps`), int64.
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [2.0, 4.0]]).into_dyn(), 2).unwrap();
/// assert_eq!(tessera::linalg::matrix_rank(&a, None).compute_scalar::<i64>().unwrap(), 1);
/// ```
pub fn matrix_rank(a: &Array, rtol: Option<&Array>) -> Array {
    a.then(|n| {
        matrices("matrix_rank", &n.shape)?;
        let s = super::linalg::svdvals(a);
        let empty = n.shape[n.shape.len() - 2..].contains(&0);
        let above = if empty {
            s.gt(0.0)
        } else {
            s.gt(cutoff(&s, a, rtol))
        };
        Ok(above.astype(DType::I64).sum_axis(-1))
    })
}

/// The Moore–Penrose pseudo-inverse of each matrix of a stack, from its SVD: singular
/// values at or below `rtol · max(S)` count as zero (default `max(M, N) · eps`).
///
/// ```
/// let a = tessera::from_ndarray(ndarray::arr2(&[[2.0, 0.0], [0.0, 0.0]]).into_dyn(), 2).unwrap();
/// let p = tessera::linalg::pinv(&a, None).compute::<f64>().unwrap();
/// assert!((p[[0, 0]] - 0.5).abs() < 1e-12 && p[[1, 1]] == 0.0);
/// ```
pub fn pinv(a: &Array, rtol: Option<&Array>) -> Array {
    a.then(|n| {
        matrices("pinv", &n.shape)?;
        let svd = super::stacked::svd_full(a, false);
        let (u, s, vh) = (svd.u, svd.s, svd.vt);
        let nd = n.shape.len() as isize;
        let empty = n.shape[n.shape.len() - 2..].contains(&0);
        let inv_s = if empty {
            s.clone()
        } else {
            let keep = s.gt(cutoff(&s, a, rtol));
            super::where_(&keep, s.reciprocal(), 0.0).astype(s.dtype())
        };
        // V diag(1/S) Uᴴ.
        let v = vh.conj().swapaxes(nd - 2, nd - 1);
        let scaled = &v * &inv_s.astype(v.dtype()).expand_dims(-2);
        Ok(scaled.matmul(&u.conj().swapaxes(nd - 2, nd - 1)))
    })
}

/// A matrix norm of each matrix of a stack (the standard's `ord`: `"fro"`, `"nuc"`,
/// ±1, ±2, ±inf), real; with `keepdims` the matrix axes stay as length 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MatrixOrd {
    /// Frobenius: `sqrt(Σ|a|²)` (the default).
    Fro,
    /// Nuclear: the sum of the singular values.
    Nuc,
    /// `1`, `-1` (max/min column sum of `|a|`), `2`, `-2` (largest/smallest singular
    /// value), `inf`, `-inf` (max/min row sum of `|a|`).
    P(f64),
}

/// See [`MatrixOrd`].
///
/// ```
/// use tessera::linalg::{matrix_norm, MatrixOrd};
/// let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, -2.0], [3.0, 4.0]]).into_dyn(), 2).unwrap();
/// assert_eq!(matrix_norm(&a, MatrixOrd::P(1.0), false).compute_scalar::<f64>().unwrap(), 6.0);
/// assert_eq!(matrix_norm(&a, MatrixOrd::P(f64::INFINITY), false).compute_scalar::<f64>().unwrap(), 7.0);
/// ```
pub fn matrix_norm(a: &Array, ord: MatrixOrd, keepdims: bool) -> Array {
    a.then(|n| {
        matrices("matrix_norm", &n.shape)?;
        let real = stack_dtype(n.dtype).real_part();
        let x = a.astype(stack_dtype(n.dtype));
        let abs = x.abs().astype(real);
        let r = match ord {
            MatrixOrd::Fro => abs.square().sum_axes(&[-2, -1], false).sqrt(),
            MatrixOrd::Nuc => super::linalg::svdvals(&x).sum_axis(-1),
            MatrixOrd::P(2.0) => super::linalg::svdvals(&x).max_axis(-1),
            MatrixOrd::P(-2.0) => super::linalg::svdvals(&x).min_axis(-1),
            MatrixOrd::P(1.0) => abs.sum_axis(-2).max_axis(-1),
            MatrixOrd::P(-1.0) => abs.sum_axis(-2).min_axis(-1),
            MatrixOrd::P(p) if p == f64::INFINITY => abs.sum_axis(-1).max_axis(-1),
            MatrixOrd::P(p) if p == f64::NEG_INFINITY => abs.sum_axis(-1).min_axis(-1),
            MatrixOrd::P(p) => {
                return Err(Error::arg(
                    "matrix_norm",
                    format!(
                        "ord={p} is not a matrix norm; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf"
                    ),
                ))
            }
        };
        Ok(if keepdims {
            r.expand_dims(-1).expand_dims(-1)
        } else {
            r
        })
    })
}

/// The vector `ord`-norm over `axes` (every axis when `None`): `inf`/`-inf` the largest/
/// smallest `|x|`, `0` the count of non-zeros, otherwise `(Σ|x|^p)^(1/p)`; real (the
/// input's float precision).
///
/// ```
/// let v = tessera::from_ndarray(ndarray::arr1(&[3.0, -4.0]).into_dyn(), 2).unwrap();
/// assert_eq!(tessera::linalg::vector_norm(&v, None, false, 2.0).compute_scalar::<f64>().unwrap(), 5.0);
/// assert_eq!(tessera::linalg::vector_norm(&v, None, false, 1.0).compute_scalar::<f64>().unwrap(), 7.0);
/// ```
pub fn vector_norm(x: &Array, axes: Option<&[isize]>, keepdims: bool, ord: f64) -> Array {
    x.then(|n| {
        let real = n.dtype.to_float().real_part();
        let all: Vec<isize> = (0..n.shape.len() as isize).collect();
        let axes = axes.unwrap_or(&all);
        let abs = x.abs().astype(real);
        Ok(if ord == f64::INFINITY {
            abs.max_axes(axes, keepdims)
        } else if ord == f64::NEG_INFINITY {
            abs.min_axes(axes, keepdims)
        } else if ord == 0.0 {
            abs.ne(0.0).astype(real).sum_axes(axes, keepdims)
        } else if ord == 1.0 {
            abs.sum_axes(axes, keepdims)
        } else if ord == 2.0 {
            abs.square().sum_axes(axes, keepdims).sqrt()
        } else {
            abs.pow(ord).sum_axes(axes, keepdims).pow(1.0 / ord)
        })
    })
}

/// The sum of the `offset` diagonal of each matrix (the last two axes) of a stack.
///
/// ```
/// let a = tessera::arange(0.0, 9.0, 1.0, 9).unwrap().reshape(&[3, 3]);
/// assert_eq!(tessera::linalg::trace(&a, 0).compute_scalar::<f64>().unwrap(), 12.0);
/// assert_eq!(tessera::linalg::trace(&a, 1).compute_scalar::<f64>().unwrap(), 6.0);
/// ```
pub fn trace(x: &Array, offset: i64) -> Array {
    x.then(|n| {
        matrices("trace", &n.shape)?;
        Ok(x.diagonal(offset, -2, -1).sum_axis(-1))
    })
}

/// The cross product of 3-vectors along `axis` of two broadcast-compatible arrays.
///
/// ```
/// let x = tessera::from_ndarray(ndarray::arr1(&[1.0, 0.0, 0.0]).into_dyn(), 3).unwrap();
/// let y = tessera::from_ndarray(ndarray::arr1(&[0.0, 1.0, 0.0]).into_dyn(), 3).unwrap();
/// let z = tessera::linalg::cross(&x, &y, -1).compute::<f64>().unwrap();
/// assert_eq!(z.iter().copied().collect::<Vec<_>>(), vec![0.0, 0.0, 1.0]);
/// ```
pub fn cross(a: &Array, b: &Array, axis: isize) -> Array {
    let go = || -> Result<Array> {
        let (an, bn) = (a.node()?, b.node()?);
        let shape = super::elementwise::broadcast_shapes("cross", &an.shape, &bn.shape)?;
        let ax = super::indexing::norm_axis("cross", axis, &shape)?;
        let nd = shape.len() as isize;
        // The axis counts in the broadcast shape; each operand's own axis must hold 3.
        let own = |s: &[usize]| {
            let i = ax as isize - (nd - s.len() as isize);
            i >= 0 && s[i as usize] == 3
        };
        if !own(&an.shape) || !own(&bn.shape) {
            return Err(Error::ShapeMismatch {
                op: "cross",
                left: an.shape.clone(),
                right: bn.shape.clone(),
                hint: format!("both operands need length 3 along axis {axis}"),
            });
        }
        let dtype = an.dtype.promote(bn.dtype);
        let (a, b) = (
            a.astype(dtype)
                .broadcast_to(&shape)
                .moveaxis(&[ax as isize], &[-1]),
            b.astype(dtype)
                .broadcast_to(&shape)
                .moveaxis(&[ax as isize], &[-1]),
        );
        let c = |x: &Array, i: isize| x.take(-1, &[i]).squeeze(Some(&[-1]));
        let (a0, a1, a2) = (c(&a, 0), c(&a, 1), c(&a, 2));
        let (b0, b1, b2) = (c(&b, 0), c(&b, 1), c(&b, 2));
        let parts = [
            &(&a1 * &b2) - &(&a2 * &b1),
            &(&a2 * &b0) - &(&a0 * &b2),
            &(&a0 * &b1) - &(&a1 * &b0),
        ];
        let r = super::stack(&[&parts[0], &parts[1], &parts[2]], -1).astype(dtype);
        Ok(r.moveaxis(&[-1], &[ax as isize]))
    };
    go().unwrap_or_else(Array::err)
}

/// The outer product of two 1-d arrays, `(M, N)`.
///
/// ```
/// let x = tessera::arange(1.0, 3.0, 1.0, 2).unwrap();
/// let o = tessera::linalg::outer(&x, &x).compute::<f64>().unwrap();
/// assert_eq!(o[[1, 1]], 4.0);
/// ```
pub fn outer(a: &Array, b: &Array) -> Array {
    let go = || -> Result<Array> {
        let (an, bn) = (a.node()?, b.node()?);
        if an.shape.len() != 1 || bn.shape.len() != 1 {
            return Err(Error::arg(
                "outer",
                format!(
                    "needs two 1-d arrays, got shapes {:?} and {:?}",
                    an.shape, bn.shape
                ),
            ));
        }
        Ok(&a.expand_dims(1) * &b.expand_dims(0))
    };
    go().unwrap_or_else(Array::err)
}
