//! Reductions that skip NaNs (`nansum`, `nanmean`, `nanvar`, `nanmin`, ...) and the
//! small statistics built on the plain ones (`count_nonzero`, `ptp`, `moment`,
//! `average`), as compositions of element-wise ops and the reduction trees: they fuse
//! into one pass per reduction and run wherever those do.

use super::{where_, Array};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::kernel::Reduction;

use super::SPLIT_EVERY;

const NANARG_ALL_NAN: &str = "All-NaN slice encountered (NumPy raises here too); fill the NaNs first (nan_to_num or where) or use argmin, which returns the first NaN";

/// A NaN-skipping reduction.
///
/// ```
/// use tessera::array::NanReduction;
/// let x = tessera::from_ndarray(ndarray::arr1(&[1.0, f64::NAN, 3.0]).into_dyn(), 2).unwrap();
/// let m = x.nan_reduce(NanReduction::Mean, None, false);
/// assert_eq!(m.compute_scalar::<f64>().unwrap(), 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanReduction {
    /// Sum of the non-NaN values (0 when there are none).
    Sum,
    /// Product of the non-NaN values (1 when there are none).
    Prod,
    /// Mean of the non-NaN values (NaN when there are none).
    Mean,
    /// Variance of the non-NaN values with `ddof` (NaN when `count <= ddof`).
    Var {
        /// Delta degrees of freedom.
        ddof: u32,
    },
    /// Standard deviation of the non-NaN values.
    Std {
        /// Delta degrees of freedom.
        ddof: u32,
    },
    /// Minimum of the non-NaN values (NaN when there are none).
    Min,
    /// Maximum of the non-NaN values (NaN when there are none).
    Max,
}

impl NanReduction {
    /// The reduction NumPy calls `name` (`"nansum"`, ...), with `ddof` for var and std.
    pub fn from_name(name: &str, ddof: u32) -> Option<NanReduction> {
        Some(match name {
            "nansum" => NanReduction::Sum,
            "nanprod" => NanReduction::Prod,
            "nanmean" => NanReduction::Mean,
            "nanvar" => NanReduction::Var { ddof },
            "nanstd" => NanReduction::Std { ddof },
            "nanmin" => NanReduction::Min,
            "nanmax" => NanReduction::Max,
            _ => return None,
        })
    }
}

impl Array {
    fn red(&self, r: Reduction, axes: Option<&[isize]>, keepdims: bool) -> Array {
        self.reduce(r, axes, keepdims, SPLIT_EVERY)
    }

    /// How many elements are non-zero (NaN counts), like `numpy.count_nonzero` (int64).
    pub fn count_nonzero(&self, axes: Option<&[isize]>, keepdims: bool) -> Array {
        self.astype(DType::Bool)
            .astype(DType::I64)
            .red(Reduction::Sum, axes, keepdims)
    }

    /// `max - min`, like `numpy.ptp`.
    pub fn ptp(&self, axes: Option<&[isize]>, keepdims: bool) -> Array {
        self.red(Reduction::Max, axes, keepdims) - self.red(Reduction::Min, axes, keepdims)
    }

    /// The `order`-th central moment, `mean((x - mean(x))^order)`, like dask's `moment`.
    pub fn moment(&self, order: u32, axes: Option<&[isize]>, keepdims: bool) -> Array {
        let m = self.red(Reduction::Mean, axes, true);
        let d = self - &m;
        let p = match order {
            0 => {
                return self.full_like(1.0, Some(self.dtype().to_float())).red(
                    Reduction::Mean,
                    axes,
                    keepdims,
                )
            }
            1 => d,
            _ => d.pow(order as f64),
        };
        p.red(Reduction::Mean, axes, keepdims)
    }

    /// The weighted mean `Σ w·x / Σ w` (weights broadcast against `self`), like
    /// `numpy.average`; without weights the plain mean.
    pub fn average(
        &self,
        weights: Option<&Array>,
        axes: Option<&[isize]>,
        keepdims: bool,
    ) -> Array {
        match weights {
            None => self.red(Reduction::Mean, axes, keepdims),
            Some(w) => {
                let num = (self * w).red(Reduction::Sum, axes, keepdims);
                let den = self
                    .full_like(0, Some(w.dtype()))
                    .binary(crate::kernel::BinaryOp::Add, w);
                num / den.red(Reduction::Sum, axes, keepdims)
            }
        }
    }

    /// Index of the minimum ignoring NaNs along `axis` (flat when `None`), like
    /// `numpy.nanargmin`; a slice of NaNs only is an error when computed, as in NumPy
    /// (integer and boolean arrays have no NaN: the plain `argmin`).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[f64::NAN, 3.0, 1.0]).into_dyn(), 2).unwrap();
    /// assert_eq!(x.nanargmin(None, false).compute_scalar::<i64>().unwrap(), 2);
    /// ```
    pub fn nanargmin(&self, axis: Option<isize>, keepdims: bool) -> Array {
        self.nanarg(false, axis, keepdims)
    }

