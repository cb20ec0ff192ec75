//! Sorting along an axis, a chunked axis included: `sort` and `argsort` (stable, NaNs
//! last, ascending or descending).
//!
//! Why a block odd-even transposition: every output chunk keeps the input's length, so
//! the result's chunks are known before anything runs and memory stays three blocks per
//! task (a block and its two neighbours, read as a halo). Round `r` merges the pairs of
//! neighbouring blocks `(j, j+1)` with `j ≡ r (mod 2)` and splits them back at the same
//! boundary; after as many rounds as blocks the axis is sorted. That holds for equal
//! blocks (Knuth, TAOCP 5.3.4, merge-exchange of sorted blocks) and for a shorter last
//! block (pad it with +∞: the padding never leaves it), so an irregular axis is rechunked
//! to that form first. The cost is a pass per block along the axis: right for tens of
//! chunks; a sample sort's constant number of passes is the better plan past that.
//! Every round sorts with Rust's stable merge sort, which finds the two sorted runs a
//! merge leaves and merges them in linear time.

use super::custom::{map_overlap_fn, Boundary, OutSpec, Overlap};
use super::indexing::norm_axis;
use crate::dtype::{Complex32, Complex64, DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::{BlockFn, BlockInfo};
use half::{bf16, f16};
use ndarray::{ArrayD, Axis, Zip};
use std::cmp::Ordering;
use std::ops::Range;

/// The order sort and search use: NumPy's, NaNs after every number (complex numbers by
/// real part, then imaginary part, each with NaNs last).
pub(crate) trait SortKey: Copy + PartialEq {
    /// Whether this is a NaN (sorts last in either direction).
    fn nan(&self) -> bool;
    /// The ascending order, NaNs last and equal to each other.
    fn asc(&self, other: &Self) -> Ordering;
    /// The order of a sort in direction `descending`: NaNs still last.
    fn order(&self, other: &Self, descending: bool) -> Ordering {
        if descending && !self.nan() && !other.nan() {
            other.asc(self)
        } else {
            self.asc(other)
        }
    }
}

macro_rules! ord_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn nan(&self) -> bool { false }
            fn asc(&self, other: &Self) -> Ordering { self.cmp(other) }
        }
    )*};
}
ord_key!(bool, i8, u8, i16, u16, i32, u32, i64, u64);

fn float_asc(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (an, bn) => an.cmp(&bn),
    }
}

macro_rules! float_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn nan(&self) -> bool { self.is_nan() }
            fn asc(&self, other: &Self) -> Ordering { float_asc(f64::from(*self), f64::from(*other)) }
        }
    )*};
}
float_key!(f16, bf16, f32, f64);

macro_rules! complex_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn nan(&self) -> bool { self.re.is_nan() || self.im.is_nan() }
            fn asc(&self, other: &Self) -> Ordering {
                float_asc(self.re.into(), other.re.into()).then(float_asc(self.im.into(), other.im.into()))
            }
        }
    )*};
}
complex_key!(Complex32, Complex64);

/// Which array a round's task writes: the values, or (for `argsort`) where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carry {
    Values,
    Indices,
}

impl Array {
    /// This array sorted along `axis`, like `numpy.sort` (and the standard's `sort`):
    /// stable, NaNs last in either direction, `descending` reversing the order of the
    /// numbers. The axis may span many chunks; the result keeps the input's chunks.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[3.0, f64::NAN, 1.0, 2.0, 0.5]).into_dyn(), 2).unwrap();
    /// let s = x.sort_axis(-1, false).compute::<f64>().unwrap();
    /// assert_eq!(&s.as_slice().unwrap()[..4], &[0.5, 1.0, 2.0, 3.0]);
    /// assert!(s[4].is_nan());
    /// ```
    pub fn sort_axis(&self, axis: isize, descending: bool) -> Array {
        self.sorted("sort", axis, descending, Carry::Values)
    }

