//! `unique` of integers in a narrow range by counting instead of sorting: one pass finds
//! the range, one pass counts every value in it (a row per chunk, summed), and the values
//! present are the non-zero counts. The first index of each value is one more pass (a row
//! of first positions per chunk, the minimum over chunks); the inverse is each element's
//! place among the values (`searchsorted`, lazily). So a 5000² array of 1000 distinct
//! integers takes two passes where the sort would take one per chunk.

use super::search::Side;
use super::unique::Unique;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;

/// The widest range counted (values `max - min + 1`): a row of this many counts per
/// chunk in flight is 8 MiB.
pub(crate) const MAX_RANGE: i64 = 1 << 20;

/// [`Unique`] of the flattened integer array `flat` (int64, 1-d) whose values lie in
/// `[lo, hi]` (`hi - lo < MAX_RANGE`); `shape` is the input's, for the inverse.
pub(crate) fn unique_by_counting(
    flat: &Array,
    lo: i64,
    hi: i64,
    shape: &[usize],
    dtype: DType,
) -> Result<Unique> {
    let range = (hi - lo + 1) as usize;
    let per_chunk = |name: &str, first: bool| {
        let f = BlockFn::engine(format!("unique-{name}"), move |b, info| {
            let HostArray::I64(a) = b[0] else {
                return Err(Error::arg("unique", "integers reach the count as int64"));
            };
            let start = info.inputs[0].location[0].start as i64;
            let mut row = vec![if first { i64::MAX } else { 0 }; range];
            for (i, &v) in a.iter().enumerate() {
                let slot = &mut row[(v - lo) as usize];
                if first {
                    *slot = (*slot).min(start + i as i64);
                } else {
                    *slot += 1;
                }
            }
            Ok(HostArray::I64(
                ndarray::Array2::from_shape_vec((1, range), row)
                    .expect("one row")
                    .into_dyn(),
            ))
        });
        super::histogram::rows_per_chunk(&[flat], f, range, DType::I64)
    };
    let counts = per_chunk("counts", false).sum_axis(0).compute::<i64>()?;
    let present: Vec<usize> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, _)| i)
        .collect();
    let m = present.len();
    let host = |v: Vec<i64>| super::from_ndarray(ndarray::Array1::from(v).into_dyn(), m.max(1));
    let values = host(present.iter().map(|&i| i as i64 + lo).collect())?.astype(dtype);
    let count = host(present.iter().map(|&i| counts[i]).collect())?;
    let first = per_chunk("first", true).min_axis(0);
    let idx: Vec<isize> = present.iter().map(|&i| i as isize).collect();
    let indices = first.take(0, &idx);
    let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    let inverse = values
        .searchsorted(&flat.astype(dtype), Side::Left)
        .reshape(&dims);
    Ok(Unique {
        values,
        indices,
        inverse,
        counts: count,
    })
}
