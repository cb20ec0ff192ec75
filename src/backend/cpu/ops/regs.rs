//! Typed tile registers and the elementwise instructions that run on them.
//!
//! A fused program runs over a tile of up to [`TILE`] elements at a time: every
//! instruction is one tight loop over the tile, so per-op dispatch cost is amortised
//! and each loop vectorises. f16/bf16 values live in f32 registers and are rounded after
//! every instruction, which is what NumPy's float16 arithmetic does.

use super::complex::{ComplexDefs, Libm};
use super::scalar::{FloatDefs, IntDefs};
use crate::dtype::{DType, Scalar};
use crate::kernel::{BinaryOp, UnaryOp};
use crate::multiversion::multiversion;
use half::{bf16, f16};
use num_complex::{Complex32, Complex64};

/// Elements per tile.
pub const TILE: usize = 4096;

/// One register: a tile of values of a compute type.
#[derive(Debug, Clone)]
pub enum Reg {
    F64(Vec<f64>),
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    C64(Vec<Complex32>),
    C128(Vec<Complex64>),
}

impl Reg {
    /// A register able to hold `cap` values of `dtype`.
    pub fn new(dtype: DType, cap: usize) -> Reg {
        match dtype.compute() {
            DType::F64 => Reg::F64(vec![0.0; cap]),
            DType::F32 => Reg::F32(vec![0.0; cap]),
            DType::I64 => Reg::I64(vec![0; cap]),
            DType::I32 => Reg::I32(vec![0; cap]),
            DType::U32 => Reg::U32(vec![0; cap]),
            DType::U64 => Reg::U64(vec![0; cap]),
            DType::C64 => Reg::C64(vec![Complex32::new(0.0, 0.0); cap]),
            DType::C128 => Reg::C128(vec![Complex64::new(0.0, 0.0); cap]),
            _ => Reg::Bool(vec![false; cap]),
        }
    }
}

/// Rounds f32 register values to f16 or bf16 precision.
pub fn round_half(v: &mut [f32], dtype: DType) {
    match dtype {
        DType::F16 => v.iter_mut().for_each(|x| *x = f16::from_f32(*x).to_f32()),
        DType::BF16 => v.iter_mut().for_each(|x| *x = bf16::from_f32(*x).to_f32()),
        _ => {}
    }
}

/// Wraps i32 register values to the width of narrow integer dtype `dtype` (sign- or
/// zero-extended back), so every instruction's result is what NumPy's i8/u8/i16/u16
/// loops store.
pub fn wrap_small(v: &mut [i32], dtype: DType) {
    match dtype {
        DType::I8 => v.iter_mut().for_each(|x| *x = *x as i8 as i32),
        DType::U8 => v.iter_mut().for_each(|x| *x = *x as u8 as i32),
        DType::I16 => v.iter_mut().for_each(|x| *x = *x as i16 as i32),
        DType::U16 => v.iter_mut().for_each(|x| *x = *x as u16 as i32),
        _ => {}
    }
}

/// Brings the first `n` values of `r`, the result of an instruction of `dtype`, to
/// what that dtype holds: f16/bf16 rounded, narrow integers wrapped.
pub fn settle(r: &mut Reg, dtype: DType, n: usize) {
    match r {
        Reg::F32(v) if matches!(dtype, DType::F16 | DType::BF16) => round_half(&mut v[..n], dtype),
        Reg::I32(v) if dtype.is_small_int() => wrap_small(&mut v[..n], dtype),
        _ => {}
    }
}

/// Fills the first `n` values of `r` with the scalar `s` (already of the register's dtype).
pub fn fill(r: &mut Reg, s: Scalar, n: usize) {
    match r {
        Reg::F64(v) => v[..n].fill(s.as_f64()),
        Reg::F32(v) => v[..n].fill(s.as_f64() as f32),
        Reg::I64(v) => v[..n].fill(s.as_i64()),
        Reg::I32(v) => v[..n].fill(s.as_i64() as i32),
        Reg::U32(v) => v[..n].fill(s.as_i64() as u32),
        Reg::U64(v) => v[..n].fill(s.as_i64() as u64),
        Reg::Bool(v) => v[..n].fill(s.as_f64() != 0.0),
        Reg::C64(v) => {
            let c = s.as_c64();
            v[..n].fill(Complex32::new(c.re as f32, c.im as f32))
        }
        Reg::C128(v) => v[..n].fill(s.as_c64()),
    }
}

