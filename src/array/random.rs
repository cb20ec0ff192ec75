//! Random arrays from Philox 4x32-10 keyed by `(seed, global element index)`: the same
//! seed gives the same values whatever the chunking (and, later, whatever the device).

use super::{Array, Op};
use crate::chunks::Chunks;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{Dist, Generator};

fn make(shape: &[usize], chunks: Chunks, seed: u64, dist: Dist, dtype: DType) -> Result<Array> {
    let op = dist.name();
    let counts = matches!(
        dist,
        Dist::Integers { .. } | Dist::Poisson { .. } | Dist::Binomial { .. }
    );
    let numeric = dtype.is_float() || (counts && !dtype.is_complex() && dtype != DType::Bool);
    if !numeric {
        return Err(Error::UnsupportedDType {
            op,
            dtype,
            device: "any device".into(),
            hint: if counts {
                "counts are integers or floats; ask for DType::I64 (or another numeric dtype)"
            } else {
                "random arrays are floating point; generate f64 or f32 and call .astype(..)"
            }
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
        shape,
        chunks.into(),
        seed,
        Dist::Normal { mean, std },
        dtype,
    )
}

fn positive(op: &'static str, name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::arg(
            op,
            format!("{name} must be finite and > 0, got {v}"),
        ))
    }
}

/// Uniform integers on `[low, high)` (every value exactly equally likely: Lemire's
/// bounded multiply with rejection, per element), in an integer or float `dtype`. The
/// bounds stay within ±2⁵³ (values pass through f64 on their way to the dtype).
///
/// ```
/// use tessera::DType;
/// let x = tessera::random::integers(&[1000], 100, 3, -2, 5, DType::I64).unwrap();
/// let v = x.compute::<i64>().unwrap();
/// assert!(v.iter().all(|&k| (-2..5).contains(&k)));
/// let y = tessera::random::integers(&[1000], 333, 3, -2, 5, DType::I64).unwrap();
/// assert_eq!(v, y.compute::<i64>().unwrap());
/// ```
pub fn integers(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    low: i64,
    high: i64,
    dtype: DType,
) -> Result<Array> {
    const LIMIT: i64 = 1 << 53;
    if low >= high || low < -LIMIT || high > LIMIT {
        return Err(Error::arg(
            "integers",
            format!("need low < high within ±2^53, got [{low}, {high})"),
        ));
    }
    make(
        shape,
        chunks.into(),
        seed,
        Dist::Integers { low, high },
        dtype,
    )
}

/// Exponential values with mean `scale` (`-scale · ln(1 - U)`).
///
/// ```
/// use tessera::DType;
/// let m = tessera::random::exponential(&[20_000], 5000, 1, 2.0, DType::F64).unwrap().mean();
/// assert!((m.compute_scalar::<f64>().unwrap() - 2.0).abs() < 0.1);
/// ```
pub fn exponential(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    scale: f64,
    dtype: DType,
) -> Result<Array> {
    positive("exponential", "scale", scale)?;
    make(
        shape,
        chunks.into(),
        seed,
        Dist::Exponential { scale },
        dtype,
    )
}

/// Gamma values with shape `k` and scale `theta` (Marsaglia–Tsang per element, with
/// their boost below shape 1).
///
/// ```
/// use tessera::DType;
/// let m = tessera::random::gamma(&[20_000], 5000, 1, 3.0, 2.0, DType::F64).unwrap().mean();
/// assert!((m.compute_scalar::<f64>().unwrap() - 6.0).abs() < 0.2);
/// ```
pub fn gamma(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    k: f64,
    theta: f64,
    dtype: DType,
) -> Result<Array> {
    positive("gamma", "shape", k)?;
    positive("gamma", "scale", theta)?;
    make(
        shape,
        chunks.into(),
        seed,
        Dist::Gamma {
            shape: k,
            scale: theta,
        },
        dtype,
    )
}

/// Beta values with shapes `a` and `b` (`X / (X + Y)` of two gamma draws).
pub fn beta(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    a: f64,
    b: f64,
    dtype: DType,
) -> Result<Array> {
    positive("beta", "a", a)?;
    positive("beta", "b", b)?;
    make(shape, chunks.into(), seed, Dist::Beta { a, b }, dtype)
}

/// Poisson counts with mean `lam` (inversion below 10, Hörmann's PTRS above).
///
/// ```
/// use tessera::DType;
/// let x = tessera::random::poisson(&[20_000], 5000, 1, 4.0, DType::I64).unwrap();
/// assert!((x.astype(DType::F64).mean().compute_scalar::<f64>().unwrap() - 4.0).abs() < 0.1);
/// ```
pub fn poisson(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    lam: f64,
    dtype: DType,
) -> Result<Array> {
    if !(0.0..1e15).contains(&lam) {
        return Err(Error::arg(
            "poisson",
            format!("lam must be in [0, 1e15), got {lam}"),
        ));
    }
    make(shape, chunks.into(), seed, Dist::Poisson { lam }, dtype)
}