    /// Index of the maximum ignoring NaNs, like `numpy.nanargmax` (see
    /// [`Array::nanargmin`]).
    pub fn nanargmax(&self, axis: Option<isize>, keepdims: bool) -> Array {
        self.nanarg(true, axis, keepdims)
    }

    fn nanarg(&self, max: bool, axis: Option<isize>, keepdims: bool) -> Array {
        self.then(|n| {
            let axes = axis.map(|a| [a]);
            let axes = axes.as_ref().map(|a| &a[..]);
            let red = if max {
                Reduction::ArgMax
            } else {
                Reduction::ArgMin
            };
            if !n.dtype.is_float() {
                return Ok(self.red(red, axes, keepdims));
            }
            // A NaN becomes the value that never wins; an all-NaN slice would then
            // answer its first index, where NumPy raises: the check raises too.
            let never = if max {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            let nan = self.isnan();
            let filled = where_(&nan, Scalar::F64(never), self).astype(n.dtype);
            let all_nan = nan.red(Reduction::All, axes, keepdims);
            let op = if max { "nanargmax" } else { "nanargmin" };
            Ok(filled
                .red(red, axes, keepdims)
                .checked(&all_nan, op, NANARG_ALL_NAN))
        })
    }

    /// A NaN-skipping reduction over `axes` (all when `None`), like NumPy's `nan*`
    /// functions; integer and boolean arrays have no NaN and reduce as they are.
    pub fn nan_reduce(&self, r: NanReduction, axes: Option<&[isize]>, keepdims: bool) -> Array {
        self.then(|n| Ok(nan_reduce(self, n.dtype, r, axes, keepdims)))
    }
}

fn nan_reduce(
    x: &Array,
    d: DType,
    r: NanReduction,
    axes: Option<&[isize]>,
    keepdims: bool,
) -> Array {
    use NanReduction as N;
    let plain = |red| x.red(red, axes, keepdims);
    if !d.is_inexact() {
        return match r {
            N::Sum => plain(Reduction::Sum),
            N::Prod => plain(Reduction::Prod),
            N::Mean => plain(Reduction::Mean),
            N::Var { ddof } => plain(Reduction::Var { ddof }),
            N::Std { ddof } => plain(Reduction::Std { ddof }),
            N::Min => plain(Reduction::Min),
            N::Max => plain(Reduction::Max),
        };
    }
    let nan = x.isnan();
    let filled = |v: f64| where_(&nan, Scalar::F64(v), x).astype(d);
    // Counts, variances and the NaN fill are real (float32 for complex64).
    let rd = d.real_part();
    let count = |keep: bool| nan.not().astype(rd).red(Reduction::Sum, axes, keep);
    let none_valid = || count(keepdims).eq(0.0);
    match r {
        N::Sum => filled(0.0).red(Reduction::Sum, axes, keepdims),
        N::Prod => filled(1.0).red(Reduction::Prod, axes, keepdims),
        N::Mean => filled(0.0).red(Reduction::Sum, axes, keepdims) / count(keepdims),
        N::Var { ddof } | N::Std { ddof } => {
            let mean = filled(0.0).red(Reduction::Sum, axes, true) / count(true);
            let dev = where_(&nan, Scalar::F64(0.0), &(x - &mean)).astype(d);
            // |dev|², real for complex values as NumPy's nanvar.
            let sq = if d.is_complex() {
                let (re, im) = (dev.real(), dev.imag());
                &re * &re + &im * &im
            } else {
                &dev * &dev
            };
            let dof = count(keepdims) - ddof as f64;
            let var = where_(
                &dof.le(0.0),
                Scalar::F64(f64::NAN),
                &(sq.red(Reduction::Sum, axes, keepdims) / &dof),
            )
            .astype(rd);
            if matches!(r, N::Std { .. }) {
                var.sqrt()
            } else {
                var
            }
        }
        N::Min | N::Max => {
            let (fill, red) = if r == N::Min {
                (f64::INFINITY, Reduction::Min)
            } else {
                (f64::NEG_INFINITY, Reduction::Max)
            };
            let v = filled(fill).red(red, axes, keepdims);
            where_(&none_valid(), Scalar::F64(f64::NAN), &v).astype(d)
        }
    }
}

/// The NaN-skipping reduction NumPy calls `name`, or an error naming the ones there are.
pub fn nan_reduction(name: &str, ddof: u32) -> Result<NanReduction> {
    NanReduction::from_name(name, ddof).ok_or_else(|| Error::InvalidArgument {
        op: "nan_reduce",
        reason: format!("no reduction {name:?}; there are nansum, nanprod, nanmean, nanvar, nanstd, nanmin, nanmax"),
    })
}
