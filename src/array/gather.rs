//! Gathers by another array's values: `take_along_axis` (NumPy's and the array API
//! standard's), the inverse of an `argsort` or the values at an `argmax(keepdims=True)`.
//!
//! Why on `blockwise`: the gathered axis is contracted (each block of the indices sees
//! the array whole along it, as dask's `take_along_axis` needs too) while the other axes
//! loop over blocks, so memory stays one block of indices plus one slab of the array.
//! The gather is host code (the CPU runs it); its out-of-range check is the operation's
//! own error, not a user function's.

use super::indexing::norm_axis;
use super::{blockwise_fn, Array, BlockwiseSpec};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::userfn::BlockFn;

const OP: &str = "take_along_axis";

impl Array {
    /// The elements at `indices` along `axis`: `out[..., j, ...] = self[..., indices[...,
    /// j, ...], ...]`, like `numpy.take_along_axis`. `indices` is an integer array of
    /// the same rank (its other axes broadcast against this one's); negative indices
    /// count from the end, and one out of range is an error when computed.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr2(&[[10.0, 30.0, 20.0]]).into_dyn(), 2).unwrap();
    /// let i = x.argmax_axis(1).expand_dims(1);
    /// let top = x.take_along_axis(&i, 1);
    /// assert_eq!(top.compute::<f64>().unwrap().into_raw_vec_and_offset().0, vec![30.0]);
    /// ```
    pub fn take_along_axis(&self, indices: &Array, axis: isize) -> Array {
        let go = || -> Result<Array> {
            let (n, m) = (self.node()?, indices.node()?);
            if !m.dtype.is_int() {
                return Err(Error::UnsupportedDType {
                    op: OP,
                    dtype: m.dtype,
                    device: "any device".into(),
                    hint: "indices must be integers (argsort, argmax(keepdims=True) or an integer array)".into(),
                });
            }
            if n.shape.len() != m.shape.len() {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: n.shape.clone(),
                    right: m.shape.clone(),
                    hint: "the indices need as many dimensions as the array (NumPy's rule); add length-1 axes with expand_dims".into(),
                });
            }
            let ax = norm_axis(OP, axis, &n.shape)?;
            let (mut xs, mut is) = (n.shape.clone(), m.shape.clone());
            for k in (0..xs.len()).filter(|&k| k != ax) {
                let b = match (xs[k], is[k]) {
                    (a, b) if a == b || b == 1 => a,
                    (1, b) => b,
                    (a, b) => {
                        return Err(Error::ShapeMismatch {
                            op: OP,
                            left: n.shape.clone(),
                            right: m.shape.clone(),
                            hint: format!("axis {k} has lengths {a} and {b}; away from axis {ax} they must broadcast (equal or 1)"),
                        })
                    }
                };
                xs[k] = b;
                is[k] = b;
            }
            let x = self.broadcast_to(&xs);
            let idx = indices.broadcast_to(&is).astype(DType::I64);
            // Output indices "a", "b", ...; the array's gathered axis is contracted.
            let out: Vec<String> = (0..xs.len()).map(|k| format!("i{k}")).collect();
            let mut along = out.clone();
            along[ax] = "gathered".into();
            let len = xs[ax];
            let f = BlockFn::engine(OP, move |b, _| gather(b[0], b[1], ax, len));
            Ok(blockwise_fn(
                &out,
                &[(&idx, out.clone()), (&x, along)],
                f,
                BlockwiseSpec {
                    name: Some(OP.into()),
                    ..BlockwiseSpec::new(n.dtype)
                },
            ))
        };
        go().unwrap_or_else(Array::err)
    }
}

/// One block: `x` whole along `ax` (length `len`), `idx` the block's i64 indices.
fn gather(idx: &HostArray, x: &HostArray, ax: usize, len: usize) -> Result<HostArray> {
    let HostArray::I64(idx) = idx else {
        return Err(Error::arg(OP, "indices reach the gather as int64"));
    };
    let n = len as i64;
    if let Some(&bad) = idx.iter().find(|&&j| j < -n || j >= n) {
        return Err(Error::BadIndex {
            op: OP,
            axis: ax,
            shape: x.shape().to_vec(),
            reason: format!("index {bad} is out of bounds for length {len}"),
        });
    }
    Ok(crate::with_host!(x, a => {
        let out = ndarray::ArrayD::from_shape_fn(idx.raw_dim(), |pos| {
            let mut p = pos.clone();
            let j = idx[&pos];
            p[ax] = (if j < 0 { j + n } else { j }) as usize;
            a[p]
        });
        HostArray::from(out)
    }))
}
