//! Exact quantiles: `quantile`, `percentile`, `median` and their nan-forms, with every
//! `method=` NumPy has.
//!
//! How: the axis is sorted by the chunked sort (see `sort`), then each quantile reads
//! the one or two order statistics it needs and interpolates as NumPy does (its
//! virtual index, its gamma corrections, its two-sided `_lerp`), so the answer is
//! NumPy's, not an approximation (dask's `percentile` merges per-chunk percentiles).
//! Without NaN-skipping every lane has the same count, so the order statistics are
//! slices of the sorted array (a task reads only the chunk holding them); the nan-forms
//! count each lane's numbers (NaNs sort last) and gather per lane. A selection that
//! narrows the rank with histograms would avoid the full sort; the sort keeps this
//! exact for every method and dtype.

use super::indexing::norm_axis;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::Index;

/// How a quantile between two order statistics is chosen: NumPy's `method=` names
/// (Hyndman & Fan's nine, and NumPy's four older ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantileMethod {
    /// H&F 1: the smallest value whose CDF reaches q.
    InvertedCdf,
    /// H&F 2: as 1, averaging at discontinuities.
    AveragedInvertedCdf,
    /// H&F 3: the nearest order statistic, ties to the even one.
    ClosestObservation,
    /// H&F 4: linear in the CDF (α = 0, β = 1).
    InterpolatedInvertedCdf,
    /// H&F 5 (α = β = ½).
    Hazen,
    /// H&F 6 (α = β = 0).
    Weibull,
    /// H&F 7, NumPy's default (α = β = 1).
    Linear,
    /// H&F 8 (α = β = ⅓).
    MedianUnbiased,
    /// H&F 9 (α = β = ⅜).
    NormalUnbiased,
    /// The order statistic below the linear index.
    Lower,
    /// The order statistic above the linear index.
    Higher,
    /// The mean of `Lower` and `Higher`.
    Midpoint,
    /// The order statistic nearest the linear index (ties to even).
    Nearest,
}

impl QuantileMethod {
    /// Whether the method picks one order statistic (NumPy takes it without
    /// interpolating, so an infinity stays one).
    fn discrete(self) -> bool {
        use QuantileMethod::*;
        matches!(
            self,
            InvertedCdf | ClosestObservation | Lower | Higher | Nearest
        )
    }

    /// The method NumPy calls `name`.
    ///
    /// ```
    /// use tessera::array::QuantileMethod;
    /// assert_eq!(QuantileMethod::from_name("median_unbiased"), Some(QuantileMethod::MedianUnbiased));
    /// ```
    pub fn from_name(name: &str) -> Option<QuantileMethod> {
        use QuantileMethod::*;
        Some(match name {
            "inverted_cdf" => InvertedCdf,
            "averaged_inverted_cdf" => AveragedInvertedCdf,
            "closest_observation" => ClosestObservation,
            "interpolated_inverted_cdf" => InterpolatedInvertedCdf,
            "hazen" => Hazen,
            "weibull" => Weibull,
            "linear" => Linear,
            "median_unbiased" => MedianUnbiased,
            "normal_unbiased" => NormalUnbiased,
            "lower" => Lower,
            "higher" => Higher,
            "midpoint" => Midpoint,
            "nearest" => Nearest,
            _ => return None,
        })
    }
}

/// Where quantile `q` of `n` numbers lies: one order statistic, or two and the weight of
/// the second (NumPy's `_quantile` for one lane, indices clamped as its `_get_indexes`).
fn position(m: QuantileMethod, n: f64, q: f64) -> (f64, f64, f64) {
    use QuantileMethod::*;
    let last = n - 1.0;
    let one = |i: f64| {
        let i = i.clamp(0.0, last.max(0.0));
        (i, i, 0.0)
    };
    // H&F 1-3: an order statistic, `previous` where the condition holds, else `next`.
    let discrete = |index: f64, take_previous: &dyn Fn(f64, f64) -> bool| {
        let previous = index.floor();
        let gamma = index - previous;
        let i = if take_previous(gamma, index) {
            previous
        } else {
            previous + 1.0
        };
        one(i.max(0.0))
    };
    let continuous = |alpha: f64, beta: f64| n * q + (alpha + q * (1.0 - alpha - beta)) - 1.0;
    let (vi, fix): (f64, fn(f64, f64) -> f64) = match m {
        InvertedCdf => return discrete(n * q - 1.0, &|g, _| g == 0.0),
        ClosestObservation => {
            return discrete(n * q - 1.0 - 0.5, &|g, i| {
                g == 0.0 && i.floor() % 2.0 == 1.0
            })
        }
        Lower => return one((last * q).floor()),
        Higher => return one((last * q).ceil()),
        Nearest => return one((last * q).round_ties_even()),
        AveragedInvertedCdf => (n * q - 1.0, |g, _| if g == 0.0 { 0.5 } else { 1.0 }),
        Midpoint => (last * q, |_, vi| if vi % 1.0 == 0.0 { 0.0 } else { 0.5 }),
        InterpolatedInvertedCdf => (continuous(0.0, 1.0), |g, _| g),
        Hazen => (continuous(0.5, 0.5), |g, _| g),
        Weibull => (continuous(0.0, 0.0), |g, _| g),
        Linear => (last * q, |g, _| g),
        MedianUnbiased => (continuous(1.0 / 3.0, 1.0 / 3.0), |g, _| g),
        NormalUnbiased => (continuous(3.0 / 8.0, 3.0 / 8.0), |g, _| g),
    };
    let mut previous = vi.floor();
    let mut next = previous + 1.0;
    if vi >= last {
        (previous, next) = (last, last);
    } else if vi < 0.0 {
        (previous, next) = (0.0, 0.0);
    }
    (previous, next, fix(vi - previous, vi))
}

