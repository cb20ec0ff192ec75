//! `cov` and `corrcoef`: the covariance of the rows (variables) of a matrix, as the
//! contraction of the centred data with itself; the blocked matmul does the work.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::Array;

impl Array {
    /// The covariance matrix of the variables in this array's rows (`rowvar`; else its
    /// columns), with `other`'s variables appended, like `numpy.cov` (`ddof` 1 unless
    /// given; 0-d for a single variable). Float64 (complex is not built).
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]).into_dyn(), 2).unwrap();
    /// let c = x.cov(None, true, None).compute::<f64>().unwrap();
    /// assert_eq!(c.as_slice().unwrap(), &[1.0, -1.0, -1.0, 1.0]);
    /// ```
    pub fn cov(&self, other: Option<&Array>, rowvar: bool, ddof: Option<usize>) -> Array {
        const OP: &str = "cov";
        let go = || -> Result<Array> {
            let rows = |a: &Array| -> Result<Array> {
                let n = a.node()?;
                if n.dtype.is_complex() {
                    return Err(Error::UnsupportedDType { op: OP, dtype: n.dtype, device: "any device".into(), hint: "the contraction kernels are real; cov of the real and imaginary parts separately".into() });
                }
                let a = a.astype(if n.dtype == DType::F32 {
                    DType::F32
                } else {
                    DType::F64
                });
                Ok(match n.shape.len() {
                    1 => a.expand_dims(0),
                    2 if rowvar => a,
                    2 => a.t(),
                    d => {
                        return Err(Error::arg(
                            OP,
                            format!("the input has {d} dimensions; cov takes 1 or 2"),
                        ))
                    }
                })
            };
            let mut x = rows(self)?;
            let single = self.node()?.shape.len() == 1 && other.is_none();
            if let Some(o) = other {
                x = super::concatenate(&[&x, &rows(o)?], 0);
            }
            let n = x.node()?.shape[1];
            let ddof = ddof.unwrap_or(1);
            let centred = &x - &x.mean_axes(&[1], true);
            let c = &centred.matmul(&centred.t()) / (n as f64 - ddof as f64);
            Ok(if single { c.squeeze(None) } else { c })
        };
        go().unwrap_or_else(Array::err)
    }

    /// The correlation coefficients of the variables, like `numpy.corrcoef`: the
    /// covariance divided by the outer product of the standard deviations, clipped to
    /// [-1, 1].
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[0.0, 1.0, 2.0], [1.0, 3.0, 5.0]]).into_dyn(), 2).unwrap();
    /// let r = x.corrcoef(None, true).compute::<f64>().unwrap();
    /// assert!((r[[0, 1]] - 1.0).abs() < 1e-15);
    /// ```
    pub fn corrcoef(&self, other: Option<&Array>, rowvar: bool) -> Array {
        let c = self.cov(other, rowvar, None);
        c.then(|n| {
            if n.shape.is_empty() {
                // One variable: its coefficient with itself (NaN where its variance is 0
                // or NaN, as NumPy's c / c).
                let same = c.clone();
                return Ok(&c / &same);
            }
            let d = c.diagonal(0, 0, 1).sqrt();
            let outer = &d.expand_dims(1) * &d.expand_dims(0);
            Ok((&c / &outer).clip(Some((-1.0).into()), Some(1.0.into())))
        })
    }
}
