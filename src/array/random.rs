//! Random arrays from Philox 4x32-10 keyed by `(seed, global element index)`: the same
//! seed gives the same values whatever the chunking (and, later, whatever the device).

use super::{Array, Op};
use crate::chunks::Chunks;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{Dist, Generator};

fn make(
    op: &'static str,
    shape: &[usize],
    chunks: Chunks,
    seed: u64,
    dist: Dist,
    dtype: DType,
) -> Result<Array> {
    if !dtype.is_float() {
        return Err(Error::UnsupportedDType {
            op,
            dtype,
            device: "any device".into(),
            hint: "random arrays are floating point; generate f64 or f32 and call .astype(..)"
                .into(),
        });
    }
    let grid = chunks.resolve(op, shape, dtype.size())?;
    Ok(Array::new(
        Op::Gen(Generator::Random { seed, dist }),
        vec![],
        shape.to_vec(),
        dtype,
        grid,
    ))
}

/// Uniform f64 values on `[0, 1)`.
///
/// ```
/// let a = tessera::random::uniform(&[1000], 100, 42).unwrap();
/// let b = tessera::random::uniform(&[1000], 333, 42).unwrap();
/// assert_eq!(a.compute::<f64>().unwrap(), b.compute::<f64>().unwrap());
/// ```
pub fn uniform(shape: &[usize], chunks: impl Into<Chunks>, seed: u64) -> Result<Array> {
    uniform_range(shape, chunks, seed, 0.0, 1.0, DType::F64)
}

/// Uniform values on `[low, high)` of a float dtype.
pub fn uniform_range(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    low: f64,
    high: f64,
    dtype: DType,
) -> Result<Array> {
    if !(low.is_finite() && high.is_finite()) || high < low {
        return Err(Error::arg(
            "uniform",
            format!("need finite low <= high, got [{low}, {high})"),
        ));
    }
    make(
        "uniform",
        shape,
        chunks.into(),
        seed,
        Dist::Uniform { low, high },
        dtype,
    )
}

/// Standard normal f64 values.
///
/// ```
/// let m = tessera::random::normal(&[10_000], 1000, 1).unwrap().mean().compute_scalar::<f64>().unwrap();
/// assert!(m.abs() < 0.05);
/// ```
pub fn normal(shape: &[usize], chunks: impl Into<Chunks>, seed: u64) -> Result<Array> {
    normal_with(shape, chunks, seed, 0.0, 1.0, DType::F64)
}

/// Normal values with `mean` and `std` of a float dtype.
pub fn normal_with(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    mean: f64,
    std: f64,
    dtype: DType,
) -> Result<Array> {
    if !(mean.is_finite() && std.is_finite()) || std < 0.0 {
        return Err(Error::arg(
            "normal",
            format!("need finite mean and std >= 0, got mean {mean}, std {std}"),
        ));
    }
    make(
        "normal",
        shape,
        chunks.into(),
        seed,
        Dist::Normal { mean, std },
        dtype,
    )
}
