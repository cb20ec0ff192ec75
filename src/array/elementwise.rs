//! Elementwise math with NumPy broadcasting and dtype promotion. Inputs with different
//! chunkings are unified: the output takes the union of their chunk boundaries, so every
//! output chunk lies inside one chunk of each input and no data is copied to align them.

use super::{Array, Node, Op};
use crate::chunks::ChunkGrid;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::kernel::{BinaryOp, UnaryOp};

/// Either side of a binary op: an array or a scalar.
///
/// ```
/// use tessera::Operand;
/// let o: Operand = 2.0.into();
/// assert!(matches!(o, Operand::Scalar(_)));
/// ```
#[derive(Debug, Clone)]
pub enum Operand {
    /// An array operand.
    Array(Array),
    /// A scalar operand (broadcast to every element).
    Scalar(Scalar),
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Self {
        Operand::Array(a.clone())
    }
}
impl From<Array> for Operand {
    fn from(a: Array) -> Self {
        Operand::Array(a)
    }
}
macro_rules! operand_scalar {
    ($($t:ty),*) => {$(impl From<$t> for Operand { fn from(v: $t) -> Self { Operand::Scalar(v.into()) } })*};
}
operand_scalar!(f64, f32, i64, i32, u32, bool, Scalar);

/// NumPy broadcasting of two shapes.
pub(crate) fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::ShapeMismatch {
                op,
                left: a.to_vec(),
                right: b.to_vec(),
                hint: format!("axis {i} from the right has lengths {da} and {db}; broadcasting needs them equal or one of them 1"),
            });
        };
    }
    Ok(out)
}

/// The union of the inputs' chunk boundaries on every output axis.
pub(crate) fn unify_grid(out: &[usize], inputs: &[&Node]) -> ChunkGrid {
    let n = out.len();
    let chunks = (0..n)
        .map(|j| {
            let mut b: Vec<usize> = vec![0, out[j]];
            for inp in inputs {
                let d = inp.shape.len();
                if j + d < n {
                    continue;
                }
                let k = j + d - n;
                if inp.shape[k] == out[j] {
                    b.extend_from_slice(inp.grid.boundaries(k));
                }
            }
            b.sort_unstable();
            b.dedup();
            if out[j] == 0 {
                return vec![0];
            }
            b.windows(2).map(|w| w[1] - w[0]).collect()
        })
        .collect();
    ChunkGrid::new(chunks)
}

impl Array {
    /// Converts to another dtype (floats truncate toward zero, as in NumPy).
    ///
    /// ```
    /// let a = tessera::arange(0.0, 4.0, 1.5, 2).unwrap().astype(tessera::DType::I32);
    /// assert_eq!(a.compute::<i32>().unwrap().as_slice().unwrap(), &[0, 1, 3]);
    /// ```
    pub fn astype(&self, dtype: DType) -> Array {
        self.then(|n| {
            if n.dtype == dtype {
                return Ok(self.clone());
            }
            if let Op::Const(s) = n.op {
                return Ok(Array::new(
                    Op::Const(s.cast(dtype)),
                    vec![],
                    n.shape.clone(),
                    dtype,
                    n.grid.clone(),
                ));
            }
            Ok(Array::new(
                Op::Cast,
                vec![self.clone()],
                n.shape.clone(),
                dtype,
                n.grid.clone(),
            ))
        })
    }

    fn scalar_node(s: Scalar, dtype: DType) -> Array {
        Array::new(
            Op::Const(s.cast(dtype)),
            vec![],
            vec![],
            dtype,
            ChunkGrid::new(vec![]),
        )
    }

    /// Applies a binary op with broadcasting and promotion.
    pub fn binary(&self, op: BinaryOp, rhs: impl Into<Operand>) -> Array {
        binary_op(op, Operand::Array(self.clone()), rhs.into())
    }

