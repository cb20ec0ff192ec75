//! Set functions: the unique values of an array (with first indices, inverse and
//! counts), `union1d`, `intersect1d` and `setdiff1d`.
//!
//! How: the flattened array is sorted by the chunked sort (and persisted, since the
//! counting pass and the result both read it), a run starts where an element differs
//! from the one before, and the run starts are selected with their counts learned once
//! (see `select`). The inverse is each element's insertion point among the unique values
//! (`searchsorted`, a task per chunk of them), so no task holds the whole array.
//! Integers in a narrow range are counted instead (`unique_counted`).

use super::elementwise::Operand;
use super::search::Side;
use super::select::{select_counted, true_counts};
use super::unique_counted::{unique_by_counting, MAX_RANGE};
use crate::dtype::{DType, HostArray};
use crate::error::Result;
use crate::expr::Array;
use crate::Index;

/// Everything [`Array::unique_all`] finds, each a lazy array.
#[derive(Debug, Clone)]
pub struct Unique {
    /// The unique values, sorted (NaNs last).
    pub values: Array,
    /// The flat index of each value's first occurrence (int64).
    pub indices: Array,
    /// For each element of the input, the index of its value in `values` (int64, the
    /// input's shape).
    pub inverse: Array,
    /// How many times each value occurs (int64).
    pub counts: Array,
}

impl Array {
    /// The unique values of the flattened array, sorted, like `numpy.unique_values`
    /// (`equal_nan` false: every NaN is its own value, the standard's rule) or
    /// `numpy.unique` (`equal_nan` true: one NaN). The run boundaries are counted now.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[3.0, 1.0, 3.0, f64::NAN, 1.0, f64::NAN]).into_dyn(), 4).unwrap();
    /// let u = x.unique_values(true).compute::<f64>().unwrap();
    /// assert_eq!(&u.as_slice().unwrap()[..2], &[1.0, 3.0]);
    /// assert_eq!(u.len(), 3); // one NaN
    /// assert_eq!(x.unique_values(false).shape(), &[4]); // each NaN its own
    /// ```
    pub fn unique_values(&self, equal_nan: bool) -> Array {
        self.unique_all(equal_nan).values
    }

    /// The unique values with their first indices, the inverse and the counts, like the
    /// standard's `unique_all` (`equal_nan` as in [`Array::unique_values`]).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[5i64, 2, 5, 7, 2, 5]).into_dyn(), 4).unwrap();
    /// let u = x.unique_all(true);
    /// assert_eq!(u.values.compute::<i64>().unwrap().as_slice().unwrap(), &[2, 5, 7]);
    /// assert_eq!(u.indices.compute::<i64>().unwrap().as_slice().unwrap(), &[1, 0, 3]);
    /// assert_eq!(u.inverse.compute::<i64>().unwrap().as_slice().unwrap(), &[1, 0, 1, 2, 0, 1]);
    /// assert_eq!(u.counts.compute::<i64>().unwrap().as_slice().unwrap(), &[2, 3, 1]);
    /// ```
    pub fn unique_all(&self, equal_nan: bool) -> Unique {
        let go = || -> Result<Unique> {
            let n = self.node()?;
            let size = n.shape.iter().product::<usize>();
            let flat = self.reshape(&[-1]);
            // Integers in a narrow range: counted, not sorted (see `unique_counted`).
            if (n.dtype.is_int() || n.dtype == DType::Bool) && n.dtype != DType::U64 && size > 0 {
                let ints = flat.astype(DType::I64);
                let ext = super::compute_all(&[&ints.min(), &ints.max()])?;
                if let [HostArray::I64(lo), HostArray::I64(hi)] = &ext[..] {
                    let (lo, hi) = (lo[[]], hi[[]]);
                    if hi - lo < MAX_RANGE {
                        return unique_by_counting(&ints, lo, hi, &n.shape, n.dtype);
                    }
                }
            }
            let sorted = flat.sort_axis(0, false).persist()?;
            let sizes = sorted.node()?.grid.sizes(0).to_vec();
            let chunk = sizes.first().copied().unwrap_or(1).max(1);
            let keep = if size == 0 {
                crate::full(&[0], false, 1)?
            } else {
                let (tail, head) = (
                    sorted.slice(&[Index::slice(Some(1), None, 1)]),
                    sorted.slice(&[Index::slice(None, Some(-1), 1)]),
                );
                let mut new = tail.ne(&head);
                if equal_nan && n.dtype.is_inexact() {
                    new = new.and(tail.isnan().and(head.isnan()).not());
                }
                let first = crate::full(&[1], true, 1)?;
                super::concatenate(&[&first, &new], 0).rechunk(vec![sizes.clone()])
            };
            let counts = true_counts(&keep, &sizes, "unique")?;
            let pick = |a: &Array| select_counted(a, &keep, 0, &counts, "unique");
            let values = pick(&sorted)?;
            let starts = pick(&crate::arange(0.0, size as f64, 1.0, chunk)?.astype(DType::I64))?;
            let counts = starts.diff(1, 0, None, Some(Operand::from(size as i64)));
            let indices = pick(&flat.argsort_axis(0, false))?;
            let shape: Vec<isize> = n.shape.iter().map(|&d| d as isize).collect();
            let mut inverse = values.searchsorted(&flat, Side::Left);
            if !equal_nan && n.dtype.is_inexact() {
                // Each NaN is its own value, in the order the NaNs occur (the sort is
                // stable): the first NaN's place plus this NaN's rank among them.
                let nan = flat.isnan();
                let rank = nan.astype(DType::I64).cumsum(Some(0)) - 1i64;
                inverse = &inverse + &super::where_(&nan, &rank, 0i64);
            }
            let inverse = inverse.reshape(&shape);
            Ok(Unique {
                values,
                indices,
                inverse,
                counts,
            })
        };
        go().unwrap_or_else(|e| {
            let a = Array::err(e);
            Unique {
                values: a.clone(),
                indices: a.clone(),
                inverse: a.clone(),
                counts: a,
            }
        })
    }

