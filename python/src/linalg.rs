//! The engine's linear algebra (`tessera.linalg`): blocked, TSQR-based where the
//! matrix is tall, lazy like everything else.

use crate::array::{wrap, Native};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tessera::linalg as la;

#[pyfunction]
pub fn qr(a: &Native) -> PyResult<(Native, Native)> {
    let (q, r) = la::qr(&a.0);
    Ok((wrap(q)?, wrap(r)?))
}

#[pyfunction]
pub fn svd(a: &Native) -> PyResult<(Native, Native, Native)> {
    let s = la::svd(&a.0);
    Ok((wrap(s.u)?, wrap(s.s)?, wrap(s.vt)?))
}

#[pyfunction]
#[pyo3(signature = (a, k, n_power_iter=0, oversampling=10, seed=0))]
pub fn svd_compressed(
    a: &Native,
    k: usize,
    n_power_iter: usize,
    oversampling: usize,
    seed: u64,
) -> PyResult<(Native, Native, Native)> {
    let s = la::svd_compressed(
        &a.0,
        k,
        la::CompressedSvd {
            oversampling,
            n_power_iter,
            seed,
        },
    );
    Ok((wrap(s.u)?, wrap(s.s)?, wrap(s.vt)?))
}

#[pyfunction]
pub fn cholesky(a: &Native) -> PyResult<Native> {
    wrap(la::cholesky(&a.0))
}

#[pyfunction]
pub fn solve(a: &Native, b: &Native) -> PyResult<Native> {
    wrap(la::solve(&a.0, &b.0))
}

#[pyfunction]
pub fn solve_triangular(a: &Native, b: &Native, lower: bool) -> PyResult<Native> {
    wrap(la::solve_triangular(&a.0, &b.0, lower))
}

#[pyfunction]
pub fn inv(a: &Native) -> PyResult<Native> {
    wrap(la::inv(&a.0))
}

#[pyfunction]
pub fn lstsq(a: &Native, b: &Native) -> PyResult<(Native, Native, Native, Native)> {
    let l = la::lstsq(&a.0, &b.0);
    Ok((wrap(l.x)?, wrap(l.residuals)?, wrap(l.rank)?, wrap(l.s)?))
}

/// `ord` as NumPy spells it: None, "fro", "nuc", inf, -inf or a number.
#[pyfunction]
#[pyo3(signature = (a, ord=None, axis=None))]
pub fn norm(a: &Native, ord: Option<&Bound<'_, PyAny>>, axis: Option<isize>) -> PyResult<Native> {
    let o = match ord {
        None => la::NormOrd::Default,
        Some(v) => match v.extract::<String>() {
            Ok(s) if s == "fro" => la::NormOrd::Fro,
            Ok(s) if s == "nuc" => la::NormOrd::Nuc,
            Ok(s) => {
                return Err(PyValueError::new_err(format!(
                    "norm: ord={s:?} is not a norm; use None, 'fro', 'nuc', inf, -inf or a number"
                )))
            }
            Err(_) => {
                let p: f64 = v.extract()?;
                if p == f64::INFINITY {
                    la::NormOrd::Inf
                } else if p == f64::NEG_INFINITY {
                    la::NormOrd::NegInf
                } else {
                    la::NormOrd::P(p)
                }
            }
        },
    };
    wrap(la::norm(&a.0, o, axis))
}

// --- the linear-algebra extension over stacks of matrices -----------------------------

#[pyfunction]
pub fn det(a: &Native) -> PyResult<Native> {
    wrap(la::det(&a.0))
}

#[pyfunction]
pub fn slogdet(a: &Native) -> PyResult<(Native, Native)> {
    let (s, l) = la::slogdet(&a.0);
    Ok((wrap(s)?, wrap(l)?))
}

#[pyfunction]
pub fn eigh(a: &Native) -> PyResult<(Native, Native)> {
    let (w, v) = la::eigh(&a.0);
    Ok((wrap(w)?, wrap(v)?))
}

#[pyfunction]
pub fn eigvalsh(a: &Native) -> PyResult<Native> {
    wrap(la::eigvalsh(&a.0))
}

#[pyfunction]
pub fn eig(a: &Native) -> PyResult<(Native, Native)> {
    let (w, v) = la::eig(&a.0);
    Ok((wrap(w)?, wrap(v)?))
}

#[pyfunction]
pub fn eigvals(a: &Native) -> PyResult<Native> {
    wrap(la::eigvals(&a.0))
}

#[pyfunction]
pub fn svdvals(a: &Native) -> PyResult<Native> {
    wrap(la::svdvals(&a.0))
}

#[pyfunction]
pub fn qr_mode(a: &Native, complete: bool) -> PyResult<(Native, Native)> {
    let (q, r) = la::qr_mode(&a.0, complete);
    Ok((wrap(q)?, wrap(r)?))
}

#[pyfunction]
pub fn svd_full(a: &Native, full_matrices: bool) -> PyResult<(Native, Native, Native)> {
    let s = la::svd_full(&a.0, full_matrices);
    Ok((wrap(s.u)?, wrap(s.s)?, wrap(s.vt)?))
}

#[pyfunction]
pub fn cholesky_upper(a: &Native, upper: bool) -> PyResult<Native> {
    wrap(la::cholesky_upper(&a.0, upper))
}

#[pyfunction]
pub fn matrix_power(a: &Native, n: i64) -> PyResult<Native> {
    wrap(la::matrix_power(&a.0, n))
}

#[pyfunction]
#[pyo3(signature = (a, rtol=None))]
pub fn matrix_rank(a: &Native, rtol: Option<&Native>) -> PyResult<Native> {
    wrap(la::matrix_rank(&a.0, rtol.map(|r| &r.0)))
}

#[pyfunction]
#[pyo3(signature = (a, rtol=None))]
pub fn pinv(a: &Native, rtol: Option<&Native>) -> PyResult<Native> {
    wrap(la::pinv(&a.0, rtol.map(|r| &r.0)))
}

/// `ord` as the standard spells it: "fro", "nuc", or 1, -1, 2, -2, inf, -inf.
#[pyfunction]
#[pyo3(signature = (a, ord, keepdims=false))]
pub fn matrix_norm(a: &Native, ord: &Bound<'_, PyAny>, keepdims: bool) -> PyResult<Native> {
    let o = match ord.extract::<String>() {
        Ok(s) if s == "fro" => la::MatrixOrd::Fro,
        Ok(s) if s == "nuc" => la::MatrixOrd::Nuc,
        Ok(s) => {
            return Err(PyValueError::new_err(format!(
                "matrix_norm: ord={s:?} is not a matrix norm; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf"
            )))
        }
        Err(_) => la::MatrixOrd::P(ord.extract()?),
    };
    wrap(la::matrix_norm(&a.0, o, keepdims))
}

#[pyfunction]
#[pyo3(signature = (x, axes=None, keepdims=false, ord=2.0))]
pub fn vector_norm(
    x: &Native,
    axes: Option<Vec<isize>>,
    keepdims: bool,
    ord: f64,
) -> PyResult<Native> {
    wrap(la::vector_norm(&x.0, axes.as_deref(), keepdims, ord))
}

#[pyfunction]
#[pyo3(signature = (x, offset=0))]
pub fn trace(x: &Native, offset: i64) -> PyResult<Native> {
    wrap(la::trace(&x.0, offset))
}

#[pyfunction]
#[pyo3(signature = (a, b, axis=-1))]
pub fn cross(a: &Native, b: &Native, axis: isize) -> PyResult<Native> {
    wrap(la::cross(&a.0, &b.0, axis))
}
