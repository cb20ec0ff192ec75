//! Exact order statistics of a whole array without sorting it: histogram selection.
//!
//! Pass 1 finds the count, the NaNs and the range of the numbers; pass 2 counts them
//! into `BINS` equal bins, which places each wanted rank in one bin; pass 3 keeps only
//! the numbers in those bins (a few per bin on most data), which are sorted on the host
//! to read the ranks. A bin still too full (heavily repeated values) is refined by
//! another counting pass over its own range, until it is small or holds one value. Every
//! pass bins with the same function, so the ranks are exact whatever the rounding.

use super::custom::{map_blocks_fn, OutSpec};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;

const BINS: usize = 1 << 14;
/// Numbers kept for the host sort before a bin is refined instead.
const KEEP: usize = 1 << 22;

/// The bin of `v` among `BINS` equal bins over `[lo, hi]` (`v` inside it).
fn bin(v: f64, lo: f64, hi: f64) -> usize {
    let t = ((v - lo) / (hi - lo) * BINS as f64).floor();
    (t.max(0.0) as usize).min(BINS - 1)
}

/// The values of ranks `ranks` (sorted ascending, each < the count of numbers) among
/// the non-NaN elements of the 1-d f64 array `x`, whose non-NaN values lie in `[lo, hi]`.
/// `None` where the range is not finite (the caller sorts instead).
pub(crate) fn order_statistics(
    x: &Array,
    ranks: &[usize],
    lo: f64,
    hi: f64,
) -> Result<Option<Vec<f64>>> {
    // An infinite range (or one whose width overflows) has no equal bins: sort instead.
    if !(lo.is_finite() && hi.is_finite() && (hi - lo).is_finite()) {
        return Ok(None);
    }
    let mut out = vec![f64::NAN; ranks.len()];
    // (lo, hi, rank offset below lo, which ranks) still to place.
    let mut work: Vec<(f64, f64, usize, Vec<usize>)> =
        vec![(lo, hi, 0, (0..ranks.len()).collect())];
    let mut passes = 0;
    while let Some((lo, hi, below, want)) = work.pop() {
        if lo == hi {
            want.iter().for_each(|&i| out[i] = lo);
            continue;
        }
        passes += 1;
        if passes > 200 {
            return Err(Error::arg(
                "quantile",
                "histogram selection did not converge; this is a bug",
            ));
        }
        let counts = histogram(x, lo, hi)?;
        let mut cum = vec![0usize; BINS + 1];
        for b in 0..BINS {
            cum[b + 1] = cum[b] + counts[b];
        }
        // The bin of each wanted rank, and the ranks grouped by bin.
        let mut by_bin: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for &i in &want {
            let r = ranks[i] - below;
            let b = cum.partition_point(|&c| c <= r) - 1;
            by_bin.entry(b).or_default().push(i);
        }
        let small: Vec<usize> = by_bin
            .keys()
            .copied()
            .filter(|&b| counts[b] <= KEEP)
            .collect();
        for (&b, idx) in &by_bin {
            if counts[b] > KEEP {
                // Refine: this bin's values lie in [lo + b·step, lo + (b+1)·step] up to
                // rounding, so take the range from the bin function's own boundary.
                let (blo, bhi) = bin_range(x, lo, hi, b)?;
                work.push((blo, bhi, below + cum[b], idx.clone()));
            }
        }
        if small.is_empty() {
            continue;
        }
        let keep = in_bins(x, lo, hi, &small);
        let mut vals = x.mask(&keep).compute::<f64>()?.into_raw_vec_and_offset().0;
        vals.sort_by(|a, b| a.total_cmp(b));
        // Ranks within the kept values: the counts of the kept bins before each.
        let mut before = 0usize;
        let mut offset = std::collections::HashMap::new();
        for &b in &small {
            offset.insert(b, before);
            before += counts[b];
        }
        for &b in &small {
            for &i in &by_bin[&b] {
                let r = ranks[i] - below - cum[b];
                out[i] = vals[offset[&b] + r];
            }
        }
    }
    Ok(Some(out))
}

/// The counts of the non-NaN values of `x` in [lo, hi] per bin (values outside ignored).
fn histogram(x: &Array, lo: f64, hi: f64) -> Result<Vec<usize>> {
    let f = BlockFn::engine("quantile-histogram", move |b, _| {
        let HostArray::F64(a) = b[0] else {
            return Err(Error::arg("quantile", "the selection reads float64"));
        };
        let mut c = vec![0f64; BINS];
        for &v in a.iter().filter(|v| (lo..=hi).contains(*v)) {
            c[bin(v, lo, hi)] += 1.0;
        }
        Ok(HostArray::F64(
            ndarray::Array2::from_shape_vec((1, BINS), c)
                .expect("one row")
                .into_dyn(),
        ))
    });
    let rows = super::histogram::rows_per_chunk(&[x], f, BINS, DType::F64);
    Ok(rows
        .sum_axis(0)
        .compute::<f64>()?
        .iter()
        .map(|&c| c as usize)
        .collect())
}

/// Whether each element falls in one of the bins `which` of [lo, hi] (bool, lazily).
fn in_bins(x: &Array, lo: f64, hi: f64, which: &[usize]) -> Array {
    let which: std::collections::HashSet<usize> = which.iter().copied().collect();
    let f = BlockFn::engine("quantile-select", move |b, _| {
        let HostArray::F64(a) = b[0] else {
            return Err(Error::arg("quantile", "the selection reads float64"));
        };
        Ok(HostArray::Bool(a.mapv(|v| {
            (lo..=hi).contains(&v) && which.contains(&bin(v, lo, hi))
        })))
    });
    map_blocks_fn(&[x], f, OutSpec::new(DType::Bool))
}

/// The smallest and largest values of `x` in bin `b` of [lo, hi] (exact, one pass).
fn bin_range(x: &Array, lo: f64, hi: f64, b: usize) -> Result<(f64, f64)> {
    let inside = in_bins(x, lo, hi, &[b]);
    let lo_v = super::where_(&inside, x, f64::INFINITY).min();
    let hi_v = super::where_(&inside, x, f64::NEG_INFINITY).max();
    let v = super::compute_all(&[&lo_v, &hi_v])?;
    Ok((v[0].to_f64()[[]], v[1].to_f64()[[]]))
}
