//! Shapes that depend on the data: `compress`, boolean-mask indexing (`x[mask]`),
//! `nonzero`, `flatnonzero` and `argwhere`.
//!
//! How the sizes are learned: one counting pass when the operation is built (the number
//! of true elements in each chunk of the condition, one integer per chunk: dask's
//! `compute_chunk_sizes`, done at once), so every later operation sees exact chunks and
//! memory projection and spilling work as for any array. Each output chunk is its input
//! chunk's selected part, so the result's chunk `i` is at most input chunk `i`, and the
//! selection itself runs lazily with the rest of the graph. The counting pass computes
//! the condition; a condition that is costly to compute twice is worth `persist`ing. It
//! runs with the default options ([`crate::set_default_options`]; from Python,
//! `tessera.config.set`), so it keeps the same device and memory limits.

use super::custom::{chunks_resized, map_blocks_fn, AxisChunks, OutSpec};
use super::indexing::norm_axis;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::userfn::BlockFn;
use ndarray::Axis;

impl Array {
    /// The slices along `axis` where the 1-d boolean `condition` is true, like
    /// `numpy.compress` (`axis` `None`: the flattened array). `condition` may be shorter
    /// than the axis (the rest is dropped, NumPy's rule); its true count per chunk is
    /// computed now, so the result's chunks are exact.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 6.0, 1.0, 4).unwrap();
    /// let c = x.gt(2.5);
    /// let y = x.compress(&c, None);
    /// assert_eq!(y.shape(), &[3]);
    /// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[3.0, 4.0, 5.0]);
    /// ```
    pub fn compress(&self, condition: &Array, axis: Option<isize>) -> Array {
        const OP: &str = "compress";
        let go = || -> Result<Array> {
            let (n, c) = (self.node()?, condition.node()?);
            let (x, ax) = match axis {
                None => (self.reshape(&[-1]), 0),
                Some(a) => (self.clone(), norm_axis(OP, a, &n.shape)?),
            };
            let xn = x.node()?;
            let len = xn.shape[ax];
            if c.shape.len() != 1 || c.shape[0] > len {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: xn.shape.clone(),
                    right: c.shape.clone(),
                    hint: format!(
                        "the condition must be 1-d and at most the length of axis {ax} ({len})"
                    ),
                });
            }
            let mut cond = condition.astype(DType::Bool);
            if c.shape[0] < len {
                let rest = crate::full(&[len - c.shape[0]], false, len - c.shape[0])?;
                cond = super::concatenate(&[&cond, &rest], 0);
            }
            select_along(&x, &cond, ax, OP)
        };
        go().unwrap_or_else(Array::err)
    }

    /// `x[mask]`: the elements where the boolean `mask` is true, in C order, like NumPy.
    /// `mask` has this array's shape, or the shape of its leading axes (then whole
    /// sub-arrays are selected, `x[m]` with a 1-d `m` selecting rows).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[1.0, -2.0], [-3.0, 4.0]]).into_dyn(), 1).unwrap();
    /// let pos = x.mask(&x.gt(0.0)).compute::<f64>().unwrap();
    /// assert_eq!(pos.as_slice().unwrap(), &[1.0, 4.0]);
    /// ```
    pub fn mask(&self, mask: &Array) -> Array {
        const OP: &str = "getitem";
        let go = || -> Result<Array> {
            let (n, m) = (self.node()?, mask.node()?);
            let k = m.shape.len();
            if m.dtype != DType::Bool || k == 0 || k > n.shape.len() || m.shape[..] != n.shape[..k]
            {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: n.shape.clone(),
                    right: m.shape.clone(),
                    hint: format!("a boolean mask ({}) must have the array's shape or that of its leading axes", m.dtype),
                });
            }
            let lead: usize = m.shape.iter().product();
            let mut shape = vec![lead as isize];
            shape.extend(n.shape[k..].iter().map(|&d| d as isize));
            select_along(&self.reshape(&shape), &mask.reshape(&[-1]), 0, OP)
        };
        go().unwrap_or_else(Array::err)
    }

    /// The int64 positions of the non-zero elements of the flattened array, like
    /// `numpy.flatnonzero`.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[0.0, 3.0, 0.0, 1.0]).into_dyn(), 3).unwrap();
    /// assert_eq!(x.flatnonzero().compute::<i64>().unwrap().as_slice().unwrap(), &[1, 3]);
    /// ```
    pub fn flatnonzero(&self) -> Array {
        let go = || -> Result<Array> {
            let n = self.node()?;
            let size = n.shape.iter().product::<usize>();
            let flat = self.reshape(&[-1]);
            let chunk = flat
                .node()?
                .grid
                .sizes(0)
                .first()
                .copied()
                .unwrap_or(1)
                .max(1);
            let pos = crate::arange(0.0, size as f64, 1.0, chunk)?.astype(DType::I64);
            Ok(pos.compress(&flat.astype(DType::Bool), None))
        };
        go().unwrap_or_else(Array::err)
    }

    /// One int64 array of positions per axis, where the array is non-zero, like
    /// `numpy.nonzero` (C order). A 0-d array is an error, as in NumPy 2.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[0.0, 3.0], [5.0, 0.0]]).into_dyn(), 1).unwrap();
    /// let nz = x.nonzero();
    /// assert_eq!(nz[0].compute::<i64>().unwrap().as_slice().unwrap(), &[0, 1]);
    /// assert_eq!(nz[1].compute::<i64>().unwrap().as_slice().unwrap(), &[1, 0]);
    /// ```
    pub fn nonzero(&self) -> Vec<Array> {
        let go = || -> Result<Vec<Array>> {
            let n = self.node()?;
            if n.shape.is_empty() {
                return Err(Error::arg(
                    "nonzero",
                    "a 0-d array has no axes to give positions along (NumPy 2 refuses too); use atleast_1d first",
                ));
            }
            let flat = self.flatnonzero();
            flat.check()?;
            let mut stride = 1i64;
            let mut out = vec![];
            for &d in n.shape.iter().rev() {
                out.push(flat.floor_divide(stride).remainder(d as i64));
                stride *= d as i64;
            }
            out.reverse();
            Ok(out)
        };
        go().unwrap_or_else(|e| vec![Array::err(e)])
    }

    /// The positions of the non-zero elements, one row each (int64 `(count, ndim)`), like
    /// `numpy.argwhere`.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[0.0, 3.0], [5.0, 0.0]]).into_dyn(), 1).unwrap();
    /// let w = x.argwhere().compute::<i64>().unwrap();
    /// assert_eq!(w.as_slice().unwrap(), &[0, 1, 1, 0]);
    /// ```
    pub fn argwhere(&self) -> Array {
        let go = || -> Result<Array> {
            let n = self.node()?;
            if n.shape.is_empty() {
                let hit = self.astype(DType::Bool).reshape(&[1]);
                let none = crate::full(&[1, 0], 0i64, 1)?;
                return Ok(none.compress(&hit, Some(0)));
            }
            let cols = self.nonzero();
            Ok(super::stack(&cols.iter().collect::<Vec<_>>(), 1))
        };
        go().unwrap_or_else(Array::err)
    }
}

