//! Complex numbers at the array level: the parts (`real`, `imag`, `conj`, `angle`),
//! building one from two reals (`complex`), and the reductions of a complex array,
//! which are the reductions of its parts (a sum is the sum of the real parts plus `i`
//! times the sum of the imaginary ones; a variance the sum of the parts' variances), so
//! they run on the engine's real reduction kernels and fuse like them; a product, which
//! mixes the parts, is a reduction tree of complex blocks on the CPU.

use super::{binary_op, Array, Operand, ReductionSpec};
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::kernel::{BinaryOp, Reduction, UnaryOp};
use crate::userfn::BlockFn;

impl Array {
    /// The real part, like `numpy.real` (a real array is returned as it is).
    ///
    /// ```
    /// use tessera::{Complex64, HostArray};
    /// let z = tessera::array::from_host(HostArray::C128(ndarray::arr1(&[Complex64::new(1.0, 2.0)]).into_dyn()), 1).unwrap();
    /// assert_eq!(z.real().compute::<f64>().unwrap()[[0]], 1.0);
    /// ```
    pub fn real(&self) -> Array {
        self.then(|n| {
            Ok(if n.dtype.is_complex() {
                self.unary(UnaryOp::Real)
            } else {
                self.clone()
            })
        })
    }

    /// The imaginary part, like `numpy.imag` (zeros of the dtype for a real array).
    pub fn imag(&self) -> Array {
        self.then(|n| {
            Ok(if n.dtype.is_complex() {
                self.unary(UnaryOp::Imag)
            } else {
                self.full_like(0, None)
            })
        })
    }

    /// The complex conjugate, like `numpy.conj` (a real array is returned as it is).
    pub fn conj(&self) -> Array {
        self.then(|n| {
            Ok(if n.dtype.is_complex() {
                self.unary(UnaryOp::Conj)
            } else {
                self.clone()
            })
        })
    }

    /// The reduction of a complex array, from the reductions of its parts.
    pub(super) fn reduce_complex(
        &self,
        reduction: Reduction,
        axes: Option<&[isize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Result<Array> {
        let part = |x: Array, r: Reduction| x.reduce(r, axes, keepdims, split_every);
        let (re, im) = (self.real(), self.imag());
        Ok(match reduction {
            Reduction::Sum | Reduction::Mean => {
                complex(&part(re, reduction), &part(im, reduction))
            }
            // E|z - Ez|² = Var(re) + Var(im): a real result, as NumPy's.
            Reduction::Var { ddof } => {
                part(re, Reduction::Var { ddof }) + part(im, Reduction::Var { ddof })
            }
            Reduction::Std { ddof } => (part(re, Reduction::Var { ddof })
                + part(im, Reduction::Var { ddof }))
            .sqrt(),
            Reduction::Any | Reduction::All => {
                part(self.astype(DType::Bool), reduction)
            }
            Reduction::Min | Reduction::Max | Reduction::ArgMin | Reduction::ArgMax => {
                return Err(Error::UnsupportedDType {
                    op: reduction.name(),
                    dtype: self.dtype(),
                    device: "any device".into(),
                    hint: "complex numbers have no order (the array API standard leaves it unspecified; NumPy's is lexicographic): reduce .real() or abs() instead".into(),
                })
            }
            // A product mixes the parts: a reduction tree of its own, on the CPU.
            Reduction::Prod => {
                let n = self.node()?;
                let ax: Vec<usize> = match axes {
                    None => (0..n.shape.len()).collect(),
                    Some(a) => a
                        .iter()
                        .map(|&a| super::indexing::norm_axis("prod", a, &n.shape))
                        .collect::<Result<_>>()?,
                };
                let folded = ax.clone();
                let prod = BlockFn::engine("prod", move |b, _| complex_prod(b[0], &folded));
                let spec = ReductionSpec {
                    keepdims,
                    split_every,
                    name: "prod".into(),
                    ..ReductionSpec::new(&ax, n.dtype)
                };
                super::reduction_fn(self, prod.clone(), prod.clone(), prod, spec)
            }
        })
    }
}

/// The product of a block over `axes`, kept as length-1 axes (a partial of the tree,
/// or the result before the engine drops them).
fn complex_prod(b: &HostArray, axes: &[usize]) -> Result<HostArray> {
    fn fold<T: Copy + std::ops::Mul<Output = T>>(
        a: &ndarray::ArrayD<T>,
        axes: &[usize],
        one: T,
    ) -> ndarray::ArrayD<T> {
        let mut out = a.clone();
        for &k in axes {
            out = out
                .fold_axis(ndarray::Axis(k), one, |&acc, &x| acc * x)
                .insert_axis(ndarray::Axis(k));
        }
        out
    }
    Ok(match b {
        HostArray::C64(a) => HostArray::C64(fold(a, axes, crate::Complex32::new(1.0, 0.0))),
        HostArray::C128(a) => HostArray::C128(fold(a, axes, crate::Complex64::new(1.0, 0.0))),
        other => {
            return Err(Error::arg(
                "prod",
                format!("a complex product of a {} block", other.dtype()),
            ))
        }
    })
}

/// The complex array `re + im·i` of two real arrays (broadcast together), in the
/// complex dtype whose parts hold both (complex64 for f32 and narrower, else
/// complex128). Infinite parts stay infinite, which `re + im * 1j` does not promise.
///
/// ```
/// let re = tessera::arange(0.0, 3.0, 1.0, 2).unwrap();
/// let z = tessera::array::complex(&re, &(-&re));
/// assert_eq!(z.dtype(), tessera::DType::C128);
/// ```
pub fn complex(re: &Array, im: &Array) -> Array {
    binary_op(BinaryOp::Complex, Operand::from(re), Operand::from(im))
}