fn map1<T: Copy, U>(a: &[T], o: &mut [U], f: impl Fn(T) -> U) {
    for (o, &a) in o.iter_mut().zip(a) {
        *o = f(a);
    }
}

fn map2<T: Copy, U>(a: &[T], b: &[T], o: &mut [U], f: impl Fn(T, T) -> U) {
    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
        *o = f(a, b);
    }
}

macro_rules! float_unary {
    ($a:expr, $o:expr, $op:expr) => {{
        match $op {
            UnaryOp::Neg => map1($a, $o, |x| -x),
            UnaryOp::Abs => map1($a, $o, |x| x.abs()),
            UnaryOp::Exp => map1($a, $o, |x| x.exp()),
            UnaryOp::Log => map1($a, $o, |x| x.ln()),
            UnaryOp::Sqrt => map1($a, $o, |x| x.sqrt()),
            UnaryOp::Sin => map1($a, $o, |x| x.sin()),
            UnaryOp::Cos => map1($a, $o, |x| x.cos()),
            UnaryOp::Tanh => map1($a, $o, |x| x.tanh()),
            UnaryOp::Floor => map1($a, $o, |x| x.floor()),
            UnaryOp::Ceil => map1($a, $o, |x| x.ceil()),
            UnaryOp::Tan => map1($a, $o, |x| x.tan()),
            UnaryOp::Sinh => map1($a, $o, |x| x.sinh()),
            UnaryOp::Cosh => map1($a, $o, |x| x.cosh()),
            UnaryOp::Asin => map1($a, $o, |x| x.asin()),
            UnaryOp::Acos => map1($a, $o, |x| x.acos()),
            UnaryOp::Atan => map1($a, $o, |x| x.atan()),
            UnaryOp::Asinh => map1($a, $o, |x| x.asinh()),
            UnaryOp::Acosh => map1($a, $o, |x| x.acosh()),
            UnaryOp::Atanh => map1($a, $o, |x| x.atanh_close()),
            UnaryOp::Expm1 => map1($a, $o, |x| x.exp_m1()),
            UnaryOp::Log1p => map1($a, $o, |x| x.ln_1p()),
            UnaryOp::Log2 => map1($a, $o, |x| x.log2()),
            UnaryOp::Log10 => map1($a, $o, |x| x.log10()),
            UnaryOp::Trunc => map1($a, $o, |x| x.trunc()),
            UnaryOp::Round => map1($a, $o, |x| x.round_ties_even()),
            UnaryOp::Sign => map1($a, $o, |x| x.sign()),
            UnaryOp::Cbrt => map1($a, $o, |x| x.cbrt()),
            UnaryOp::Exp2 => map1($a, $o, |x| x.exp2()),
            UnaryOp::Not | UnaryOp::BitNot => return Err("not on floats"),
            UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite | UnaryOp::SignBit => {
                return Err("a predicate into a float register")
            }
            UnaryOp::Real | UnaryOp::Imag | UnaryOp::Conj | UnaryOp::Angle => {
                return Err("a complex function on a real register")
            }
        }
    }};
}

