//! Counting into bins: `bincount`, `histogram`, `histogramdd` (and so `histogram2d`),
//! `digitize`.
//!
//! How: each chunk of the (flattened) data counts into a full set of bins in one task
//! (one row of a `(chunks, bins)` array), and the rows are summed by the reduction tree;
//! so memory is one chunk plus the bins, on any number of chunks. What decides the bins
//! from the data (`bincount`'s length, a histogram's range, `"auto"` widths) is computed
//! when the operation is built, as NumPy computes it before counting.

use super::custom::{map_blocks_fn, AxisChunks, OutSpec};
use super::QuantileMethod;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;

/// How a histogram's bins are chosen along one axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Bins {
    /// This many equal bins over the range (given, else the data's min and max).
    Count(usize),
    /// These edges (increasing; the last bin includes its right edge, NumPy's rule).
    Edges(Vec<f64>),
    /// NumPy's `"auto"`: the smaller of the Freedman–Diaconis and Sturges widths.
    Auto,
}

impl Array {
    /// How many times each non-negative integer occurs (int64, length `max + 1` or
    /// `minlength`), like `numpy.bincount`; with `weights` (the same shape) their sums
    /// per value instead (float64). The maximum is computed now (it decides the length).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[0i64, 3, 1, 3]).into_dyn(), 3).unwrap();
    /// assert_eq!(x.bincount(None, 0).compute::<i64>().unwrap().as_slice().unwrap(), &[1, 1, 0, 2]);
    /// ```
    pub fn bincount(&self, weights: Option<&Array>, minlength: usize) -> Array {
        const OP: &str = "bincount";
        let go = || -> Result<Array> {
            let n = self.node()?;
            if n.shape.len() != 1 || !(n.dtype.is_int() || n.dtype == DType::Bool) {
                return Err(Error::arg(OP, format!("the input must be a 1-d array of non-negative integers, not {} of shape {:?}", n.dtype, n.shape)));
            }
            let x = self.astype(DType::I64);
            let (lo, hi) = if n.shape[0] == 0 {
                (0, -1)
            } else {
                let ext = super::compute_all(&[&x.min(), &x.max()])?;
                let v: Vec<i64> = ext.into_iter().map(|h| h.to_f64()[[]] as i64).collect();
                (v[0], v[1])
            };
            if lo < 0 {
                return Err(Error::arg(OP, format!("the input has a negative value ({lo}); bincount counts non-negative integers")));
            }
            let len = ((hi + 1).max(0) as usize).max(minlength);
            let edges = (0..=len).map(|i| i as f64).collect::<Vec<_>>();
            counts(OP, &[x.astype(DType::F64)], vec![edges], weights, false)
        };
        go().unwrap_or_else(Array::err)
    }

    /// A histogram of the flattened array: `(counts, edges)` like `numpy.histogram`
    /// (counts int64; float64 with `weights` or `density`, which divides by the total and
    /// the bin widths). NaNs and values outside the range are not counted.
    ///
    /// ```
    /// use tessera::array::Bins;
    /// let x = tessera::from_ndarray(ndarray::arr1(&[0.0, 0.5, 1.0, 2.0, 3.0]).into_dyn(), 2).unwrap();
    /// let (c, e) = x.histogram(Bins::Count(3), None, None, false);
    /// assert_eq!(e, vec![0.0, 1.0, 2.0, 3.0]);
    /// assert_eq!(c.compute::<i64>().unwrap().as_slice().unwrap(), &[2, 1, 2]);
    /// ```
    pub fn histogram(
        &self,
        bins: Bins,
        range: Option<(f64, f64)>,
        weights: Option<&Array>,
        density: bool,
    ) -> (Array, Vec<f64>) {
        let (c, mut e) = histogramdd(&[self], &[bins], &[range], weights, density);
        (c, e.pop().unwrap_or_default())
    }

    /// The index of the bin each element falls in, like `numpy.digitize` (`bins`
    /// monotonic, increasing or decreasing; `right` puts a value equal to an edge in the
    /// bin to its left).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[0.5, 1.0, 2.5]).into_dyn(), 2).unwrap();
    /// let d = x.digitize(&[0.0, 1.0, 2.0], false).compute::<i64>().unwrap();
    /// assert_eq!(d.as_slice().unwrap(), &[1, 2, 3]);
    /// ```
    pub fn digitize(&self, bins: &[f64], right: bool) -> Array {
        const OP: &str = "digitize";
        let go = || -> Result<Array> {
            let inc = bins.windows(2).all(|w| w[0] <= w[1]);
            let dec = bins.windows(2).all(|w| w[0] >= w[1]);
            if !inc && !dec {
                return Err(Error::arg(
                    OP,
                    "bins must be monotonically increasing or decreasing",
                ));
            }
            let side = if right {
                super::Side::Left
            } else {
                super::Side::Right
            };
            let b = |v: Vec<f64>| {
                super::from_ndarray(ndarray::Array1::from(v).into_dyn(), bins.len().max(1))
            };
            if inc {
                Ok(b(bins.to_vec())?.searchsorted(self, side))
            } else {
                let rev: Vec<f64> = bins.iter().rev().copied().collect();
                Ok((bins.len() as i64) - &b(rev)?.searchsorted(self, side))
            }
        };
        go().unwrap_or_else(Array::err)
    }
}