    /// Applies a unary op (math functions promote integers to f64).
    pub fn unary(&self, op: UnaryOp) -> Array {
        self.then(|n| {
            let refuse = |what: &'static str, hint: &str| {
                Err(Error::UnsupportedDType {
                    op: what,
                    dtype: n.dtype,
                    device: "any device".into(),
                    hint: hint.into(),
                })
            };
            if n.dtype.is_complex() {
                return complex_unary(self, op, n.dtype);
            }
            match op {
                UnaryOp::Real | UnaryOp::Conj => return Ok(self.clone()),
                UnaryOp::Imag => return Ok(self.full_like(0, None)),
                UnaryOp::Angle => return Ok(self.angle()),
                UnaryOp::BitNot if n.dtype == DType::Bool => return Ok(self.not()),
                UnaryOp::BitNot if !n.dtype.is_int() => {
                    return refuse(
                        "bitwise_invert",
                        "bitwise functions take integers or booleans; use .astype(..) to an integer dtype first",
                    )
                }
                UnaryOp::Sign if n.dtype == DType::Bool => {
                    return refuse("sign", "use .astype(..) to a number first")
                }
                _ => {}
            }
            // Integers are already whole: floor and ceil keep them, dtype and all, as
            // NumPy 2 and the array API standard do.
            if matches!(
                op,
                UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc | UnaryOp::Round
            ) && n.dtype.is_int()
            {
                return Ok(self.clone());
            }
            let (inp, out) = match op {
                UnaryOp::Not => (DType::Bool, DType::Bool),
                // Floats keep their dtype (f16 is tested exactly); integers and bools
                // are never NaN or infinite, and become f32 exactly enough to say so.
                o if o.is_predicate() => {
                    let inp = if n.dtype.is_float() {
                        n.dtype
                    } else {
                        DType::F32
                    };
                    (inp, DType::Bool)
                }
                UnaryOp::BitNot | UnaryOp::Sign => (n.dtype, n.dtype),
                UnaryOp::Neg | UnaryOp::Abs => {
                    if n.dtype == DType::Bool {
                        return Err(Error::UnsupportedDType {
                            op: if op == UnaryOp::Neg {
                                "negative"
                            } else {
                                "absolute"
                            },
                            dtype: DType::Bool,
                            device: "any device".into(),
                            hint: "use .not() for booleans or .astype(..) to a number first".into(),
                        });
                    }
                    (n.dtype, n.dtype)
                }
                // NumPy's loops: the smallest float holding the integer's values.
                _ => (n.dtype.math_float(), n.dtype.math_float()),
            };
            let x = self.astype(inp);
            x.check()?;
            Ok(Array::new(
                Op::Unary(op),
                vec![x],
                n.shape.clone(),
                out,
                n.grid.clone(),
            ))
        })
    }
}

/// A function of one complex array: the parts and magnitude are real, the predicates
/// bool, the rest complex; what has no complex meaning (rounding down, bit operations,
/// `cbrt`) is refused by name.
fn complex_unary(x: &Array, op: UnaryOp, d: DType) -> Result<Array> {
    use UnaryOp::*;
    let out = match op {
        Not => return Ok(x.astype(DType::Bool).not()),
        IsNan | IsInf | IsFinite => DType::Bool,
        Abs | Real | Imag | Angle => d.real_part(),
        Neg | Conj | Sign | Round | Exp | Log | Sqrt | Sin | Cos | Tan | Sinh | Cosh | Tanh
        | Asin | Acos | Atan | Asinh | Acosh | Atanh | Expm1 | Log1p | Log2 | Log10 => d,
        Floor | Ceil | Trunc | SignBit | BitNot | Cbrt | Exp2 => {
            return Err(Error::UnsupportedDType {
                op: unary_name(op),
                dtype: d,
                device: "any device".into(),
                hint: "it is defined for real numbers only (NumPy and the array API standard agree); apply it to .real() and .imag() separately".into(),
            })
        }
    };
    x.check()?;
    let n = x.node()?;
    Ok(Array::new(
        Op::Unary(op),
        vec![x.clone()],
        n.shape.clone(),
        out,
        n.grid.clone(),
    ))
}

/// NumPy's name of a unary op, for errors.
fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Floor => "floor",
        UnaryOp::Ceil => "ceil",
        UnaryOp::Trunc => "trunc",
        UnaryOp::SignBit => "signbit",
        UnaryOp::BitNot => "bitwise_invert",
        UnaryOp::Cbrt => "cbrt",
        UnaryOp::Exp2 => "exp2",
        _ => "unary function",
    }
}

