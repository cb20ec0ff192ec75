//! NumPy's element-wise functions by name, and the ones that are compositions of the
//! engine's ops (`reciprocal`, `isclose`, `nan_to_num`, `round(decimals=)`, ...).
//!
//! Why a name table in the engine: every host (the Python package, the CLI) reaches the
//! same function under the same NumPy and array-API names, and a composition is written
//! once, in the ops every device already runs, so it fuses and runs wherever they do.

use super::{binary_op, where_, Array, Operand};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::kernel::{BinaryOp, UnaryOp};

/// The largest finite value of a float dtype (NumPy's `finfo(d).max`).
fn float_max(d: DType) -> f64 {
    match d {
        DType::F16 => 65504.0,
        DType::BF16 => 3.389_531_389_251_535_5e38,
        DType::F32 => f32::MAX as f64,
        _ => f64::MAX,
    }
}

impl Array {
    /// `1 / x` for floats, like `numpy.reciprocal`.
    ///
    /// ```
    /// let x = tessera::arange(1.0, 3.0, 1.0, 1).unwrap();
    /// assert_eq!(x.reciprocal().compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 0.5]);
    /// ```
    pub fn reciprocal(&self) -> Array {
        self.then(|n| {
            if !n.dtype.is_inexact() {
                return Err(Error::UnsupportedDType {
                    op: "reciprocal",
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: "Tessera has reciprocal for floats (NumPy's integer form truncates to 0); use 1 / x or .astype(..) to a float".into(),
                });
            }
            Ok(binary_op(BinaryOp::Div, 1.0.into(), self.into()))
        })
    }

    /// `x * x`, like `numpy.square`.
    pub fn square(&self) -> Array {
        self * self
    }

    /// Degrees to radians, like `numpy.deg2rad` (float result).
    pub fn deg2rad(&self) -> Array {
        self.astype_float() * (std::f64::consts::PI / 180.0)
    }

    /// Radians to degrees, like `numpy.rad2deg` (float result).
    pub fn rad2deg(&self) -> Array {
        self.astype_float() * (180.0 / std::f64::consts::PI)
    }

    fn astype_float(&self) -> Array {
        self.then(|n| Ok(self.astype(n.dtype.math_float())))
    }

    /// Elementwise exclusive or of truth values, like `numpy.logical_xor`.
    pub fn logical_xor(&self, rhs: impl Into<Operand>) -> Array {
        let b = match rhs.into() {
            Operand::Array(b) => b.astype(DType::Bool),
            Operand::Scalar(s) => {
                return self
                    .astype(DType::Bool)
                    .ne(s.cast(DType::Bool) == Scalar::Bool(true))
            }
        };
        self.astype(DType::Bool).ne(&b)
    }

    /// Whether each element is -inf, like `numpy.isneginf`.
    pub fn isneginf(&self) -> Array {
        self.isinf().and(self.signbit())
    }

    /// Whether each element is +inf, like `numpy.isposinf`.
    pub fn isposinf(&self) -> Array {
        self.isinf().and(self.signbit().not())
    }