/// A histogram of `sample` (one array per dimension, same shape, flattened), like
/// `numpy.histogramdd`: counts of shape `bins per dimension`, and each dimension's edges.
///
/// ```
/// use tessera::array::{histogramdd, Bins};
/// let x = tessera::from_ndarray(ndarray::arr1(&[0.0, 1.0, 1.0, 2.0]).into_dyn(), 2).unwrap();
/// let y = tessera::from_ndarray(ndarray::arr1(&[0.0, 0.0, 2.0, 2.0]).into_dyn(), 3).unwrap();
/// let (c, _) = histogramdd(&[&x, &y], &[Bins::Count(2), Bins::Count(2)], &[None, None], None, false);
/// assert_eq!(c.compute::<i64>().unwrap().as_slice().unwrap(), &[1, 0, 1, 2]); // [[x<1], [x≥1]] × y
/// ```
pub fn histogramdd(
    sample: &[&Array],
    bins: &[Bins],
    ranges: &[Option<(f64, f64)>],
    weights: Option<&Array>,
    density: bool,
) -> (Array, Vec<Vec<f64>>) {
    const OP: &str = "histogram";
    let go = || -> Result<(Array, Vec<Vec<f64>>)> {
        if sample.is_empty() || bins.len() != sample.len() || ranges.len() != sample.len() {
            return Err(Error::arg(
                OP,
                format!(
                    "{} coordinate arrays, {} bins and {} ranges: give one of each per dimension",
                    sample.len(),
                    bins.len(),
                    ranges.len()
                ),
            ));
        }
        let shape = sample[0].node()?.shape.clone();
        let mut coords = vec![];
        for a in sample {
            let n = a.node()?;
            if n.shape != shape {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: shape.clone(),
                    right: n.shape.clone(),
                    hint: "every coordinate array needs the same shape".into(),
                });
            }
            if n.dtype.is_complex() {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: "bins need an order; take the real part first".into(),
                });
            }
            coords.push(a.reshape(&[-1]).astype(DType::F64));
        }
        let edges = coords
            .iter()
            .zip(bins)
            .zip(ranges)
            .map(|((c, b), r)| edges_for(c, b, *r))
            .collect::<Result<Vec<_>>>()?;
        let c = counts(OP, &coords, edges.clone(), weights, density)?;
        Ok((c, edges))
    };
    go().unwrap_or_else(|e| (Array::err(e), vec![]))
}

/// NumPy's edges for one dimension (`histogram_bin_edges`).
fn edges_for(x: &Array, bins: &Bins, range: Option<(f64, f64)>) -> Result<Vec<f64>> {
    const OP: &str = "histogram";
    if let Bins::Edges(e) = bins {
        if e.len() < 2
            || e.windows(2)
                .any(|w| w[0].partial_cmp(&w[1]).is_none_or(|o| o.is_gt()))
        {
            return Err(Error::arg(
                OP,
                "bin edges must be at least two and increasing",
            ));
        }
        return Ok(e.clone());
    }
    let n = x.node()?.shape[0];
    let (mut lo, mut hi) = match range {
        Some((lo, hi)) if lo > hi => {
            return Err(Error::arg(
                OP,
                format!("range ({lo}, {hi}): max must be larger than min"),
            ))
        }
        Some(r) => r,
        None if n == 0 => (0.0, 1.0),
        None => {
            let finite = x.isfinite();
            let ext = super::compute_all(&[&x.min(), &x.max(), &finite.all()])?;
            let v: Vec<f64> = ext.iter().map(|h| h.to_f64()[[]]).collect();
            if v[2] == 0.0 {
                return Err(Error::arg(OP, format!("autodetected range of [{}, {}] is not finite; pass range= or drop the NaNs and infinities", v[0], v[1])));
            }
            (v[0], v[1])
        }
    };
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::arg(OP, format!("range ({lo}, {hi}) must be finite")));
    }
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let count = match bins {
        Bins::Count(0) => return Err(Error::arg(OP, "the number of bins must be positive")),
        Bins::Count(k) => *k,
        Bins::Auto => {
            // NumPy's "auto": the narrower of Freedman–Diaconis and Sturges (FD only
            // when the interquartile range is positive), over the data in range.
            let inside = x.mask(&x.ge(lo).and(x.le(hi)));
            let m = inside.node()?.shape[0];
            if m == 0 {
                1
            } else {
                let iqr = inside
                    .quantiles(&[0.75, 0.25], None, QuantileMethod::Linear, false, false)
                    .compute::<f64>()?;
                let sturges = (hi - lo) / ((m as f64).log2() + 1.0);
                let fd = 2.0 * (iqr[0] - iqr[1]) * (m as f64).powf(-1.0 / 3.0);
                let width = if fd > 0.0 { fd.min(sturges) } else { sturges };
                if width > 0.0 {
                    ((hi - lo) / width).ceil().max(1.0) as usize
                } else {
                    1
                }
            }
        }
        Bins::Edges(_) => unreachable!("returned above"),
    };
    // NumPy's linspace: i · step + start, the last edge exactly `hi`.
    let step = (hi - lo) / count as f64;
    let mut e: Vec<f64> = (0..=count).map(|i| i as f64 * step + lo).collect();
    e[count] = hi;
    Ok(e)
}