/// A binary op between two operands, either of which may be a scalar: what `2.0 - x`
/// means, for hosts (Python's reflected operators) that hold the scalar on the left.
///
/// ```
/// use tessera::{array::binary_op, kernel::BinaryOp, Operand};
/// let x = tessera::arange(0.0, 3.0, 1.0, 2).unwrap();
/// let y = binary_op(BinaryOp::Sub, Operand::from(10.0), Operand::from(&x));
/// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[10.0, 9.0, 8.0]);
/// ```
pub fn binary_op(op: BinaryOp, a: Operand, b: Operand) -> Array {
    for (s, x) in [(&a, &b), (&b, &a)] {
        if let (Operand::Scalar(Scalar::WeakInt(v)), Operand::Array(x)) = (s, x) {
            if let Err(e) = weak_int_fits(op, *v, x.dtype()) {
                return Array::err(e);
            }
        }
    }
    let (a, b) = match (a, b) {
        (Operand::Array(a), Operand::Array(b)) => (a, b),
        (Operand::Array(a), Operand::Scalar(s)) => {
            if let Err(e) = a.check() {
                return Array::err(e);
            }
            let d = s.dtype_with(a.dtype());
            (a, Array::scalar_node(s, d))
        }
        (Operand::Scalar(s), Operand::Array(b)) => {
            if let Err(e) = b.check() {
                return Array::err(e);
            }
            let d = s.dtype_with(b.dtype());
            (Array::scalar_node(s, d), b)
        }
        (Operand::Scalar(x), Operand::Scalar(y)) => {
            let d = x.dtype().promote(y.dtype());
            (Array::scalar_node(x, d), Array::scalar_node(y, d))
        }
    };
    match build_binary(op, &a, &b) {
        Ok(x) => x,
        Err(e) => Array::err(e),
    }
}

/// NumPy 2 (NEP 50) refuses a Python integer the integer array's dtype cannot hold
/// (`uint8_array + 300`) rather than wrapping it silently; so does Tessera (NumPy
/// raises OverflowError; this is an invalid-argument error).
fn weak_int_fits(op: BinaryOp, v: i64, d: DType) -> Result<()> {
    let Some((lo, hi)) = d.int_bounds() else {
        return Ok(());
    };
    if (lo..=hi).contains(&(v as i128)) {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        op: op.name(),
        reason: format!(
            "the integer {v} is out of bounds for {d} ({lo} to {hi}); NumPy 2 refuses it too: use a wider dtype (.astype(..)) or an array of the value's own dtype"
        ),
    })
}

fn build_binary(op: BinaryOp, a: &Array, b: &Array) -> Result<Array> {
    let (na, nb) = (a.node()?, b.node()?);
    let shape = broadcast_shapes(op.name(), &na.shape, &nb.shape)?;
    let common = na.dtype.promote(nb.dtype);
    let refuse = |hint: &str| {
        Err(Error::UnsupportedDType {
            op: op.name(),
            dtype: common,
            device: "any device".into(),
            hint: hint.into(),
        })
    };
    use BinaryOp::*;
    if common.is_complex() || op == Complex {
        return complex_binary(op, a, b, shape, common);
    }
    let (inp, out) = match op {
        // True division of integers is f64 in NumPy; the math functions take the
        // smallest float holding the integers' values (int8 -> float16).
        Div => (common.to_float(), common.to_float()),
        Atan2 | Hypot | Copysign | LogAddExp => (common.math_float(), common.math_float()),
        NextAfter if matches!(common, DType::F16 | DType::BF16) => {
            return refuse("nextafter steps in the dtype's own bits; Tessera does it for float32 and float64: .astype(DType::F32) first")
        }
        NextAfter => (common.to_float(), common.to_float()),
        BitAnd | BitOr | BitXor if common == DType::Bool || common.is_int() => (common, common),
        Shl | Shr if common.is_int() => (common, common),
        BitAnd | BitOr | BitXor | Shl | Shr => {
            return refuse("bitwise functions take integers (and booleans, but for shifts); use .astype(..) to an integer dtype first")
        }
        FloorDiv | Rem | Fmod if common == DType::Bool => {
            return refuse("division of booleans is ambiguous; use .astype(DType::I64) first")
        }
        And | Or => (DType::Bool, DType::Bool),
        o if o.is_comparison() => (common, DType::Bool),
        Add | Sub | Mul | Pow if common == DType::Bool => {
            return Err(Error::UnsupportedDType {
                op: op.name(),
                dtype: DType::Bool,
                device: "any device".into(),
                hint: "arithmetic on booleans is ambiguous; use logical_and/logical_or or .astype(DType::I64) first".into(),
            })
        }
        _ => (common, common),
    };
    let (a, b) = (a.astype(inp), b.astype(inp));
    let grid = unify_grid(&shape, &[a.node()?, b.node()?]);
    Ok(Array::new(Op::Binary(op), vec![a, b], shape, out, grid))
}

