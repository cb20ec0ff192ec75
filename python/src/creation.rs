//! Arrays made from nothing, from NumPy, or from files.

use crate::array::{chunks, scalar, wrap, Native};
use crate::convert::{dtype_from_name, host_from_numpy};
use crate::errors::IntoPy;
use numpy::PyUntypedArray;
use pyo3::prelude::*;

/// `full(shape, value)`: a Python scalar cast to `dtype` (default: the scalar's own,
/// float64 for a float, int64 for an int, bool for a bool).
#[pyfunction]
#[pyo3(signature = (shape, value, chunks, dtype=None))]
pub fn full(
    shape: Vec<usize>,
    value: &Bound<'_, PyAny>,
    chunks: &Bound<'_, PyAny>,
    dtype: Option<&str>,
) -> PyResult<Native> {
    let s = scalar(value)?;
    let s = match dtype {
        Some(d) => s.cast(dtype_from_name(d)?),
        None => s.cast(s.dtype()),
    };
    wrap(tessera::full(&shape, s, self::chunks(chunks)?).py()?)
}

/// `arange(start, stop, step)` as float64 (the Python layer casts to the dtype NumPy
/// would give).
#[pyfunction]
pub fn arange(start: f64, stop: f64, step: f64, chunks: &Bound<'_, PyAny>) -> PyResult<Native> {
    wrap(tessera::arange(start, stop, step, self::chunks(chunks)?).py()?)
}

#[pyfunction]
pub fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    chunks: &Bound<'_, PyAny>,
) -> PyResult<Native> {
    wrap(tessera::linspace(start, stop, num, endpoint, self::chunks(chunks)?).py()?)
}

#[pyfunction]
#[pyo3(signature = (n, m, k, chunks))]
pub fn eye(n: usize, m: Option<usize>, k: i64, chunks: &Bound<'_, PyAny>) -> PyResult<Native> {
    wrap(tessera::eye(n, m, k, self::chunks(chunks)?).py()?)
}

/// Copies a NumPy array into the engine (read through its strides: any layout).
#[pyfunction]
#[pyo3(signature = (array, chunks, bfloat16_bits=false))]
pub fn from_numpy(
    array: &Bound<'_, PyUntypedArray>,
    chunks: &Bound<'_, PyAny>,
    bfloat16_bits: bool,
) -> PyResult<Native> {
    let h = host_from_numpy(array, bfloat16_bits)?;
    wrap(tessera::array::from_host(h, self::chunks(chunks)?).py()?)
}

#[pyfunction]
pub fn from_npy(path: &str, chunks: &Bound<'_, PyAny>) -> PyResult<Native> {
    wrap(tessera::from_npy(path, self::chunks(chunks)?).py()?)
}

/// A Zarr array (v2 or v3) at `path`, in its stored chunks unless `chunks` is given.
#[pyfunction]
#[pyo3(signature = (path, chunks=None))]
pub fn from_zarr(path: &str, chunks: Option<&Bound<'_, PyAny>>) -> PyResult<Native> {
    match chunks {
        Some(c) => wrap(tessera::from_zarr_with(path, self::chunks(c)?).py()?),
        None => wrap(tessera::from_zarr(path).py()?),
    }
}

/// Values of `dist` from the counter-based generator: uniform `[a, b)`, normal `(a, b)`,
/// integers `[a, b)`, exponential (scale `a`), gamma (shape `a`, scale `b`), beta
/// (`a`, `b`), poisson (`a`), binomial (`a` trials, probability `b`). The same seed
/// gives the same values in any chunking, on any device.
#[pyfunction]
#[pyo3(signature = (dist, shape, chunks, seed, a, b, dtype))]
#[allow(clippy::too_many_arguments)]
pub fn random(
    dist: &str,
    shape: Vec<usize>,
    chunks: &Bound<'_, PyAny>,
    seed: u64,
    a: f64,
    b: f64,
    dtype: &str,
) -> PyResult<Native> {
    let d = dtype_from_name(dtype)?;
    let c = self::chunks(chunks)?;
    let r = match dist {
        "uniform" => tessera::random::uniform_range(&shape, c, seed, a, b, d),
        "normal" => tessera::random::normal_with(&shape, c, seed, a, b, d),
        "integers" => tessera::random::integers(&shape, c, seed, a as i64, b as i64, d),
        "exponential" => tessera::random::exponential(&shape, c, seed, a, d),
        "gamma" => tessera::random::gamma(&shape, c, seed, a, b, d),
        "beta" => tessera::random::beta(&shape, c, seed, a, b, d),
        "poisson" => tessera::random::poisson(&shape, c, seed, a, d),
        "binomial" => {
            if !(a >= 0.0 && a.fract() == 0.0) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "binomial: n={a} must be a non-negative integer"
                )));
            }
            tessera::random::binomial(&shape, c, seed, a as u64, b, d)
        }
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "no distribution {dist:?}"
            )))
        }
    };
    wrap(r.py()?)
}

/// A random permutation of `0..n` (int64).
#[pyfunction]
pub fn permutation(n: usize, chunks: &Bound<'_, PyAny>, seed: u64) -> PyResult<Native> {
    wrap(tessera::random::permutation(n, self::chunks(chunks)?, seed).py()?)
}

/// `size` draws from the 1-d array `a`, with or without replacement, optionally weighted.
#[pyfunction]
#[pyo3(signature = (a, size, chunks, seed, replace, p=None))]
pub fn choice(
    a: &Native,
    size: Vec<usize>,
    chunks: &Bound<'_, PyAny>,
    seed: u64,
    replace: bool,
    p: Option<&Native>,
) -> PyResult<Native> {
    let c = self::chunks(chunks)?;
    wrap(tessera::random::choice(
        &a.0,
        &size,
        c,
        seed,
        replace,
        p.map(|p| &p.0),
    ))
}
