//! Scans along an axis (`cumsum`, `cumprod`, their NaN-skipping and array-API forms)
//! and `diff`: a per-block scan that continues from the previous block's last slice, so
//! any chunking gives NumPy's bits, and `diff` as slices of the array itself (fused).

use super::indexing::norm_axis;
use super::{concatenate, where_, Array, Index, Op, Operand};
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::kernel::ScanKind;

impl Array {
    /// The running `kind` along `axis` (the flattened array when `None`), with the
    /// identity prepended when `include_initial`; booleans and integers accumulate in
    /// int64 as the sums do.
    ///
    /// ```
    /// use tessera::kernel::ScanKind;
    /// let x = tessera::arange(1.0, 5.0, 1.0, 3).unwrap();
    /// let c = x.cumulative(ScanKind::Sum, Some(0), false);
    /// assert_eq!(c.compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 3.0, 6.0, 10.0]);
    /// ```
    pub fn cumulative(&self, kind: ScanKind, axis: Option<isize>, include_initial: bool) -> Array {
        let go = || -> Result<Array> {
            let x = match axis {
                None => self.reshape(&[-1]),
                Some(_) => self.clone(),
            };
            let n = x.node()?;
            let axis = norm_axis(kind.name(), axis.unwrap_or(0), &n.shape)?;
            let d = n.dtype.sum_dtype();
            let x = x.astype(d);
            let out = Array::new(
                Op::Scan { kind, axis },
                vec![x.clone()],
                n.shape.clone(),
                d,
                n.grid.clone(),
            );
            if !include_initial {
                return Ok(out);
            }
            let mut first = n.shape.clone();
            first[axis] = 1;
            let identity = match kind {
                ScanKind::Sum => 0.0,
                ScanKind::Prod => 1.0,
            };
            let init = super::full(
                &first,
                Scalar::F64(identity).cast(d),
                crate::chunks::Chunks::Explicit({
                    let mut c = n.grid.all().to_vec();
                    c[axis] = vec![1];
                    c
                }),
            )?;
            Ok(concatenate(&[&init, &out], axis as isize))
        };
        go().unwrap_or_else(Array::err)
    }

    /// Running sum along `axis` (flattened when `None`), like `numpy.cumsum`.
    pub fn cumsum(&self, axis: Option<isize>) -> Array {
        self.cumulative(ScanKind::Sum, axis, false)
    }

    /// Running product along `axis` (flattened when `None`), like `numpy.cumprod`.
    pub fn cumprod(&self, axis: Option<isize>) -> Array {
        self.cumulative(ScanKind::Prod, axis, false)
    }

    /// Running sum treating NaN as 0, like `numpy.nancumsum`.
    pub fn nancumsum(&self, axis: Option<isize>) -> Array {
        self.nan_filled(0.0).cumsum(axis)
    }

    /// Running product treating NaN as 1, like `numpy.nancumprod`.
    pub fn nancumprod(&self, axis: Option<isize>) -> Array {
        self.nan_filled(1.0).cumprod(axis)
    }

    fn nan_filled(&self, v: f64) -> Array {
        self.then(|n| {
            Ok(if n.dtype.is_float() {
                where_(&self.isnan(), Scalar::F64(v), self).astype(n.dtype)
            } else {
                self.clone()
            })
        })
    }

    /// The `n`-th discrete difference along `axis`, after joining `prepend` and `append`
    /// (scalars become one slice), like `numpy.diff`; booleans differ by `!=`.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 5.0, 1.0, 2).unwrap().pow(2.0);
    /// let d = x.diff(1, -1, None, None);
    /// assert_eq!(d.compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 3.0, 5.0, 7.0]);
    /// ```
    pub fn diff(
        &self,
        n: usize,
        axis: isize,
        prepend: Option<Operand>,
        append: Option<Operand>,
    ) -> Array {
        let go = || -> Result<Array> {
            let node = self.node()?;
            let ax = norm_axis("diff", axis, &node.shape)?;
            let edge = |o: Operand| -> Result<Array> {
                Ok(match o {
                    Operand::Array(a) => a,
                    Operand::Scalar(s) => {
                        let mut shape = node.shape.clone();
                        shape[ax] = 1;
                        let d = s.dtype_with(node.dtype);
                        super::full(
                            &shape,
                            s.cast(d),
                            crate::chunks::Chunks::PerAxis(shape.clone()),
                        )?
                    }
                })
            };
            let mut parts = vec![];
            if let Some(p) = prepend {
                parts.push(edge(p)?);
            }
            parts.push(self.clone());
            if let Some(a) = append {
                parts.push(edge(a)?);
            }
            let refs: Vec<&Array> = parts.iter().collect();
            let mut x = if refs.len() == 1 {
                self.clone()
            } else {
                concatenate(&refs, ax as isize)
            };
            for _ in 0..n {
                let len = x.node()?.shape[ax] as isize;
                let take = |from: isize, to: isize| {
                    let mut ix = vec![Index::all(); ax];
                    ix.push(Index::slice(Some(from), Some(to.max(from)), 1));
                    x.slice(&ix)
                };
                let (hi, lo) = (take(1, len), take(0, len - 1));
                x = if x.node()?.dtype == DType::Bool {
                    hi.ne(&lo)
                } else {
                    &hi - &lo
                };
            }
            Ok(x)
        };
        go().unwrap_or_else(Array::err)
    }
}