/// `cond ? a : b` elementwise, with broadcasting over all three.
///
/// ```
/// let x = tessera::arange(0.0, 4.0, 1.0, 2).unwrap();
/// let y = tessera::where_(&x.gt(1.5), &x, 0.0);
/// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.0, 2.0, 3.0]);
/// ```
pub fn where_(cond: &Array, a: impl Into<Operand>, b: impl Into<Operand>) -> Array {
    let go = || -> Result<Array> {
        let c = cond.node()?;
        let to_arr = |o: Operand, other: &Operand| -> Result<Array> {
            Ok(match o {
                Operand::Array(x) => x,
                Operand::Scalar(s) => {
                    let d = match other {
                        Operand::Array(x) => s.dtype_with(x.node()?.dtype),
                        Operand::Scalar(t) => s.dtype().promote(t.dtype()),
                    };
                    Array::scalar_node(s, d)
                }
            })
        };
        let (a, b): (Operand, Operand) = (a.into(), b.into());
        let x = to_arr(a.clone(), &b)?;
        let y = to_arr(b, &a)?;
        let (nx, ny) = (x.node()?, y.node()?);
        let s1 = broadcast_shapes("where", &c.shape, &nx.shape)?;
        let shape = broadcast_shapes("where", &s1, &ny.shape)?;
        let d = nx.dtype.promote(ny.dtype);
        let (cb, x, y) = (cond.astype(DType::Bool), x.astype(d), y.astype(d));
        let grid = unify_grid(&shape, &[cb.node()?, x.node()?, y.node()?]);
        Ok(Array::new(Op::Where, vec![cb, x, y], shape, d, grid))
    };
    go().unwrap_or_else(Array::err)
}

macro_rules! binary_methods {
    ($($name:ident => $op:ident, $doc:literal);*) => {
        impl Array {$(
            #[doc = $doc]
            pub fn $name(&self, rhs: impl Into<Operand>) -> Array { self.binary(BinaryOp::$op, rhs) }
        )*}
    };
}
binary_methods!(
    pow => Pow, "Elementwise power, like `numpy.power`.";
    maximum => Maximum, "Elementwise maximum (NaN propagates), like `numpy.maximum`.";
    minimum => Minimum, "Elementwise minimum (NaN propagates), like `numpy.minimum`.";
    eq => Eq, "Elementwise `==` (bool result).";
    ne => Ne, "Elementwise `!=` (bool result).";
    lt => Lt, "Elementwise `<` (bool result).";
    le => Le, "Elementwise `<=` (bool result).";
    gt => Gt, "Elementwise `>` (bool result).";
    ge => Ge, "Elementwise `>=` (bool result).";
    atan2 => Atan2, "Elementwise `atan2(self, rhs)`, like `numpy.arctan2` (float result).";
    hypot => Hypot, "Elementwise `sqrt(self² + rhs²)` without undue overflow, like `numpy.hypot`.";
    copysign => Copysign, "The magnitude of `self` with the sign of `rhs`, like `numpy.copysign`.";
    floor_divide => FloorDiv, "Elementwise `floor(self / rhs)` as `numpy.floor_divide` (Python's `//`; integers give 0 for a zero divisor).";
    remainder => Rem, "Elementwise remainder with the divisor's sign, as `numpy.remainder` (Python's `%`).";
    fmod => Fmod, "Elementwise remainder with the dividend's sign, as `numpy.fmod` (C's `fmod`).";
    bitwise_and => BitAnd, "Elementwise bitwise and of integers (logical and of booleans).";
    bitwise_or => BitOr, "Elementwise bitwise or of integers (logical or of booleans).";
    bitwise_xor => BitXor, "Elementwise bitwise exclusive or of integers (of booleans too).";
    shl => Shl, "Elementwise `self << rhs` (0 once the count reaches the width), like `numpy.left_shift`.";
    shr => Shr, "Elementwise `self >> rhs`, arithmetic for signed integers, like `numpy.right_shift`.";
    logaddexp => LogAddExp, "Elementwise `log(e^self + e^rhs)` without overflow, like `numpy.logaddexp`.";
    nextafter => NextAfter, "The next float after `self` toward `rhs`, like `numpy.nextafter` (float32 and float64).";
    fmax => Fmax, "Elementwise maximum ignoring a NaN, like `numpy.fmax`.";
    fmin => Fmin, "Elementwise minimum ignoring a NaN, like `numpy.fmin`.";
    and => And, "Elementwise logical and (non-zero is true).";
    or => Or, "Elementwise logical or (non-zero is true)."
);

