//! dask's `topk` and `argtopk`: the `k` largest (or, for negative `k`, smallest)
//! elements along an axis, in one pass with bounded memory.
//!
//! How: each chunk keeps its own best `|k|` along the axis (a task per block), which
//! is all a global top-k can need from it; the survivors (at most `|k|` per chunk) are
//! few, so they are put in one chunk along the axis and ordered there.

use super::custom::{chunks_resized, map_blocks_fn, OutSpec};
use super::indexing::norm_axis;
use super::sort::SortKey;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;
use crate::Index;
use ndarray::{ArrayD, Axis};

impl Array {
    /// The `k` largest elements along `axis`, largest first (negative `k`: the `|k|`
    /// smallest, smallest first), like dask's `topk`. NaNs rank after every number in
    /// both directions. The result is one chunk along the axis.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[5.0, 1.0, 9.0, 3.0, 7.0]).into_dyn(), 2).unwrap();
    /// assert_eq!(x.topk(2, -1).compute::<f64>().unwrap().as_slice().unwrap(), &[9.0, 7.0]);
    /// assert_eq!(x.topk(-2, -1).compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 3.0]);
    /// ```
    pub fn topk(&self, k: isize, axis: isize) -> Array {
        self.top("topk", k, axis, false)
    }

    /// The int64 indices of [`Array::topk`]'s elements along `axis`, like dask's
    /// `argtopk` (equal elements: the earlier index first).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[5.0, 1.0, 9.0, 3.0, 7.0]).into_dyn(), 2).unwrap();
    /// assert_eq!(x.argtopk(2, 0).compute::<i64>().unwrap().as_slice().unwrap(), &[2, 4]);
    /// ```
    pub fn argtopk(&self, k: isize, axis: isize) -> Array {
        self.top("argtopk", k, axis, true)
    }

    fn top(&self, op: &'static str, k: isize, axis: isize, indices: bool) -> Array {
        let go = || -> Result<Array> {
            let n = self.node()?;
            let ax = norm_axis(op, axis, &n.shape)?;
            let (kk, desc) = (k.unsigned_abs(), k > 0);
            if kk == 0 || kk > n.shape[ax] {
                return Err(Error::arg(
                    op,
                    format!(
                        "k = {k} must be non-zero and at most the axis length {} in magnitude",
                        n.shape[ax]
                    ),
                ));
            }
            let kept: Vec<usize> = n.grid.sizes(ax).iter().map(|&c| c.min(kk)).collect();
            let chunks = chunks_resized(&n.grid, ax, &kept);
            let partial = |want_idx: bool, dtype: DType| {
                let f = BlockFn::engine(format!("{op}-partial"), move |b, info| {
                    let start = info.inputs[0].location[ax].start as i64;
                    Ok(crate::with_host!(b[0], a => best(a, ax, kk, desc, start, want_idx)))
                });
                map_blocks_fn(&[self], f, OutSpec::new(dtype).chunks(chunks.clone()))
            };
            let whole = |a: Array| {
                let mut per: Vec<Vec<usize>> =
                    a.node().map(|m| m.grid.all().to_vec()).unwrap_or_default();
                if let Some(p) = per.get_mut(ax) {
                    *p = vec![p.iter().sum()];
                }
                a.rechunk(per)
            };
            let first = |a: Array| {
                let mut sel = vec![Index::all(); n.shape.len()];
                sel[ax] = Index::slice(None, Some(kk as isize), 1);
                a.slice(&sel)
            };
            let values = whole(partial(false, n.dtype));
            if !indices {
                return Ok(first(values.sort_axis(ax as isize, desc)));
            }
            let idx = whole(partial(true, DType::I64));
            let order = first(values.argsort_axis(ax as isize, desc));
            Ok(idx.take_along_axis(&order, ax as isize))
        };
        go().unwrap_or_else(Array::err)
    }
}

/// The best `kk` of each lane of `a` along `ax` (values, or their global indices from
/// `start`), in order.
fn best<T: SortKey + crate::Element>(
    a: &ArrayD<T>,
    ax: usize,
    kk: usize,
    desc: bool,
    start: i64,
    want_idx: bool,
) -> HostArray {
    let len = a.shape()[ax];
    let keep = kk.min(len);
    let mut shape = a.shape().to_vec();
    shape[ax] = keep;
    let Some(&fill) = a.first() else {
        // An empty block (another axis has length 0) keeps nothing.
        let empty = ArrayD::<T>::from_shape_vec(shape.clone(), vec![]).expect("an empty shape");
        return if want_idx {
            HostArray::I64(ArrayD::zeros(shape))
        } else {
            T::into_host(empty)
        };
    };
    let mut vals = ArrayD::<T>::from_elem(shape.clone(), fill);
    let mut idx = ArrayD::<i64>::zeros(shape);
    let mut buf: Vec<(T, i64)> = Vec::with_capacity(len);
    for ((lane, mut vo), mut io) in a
        .lanes(Axis(ax))
        .into_iter()
        .zip(vals.lanes_mut(Axis(ax)))
        .zip(idx.lanes_mut(Axis(ax)))
    {
        buf.clear();
        buf.extend(lane.iter().copied().zip(0i64..));
        buf.sort_by(|x, y| x.0.order(&y.0, desc).then(x.1.cmp(&y.1)));
        for (j, &(v, i)) in buf.iter().take(keep).enumerate() {
            vo[j] = v;
            io[j] = i + start;
        }
    }
    if want_idx {
        HostArray::I64(idx)
    } else {
        T::into_host(vals)
    }
}