    /// The sorted unique values of both arrays together, like `numpy.union1d`.
    ///
    /// ```
    /// let a = tessera::from_ndarray(ndarray::arr1(&[3i64, 1]).into_dyn(), 1).unwrap();
    /// let b = tessera::from_ndarray(ndarray::arr1(&[1i64, 2]).into_dyn(), 2).unwrap();
    /// assert_eq!(a.union1d(&b).compute::<i64>().unwrap().as_slice().unwrap(), &[1, 2, 3]);
    /// ```
    pub fn union1d(&self, other: &Array) -> Array {
        let both = super::concatenate(&[&self.reshape(&[-1]), &other.reshape(&[-1])], 0);
        both.unique_values(true)
    }

    /// The sorted unique values in both arrays, like `numpy.intersect1d`.
    ///
    /// ```
    /// let a = tessera::from_ndarray(ndarray::arr1(&[3i64, 1, 3, 4]).into_dyn(), 3).unwrap();
    /// let b = tessera::from_ndarray(ndarray::arr1(&[4i64, 3, 9]).into_dyn(), 2).unwrap();
    /// assert_eq!(a.intersect1d(&b).compute::<i64>().unwrap().as_slice().unwrap(), &[3, 4]);
    /// ```
    pub fn intersect1d(&self, other: &Array) -> Array {
        self.unique_filtered(other, false)
    }

    /// The sorted unique values of this array that are not in `other`, like
    /// `numpy.setdiff1d`.
    ///
    /// ```
    /// let a = tessera::from_ndarray(ndarray::arr1(&[3i64, 1, 3, 4]).into_dyn(), 3).unwrap();
    /// let b = tessera::from_ndarray(ndarray::arr1(&[4i64, 9]).into_dyn(), 2).unwrap();
    /// assert_eq!(a.setdiff1d(&b).compute::<i64>().unwrap().as_slice().unwrap(), &[1, 3]);
    /// ```
    pub fn setdiff1d(&self, other: &Array) -> Array {
        self.unique_filtered(other, true)
    }

    fn unique_filtered(&self, other: &Array, invert: bool) -> Array {
        let u = self.unique_values(true);
        let hit = u.isin(other, invert);
        u.compress(&hit, Some(0))
    }
}