macro_rules! unary_methods {
    ($($name:ident => $op:ident, $doc:literal);*) => {
        impl Array {$(
            #[doc = $doc]
            pub fn $name(&self) -> Array { self.unary(UnaryOp::$op) }
        )*}
    };
}
unary_methods!(
    abs => Abs, "Elementwise absolute value.";
    exp => Exp, "Elementwise e^x.";
    log => Log, "Elementwise natural logarithm.";
    sqrt => Sqrt, "Elementwise square root.";
    sin => Sin, "Elementwise sine.";
    cos => Cos, "Elementwise cosine.";
    tanh => Tanh, "Elementwise hyperbolic tangent.";
    floor => Floor, "Elementwise floor (integers are returned as they are, as in NumPy 2).";
    tan => Tan, "Elementwise tangent.";
    sinh => Sinh, "Elementwise hyperbolic sine.";
    cosh => Cosh, "Elementwise hyperbolic cosine.";
    asin => Asin, "Elementwise inverse sine (NaN outside [-1, 1]), like `numpy.arcsin`.";
    acos => Acos, "Elementwise inverse cosine (NaN outside [-1, 1]), like `numpy.arccos`.";
    atan => Atan, "Elementwise inverse tangent, like `numpy.arctan`.";
    asinh => Asinh, "Elementwise inverse hyperbolic sine, like `numpy.arcsinh`.";
    acosh => Acosh, "Elementwise inverse hyperbolic cosine (NaN below 1), like `numpy.arccosh`.";
    atanh => Atanh, "Elementwise inverse hyperbolic tangent, like `numpy.arctanh`.";
    expm1 => Expm1, "Elementwise `e^x - 1`, accurate near 0.";
    log1p => Log1p, "Elementwise `ln(1 + x)`, accurate near 0.";
    log2 => Log2, "Elementwise base-2 logarithm.";
    log10 => Log10, "Elementwise base-10 logarithm.";
    trunc => Trunc, "Elementwise rounding toward zero (integers are returned as they are).";
    round => Round, "Elementwise rounding half to even, like `numpy.rint` (integers are returned as they are).";
    isnan => IsNan, "Whether each element is NaN, like `numpy.isnan` (bool result).";
    isinf => IsInf, "Whether each element is infinite, like `numpy.isinf` (bool result).";
    isfinite => IsFinite, "Whether each element is finite, like `numpy.isfinite` (bool result).";
    ceil => Ceil, "Elementwise ceiling (integers are returned as they are, as in NumPy 2).";
    signbit => SignBit, "Whether each element's sign bit is set (true for -0.0), like `numpy.signbit`.";
    bitwise_invert => BitNot, "Elementwise bitwise not of integers (logical not of booleans), like `numpy.invert`.";
    sign => Sign, "-1, 0 or 1 by each element's sign (NaN stays NaN), like `numpy.sign`.";
    cbrt => Cbrt, "Elementwise real cube root, like `numpy.cbrt`.";
    exp2 => Exp2, "Elementwise `2^x`, like `numpy.exp2`.";
    not => Not, "Elementwise logical not (non-zero is true)."
);