    /// The indices that sort this array along `axis` (int64), like `numpy.argsort(kind=
    /// "stable")`: equal elements keep their order, NaNs last, `descending` as in
    /// [`Array::sort_axis`].
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[3.0, 1.0, 3.0, 0.0]).into_dyn(), 3).unwrap();
    /// let i = x.argsort_axis(0, true).compute::<i64>().unwrap();
    /// assert_eq!(i.as_slice().unwrap(), &[0, 2, 1, 3]);
    /// ```
    pub fn argsort_axis(&self, axis: isize, descending: bool) -> Array {
        self.sorted("argsort", axis, descending, Carry::Indices)
    }

    /// This array rearranged along `axis` so that the elements at positions `kth` are
    /// those a sort puts there, every element before one no greater and every element
    /// after it no smaller, like `numpy.partition` (NaNs last). NumPy leaves the order
    /// within the parts unspecified; this returns them sorted (the chunked sort is the
    /// partition: it keeps chunk sizes known and needs no selection per lane).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[5.0, 1.0, 4.0, 2.0]).into_dyn(), 2).unwrap();
    /// let p = x.partition(&[1], -1).compute::<f64>().unwrap();
    /// assert_eq!(p[[1]], 2.0);
    /// assert!(x.partition(&[4], 0).compute::<f64>().is_err());
    /// ```
    pub fn partition(&self, kth: &[isize], axis: isize) -> Array {
        self.partitioned("partition", kth, axis)
            .map(|ax| self.sort_axis(ax as isize, false))
            .unwrap_or_else(Array::err)
    }

    /// The indices that partition this array along `axis` (int64), like
    /// `numpy.argpartition`: the stable sort's indices, which are one such answer.
    pub fn argpartition(&self, kth: &[isize], axis: isize) -> Array {
        self.partitioned("argpartition", kth, axis)
            .map(|ax| self.argsort_axis(ax as isize, false))
            .unwrap_or_else(Array::err)
    }

    /// The axis, after checking every `kth` lies on it (NumPy's negative ones count from
    /// the end).
    fn partitioned(&self, op: &'static str, kth: &[isize], axis: isize) -> Result<usize> {
        let n = self.node()?;
        let ax = norm_axis(op, axis, &n.shape)?;
        let len = n.shape[ax] as isize;
        for &k in kth {
            if k < -len || k >= len {
                return Err(Error::arg(
                    op,
                    format!("kth {k} is out of bounds for axis {ax} of length {len} (shape {:?}); use -{len} <= kth < {len}", n.shape),
                ));
            }
        }
        Ok(ax)
    }

    fn sorted(&self, op: &'static str, axis: isize, descending: bool, carry: Carry) -> Array {
        let go = || -> Result<Array> {
            let n = self.node()?;
            let ax = norm_axis(op, axis, &n.shape)?;
            let sizes = n.grid.sizes(ax).to_vec();
            let s = sizes.iter().copied().max().unwrap_or(0);
            // Equal blocks and a shorter last one: the form the network sorts.
            let regular = sizes
                .split_last()
                .is_none_or(|(_, rest)| rest.iter().all(|&c| c == s));
            let x = if regular {
                self.clone()
            } else {
                let mut per: Vec<Vec<usize>> = n.grid.all().to_vec();
                let len = n.shape[ax];
                per[ax] = (0..len.div_ceil(s)).map(|i| s.min(len - i * s)).collect();
                self.rechunk(per)
            };
            let grid = x.node()?.grid.clone();
            // The input's chunks again where they were not the network's.
            let back = |a: Array| {
                if regular {
                    a
                } else {
                    a.rechunk(n.grid.all().to_vec())
                }
            };
            let blocks = grid.sizes(ax).len().max(1);
            let mut depth = vec![0; n.shape.len()];
            if blocks > 1 {
                depth[ax] = s;
            }
            let ov = Overlap::new(&depth, Boundary::None);
            let round = |inputs: &[&Array], r: usize, out: Carry, dtype: DType| {
                let dir = if descending {
                    "descending"
                } else {
                    "ascending"
                };
                let f = BlockFn::engine(format!("{op}-{dir}-round-{r}"), move |b, info| {
                    sort_round(b, info, ax, r, descending, out)
                });
                map_overlap_fn(inputs, f, ov.clone(), OutSpec::new(dtype))
            };
            if carry == Carry::Values {
                let mut v = x;
                for r in 0..blocks {
                    v = round(&[&v], r, Carry::Values, n.dtype);
                }
                return Ok(back(v));
            }
            // Where each element came from, generated along the axis and carried along.
            let len = n.shape[ax];
            let mut shape1 = vec![1isize; n.shape.len()];
            shape1[ax] = len as isize;
            let mut i = crate::arange(0.0, len as f64, 1.0, s.max(1))?
                .astype(DType::I64)
                .reshape(&shape1)
                .broadcast_to(&n.shape)
                .rechunk(grid.all().to_vec());
            let mut v = x;
            for r in 0..blocks {
                let ni = round(&[&v, &i], r, Carry::Indices, DType::I64);
                if r + 1 < blocks {
                    v = round(&[&v, &i], r, Carry::Values, n.dtype);
                }
                i = ni;
            }
            Ok(back(i))
        };
        go().unwrap_or_else(Array::err)
    }
}

