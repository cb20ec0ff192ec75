//! The engine's Fourier transforms (`tessera.fft`, `tessera.array_api.fft`): the
//! transform named by `kind`, its norm parsed by the engine.

use crate::array::{chunks, wrap, Native};
use crate::errors::IntoPy;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tessera::array::FftNorm;

fn norm(name: &str) -> PyResult<FftNorm> {
    FftNorm::parse(name).py()
}

/// One-axis transform `kind` (fft, ifft, rfft, irfft, hfft, ihfft).
#[pyfunction]
#[pyo3(signature = (x, kind, n, axis, norm_name))]
pub fn fft(
    x: &Native,
    kind: &str,
    n: Option<usize>,
    axis: isize,
    norm_name: &str,
) -> PyResult<Native> {
    let nm = norm(norm_name)?;
    let x = &x.0;
    wrap(match kind {
        "fft" => x.fft(n, axis, nm),
        "ifft" => x.ifft(n, axis, nm),
        "rfft" => x.rfft(n, axis, nm),
        "irfft" => x.irfft(n, axis, nm),
        "hfft" => x.hfft(n, axis, nm),
        "ihfft" => x.ihfft(n, axis, nm),
        other => return Err(PyValueError::new_err(format!("no transform {other:?}"))),
    })
}

/// n-axis transform `kind` (fftn, ifftn, rfftn, irfftn).
#[pyfunction]
#[pyo3(signature = (x, kind, s, axes, norm_name))]
pub fn fftn(
    x: &Native,
    kind: &str,
    s: Option<Vec<Option<usize>>>,
    axes: Option<Vec<isize>>,
    norm_name: &str,
) -> PyResult<Native> {
    let nm = norm(norm_name)?;
    let (s, axes, x) = (s.as_deref(), axes.as_deref(), &x.0);
    wrap(match kind {
        "fftn" => x.fftn(s, axes, nm),
        "ifftn" => x.ifftn(s, axes, nm),
        "rfftn" => x.rfftn(s, axes, nm),
        "irfftn" => x.irfftn(s, axes, nm),
        other => return Err(PyValueError::new_err(format!("no transform {other:?}"))),
    })
}

/// `fftshift` (or `ifftshift` when `inverse`) over `axes` (all when `None`).
#[pyfunction]
#[pyo3(signature = (x, axes, inverse))]
pub fn fftshift(x: &Native, axes: Option<Vec<isize>>, inverse: bool) -> PyResult<Native> {
    let axes = axes.as_deref();
    wrap(if inverse {
        x.0.ifftshift(axes)
    } else {
        x.0.fftshift(axes)
    })
}

/// `fftfreq(n, d)`, or `rfftfreq` when `real`, as float64.
#[pyfunction]
#[pyo3(signature = (n, d, real, chunk_request))]
pub fn fftfreq(n: usize, d: f64, real: bool, chunk_request: &Bound<'_, PyAny>) -> PyResult<Native> {
    let c = chunks(chunk_request)?;
    wrap(if real {
        tessera::rfftfreq(n, d, c).py()?
    } else {
        tessera::fftfreq(n, d, c).py()?
    })
}