macro_rules! std_ops {
    ($($tr:ident, $m:ident => $op:ident);*) => {$(
        impl std::ops::$tr<&Array> for &Array { type Output = Array; fn $m(self, r: &Array) -> Array { self.binary(BinaryOp::$op, r) } }
        impl std::ops::$tr<Array> for Array { type Output = Array; fn $m(self, r: Array) -> Array { self.binary(BinaryOp::$op, r) } }
        impl std::ops::$tr<&Array> for Array { type Output = Array; fn $m(self, r: &Array) -> Array { self.binary(BinaryOp::$op, r) } }
        impl std::ops::$tr<Array> for &Array { type Output = Array; fn $m(self, r: Array) -> Array { self.binary(BinaryOp::$op, r) } }
        std_ops!(@scalar $tr, $m, $op, f64, i64);
    )*};
    (@scalar $tr:ident, $m:ident, $op:ident, $($t:ty),*) => {$(
        impl std::ops::$tr<$t> for &Array { type Output = Array; fn $m(self, r: $t) -> Array { self.binary(BinaryOp::$op, r) } }
        impl std::ops::$tr<$t> for Array { type Output = Array; fn $m(self, r: $t) -> Array { self.binary(BinaryOp::$op, r) } }
        impl std::ops::$tr<&Array> for $t { type Output = Array; fn $m(self, r: &Array) -> Array { binary_op(BinaryOp::$op, Operand::from(self), Operand::from(r)) } }
        impl std::ops::$tr<Array> for $t { type Output = Array; fn $m(self, r: Array) -> Array { binary_op(BinaryOp::$op, Operand::from(self), Operand::from(r)) } }
    )*};
}
std_ops!(Add, add => Add; Sub, sub => Sub; Mul, mul => Mul; Div, div => Div; BitAnd, bitand => BitAnd; BitOr, bitor => BitOr; BitXor, bitxor => BitXor; Shl, shl => Shl; Shr, shr => Shr);

impl std::ops::Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        self.unary(UnaryOp::Neg)
    }
}
impl std::ops::Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        self.unary(UnaryOp::Neg)
    }
}

/// A binary op with a complex operand, or `complex(re, im)` of two reals.
fn complex_binary(
    op: BinaryOp,
    a: &Array,
    b: &Array,
    shape: Vec<usize>,
    common: DType,
) -> Result<Array> {
    use BinaryOp::*;
    let (inp, out) = match op {
        Complex if common.is_complex() || common == DType::Bool => {
            return Err(Error::UnsupportedDType {
                op: op.name(),
                dtype: common,
                device: "any device".into(),
                hint: "complex(re, im) takes two real numeric arrays: pass .real() and .imag() of a complex one".into(),
            })
        }
        Complex => {
            let c = common.to_complex();
            (c.real_part(), c)
        }
        Add | Sub | Mul | Div | Pow => (common, common),
        Eq | Ne => (common, DType::Bool),
        And | Or => (DType::Bool, DType::Bool),
        _ => {
            return Err(Error::UnsupportedDType {
                op: op.name(),
                dtype: common,
                device: "any device".into(),
                hint: if op.is_comparison() || matches!(op, Maximum | Minimum | Fmax | Fmin) {
                    "complex numbers have no order (the array API standard leaves it unspecified; NumPy's is lexicographic): compare .real() or abs() instead".into()
                } else {
                    "it is defined for real numbers only: apply it to .real() and .imag() separately".into()
                },
            })
        }
    };
    let (a, b) = (a.astype(inp), b.astype(inp));
    let grid = unify_grid(&shape, &[a.node()?, b.node()?]);
    Ok(Array::new(Op::Binary(op), vec![a, b], shape, out, grid))
}
