//! Reductions over one axis, several axes or all of them, planned as dask does: a
//! partial per chunk, then a tree of combines (`split_every`, default 4) so memory
//! stays bounded.

use super::indexing::norm_axis;
use super::{Array, Op};
use crate::chunks::ChunkGrid;
use crate::error::{Error, Result};
use crate::kernel::Reduction;

/// Default fan-in of the combine tree (dask's `split_every`).
pub const SPLIT_EVERY: usize = 4;

impl Array {
    /// General reduction: `axes = None` reduces everything.
    ///
    /// ```
    /// use tessera::kernel::Reduction;
    /// let x = tessera::ones(&[4, 6], 2).unwrap();
    /// let s = x.reduce(Reduction::Sum, Some(&[0, 1]), true, 2);
    /// assert_eq!(s.shape(), &[1, 1]);
    /// assert_eq!(s.compute::<f64>().unwrap()[[0, 0]], 24.0);
    /// ```
    pub fn reduce(
        &self,
        reduction: Reduction,
        axes: Option<&[isize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Array {
        self.then(|n| {
            if n.dtype.is_complex() {
                return self.reduce_complex(reduction, axes, keepdims, split_every);
            }
            let name = reduction.name();
            let mut ax: Vec<usize> = match axes {
                None => (0..n.shape.len()).collect(),
                Some(a) => a
                    .iter()
                    .map(|&a| norm_axis(name, a, &n.shape))
                    .collect::<Result<_>>()?,
            };
            ax.sort_unstable();
            if let Some(w) = ax.windows(2).find(|w| w[0] == w[1]) {
                let given: Vec<isize> = axes.unwrap_or_default().to_vec();
                return Err(Error::arg(
                    name,
                    format!(
                        "axis {} appears more than once in axes {given:?} (shape {:?}); name each axis once",
                        w[0], n.shape
                    ),
                ));
            }
            if matches!(reduction, Reduction::ArgMin | Reduction::ArgMax)
                && axes.is_some()
                && ax.len() != 1
            {
                return Err(Error::arg(
                    name,
                    "takes one axis or all axes (None), as in NumPy",
                ));
            }
            if split_every < 2 {
                return Err(Error::arg(
                    name,
                    format!("split_every must be at least 2, got {split_every}"),
                ));
            }
            let count: usize = ax.iter().map(|&a| n.shape[a]).product();
            if count == 0
                && matches!(
                    reduction,
                    Reduction::Min | Reduction::Max | Reduction::ArgMin | Reduction::ArgMax
                )
            {
                return Err(Error::arg(
                    name,
                    format!(
                        "zero-size reduction over axes {ax:?} of shape {:?} has no identity",
                        n.shape
                    ),
                ));
            }
            let dtype = reduction
                .out_dtype(n.dtype)
                .ok_or_else(|| Error::UnsupportedDType {
                    op: name,
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: "cast with .astype(..) first".into(),
                })?;
            let mut shape = Vec::new();
            let mut chunks = Vec::new();
            for k in 0..n.shape.len() {
                if ax.contains(&k) {
                    if keepdims {
                        shape.push(1);
                        chunks.push(vec![1]);
                    }
                } else {
                    shape.push(n.shape[k]);
                    chunks.push(n.grid.sizes(k).to_vec());
                }
            }
            Ok(Array::new(
                Op::Reduce {
                    reduction,
                    axes: ax,
                    keepdims,
                    split_every,
                },
                vec![self.clone()],
                shape,
                dtype,
                ChunkGrid::new(chunks),
            ))
        })
    }
}

macro_rules! reductions {
    ($($all:ident, $axis:ident, $axes:ident => $red:expr, $doc:literal);*) => {
        impl Array {$(
            #[doc = concat!($doc, " over all axes.")]
            pub fn $all(&self) -> Array { self.reduce($red, None, false, SPLIT_EVERY) }
            #[doc = concat!($doc, " along one axis (negative counts from the end).")]
            pub fn $axis(&self, axis: isize) -> Array { self.reduce($red, Some(&[axis]), false, SPLIT_EVERY) }
            #[doc = concat!($doc, " along several axes, optionally keeping them as length 1.")]
            pub fn $axes(&self, axes: &[isize], keepdims: bool) -> Array { self.reduce($red, Some(axes), keepdims, SPLIT_EVERY) }
        )*}
    };
}
reductions!(
    sum, sum_axis, sum_axes => Reduction::Sum, "Sum";
    prod, prod_axis, prod_axes => Reduction::Prod, "Product";
    mean, mean_axis, mean_axes => Reduction::Mean, "Arithmetic mean";
    min, min_axis, min_axes => Reduction::Min, "Minimum (NaN propagates)";
    max, max_axis, max_axes => Reduction::Max, "Maximum (NaN propagates)";
    any, any_axis, any_axes => Reduction::Any, "Whether any element is non-zero";
    all, all_axis, all_axes => Reduction::All, "Whether every element is non-zero"
);

impl Array {
    /// Variance with `ddof` (0 = population), from pairwise-combined moments.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 4.0, 1.0, 3).unwrap();
    /// assert_eq!(x.var(1).compute_scalar::<f64>().unwrap(), 5.0 / 3.0);
    /// ```
    pub fn var(&self, ddof: u32) -> Array {
        self.reduce(Reduction::Var { ddof }, None, false, SPLIT_EVERY)
    }
    /// Variance along one axis.
    pub fn var_axis(&self, axis: isize, ddof: u32) -> Array {
        self.reduce(Reduction::Var { ddof }, Some(&[axis]), false, SPLIT_EVERY)
    }
    /// Variance along several axes.
    pub fn var_axes(&self, axes: &[isize], ddof: u32, keepdims: bool) -> Array {
        self.reduce(Reduction::Var { ddof }, Some(axes), keepdims, SPLIT_EVERY)
    }
    /// Standard deviation with `ddof`.
    pub fn std(&self, ddof: u32) -> Array {
        self.reduce(Reduction::Std { ddof }, None, false, SPLIT_EVERY)
    }
    /// Standard deviation along one axis.
    pub fn std_axis(&self, axis: isize, ddof: u32) -> Array {
        self.reduce(Reduction::Std { ddof }, Some(&[axis]), false, SPLIT_EVERY)
    }
    /// Standard deviation along several axes.
    pub fn std_axes(&self, axes: &[isize], ddof: u32, keepdims: bool) -> Array {
        self.reduce(Reduction::Std { ddof }, Some(axes), keepdims, SPLIT_EVERY)
    }
    /// Flat index of the minimum (first one on ties and NaN).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[3.0, 1.0, 2.0, 1.0]).into_dyn(), 2).unwrap();
    /// assert_eq!(x.argmin().compute_scalar::<i64>().unwrap(), 1);
    /// ```
    pub fn argmin(&self) -> Array {
        self.reduce(Reduction::ArgMin, None, false, SPLIT_EVERY)
    }
    /// Index of the minimum along an axis.
    pub fn argmin_axis(&self, axis: isize) -> Array {
        self.reduce(Reduction::ArgMin, Some(&[axis]), false, SPLIT_EVERY)
    }
    /// Flat index of the maximum (first one on ties and NaN).
    pub fn argmax(&self) -> Array {
        self.reduce(Reduction::ArgMax, None, false, SPLIT_EVERY)
    }
    /// Index of the maximum along an axis.
    pub fn argmax_axis(&self, axis: isize) -> Array {
        self.reduce(Reduction::ArgMax, Some(&[axis]), false, SPLIT_EVERY)
    }
}