macro_rules! complex_unary {
    ($a:expr, $o:expr, $op:expr) => {{
        match $op {
            UnaryOp::Neg => map1($a, $o, |x| -x),
            UnaryOp::Conj => map1($a, $o, |x| x.conj()),
            UnaryOp::Exp => map1($a, $o, |x| x.c_exp()),
            UnaryOp::Log => map1($a, $o, |x| x.c_log()),
            UnaryOp::Sqrt => map1($a, $o, |x| x.c_sqrt()),
            UnaryOp::Sin => map1($a, $o, |x| x.c_sin()),
            UnaryOp::Cos => map1($a, $o, |x| x.c_cos()),
            UnaryOp::Tan => map1($a, $o, |x| x.c_tan()),
            UnaryOp::Sinh => map1($a, $o, |x| x.c_sinh()),
            UnaryOp::Cosh => map1($a, $o, |x| x.c_cosh()),
            UnaryOp::Tanh => map1($a, $o, |x| x.c_tanh()),
            UnaryOp::Asin => map1($a, $o, |x| x.c_asin()),
            UnaryOp::Acos => map1($a, $o, |x| x.c_acos()),
            UnaryOp::Atan => map1($a, $o, |x| x.c_atan()),
            UnaryOp::Asinh => map1($a, $o, |x| x.c_asinh()),
            UnaryOp::Acosh => map1($a, $o, |x| x.c_acosh()),
            UnaryOp::Atanh => map1($a, $o, |x| x.c_atanh()),
            UnaryOp::Expm1 => map1($a, $o, |x| ComplexDefs::expm1(x)),
            UnaryOp::Log1p => map1($a, $o, |x| ComplexDefs::log1p(x)),
            UnaryOp::Log2 => map1($a, $o, |x| ComplexDefs::log2(x)),
            UnaryOp::Log10 => map1($a, $o, |x| ComplexDefs::log10(x)),
            UnaryOp::Sign => map1($a, $o, |x| ComplexDefs::sign(x)),
            UnaryOp::Round => map1($a, $o, |x| x.round_parts()),
            _ => return Err("not defined on complex numbers"),
        }
    }};
}

macro_rules! complex_to_real {
    ($a:expr, $o:expr, $op:expr) => {{
        match $op {
            UnaryOp::Abs => map1($a, $o, |x| x.magnitude()),
            UnaryOp::Real => map1($a, $o, |x| x.re),
            UnaryOp::Imag => map1($a, $o, |x| x.im),
            UnaryOp::Angle => map1($a, $o, |x| x.angle()),
            _ => return Err("register type mismatch"),
        }
    }};
}

macro_rules! complex_predicate {
    ($a:expr, $o:expr, $op:expr) => {{
        match $op {
            UnaryOp::IsNan => map1($a, $o, |x| x.has_nan()),
            UnaryOp::IsInf => map1($a, $o, |x| x.has_inf()),
            UnaryOp::IsFinite => map1($a, $o, |x| x.all_finite()),
            _ => return Err("register type mismatch"),
        }
    }};
}

macro_rules! int_unary {
    ($a:expr, $o:expr, $op:expr) => {{
        match $op {
            UnaryOp::Neg => map1($a, $o, |x| x.wrapping_neg()),
            UnaryOp::Abs => map1($a, $o, |x| x.wrapping_abs()),
            UnaryOp::BitNot => map1($a, $o, |x| !x),
            UnaryOp::Sign => map1($a, $o, |x| IntDefs::sign(x)),
            _ => return Err("float function on integers"),
        }
    }};
}