impl Array {
    /// Quantiles `qs` (each in [0, 1]) along `axis` (`None`: the flattened array), exact,
    /// like `numpy.quantile(x, qs, axis, method=...)`: the result has a leading axis of
    /// `qs.len()`; `skip_nan` gives `nanquantile` (NaNs ignored per lane, an all-NaN lane
    /// is NaN), else a lane with a NaN is NaN. Integer input gives float64.
    ///
    /// ```
    /// use tessera::array::QuantileMethod;
    /// let x = tessera::from_ndarray(ndarray::arr1(&[4.0, 1.0, 3.0, 2.0, 10.0]).into_dyn(), 2).unwrap();
    /// let q = x.quantiles(&[0.5, 0.9], None, QuantileMethod::Linear, false, false);
    /// let v = q.compute::<f64>().unwrap();
    /// assert_eq!(v[0], 3.0);
    /// assert!((v[1] - 7.6).abs() < 1e-12); // 4 + 0.6 · (10 - 4), as NumPy rounds it
    /// ```
    pub fn quantiles(
        &self,
        qs: &[f64],
        axis: Option<isize>,
        method: QuantileMethod,
        keepdims: bool,
        skip_nan: bool,
    ) -> Array {
        const OP: &str = "quantile";
        let go = || -> Result<Array> {
            let n = self.node()?;
            if let Some(&bad) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                return Err(Error::arg(
                    OP,
                    format!(
                        "quantile {bad} is outside [0, 1] (percentiles are quantiles times 100)"
                    ),
                ));
            }
            if n.dtype.is_complex() {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: "quantiles need an order; take the real part or the magnitude first"
                        .into(),
                });
            }
            let (x, ax) = match axis {
                None => (self.reshape(&[-1]), 0),
                Some(a) => (self.clone(), norm_axis(OP, a, &n.shape)?),
            };
            let xn = x.node()?;
            let len = xn.shape[ax];
            if len == 0 {
                return Err(Error::arg(
                    OP,
                    "the axis is empty; a quantile of no numbers is undefined (NumPy raises too)",
                ));
            }
            let out_dtype = if xn.dtype.is_inexact() {
                xn.dtype
            } else {
                DType::F64
            };
            // The whole array: histogram selection, a few passes instead of a sort, where
            // float64 holds every value exactly and the range is finite.
            let exact_f64 = xn.dtype.is_float()
                || (xn.dtype.is_int() && xn.dtype.size() <= 4)
                || xn.dtype == DType::Bool;
            if axis.is_none() && exact_f64 {
                if let Some(v) = flat_quantiles(&x.astype(DType::F64), qs, method, skip_nan)? {
                    let mut shape = vec![qs.len() as isize];
                    if keepdims {
                        shape.extend(n.shape.iter().map(|_| 1));
                    }
                    let a =
                        super::from_ndarray(ndarray::Array1::from(v).into_dyn(), qs.len().max(1))?;
                    return Ok(a.astype(out_dtype).reshape(&shape));
                }
            }
            let sorted = x.sort_axis(ax as isize, false);
            let inexact = xn.dtype.is_inexact();
            let per_q: Vec<Array> = if skip_nan && inexact {
                let count = x
                    .isnan()
                    .not()
                    .count_nonzero(Some(&[ax as isize]), true)
                    .astype(DType::F64);
                qs.iter()
                    .map(|&q| lane_quantile(&sorted, &count, ax, q, method, out_dtype))
                    .collect()
            } else {
                let at = |i: f64| {
                    let mut sel = vec![Index::all(); xn.shape.len()];
                    sel[ax] = Index::slice(Some(i as isize), Some(i as isize + 1), 1);
                    sorted.slice(&sel).astype(DType::F64)
                };
                let mut last = vec![Index::all(); xn.shape.len()];
                last[ax] = Index::slice(Some(len as isize - 1), Some(len as isize), 1);
                let has_nan = sorted.slice(&last).isnan();
                qs.iter()
                    .map(|&q| {
                        let (p, nx, g) = position(method, len as f64, q);
                        let v = if method.discrete() {
                            at(p)
                        } else {
                            lerp(
                                &at(p),
                                &at(nx),
                                &crate::full(&[], g, 1).unwrap_or_else(Array::err),
                            )
                        };
                        let v = if inexact {
                            super::where_(&has_nan, f64::NAN, &v)
                        } else {
                            v
                        };
                        v.astype(out_dtype)
                    })
                    .collect()
            };
            // Each is the input's shape with the axis kept at length 1.
            let joined = super::concatenate(&per_q.iter().collect::<Vec<_>>(), ax as isize);
            let mut out = joined.moveaxis(&[ax as isize], &[0]);
            if keepdims {
                out = match axis {
                    None => out.reshape(
                        &std::iter::once(qs.len() as isize)
                            .chain(n.shape.iter().map(|_| 1))
                            .collect::<Vec<_>>(),
                    ),
                    Some(_) => out.expand_dims(ax as isize + 1),
                };
            }
            Ok(out)
        };
        go().unwrap_or_else(Array::err)
    }

    /// One quantile `q` along `axis`: [`Array::quantiles`] without the leading axis.
    ///
    /// ```
    /// use tessera::array::QuantileMethod;
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[1.0, 5.0], [3.0, f64::NAN]]).into_dyn(), 1).unwrap();
    /// let m = x.quantile(0.5, Some(0), QuantileMethod::Linear, false, true);
    /// assert_eq!(m.compute::<f64>().unwrap().as_slice().unwrap(), &[2.0, 5.0]);
    /// ```
    pub fn quantile(
        &self,
        q: f64,
        axis: Option<isize>,
        method: QuantileMethod,
        keepdims: bool,
        skip_nan: bool,
    ) -> Array {
        let all = self.quantiles(&[q], axis, method, keepdims, skip_nan);
        all.then(|n| {
            let mut sel = vec![Index::all(); n.shape.len()];
            sel[0] = Index::At(0);
            Ok(all.slice(&sel))
        })
    }

    /// The median along `axis`, exact (`skip_nan`: `nanmedian`), like `numpy.median`.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[3.0, 1.0, 4.0, 1.5]).into_dyn(), 3).unwrap();
    /// assert_eq!(x.median(None, false, false).compute::<f64>().unwrap()[[]], 2.25);
    /// ```
    pub fn median(&self, axis: Option<isize>, keepdims: bool, skip_nan: bool) -> Array {
        self.quantile(0.5, axis, QuantileMethod::Linear, keepdims, skip_nan)
    }
}

