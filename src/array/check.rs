//! Data-dependent errors: a node that passes its value through, or fails the compute
//! where the data breaks a rule only the values can tell (NumPy's `nanargmin` of an
//! all-NaN slice). Lazy, like everything else: the error is raised by the task that sees
//! the offending block.

use super::{Array, Op};
use crate::dtype::DType;
use crate::error::{Error, Result};

impl Array {
    /// `self`, or, when computed, the invalid-argument error `op: reason` if any element
    /// of `flags` (same shape as `self`) is true.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[1.0, -2.0]).into_dyn(), 1).unwrap();
    /// assert!(x.checked(&x.lt(0.0), "demo", "negative value").compute::<f64>().is_err());
    /// assert!(x.checked(&x.lt(-5.0), "demo", "negative value").compute::<f64>().is_ok());
    /// ```
    pub fn checked(&self, flags: &Array, op: &'static str, reason: &'static str) -> Array {
        let go = || -> Result<Array> {
            let (n, f) = (self.node()?, flags.node()?);
            if n.shape != f.shape {
                return Err(Error::ShapeMismatch {
                    op,
                    left: n.shape.clone(),
                    right: f.shape.clone(),
                    hint: "a check's flags have the value's shape".into(),
                });
            }
            Ok(Array::new(
                Op::Check { op, reason },
                vec![self.clone(), flags.astype(DType::Bool)],
                n.shape.clone(),
                n.dtype,
                n.grid.clone(),
            ))
        };
        go().unwrap_or_else(Array::err)
    }
}
