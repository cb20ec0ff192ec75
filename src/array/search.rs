//! Searching by another array's values: `searchsorted` (insertion points in a sorted
//! 1-d array), `isin` (membership) and `take` by a lazy array of indices.
//!
//! Why a sum (or an or) over the searched array's chunks: the insertion point of `v` in
//! a sorted array is the number of elements before it, which is the sum over chunks of
//! each chunk's count; membership is the or over chunks. So each task holds one block of
//! the queries and one chunk of the searched array, however long that is, and the
//! partial results fuse into one element-wise sum (or or) on any device.

use super::blockwise::blockwise_fn;
use super::sort::SortKey;
use super::BlockwiseSpec;
use crate::dtype::{DType, Element, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;
use crate::Index;
use ndarray::ArrayD;

/// Which end of a run of equal elements [`Array::searchsorted`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Before the first equal element (`a[i-1] < v <= a[i]`).
    Left,
    /// After the last equal element (`a[i-1] <= v < a[i]`).
    Right,
}

impl Array {
    /// Where each element of `v` would go in this sorted 1-d array to keep it sorted
    /// (int64, the shape of `v`), like `numpy.searchsorted`: NaNs sort last, both arrays
    /// are promoted to one dtype first. This array may span many chunks; each task holds
    /// one chunk of it and one block of `v`.
    ///
    /// ```
    /// use tessera::array::Side;
    /// let a = tessera::from_ndarray(ndarray::arr1(&[1.0, 2.0, 2.0, 3.0]).into_dyn(), 2).unwrap();
    /// let v = tessera::from_ndarray(ndarray::arr1(&[2.0, 0.0, 9.0]).into_dyn(), 2).unwrap();
    /// let left = a.searchsorted(&v, Side::Left).compute::<i64>().unwrap();
    /// assert_eq!(left.as_slice().unwrap(), &[1, 0, 4]);
    /// let right = a.searchsorted(&v, Side::Right).compute::<i64>().unwrap();
    /// assert_eq!(right.as_slice().unwrap(), &[3, 0, 4]);
    /// ```
    pub fn searchsorted(&self, v: &Array, side: Side) -> Array {
        const OP: &str = "searchsorted";
        let go = || -> Result<Array> {
            let (a, q) = (self.node()?, v.node()?);
            if a.shape.len() != 1 {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: a.shape.clone(),
                    right: q.shape.clone(),
                    hint: "the sorted array must be 1-d; searchsorted along the last axis of a stack is not built, ravel or slice it".into(),
                });
            }
            let dt = a.dtype.promote(q.dtype);
            let (sorted, q) = (self.astype(dt), v.astype(dt));
            let counts = per_chunk(&sorted, &q, OP, DType::I64, move |block, chunk| {
                Ok(crate::with_host!(block, x => HostArray::I64(count_before(x, chunk, side)?)))
            })?;
            let zero = q.full_like(0i64, Some(DType::I64));
            Ok(counts.iter().fold(zero, |acc, c| &acc + c))
        };
        go().unwrap_or_else(Array::err)
    }

    /// Whether each element is in `test` (bool, this array's shape), like `numpy.isin`
    /// and the standard's `isin`: equality after promotion to one dtype, so NaN is in
    /// nothing and `-0.0` is `0.0`; `test` of any shape is searched whole, one chunk per
    /// task. `invert` gives `not in`.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[1i64, 5, 7, 2]).into_dyn(), 3).unwrap();
    /// let t = tessera::from_ndarray(ndarray::arr1(&[7.0, 1.0]).into_dyn(), 1).unwrap();
    /// let m = x.isin(&t, false).compute::<bool>().unwrap();
    /// assert_eq!(m.as_slice().unwrap(), &[true, false, true, false]);
    /// ```
    pub fn isin(&self, test: &Array, invert: bool) -> Array {
        const OP: &str = "isin";
        let go = || -> Result<Array> {
            let (x, t) = (self.node()?, test.node()?);
            let dt = x.dtype.promote(t.dtype);
            let flat = test.astype(dt).reshape(&[-1]);
            let x = self.astype(dt);
            let found = per_chunk(&flat, &x, OP, DType::Bool, |block, chunk| {
                Ok(crate::with_host!(block, x => HostArray::Bool(member(x, chunk)?)))
            })?;
            let none = x.full_like(false, Some(DType::Bool));
            let any = found.iter().fold(none, |acc, f| acc.or(f));
            Ok(if invert { any.not() } else { any })
        };
        go().unwrap_or_else(Array::err)
    }

    /// The elements at `indices` (a 1-d integer array, lazy like any other) along `axis`,
    /// like `numpy.take` and the standard's `take`; negative indices count from the end,
    /// one out of range is an error when computed. [`Array::take`] takes indices known
    /// now.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).into_dyn(), 2).unwrap();
    /// let i = tessera::from_ndarray(ndarray::arr1(&[2i64, 0, -1]).into_dyn(), 2).unwrap();
    /// let t = x.take_by(&i, 1).compute::<f64>().unwrap();
    /// assert_eq!(t.as_slice().unwrap(), &[3.0, 1.0, 3.0, 6.0, 4.0, 6.0]);
    /// ```
    pub fn take_by(&self, indices: &Array, axis: isize) -> Array {
        const OP: &str = "take";
        let go = || -> Result<Array> {
            let (x, i) = (self.node()?, indices.node()?);
            if i.shape.len() != 1 {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: x.shape.clone(),
                    right: i.shape.clone(),
                    hint: "take's indices are 1-d (the standard's rule); take_along_axis gathers by an array of the array's rank".into(),
                });
            }
            let ax = super::indexing::norm_axis(OP, axis, &x.shape)?;
            let mut shape = vec![1isize; x.shape.len()];
            shape[ax] = i.shape[0] as isize;
            Ok(self.take_along_axis(&indices.reshape(&shape), ax as isize))
        };
        go().unwrap_or_else(Array::err)
    }
}