/// `x` where the 1-d bool `cond` (the length of axis `ax`) is true along `ax`: the
/// counting pass now, the selection lazily.
pub(crate) fn select_along(x: &Array, cond: &Array, ax: usize, op: &'static str) -> Result<Array> {
    let sizes = x.node()?.grid.sizes(ax).to_vec();
    let counts = true_counts(cond, &sizes, op)?;
    select_counted(x, cond, ax, &counts, op)
}

/// The number of true elements of the 1-d bool `cond` in each of the chunks `sizes`
/// (computed now).
pub(crate) fn true_counts(cond: &Array, sizes: &[usize], op: &'static str) -> Result<Vec<usize>> {
    let cond = cond.rechunk(vec![sizes.to_vec()]);
    let per_chunk = map_blocks_fn(
        &[&cond],
        BlockFn::engine(format!("{op}-count"), |b, _| {
            let HostArray::Bool(m) = b[0] else {
                return Err(Error::arg(
                    "compress",
                    "the condition reaches the count as bool",
                ));
            };
            let n = m.iter().filter(|&&t| t).count() as i64;
            Ok(HostArray::I64(ndarray::arr1(&[n]).into_dyn()))
        }),
        OutSpec::new(DType::I64).chunks(vec![AxisChunks::Each(1)]),
    );
    Ok(per_chunk
        .compute::<i64>()?
        .iter()
        .map(|&c| c as usize)
        .collect())
}

/// [`select_along`] with the true counts per chunk of `x` along `ax` known.
pub(crate) fn select_counted(
    x: &Array,
    cond: &Array,
    ax: usize,
    counts: &[usize],
    op: &'static str,
) -> Result<Array> {
    let xn = x.node()?;
    let cond = cond.rechunk(vec![xn.grid.sizes(ax).to_vec()]);
    let d = xn.shape.len();
    let mut shape = vec![1isize; d];
    shape[ax] = xn.shape[ax] as isize;
    let cond = cond.reshape(&shape);
    let chunks = chunks_resized(&xn.grid, ax, counts);
    let f = BlockFn::engine(op, move |b, _| {
        let HostArray::Bool(m) = b[1] else {
            return Err(Error::arg(
                "compress",
                "the condition reaches the selection as bool",
            ));
        };
        let keep: Vec<usize> = m
            .iter()
            .enumerate()
            .filter(|(_, &t)| t)
            .map(|(i, _)| i)
            .collect();
        Ok(crate::with_host!(b[0], a => HostArray::from(a.select(Axis(ax), &keep))))
    });
    let out = map_blocks_fn(&[x, &cond], f, OutSpec::new(xn.dtype).chunks(chunks));
    if !counts.contains(&0) {
        return Ok(out);
    }
    // Chunks emptied by the selection are dropped (the engine's grids have none but a
    // zero-length axis's one): the rest map one to one, so this moves no data between
    // chunks.
    let mut per: Vec<Vec<usize>> = out.node()?.grid.all().to_vec();
    per[ax] = counts.iter().copied().filter(|&c| c > 0).collect();
    if per[ax].is_empty() {
        per[ax] = vec![0];
    }
    Ok(out.rechunk(per))
}