/// Binomial counts: successes in `n` trials of probability `p` (inversion when `n p` is
/// small, Hörmann's BTRS otherwise).
pub fn binomial(
    shape: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    n: u64,
    p: f64,
    dtype: DType,
) -> Result<Array> {
    if !(0.0..=1.0).contains(&p) || n > 1 << 53 {
        return Err(Error::arg(
            "binomial",
            format!("need 0 <= p <= 1 and n <= 2^53, got n = {n}, p = {p}"),
        ));
    }
    make(shape, chunks.into(), seed, Dist::Binomial { n, p }, dtype)
}

/// A uniformly random permutation of `0..n` (int64): the chunked stable argsort of
/// random 53-bit keys, so it spans as many chunks as asked.
///
/// ```
/// let p = tessera::random::permutation(100, 30, 5).unwrap().compute::<i64>().unwrap();
/// let mut v: Vec<i64> = p.iter().copied().collect();
/// v.sort();
/// assert_eq!(v, (0..100).collect::<Vec<i64>>());
/// ```
pub fn permutation(n: usize, chunks: impl Into<Chunks>, seed: u64) -> Result<Array> {
    let keys = integers(&[n], chunks, seed, 0, 1 << 53, DType::I64)?;
    Ok(keys.argsort_axis(0, false))
}

/// `size` draws from the 1-d array `a` (NumPy's `Generator.choice` on axis 0): with
/// replacement uniform indices (or, with weights `p`, the inverse of their normalised
/// cumulative sum at uniform points); without, the first `prod(size)` of a random
/// permutation (or, with weights, of an exponential race `E_i / p_i`, which draws each
/// next element with probability proportional to the weights left, as NumPy's).
/// `chunks` chunks the index arrays of both lengths (`prod(size)` draws and `n`
/// candidates): give a size or `"auto"`.
///
/// ```
/// let a = tessera::arange(10.0, 20.0, 1.0, 5).unwrap();
/// let c = tessera::random::choice(&a, &[4], 2, 9, false, None).compute::<f64>().unwrap();
/// let mut v: Vec<f64> = c.iter().copied().collect();
/// v.sort_by(f64::total_cmp);
/// v.dedup();
/// assert_eq!(v.len(), 4);
/// ```
pub fn choice(
    a: &Array,
    size: &[usize],
    chunks: impl Into<Chunks>,
    seed: u64,
    replace: bool,
    p: Option<&Array>,
) -> Array {
    let chunks = chunks.into();
    let go = || -> Result<Array> {
        let an = a.node()?;
        if an.shape.len() != 1 {
            return Err(Error::arg(
                "choice",
                format!("a must be 1-d, got shape {:?}", an.shape),
            ));
        }
        let n = an.shape[0];
        let k: usize = size.iter().product();
        if n == 0 && k > 0 {
            return Err(Error::arg(
                "choice",
                "cannot take a non-empty sample from an empty array",
            ));
        }
        if !replace && k > n {
            return Err(Error::arg(
                "choice",
                format!("cannot take {k} values without replacement from {n}; pass replace=true or a smaller size"),
            ));
        }
        if let Some(p) = p {
            let pn = p.node()?;
            if pn.shape != [n] {
                return Err(Error::ShapeMismatch {
                    op: "choice",
                    left: an.shape.clone(),
                    right: pn.shape.clone(),
                    hint: "p needs one probability per element of a".into(),
                });
            }
        }
        let shape: Vec<isize> = size.iter().map(|&s| s as isize).collect();
        let idx = match (replace, p) {
            (true, None) => integers(&[k], chunks, seed, 0, n.max(1) as i64, DType::I64)?,
            (true, Some(p)) => {
                // Points below the last cumulative weight itself (not a sum in another
                // order): a zero weight at the end can never be drawn by rounding.
                let cdf = p.astype(DType::F64).cumsum(Some(0));
                let total = cdf.slice(&[crate::Index::At(n.max(1) as isize - 1)]);
                let u = &uniform(&[k], chunks, seed)? * &total;
                cdf.searchsorted(&u, super::Side::Right)
                    .minimum((n as i64 - 1).max(0))
            }
            (false, None) => permutation(n, chunks, seed)?.slice(&[crate::Index::slice(
                None,
                Some(k as isize),
                1,
            )]),
            (false, Some(p)) => {
                let e = exponential(&[n], chunks, seed, 1.0, DType::F64)?;
                let race = &e / &p.astype(DType::F64);
                race.argsort_axis(0, false)
                    .slice(&[crate::Index::slice(None, Some(k as isize), 1)])
            }
        };
        Ok(a.take_by(&idx, 0).reshape(&shape))
    };
    go().unwrap_or_else(Array::err)
}