multiversion! {
/// `o = op(a)` over `n` values; `o` has the result's compute type.
pub fn unary(op: UnaryOp, a: &Reg, o: &mut Reg, n: usize) -> Result<(), &'static str> {
    match (a, o) {
        (Reg::F64(a), Reg::F64(o)) => float_unary!(&a[..n], &mut o[..n], op),
        (Reg::F32(a), Reg::F32(o)) => float_unary!(&a[..n], &mut o[..n], op),
        (Reg::I64(a), Reg::I64(o)) => int_unary!(&a[..n], &mut o[..n], op),
        (Reg::I32(a), Reg::I32(o)) => int_unary!(&a[..n], &mut o[..n], op),
        (Reg::U32(a), Reg::U32(o)) => match op {
            UnaryOp::Abs => o[..n].copy_from_slice(&a[..n]),
            UnaryOp::Neg => map1(&a[..n], &mut o[..n], |x: u32| x.wrapping_neg()),
            UnaryOp::BitNot => map1(&a[..n], &mut o[..n], |x: u32| !x),
            UnaryOp::Sign => map1(&a[..n], &mut o[..n], |x: u32| IntDefs::sign(x)),
            _ => return Err("float function on integers"),
        },
        (Reg::U64(a), Reg::U64(o)) => match op {
            UnaryOp::Abs => o[..n].copy_from_slice(&a[..n]),
            UnaryOp::Neg => map1(&a[..n], &mut o[..n], |x: u64| x.wrapping_neg()),
            UnaryOp::BitNot => map1(&a[..n], &mut o[..n], |x: u64| !x),
            UnaryOp::Sign => map1(&a[..n], &mut o[..n], |x: u64| IntDefs::sign(x)),
            _ => return Err("float function on integers"),
        },
        (Reg::F64(a), Reg::Bool(o)) => match op {
            UnaryOp::IsNan => map1(&a[..n], &mut o[..n], f64::is_nan),
            UnaryOp::IsInf => map1(&a[..n], &mut o[..n], f64::is_infinite),
            UnaryOp::IsFinite => map1(&a[..n], &mut o[..n], f64::is_finite),
            UnaryOp::SignBit => map1(&a[..n], &mut o[..n], f64::is_sign_negative),
            _ => return Err("register type mismatch"),
        },
        (Reg::F32(a), Reg::Bool(o)) => match op {
            UnaryOp::IsNan => map1(&a[..n], &mut o[..n], f32::is_nan),
            UnaryOp::IsInf => map1(&a[..n], &mut o[..n], f32::is_infinite),
            UnaryOp::IsFinite => map1(&a[..n], &mut o[..n], f32::is_finite),
            UnaryOp::SignBit => map1(&a[..n], &mut o[..n], f32::is_sign_negative),
            _ => return Err("register type mismatch"),
        },
        (Reg::Bool(a), Reg::Bool(o)) => match op {
            UnaryOp::Not | UnaryOp::BitNot => map1(&a[..n], &mut o[..n], |x: bool| !x),
            _ => return Err("arithmetic on bool"),
        },
        (Reg::C64(a), Reg::C64(o)) => complex_unary!(&a[..n], &mut o[..n], op),
        (Reg::C128(a), Reg::C128(o)) => complex_unary!(&a[..n], &mut o[..n], op),
        (Reg::C64(a), Reg::F32(o)) => complex_to_real!(&a[..n], &mut o[..n], op),
        (Reg::C128(a), Reg::F64(o)) => complex_to_real!(&a[..n], &mut o[..n], op),
        (Reg::C64(a), Reg::Bool(o)) => complex_predicate!(&a[..n], &mut o[..n], op),
        (Reg::C128(a), Reg::Bool(o)) => complex_predicate!(&a[..n], &mut o[..n], op),
        _ => return Err("register type mismatch"),
    }
    Ok(())
}
}

macro_rules! cmp_ops {
    ($a:expr, $b:expr, $o:expr, $op:expr) => {
        match $op {
            BinaryOp::Eq => map2($a, $b, $o, |x, y| x == y),
            BinaryOp::Ne => map2($a, $b, $o, |x, y| x != y),
            BinaryOp::Lt => map2($a, $b, $o, |x, y| x < y),
            BinaryOp::Le => map2($a, $b, $o, |x, y| x <= y),
            BinaryOp::Gt => map2($a, $b, $o, |x, y| x > y),
            BinaryOp::Ge => map2($a, $b, $o, |x, y| x >= y),
            _ => return Err("not a comparison"),
        }
    };
}

macro_rules! float_binary {
    ($a:expr, $b:expr, $o:expr, $op:expr) => {
        match $op {
            BinaryOp::Add => map2($a, $b, $o, |x, y| x + y),
            BinaryOp::Sub => map2($a, $b, $o, |x, y| x - y),
            BinaryOp::Mul => map2($a, $b, $o, |x, y| x * y),
            BinaryOp::Div => map2($a, $b, $o, |x, y| x / y),
            BinaryOp::Pow => map2($a, $b, $o, |x, y| x.powf(y)),
            // NaN propagates, as in numpy.maximum / minimum.
            BinaryOp::Maximum => map2($a, $b, $o, |x, y| if x > y || x.is_nan() { x } else { y }),
            BinaryOp::Minimum => map2($a, $b, $o, |x, y| if x < y || x.is_nan() { x } else { y }),
            BinaryOp::Atan2 => map2($a, $b, $o, |x, y| x.atan2(y)),
            BinaryOp::Hypot => map2($a, $b, $o, |x, y| x.hypot(y)),
            BinaryOp::Copysign => map2($a, $b, $o, |x, y| x.copysign(y)),
            BinaryOp::FloorDiv => map2($a, $b, $o, |x, y| x.floor_div(y)),
            BinaryOp::Rem => map2($a, $b, $o, |x, y| x.py_rem(y)),
            BinaryOp::Fmod => map2($a, $b, $o, |x, y| x % y),
            BinaryOp::LogAddExp => map2($a, $b, $o, |x, y| x.logaddexp(y)),
            BinaryOp::NextAfter => map2($a, $b, $o, |x, y| x.next_after(y)),
            BinaryOp::Fmax => map2($a, $b, $o, |x, y| FloatDefs::fmax(x, y)),
            BinaryOp::Fmin => map2($a, $b, $o, |x, y| FloatDefs::fmin(x, y)),
            _ => return Err("logical op on floats"),
        }
    };
}