/// NumPy's `_lerp`: from `a` for a weight below ½, from `b` above, so the ends are exact.
fn lerp(a: &Array, b: &Array, t: &Array) -> Array {
    let d = b - a;
    let low = a + &(&d * t);
    let high = b - &(&d * &(1.0 - t));
    super::where_(&t.ge(0.5), &high, &low)
}

/// Quantile `q` of each lane of `sorted` along `ax` with `count` numbers (NaNs last): the
/// order statistics gathered per lane.
fn lane_quantile(
    sorted: &Array,
    count: &Array,
    ax: usize,
    q: f64,
    method: QuantileMethod,
    dtype: DType,
) -> Array {
    // The same arithmetic as `position`, on arrays of counts.
    let (p, nx, g) = positions(method, count, q);
    let at = |i: &Array| {
        sorted
            .take_along_axis(&i.astype(DType::I64), ax as isize)
            .astype(DType::F64)
    };
    let v = if method.discrete() {
        at(&p)
    } else {
        lerp(&at(&p), &at(&nx), &g)
    };
    // An all-NaN lane: no numbers, NaN (NumPy warns and returns NaN).
    super::where_(&count.eq(0.0), f64::NAN, &v).astype(dtype)
}

/// NumPy's `fix_gamma` of a method: the weight from the raw one and the virtual index.
type GammaFix = Box<dyn Fn(&Array, &Array) -> Array>;