/// `f(block of queries, chunk of searched)` for every chunk of the 1-d `searched`, one
/// array of the queries' shape per chunk.
fn per_chunk<F>(
    searched: &Array,
    queries: &Array,
    op: &'static str,
    dtype: DType,
    f: F,
) -> Result<Vec<Array>>
where
    F: Fn(&HostArray, &HostArray) -> Result<HostArray> + Send + Sync + Clone + 'static,
{
    let s = searched.node()?;
    let q = queries.node()?;
    let out: Vec<String> = (0..q.shape.len()).map(|k| format!("q{k}")).collect();
    let starts = s.grid.boundaries(0).to_vec();
    let sizes = s.grid.sizes(0).to_vec();
    Ok(starts
        .iter()
        .zip(&sizes)
        .filter(|(_, &n)| n > 0)
        .map(|(&start, &n)| {
            let chunk = searched.slice(&[Index::slice(
                Some(start as isize),
                Some((start + n) as isize),
                1,
            )]);
            let f = f.clone();
            let body = BlockFn::engine(op, move |b, _| f(b[0], b[1]));
            blockwise_fn(
                &out,
                &[(queries, out.clone()), (&chunk, vec!["searched".into()])],
                body,
                BlockwiseSpec {
                    name: Some(op.into()),
                    ..BlockwiseSpec::new(dtype)
                },
            )
        })
        .collect())
}

fn same<T: Element>(chunk: &HostArray, op: &'static str) -> Result<Vec<T>> {
    T::from_host(chunk.clone())
        .map(|a| a.iter().copied().collect())
        .ok_or_else(|| {
            Error::arg(
                op,
                "the searched chunk reaches the task in the queries' dtype",
            )
        })
}

/// How many elements of the sorted `chunk` go before each query.
fn count_before<T: SortKey + Element>(
    q: &ArrayD<T>,
    chunk: &HostArray,
    side: Side,
) -> Result<ArrayD<i64>> {
    let c = same::<T>(chunk, "searchsorted")?;
    Ok(q.mapv(|v| {
        c.partition_point(|a| match side {
            Side::Left => a.asc(&v).is_lt(),
            Side::Right => a.asc(&v).is_le(),
        }) as i64
    }))
}

/// Whether each query equals an element of `chunk`.
fn member<T: SortKey + Element>(q: &ArrayD<T>, chunk: &HostArray) -> Result<ArrayD<bool>> {
    let mut c = same::<T>(chunk, "isin")?;
    c.sort_by(|a, b| a.asc(b));
    Ok(q.mapv(|v| {
        let k = c.partition_point(|a| a.asc(&v).is_lt());
        c.get(k).is_some_and(|&a| a == v)
    }))
}