macro_rules! complex_binary {
    ($a:expr, $b:expr, $o:expr, $op:expr) => {
        match $op {
            BinaryOp::Add => map2($a, $b, $o, |x, y| x + y),
            BinaryOp::Sub => map2($a, $b, $o, |x, y| x - y),
            BinaryOp::Mul => map2($a, $b, $o, |x, y| x * y),
            BinaryOp::Div => map2($a, $b, $o, |x, y| x.smith_div(y)),
            BinaryOp::Pow => map2($a, $b, $o, |x, y| ComplexDefs::pow(x, y)),
            _ => return Err("not defined on complex numbers"),
        }
    };
}

macro_rules! int_binary {
    ($a:expr, $b:expr, $o:expr, $op:expr) => {
        match $op {
            BinaryOp::Add => map2($a, $b, $o, |x, y| x.wrapping_add(y)),
            BinaryOp::Sub => map2($a, $b, $o, |x, y| x.wrapping_sub(y)),
            BinaryOp::Mul => map2($a, $b, $o, |x, y| x.wrapping_mul(y)),
            BinaryOp::Pow => map2($a, $b, $o, |x, y| {
                if y < Default::default() {
                    Default::default()
                } else {
                    x.wrapping_pow(y as u32)
                }
            }),
            BinaryOp::Maximum | BinaryOp::Fmax => map2($a, $b, $o, |x, y| x.max(y)),
            BinaryOp::Minimum | BinaryOp::Fmin => map2($a, $b, $o, |x, y| x.min(y)),
            BinaryOp::FloorDiv => map2($a, $b, $o, |x, y| IntDefs::floor_div(x, y)),
            BinaryOp::Rem => map2($a, $b, $o, |x, y| IntDefs::py_rem(x, y)),
            BinaryOp::Fmod => map2($a, $b, $o, |x, y| IntDefs::fmod(x, y)),
            BinaryOp::BitAnd => map2($a, $b, $o, |x, y| x & y),
            BinaryOp::BitOr => map2($a, $b, $o, |x, y| x | y),
            BinaryOp::BitXor => map2($a, $b, $o, |x, y| x ^ y),
            BinaryOp::Shl => map2($a, $b, $o, |x, y| IntDefs::shl(x, y)),
            BinaryOp::Shr => map2($a, $b, $o, |x, y| IntDefs::shr(x, y)),
            _ => return Err("op not defined on integers"),
        }
    };
}