/// One task of round `r`: the block with its neighbours (the region), the pair it
/// belongs to sorted, the whole region returned (the halo is cut off after).
fn sort_round(
    b: &[&HostArray],
    info: &BlockInfo,
    ax: usize,
    r: usize,
    descending: bool,
    out: Carry,
) -> Result<HostArray> {
    let own = &info.location[ax];
    let reg = &info.inputs[0].location[ax];
    let (lo, hi, end) = (own.start - reg.start, own.end - reg.start, reg.len());
    let j = info.block[ax];
    let span = if j % 2 == r % 2 && hi < end {
        lo..end
    } else if j % 2 != r % 2 && lo > 0 {
        0..hi
    } else {
        lo..hi
    };
    match (out, b) {
        (Carry::Values, [v]) => Ok(crate::with_host!((*v).clone(), a => {
            let mut a = a;
            sort_lanes(&mut a, None, ax, span, descending);
            HostArray::from(a)
        })),
        (_, [v, HostArray::I64(i)]) => {
            let mut i = i.clone();
            let v = crate::with_host!((*v).clone(), a => {
                let mut a = a;
                sort_lanes(&mut a, Some(&mut i), ax, span, descending);
                HostArray::from(a)
            });
            Ok(match out {
                Carry::Values => v,
                Carry::Indices => HostArray::I64(i),
            })
        }
        _ => Err(Error::arg(
            "sort",
            "a sort round gets the values (and int64 indices for argsort)",
        )),
    }
}

/// Sorts `span` of every lane along `ax`; with `idx`, ties go by index (stable) and the
/// indices move with their values.
fn sort_lanes<T: SortKey>(
    a: &mut ArrayD<T>,
    idx: Option<&mut ArrayD<i64>>,
    ax: usize,
    span: Range<usize>,
    descending: bool,
) {
    let mut a = a.slice_axis_mut(Axis(ax), span.clone().into());
    match idx {
        None => {
            let mut buf: Vec<T> = Vec::with_capacity(span.len());
            for mut lane in a.lanes_mut(Axis(ax)) {
                buf.clear();
                buf.extend(lane.iter().copied());
                buf.sort_by(|x, y| x.order(y, descending));
                lane.iter_mut().zip(&buf).for_each(|(o, &x)| *o = x);
            }
        }
        Some(idx) => {
            let mut idx = idx.slice_axis_mut(Axis(ax), span.clone().into());
            let mut buf: Vec<(T, i64)> = Vec::with_capacity(span.len());
            Zip::from(a.lanes_mut(Axis(ax)))
                .and(idx.lanes_mut(Axis(ax)))
                .for_each(|mut lane, mut il| {
                    buf.clear();
                    buf.extend(lane.iter().copied().zip(il.iter().copied()));
                    buf.sort_by(|x, y| x.0.order(&y.0, descending).then(x.1.cmp(&y.1)));
                    for ((o, oi), &(x, i)) in lane.iter_mut().zip(il.iter_mut()).zip(&buf) {
                        *o = x;
                        *oi = i;
                    }
                });
        }
    }
}