    /// `|a - b| <= atol + rtol·|b|` elementwise, infinities equal only to themselves and
    /// NaN equal to NaN with `equal_nan`, like `numpy.isclose`.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let c = x.isclose(&(&x + 1e-9), 1e-5, 1e-8, false);
    /// assert!(c.all().compute_scalar::<bool>().unwrap());
    /// ```
    pub fn isclose(
        &self,
        other: impl Into<Operand>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Array {
        let b = match other.into() {
            Operand::Array(b) => b,
            Operand::Scalar(s) => {
                return self.isclose_arr(
                    &super::full(&[], s, crate::chunks::Chunks::PerAxis(vec![]))
                        .unwrap_or_else(Array::err),
                    rtol,
                    atol,
                    equal_nan,
                )
            }
        };
        self.isclose_arr(&b, rtol, atol, equal_nan)
    }

    fn isclose_arr(&self, b: &Array, rtol: f64, atol: f64, equal_nan: bool) -> Array {
        let go = || -> Result<Array> {
            let d = self.node()?.dtype.promote(b.node()?.dtype).to_float();
            let (x, y) = (self.astype(d), b.astype(d));
            let finite = x.isfinite().and(y.isfinite());
            let close = (&x - &y).abs().le(&(y.abs() * rtol + atol));
            let out = where_(&finite, &close, x.eq(&y));
            Ok(if equal_nan {
                out.or(x.isnan().and(y.isnan()))
            } else {
                out
            })
        };
        go().unwrap_or_else(Array::err)
    }

    /// NaN to `nan`, +inf to `posinf` and -inf to `neginf` (the dtype's largest and
    /// smallest finite values by default), like `numpy.nan_to_num`; integers unchanged.
    pub fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Array {
        self.then(|n| {
            if n.dtype.is_complex() {
                // NumPy replaces in each part on its own.
                let part = |x: Array| x.nan_to_num(nan, posinf, neginf);
                return Ok(super::complex(&part(self.real()), &part(self.imag())));
            }
            if !n.dtype.is_float() {
                return Ok(self.clone());
            }
            let big = float_max(n.dtype);
            let inf_to = where_(
                &self.isposinf(),
                Scalar::F64(posinf.unwrap_or(big)),
                Scalar::F64(neginf.unwrap_or(-big)),
            )
            .astype(n.dtype);
            let v = where_(&self.isinf(), &inf_to, self);
            Ok(where_(&self.isnan(), Scalar::F64(nan), &v).astype(n.dtype))
        })
    }

    /// Rounds half to even at `decimals` digits (negative: left of the point), as
    /// `numpy.round` does it: scale by 10^decimals, round, scale back.
    pub fn round_decimals(&self, decimals: i32) -> Array {
        self.then(|n| {
            if decimals == 0 || (n.dtype.is_int() && decimals > 0) || n.dtype == DType::Bool {
                return Ok(self.round());
            }
            let scale = 10f64.powi(decimals.abs());
            let x = if n.dtype.is_int() {
                self.astype(DType::F64)
            } else {
                self.clone()
            };
            let out = if decimals > 0 {
                (x * scale).round() / scale
            } else {
                (x / scale).round() * scale
            };
            Ok(out.astype(n.dtype))
        })
    }

    /// Limits values to `[min, max]` (either may be absent), like `numpy.clip`.
    pub fn clip(&self, min: Option<Operand>, max: Option<Operand>) -> Array {
        let mut x = self.clone();
        if let Some(lo) = min {
            x = x.binary(BinaryOp::Maximum, lo);
        }
        if let Some(hi) = max {
            x = x.binary(BinaryOp::Minimum, hi);
        }
        x
    }

    /// `self · 2^e` elementwise, like `numpy.ldexp`: exact where the result is
    /// representable (computed in f64 by three power-of-two factors, so a subnormal
    /// `self` scaled up or a huge one scaled down never passes through an infinity or a
    /// zero), then rounded once to `self`'s float dtype. `e` is an integer array or
    /// scalar.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[0.75, 5e-324]).into_dyn(), 2).unwrap();
    /// let y = x.ldexp(1074);
    /// assert_eq!(y.compute::<f64>().unwrap().into_raw_vec_and_offset().0, vec![0.75 * 2f64.powi(1074), 1.0]);
    /// ```
    pub fn ldexp(&self, e: impl Into<Operand>) -> Array {
        let e: Operand = e.into();
        self.then(|n| {
            let out = n.dtype.math_float();
            if !out.is_float() {
                return Err(Error::UnsupportedDType {
                    op: "ldexp",
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: "the mantissa must be real".into(),
                });
            }
            let e = match e.clone() {
                Operand::Array(a) => {
                    let d = a.node()?.dtype;
                    if !d.is_int() {
                        return Err(Error::UnsupportedDType {
                            op: "ldexp",
                            dtype: d,
                            device: "any device".into(),
                            hint: "the exponent must be an integer (NumPy's ldexp takes ints)"
                                .into(),
                        });
                    }
                    a.astype(DType::F64)
                }
                Operand::Scalar(s) => super::full(
                    &[],
                    Scalar::F64(s.as_i64() as f64),
                    crate::chunks::Chunks::PerAxis(vec![]),
                )?,
            };
            // Past ±2200 every finite non-zero f64 overflows or vanishes anyway.
            let e = e.clip(
                Some(Scalar::F64(-2200.0).into()),
                Some(Scalar::F64(2200.0).into()),
            );
            let a = (&e / 3.0).trunc();
            let b = ((&e - &a) / 2.0).trunc();
            let c = &e - &a - &b;
            let x = self.astype(DType::F64);
            Ok((x * a.exp2() * b.exp2() * c.exp2()).astype(out))
        })
    }

    /// The mantissa in `[0.5, 1)` (its sign kept) and the integer exponent with
    /// `self = mantissa · 2^exponent`, like `numpy.frexp` (zeros, infinities and NaN
    /// give themselves and exponent 0). The mantissa has `self`'s float dtype, the
    /// exponent is int32.
    ///
    /// ```
    /// let x = tessera::from_ndarray(ndarray::arr1(&[8.0, -0.3]).into_dyn(), 2).unwrap();
    /// let (m, e) = x.frexp();
    /// assert_eq!(m.compute::<f64>().unwrap().into_raw_vec_and_offset().0, vec![0.5, -0.6]);
    /// assert_eq!(e.compute::<i32>().unwrap().into_raw_vec_and_offset().0, vec![4, -1]);
    /// ```
    pub fn frexp(&self) -> (Array, Array) {
        let go = || -> Result<(Array, Array)> {
            let d = self.node()?.dtype;
            let out = d.math_float();
            if !out.is_float() {
                return Err(Error::UnsupportedDType {
                    op: "frexp",
                    dtype: d,
                    device: "any device".into(),
                    hint: "frexp splits real numbers; take .real() and .imag() apart".into(),
                });
            }
            let x = self.astype(DType::F64);
            let special = x.isfinite().not().or(x.eq(0.0));
            // A first guess from log2, then one step either way: log2 may round to the
            // next integer just below a power of two.
            let guess = where_(&special, Scalar::F64(0.0), &(x.abs().log2().floor() + 1.0));
            let m0 = x.ldexp((-&guess).astype(DType::I64));
            let big = m0.abs().ge(1.0).and(special.not());
            let small = m0.abs().lt(0.5).and(special.not());
            let e = where_(
                &big,
                &(&guess + 1.0),
                where_(&small, &(&guess - 1.0), &guess),
            );
            let m = where_(&big, &(&m0 * 0.5), where_(&small, &(&m0 * 2.0), &m0));
            let m = where_(&special, &x, &m).astype(out);
            Ok((m, e.astype(DType::I32)))
        };
        go().unwrap_or_else(|e| (Array::err(e.clone()), Array::err(e)))
    }

    /// The angle of each element in the complex plane: π for negative reals, 0
    /// otherwise (−0.0 gives π, as `numpy.angle`).
    pub fn angle(&self) -> Array {
        self.then(|n| {
            Ok(if n.dtype.is_complex() {
                self.unary(UnaryOp::Angle)
            } else {
                binary_op(BinaryOp::Atan2, 0.0.into(), self.astype_float().into())
            })
        })
    }
}

/// The function NumPy (or the array API standard) calls `name`, of one array.
///
/// ```
/// let x = tessera::arange(-2.0, 2.0, 1.0, 2).unwrap();
/// let s = tessera::array::unary_fn("sign", &x).unwrap();
/// assert_eq!(s.compute::<f64>().unwrap().as_slice().unwrap(), &[-1.0, -1.0, 0.0, 1.0]);
/// ```
pub fn unary_fn(name: &str, x: &Array) -> Result<Array> {
    use UnaryOp::*;
    let op = match name {
        "negative" => Neg,
        "absolute" | "abs" | "fabs" => Abs,
        "exp" => Exp,
        "exp2" => Exp2,
        "log" => Log,
        "sqrt" => Sqrt,
        "cbrt" => Cbrt,
        "sin" => Sin,
        "cos" => Cos,
        "tanh" => Tanh,
        "floor" => Floor,
        "ceil" => Ceil,
        "logical_not" => Not,
        "tan" => Tan,
        "sinh" => Sinh,
        "cosh" => Cosh,
        "asin" | "arcsin" => Asin,
        "acos" | "arccos" => Acos,
        "atan" | "arctan" => Atan,
        "asinh" | "arcsinh" => Asinh,
        "acosh" | "arccosh" => Acosh,
        "atanh" | "arctanh" => Atanh,
        "expm1" => Expm1,
        "log1p" => Log1p,
        "log2" => Log2,
        "log10" => Log10,
        "trunc" | "fix" => Trunc,
        "round" | "rint" => Round,
        "isnan" => IsNan,
        "isinf" => IsInf,
        "isfinite" => IsFinite,
        "signbit" => SignBit,
        "bitwise_invert" | "bitwise_not" | "invert" => BitNot,
        "sign" => Sign,
        "reciprocal" => return Ok(x.reciprocal()),
        "square" => return Ok(x.square()),
        "positive" => return Ok(x.clone()),
        "conj" | "conjugate" => return Ok(x.conj()),
        "real" => return Ok(x.real()),
        "imag" => return Ok(x.imag()),
        "angle" => return Ok(x.angle()),
        "deg2rad" | "radians" => return Ok(x.deg2rad()),
        "rad2deg" | "degrees" => return Ok(x.rad2deg()),
        "isneginf" => return Ok(x.isneginf()),
        "isposinf" => return Ok(x.isposinf()),
        _ => {
            return Err(Error::InvalidArgument {
                op: "unary_fn",
                reason: format!("no element-wise function {name:?} of one argument in the engine"),
            })
        }
    };
    Ok(x.unary(op))
}

/// The function NumPy (or the array API standard) calls `name`, of two operands (either
/// may be a scalar), with broadcasting and NumPy's promotion.
///
/// ```
/// use tessera::Operand;
/// let x = tessera::arange(-3.0, 3.0, 1.0, 4).unwrap();
/// let r = tessera::array::binary_fn("remainder", Operand::from(&x), Operand::from(2.0)).unwrap();
/// assert_eq!(r.compute::<f64>().unwrap().as_slice().unwrap(), &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
/// ```
pub fn binary_fn(name: &str, a: Operand, b: Operand) -> Result<Array> {
    use BinaryOp::*;
    let op = match name {
        "add" => Add,
        "subtract" => Sub,
        "multiply" => Mul,
        "divide" | "true_divide" => Div,
        "power" | "pow" => Pow,
        "maximum" => Maximum,
        "minimum" => Minimum,
        "fmax" => Fmax,
        "fmin" => Fmin,
        "equal" => Eq,
        "not_equal" => Ne,
        "less" => Lt,
        "less_equal" => Le,
        "greater" => Gt,
        "greater_equal" => Ge,
        "logical_and" => And,
        "logical_or" => Or,
        "atan2" | "arctan2" => Atan2,
        "hypot" => Hypot,
        "copysign" => Copysign,
        "floor_divide" => FloorDiv,
        "remainder" | "mod" => Rem,
        "fmod" => Fmod,
        "bitwise_and" => BitAnd,
        "bitwise_or" => BitOr,
        "bitwise_xor" => BitXor,
        "bitwise_left_shift" | "left_shift" => Shl,
        "bitwise_right_shift" | "right_shift" => Shr,
        "logaddexp" => LogAddExp,
        "nextafter" => NextAfter,
        "complex" => Complex,
        "logical_xor" => {
            return Ok(match (a, b) {
                (Operand::Array(x), b) => x.logical_xor(b),
                (a, Operand::Array(y)) => y.logical_xor(a),
                (Operand::Scalar(x), Operand::Scalar(y)) => super::full(
                    &[],
                    Scalar::Bool((x.as_f64() != 0.0) != (y.as_f64() != 0.0)),
                    crate::chunks::Chunks::PerAxis(vec![]),
                )?,
            })
        }
        _ => {
            return Err(Error::InvalidArgument {
                op: "binary_fn",
                reason: format!("no element-wise function {name:?} of two arguments in the engine"),
            })
        }
    };
    Ok(binary_op(op, a, b))
}