multiversion! {
/// `o = a op b` over `n` values; `a` and `b` share a compute type.
pub fn binary(op: BinaryOp, a: &Reg, b: &Reg, o: &mut Reg, n: usize) -> Result<(), &'static str> {
    if op.is_comparison() {
        let Reg::Bool(o) = o else {
            return Err("comparison output must be bool");
        };
        let o = &mut o[..n];
        match (a, b) {
            (Reg::F64(a), Reg::F64(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::F32(a), Reg::F32(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::I64(a), Reg::I64(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::I32(a), Reg::I32(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::U32(a), Reg::U32(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::U64(a), Reg::U64(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::Bool(a), Reg::Bool(b)) => cmp_ops!(&a[..n], &b[..n], o, op),
            (Reg::C64(a), Reg::C64(b)) => complex_eq(op, &a[..n], &b[..n], o)?,
            (Reg::C128(a), Reg::C128(b)) => complex_eq(op, &a[..n], &b[..n], o)?,
            _ => return Err("register type mismatch"),
        }
        return Ok(());
    }
    match (a, b, o) {
        (Reg::F64(a), Reg::F64(b), Reg::F64(o)) => float_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::F32(a), Reg::F32(b), Reg::F32(o)) => float_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::I64(a), Reg::I64(b), Reg::I64(o)) => int_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::I32(a), Reg::I32(b), Reg::I32(o)) => int_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::U32(a), Reg::U32(b), Reg::U32(o)) => int_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::U64(a), Reg::U64(b), Reg::U64(o)) => int_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::Bool(a), Reg::Bool(b), Reg::Bool(o)) => match op {
            BinaryOp::And | BinaryOp::Minimum | BinaryOp::BitAnd | BinaryOp::Fmin => map2(&a[..n], &b[..n], &mut o[..n], |x, y| x & y),
            BinaryOp::Or | BinaryOp::Maximum | BinaryOp::BitOr | BinaryOp::Fmax => map2(&a[..n], &b[..n], &mut o[..n], |x, y| x | y),
            BinaryOp::BitXor => map2(&a[..n], &b[..n], &mut o[..n], |x, y| x ^ y),
            _ => return Err("arithmetic on bool"),
        },
        (Reg::F32(a), Reg::F32(b), Reg::C64(o)) if op == BinaryOp::Complex => map2(&a[..n], &b[..n], &mut o[..n], Complex32::new),
        (Reg::F64(a), Reg::F64(b), Reg::C128(o)) if op == BinaryOp::Complex => map2(&a[..n], &b[..n], &mut o[..n], Complex64::new),
        (Reg::C64(a), Reg::C64(b), Reg::C64(o)) => complex_binary!(&a[..n], &b[..n], &mut o[..n], op),
        (Reg::C128(a), Reg::C128(b), Reg::C128(o)) => complex_binary!(&a[..n], &b[..n], &mut o[..n], op),
        _ => return Err("register type mismatch"),
    }
    Ok(())
}
}

/// Equality of complex numbers (both parts equal); they have no order.
fn complex_eq<T: PartialEq + Copy>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    o: &mut [bool],
) -> Result<(), &'static str> {
    match op {
        BinaryOp::Eq => map2(a, b, o, |x, y| x == y),
        BinaryOp::Ne => map2(a, b, o, |x, y| x != y),
        _ => return Err("complex numbers have no order"),
    }
    Ok(())
}

