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