/// Counts (or weight sums) of the points `coords` (1-d f64, one per dimension) in the
/// bins `edges`: a row of all bins per chunk, summed.
fn counts(
    op: &'static str,
    coords: &[Array],
    edges: Vec<Vec<f64>>,
    weights: Option<&Array>,
    density: bool,
) -> Result<Array> {
    let shape: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    let total: usize = shape.iter().product();
    let len = coords[0].node()?.shape[0];
    let mut inputs: Vec<Array> = coords.to_vec();
    if let Some(w) = weights {
        let wn = w.node()?;
        if wn.shape.iter().product::<usize>() != len {
            return Err(Error::ShapeMismatch {
                op,
                left: vec![len],
                right: wn.shape.clone(),
                hint: "weights need the data's shape".into(),
            });
        }
        inputs.push(w.reshape(&[-1]).astype(DType::F64));
    }
    let weighted = weights.is_some();
    let out_dtype = if weighted || density {
        DType::F64
    } else {
        DType::I64
    };
    let grid = coords[0].node()?.grid.clone();
    let chunks = grid.sizes(0).to_vec();
    let inputs: Vec<Array> = inputs
        .iter()
        .map(|a| a.rechunk(vec![chunks.clone()]))
        .collect();
    let dims = edges.len();
    let e2 = edges.clone();
    let f = BlockFn::engine(op, move |b, _| {
        let cols: Vec<&ndarray::ArrayD<f64>> = b
            .iter()
            .map(|h| match h {
                HostArray::F64(a) => Ok(a),
                _ => Err(Error::arg(
                    "histogram",
                    "coordinates reach the count as float64",
                )),
            })
            .collect::<Result<_>>()?;
        let n = cols[0].len();
        let mut acc = vec![0f64; total];
        'points: for i in 0..n {
            let mut flat = 0usize;
            for (d, e) in e2.iter().enumerate() {
                let v = cols[d][[i]];
                let nb = e.len() - 1;
                if v.is_nan() || v < e[0] || v > e[nb] {
                    continue 'points;
                }
                let k = if v == e[nb] {
                    nb - 1
                } else {
                    e.partition_point(|&x| x <= v) - 1
                };
                flat = flat * nb + k;
            }
            acc[flat] += if weighted { cols[dims][[i]] } else { 1.0 };
        }
        let row = ndarray::Array2::from_shape_vec((1, total), acc).expect("one row of every bin");
        Ok(HostArray::F64(row.into_dyn()))
    });
    let rows = rows_per_chunk(&inputs.iter().collect::<Vec<_>>(), f, total, DType::F64);
    let summed = rows.sum_axis(0);
    let dims_shape: Vec<isize> = shape.iter().map(|&s| s as isize).collect();
    let mut c = summed.reshape(&dims_shape);
    if density {
        // counts / total / bin volume, as NumPy's histogramdd.
        let mut vol = ndarray::ArrayD::<f64>::ones(ndarray::IxDyn(&shape));
        for (d, e) in edges.iter().enumerate() {
            for (idx, v) in vol.indexed_iter_mut() {
                *v *= e[idx[d] + 1] - e[idx[d]];
            }
        }
        let vol = super::from_ndarray(vol, shape.iter().map(|&s| s.max(1)).collect::<Vec<_>>())?;
        c = &(&c / &c.sum()) / &vol;
    }
    Ok(c.astype(out_dtype))
}

/// `f` on each chunk of the 1-d `inputs` (chunked alike), each call giving one row of
/// `width` values: a `(chunks, width)` array whose rows a reduction then combines. The
/// shape of every per-chunk tally here (histograms, value counts, rank selection).
pub(crate) fn rows_per_chunk(inputs: &[&Array], f: BlockFn, width: usize, dtype: DType) -> Array {
    let k = inputs
        .first()
        .and_then(|a| a.node().ok())
        .map_or(1, |n| n.grid.sizes(0).len());
    let spec = OutSpec::new(dtype).new_axis(&[1]).chunks(vec![
        AxisChunks::Sizes(vec![1; k]),
        AxisChunks::Sizes(vec![width]),
    ]);
    map_blocks_fn(inputs, f, spec)
}