/// `o = cond ? a : b`.
pub fn select(c: &Reg, a: &Reg, b: &Reg, o: &mut Reg, n: usize) -> Result<(), &'static str> {
    let Reg::Bool(c) = c else {
        return Err("where condition must be bool");
    };
    fn sel<T: Copy>(c: &[bool], a: &[T], b: &[T], o: &mut [T]) {
        for i in 0..o.len() {
            o[i] = if c[i] { a[i] } else { b[i] };
        }
    }
    let c = &c[..n];
    match (a, b, o) {
        (Reg::F64(a), Reg::F64(b), Reg::F64(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::F32(a), Reg::F32(b), Reg::F32(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::I64(a), Reg::I64(b), Reg::I64(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::I32(a), Reg::I32(b), Reg::I32(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::U32(a), Reg::U32(b), Reg::U32(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::U64(a), Reg::U64(b), Reg::U64(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::Bool(a), Reg::Bool(b), Reg::Bool(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::C64(a), Reg::C64(b), Reg::C64(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        (Reg::C128(a), Reg::C128(b), Reg::C128(o)) => sel(c, &a[..n], &b[..n], &mut o[..n]),
        _ => return Err("register type mismatch"),
    }
    Ok(())
}

/// NumPy's truth of a number (NaN is true). A trait rather than `x != 0 as _`: that
/// comparison's type is ambiguous once serde_json's `PartialEq<Value>` impls are linked.
trait Truth: Copy {
    fn nonzero(self) -> bool;
}

macro_rules! truth {
    ($($t:ty),*) => {$(
        impl Truth for $t {
            #[inline(always)]
            fn nonzero(self) -> bool {
                self != 0 as $t
            }
        }
    )*};
}
truth!(f64, f32, i64, i32, u32, u64);

macro_rules! cast_from {
    ($a:expr, $o:expr, $n:expr) => {
        match $o {
            Reg::F64(o) => map1(&$a[..$n], &mut o[..$n], |x| x as f64),
            Reg::F32(o) => map1(&$a[..$n], &mut o[..$n], |x| x as f32),
            Reg::I64(o) => map1(&$a[..$n], &mut o[..$n], |x| x as i64),
            Reg::I32(o) => map1(&$a[..$n], &mut o[..$n], |x| x as i32),
            Reg::U32(o) => map1(&$a[..$n], &mut o[..$n], |x| x as u32),
            Reg::U64(o) => map1(&$a[..$n], &mut o[..$n], |x| x as u64),
            Reg::Bool(o) => map1(&$a[..$n], &mut o[..$n], |x| x.nonzero()),
            Reg::C64(o) => map1(&$a[..$n], &mut o[..$n], |x| Complex32::new(x as f32, 0.0)),
            Reg::C128(o) => map1(&$a[..$n], &mut o[..$n], |x| Complex64::new(x as f64, 0.0)),
        }
    };
}

/// A complex register cast: to complex, both parts; to a real type, the real part (as
/// NumPy's `astype`, which warns); to bool, whether either part is non-zero.
macro_rules! cast_complex {
    ($a:expr, $o:expr, $n:expr) => {{
        let a = &$a[..$n];
        match $o {
            Reg::C64(o) => map1(a, &mut o[..$n], |x| {
                Complex32::new(x.re as f32, x.im as f32)
            }),
            Reg::C128(o) => map1(a, &mut o[..$n], |x| {
                Complex64::new(x.re as f64, x.im as f64)
            }),
            Reg::Bool(o) => map1(a, &mut o[..$n], |x| x.re != 0.0 || x.im != 0.0),
            Reg::F64(o) => map1(a, &mut o[..$n], |x| x.re as f64),
            Reg::F32(o) => map1(a, &mut o[..$n], |x| x.re as f32),
            Reg::I64(o) => map1(a, &mut o[..$n], |x| x.re as i64),
            Reg::I32(o) => map1(a, &mut o[..$n], |x| x.re as i32),
            Reg::U32(o) => map1(a, &mut o[..$n], |x| x.re as u32),
            Reg::U64(o) => map1(a, &mut o[..$n], |x| x.re as u64),
        }
    }};
}

/// `o = a as o's type` (astype semantics: floats truncate toward zero, saturating).
pub fn cast(a: &Reg, o: &mut Reg, n: usize) {
    match a {
        Reg::F64(a) => cast_from!(a, o, n),
        Reg::F32(a) => cast_from!(a, o, n),
        Reg::I64(a) => cast_from!(a, o, n),
        Reg::I32(a) => cast_from!(a, o, n),
        Reg::U32(a) => cast_from!(a, o, n),
        Reg::U64(a) => cast_from!(a, o, n),
        Reg::Bool(a) => match o {
            Reg::F64(o) => map1(&a[..n], &mut o[..n], |x| x as u8 as f64),
            Reg::F32(o) => map1(&a[..n], &mut o[..n], |x| x as u8 as f32),
            Reg::I64(o) => map1(&a[..n], &mut o[..n], |x| x as i64),
            Reg::I32(o) => map1(&a[..n], &mut o[..n], |x| x as i32),
            Reg::U32(o) => map1(&a[..n], &mut o[..n], |x| x as u32),
            Reg::U64(o) => map1(&a[..n], &mut o[..n], |x| x as u64),
            Reg::Bool(o) => o[..n].copy_from_slice(&a[..n]),
            Reg::C64(o) => map1(&a[..n], &mut o[..n], |x| {
                Complex32::new(x as u8 as f32, 0.0)
            }),
            Reg::C128(o) => map1(&a[..n], &mut o[..n], |x| {
                Complex64::new(x as u8 as f64, 0.0)
            }),
        },
        Reg::C64(a) => cast_complex!(a, o, n),
        Reg::C128(a) => cast_complex!(a, o, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values with the awkward cases (signed zeros, infinities, NaN, subnormals) among
    /// ordinary ones, deterministic.
    fn values(n: usize, salt: u64) -> Vec<f64> {
        let special = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            5e-324,
            -1.5,
            2.0,
        ];
        (0..n)
            .map(|i| {
                let h = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
                if i % 7 == 0 {
                    special[(h % special.len() as u64) as usize]
                } else {
                    (h as f64 / (1u64 << 53) as f64 - 0.5) * 1e3
                }
            })
            .collect()
    }

    type Bin = fn(f64, f64) -> f64;
    type Un = fn(f64) -> f64;

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// The instructions run as AVX-512 or AVX2 clones where the CPU has them; each must
    /// give the bits of the plain one-element-at-a-time definition.
    #[test]
    fn vector_clones_compute_the_bits_of_the_scalar_definition() {
        let n = 1000;
        let (x, y) = (values(n, 1), values(n, 2));
        let scalar: [(BinaryOp, Bin); 7] = [
            (BinaryOp::Add, |a, b| a + b),
            (BinaryOp::Sub, |a, b| a - b),
            (BinaryOp::Mul, |a, b| a * b),
            (BinaryOp::Div, |a, b| a / b),
            (BinaryOp::Pow, f64::powf),
            (
                BinaryOp::Maximum,
                |a, b| if a > b || a.is_nan() { a } else { b },
            ),
            (
                BinaryOp::Minimum,
                |a, b| if a < b || a.is_nan() { a } else { b },
            ),
        ];
        for (op, f) in scalar {
            let mut o = Reg::new(DType::F64, n);
            binary(op, &Reg::F64(x.clone()), &Reg::F64(y.clone()), &mut o, n).unwrap();
            let Reg::F64(o) = o else { unreachable!() };
            for i in 0..n {
                assert!(
                    same(o[i], f(x[i], y[i])),
                    "{op:?}({}, {}) = {}",
                    x[i],
                    y[i],
                    o[i]
                );
            }
            // f32 registers too.
            let (x32, y32): (Vec<f32>, Vec<f32>) = (
                x.iter().map(|&v| v as f32).collect(),
                y.iter().map(|&v| v as f32).collect(),
            );
            let mut o = Reg::new(DType::F32, n);
            binary(
                op,
                &Reg::F32(x32.clone()),
                &Reg::F32(y32.clone()),
                &mut o,
                n,
            )
            .unwrap();
            let Reg::F32(o) = o else { unreachable!() };
            for i in 0..n {
                let (a, b) = (x32[i], y32[i]);
                let want = match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Pow => a.powf(b),
                    BinaryOp::Maximum => {
                        if a > b || a.is_nan() {
                            a
                        } else {
                            b
                        }
                    }
                    _ => {
                        if a < b || a.is_nan() {
                            a
                        } else {
                            b
                        }
                    }
                };
                assert!(
                    same(o[i] as f64, want as f64),
                    "f32 {op:?}({a}, {b}) = {}",
                    o[i]
                );
            }
        }
        let unary_ops: [(UnaryOp, Un); 10] = [
            (UnaryOp::Neg, |a| -a),
            (UnaryOp::Abs, f64::abs),
            (UnaryOp::Exp, f64::exp),
            (UnaryOp::Log, f64::ln),
            (UnaryOp::Sqrt, f64::sqrt),
            (UnaryOp::Sin, f64::sin),
            (UnaryOp::Cos, f64::cos),
            (UnaryOp::Tanh, f64::tanh),
            (UnaryOp::Floor, f64::floor),
            (UnaryOp::Ceil, f64::ceil),
        ];
        for (op, f) in unary_ops {
            let mut o = Reg::new(DType::F64, n);
            unary(op, &Reg::F64(x.clone()), &mut o, n).unwrap();
            let Reg::F64(o) = o else { unreachable!() };
            for i in 0..n {
                assert!(same(o[i], f(x[i])), "{op:?}({}) = {}", x[i], o[i]);
            }
        }
    }
}