/// [`position`] for a lane count that is an array.
fn positions(m: QuantileMethod, n: &Array, q: f64) -> (Array, Array, Array) {
    use QuantileMethod::*;
    let last = n - 1.0;
    let clamp0 = |i: &Array| i.maximum(0.0).minimum(last.maximum(0.0));
    let one = |i: &Array| {
        let i = clamp0(i);
        (i.clone(), i.clone(), i.full_like(0.0, Some(DType::F64)))
    };
    let nq = n * q;
    let cont = |alpha: f64, beta: f64| &nq + (alpha + q * (1.0 - alpha - beta) - 1.0);
    let discrete = |index: Array, closest: bool| {
        let previous = index.floor();
        let gamma = &index - &previous;
        let mut take_prev = gamma.eq(0.0);
        if closest {
            take_prev = take_prev.and(previous.remainder(2.0).eq(1.0));
        }
        one(&super::where_(&take_prev, &previous, &(&previous + 1.0)))
    };
    let (vi, gamma_of): (Array, GammaFix) = match m {
        InvertedCdf => return discrete(&nq - 1.0, false),
        ClosestObservation => return discrete(&nq - 1.5, true),
        Lower => return one(&(&last * q).floor()),
        Higher => return one(&(&last * q).ceil()),
        Nearest => return one(&(&last * q).round()),
        AveragedInvertedCdf => (
            &nq - 1.0,
            Box::new(|g: &Array, _: &Array| super::where_(&g.eq(0.0), 0.5, 1.0)),
        ),
        Midpoint => (
            &last * q,
            Box::new(|g: &Array, vi: &Array| {
                super::where_(&vi.remainder(1.0).eq(0.0), 0.0, 0.5).astype(g.dtype())
            }),
        ),
        InterpolatedInvertedCdf => (cont(0.0, 1.0), Box::new(|g: &Array, _: &Array| g.clone())),
        Hazen => (cont(0.5, 0.5), Box::new(|g: &Array, _: &Array| g.clone())),
        Weibull => (cont(0.0, 0.0), Box::new(|g: &Array, _: &Array| g.clone())),
        Linear => (&last * q, Box::new(|g: &Array, _: &Array| g.clone())),
        MedianUnbiased => (
            cont(1.0 / 3.0, 1.0 / 3.0),
            Box::new(|g: &Array, _: &Array| g.clone()),
        ),
        NormalUnbiased => (
            cont(3.0 / 8.0, 3.0 / 8.0),
            Box::new(|g: &Array, _: &Array| g.clone()),
        ),
    };
    let above = vi.ge(&last);
    let below = vi.lt(0.0);
    let floor = vi.floor();
    let previous = super::where_(&above, &last, super::where_(&below, 0.0, &floor));
    let next = super::where_(&above, &last, super::where_(&below, 0.0, &(&floor + 1.0)));
    let gamma = gamma_of(&(&vi - &previous), &vi);
    (previous, next, gamma)
}

/// Quantiles of all of the 1-d f64 `x` by histogram selection (see `rank_select`),
/// computed now; `None` where the range is not finite (the sort handles infinities).
fn flat_quantiles(
    x: &Array,
    qs: &[f64],
    method: QuantileMethod,
    skip_nan: bool,
) -> Result<Option<Vec<f64>>> {
    let nan = x.isnan();
    let stats = super::compute_all(&[
        &nan.not().astype(DType::I64).sum(),
        &super::where_(&nan, f64::INFINITY, x).min(),
        &super::where_(&nan, f64::NEG_INFINITY, x).max(),
    ])?;
    let [count, lo, hi] = [0, 1, 2].map(|i| stats[i].to_f64()[[]]);
    let total = x.node()?.shape[0];
    if count == 0.0 || (!skip_nan && (count as usize) < total) {
        return Ok(Some(vec![f64::NAN; qs.len()]));
    }
    let pos: Vec<(f64, f64, f64)> = qs.iter().map(|&q| position(method, count, q)).collect();
    let mut ranks: Vec<usize> = pos
        .iter()
        .flat_map(|&(p, n, _)| [p as usize, n as usize])
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    let Some(vals) = super::rank_select::order_statistics(x, &ranks, lo, hi)? else {
        return Ok(None);
    };
    let at = |r: f64| {
        vals[ranks
            .binary_search(&(r as usize))
            .expect("every wanted rank was selected")]
    };
    Ok(Some(
        pos.iter()
            .map(|&(p, n, g)| {
                let (a, b) = (at(p), at(n));
                // NumPy's _lerp, from the nearer end.
                let d = b - a;
                if method.discrete() {
                    a
                } else if g >= 0.5 {
                    b - d * (1.0 - g)
                } else {
                    a + d * g
                }
            })
            .collect(),
    ))
}
