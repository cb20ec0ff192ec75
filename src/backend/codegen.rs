//! One walk over a [`FusedExpr`] for every language a GPU backend generates (WGSL, CUDA C),
//! and the `meta` layout their kernels share.
//!
//! Why one walk: what an op *means* — integers wrap, `maximum` propagates NaN, `!=` is
//! true for NaN, f16 and bf16 values round to nearest-even after every op (computed in
//! f32, as the CPU's registers do), a cast to an integer truncates toward zero and
//! saturates, a bool converts through a select — is decided here once, so a new op is
//! added in one place and every device computes the same bits. A [`Lang`] only spells
//! things: types, literals, a select, a math function, a narrowing conversion, how a leaf
//! is read. Declines come from the `Lang` (a type or function it lacks) as typed
//! [`Decline`]s.
//!
//! Why a shared `meta` layout: shapes, offsets, strides and generator parameters travel
//! in one `i32` buffer, so a kernel is compiled once per expression *structure* and the
//! host code that packs `meta` is the same for every GPU backend.
// Used by the GPU backends only; a CPU-only build keeps it compiled and tested.
#![cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(dead_code))]

use crate::backend::Decline;
use crate::dtype::{DType, Scalar};
use crate::kernel::{BinaryOp, Dist, FusedExpr, Generator, Instr, LeafSource, ReduceOp, UnaryOp};

/// Most dimensions a generated kernel handles (its coordinate array).
pub const MAX_NDIM: usize = 8;
/// `meta` slots reserved per leaf for generator parameters (a range needs ten: start,
/// step and stop as three f32 parts each, and the index of the exact last value).
pub const GEN_SLOTS: usize = 10;

/// Position of leaf `l`'s offset in `meta` (its strides follow).
pub fn leaf_base(ndim: usize, l: usize) -> usize {
    2 + ndim + l * (1 + ndim)
}

/// Position of leaf `l`'s generator parameters in `meta` (after every leaf's strides).
pub fn gen_base(ndim: usize, nleaves: usize, l: usize) -> usize {
    leaf_base(ndim, nleaves) + l * GEN_SLOTS
}

/// `v` as three f32s whose f64 sum `(a + b) + c` is exactly `v` (WGSL has no f64
/// literals, and naga cannot bitcast two u32 words into an f64), or `None` when no
/// such split exists (magnitudes beyond f32, or low bits below its range).
pub fn f64_parts(v: f64) -> Option<[f32; 3]> {
    if v.is_nan() {
        return Some([f32::NAN, 0.0, 0.0]);
    }
    let a = v as f32;
    let r1 = v - a as f64;
    let b = r1 as f32;
    let r2 = r1 - b as f64;
    let c = r2 as f32;
    let exact = a.is_finite() == v.is_finite() && (a as f64 + b as f64) + c as f64 == v;
    (exact && c as f64 == r2).then_some([a, b, c])
}

/// `v`'s three f32 parts as `meta` words (see [`f64_parts`]).
pub fn f64_meta(v: f64) -> [i32; 3] {
    f64_parts(v)
        .unwrap_or([f32::NAN; 3])
        .map(|x| x.to_bits() as i32)
}

/// The `meta` words of `expr` over a chunk of `shape`: `[ndim, elements, shape...]`, then
/// per leaf its offset and strides, then per leaf [`GEN_SLOTS`] generator parameters
/// (seed words and f32 or f64-as-three-f32 bounds; range start, step, last index and
/// stop; eye's column count and diagonal).
pub fn meta(expr: &FusedExpr, shape: &[usize]) -> Vec<i32> {
    let ndim = shape.len();
    let nleaves = expr.leaves.len();
    let mut m = vec![0i32; gen_base(ndim, nleaves, nleaves)];
    m[0] = ndim as i32;
    m[1] = shape.iter().product::<usize>() as i32;
    for (k, &n) in shape.iter().enumerate() {
        m[2 + k] = n as i32;
    }
    for (l, leaf) in expr.leaves.iter().enumerate() {
        let b = leaf_base(ndim, l);
        m[b] = leaf.offset as i32;
        for k in 0..ndim {
            m[b + 1 + k] = leaf.strides[k] as i32;
        }
        let p = gen_base(ndim, nleaves, l);
        match leaf.source {
            LeafSource::Gen(Generator::Random { seed, dist }) => {
                m[p] = seed as u32 as i32;
                m[p + 1] = (seed >> 32) as u32 as i32;
                let (shift, scale) = match dist {
                    Dist::Uniform { low, high } => (low, high - low),
                    Dist::Normal { mean, std } => (mean, std),
                };
                if leaf.dtype == DType::F64 {
                    // f64 kernels rebuild both from three f32 parts (as the CPU, the
                    // scale is high − low computed in f64).
                    m[p + 2..p + 5].copy_from_slice(&f64_meta(shift));
                    m[p + 5..p + 8].copy_from_slice(&f64_meta(scale));
                } else {
                    m[p + 2] = (shift as f32).to_bits() as i32;
                    m[p + 3] = (scale as f32).to_bits() as i32;
                }
            }
            LeafSource::Gen(Generator::Range { start, step, last }) => {
                m[p..p + 3].copy_from_slice(&f64_meta(start));
                m[p + 3..p + 6].copy_from_slice(&f64_meta(step));
                let (idx, stop) = last.map_or((-1, 0.0), |(i, v)| (i as i32, v));
                m[p + 6] = idx;
                m[p + 7..p + 10].copy_from_slice(&f64_meta(stop));
            }
            LeafSource::Gen(Generator::Eye { ncols, k }) => {
                m[p] = ncols as i32;
                m[p + 1] = k as i32;
            }
            LeafSource::Input(_) => {}
        }
    }
    m
}

/// Whether every f64 generator parameter of `expr` has the exact three-f32 form the
/// generated kernels need (they decline otherwise): the one thing beyond the shared
/// [`crate::kernel::ExprKey`] that the source depends on, so it joins the cache key.
pub fn exact_f64_params(expr: &FusedExpr) -> bool {
    let exact = |vs: &[f64]| vs.iter().all(|&v| f64_parts(v).is_some());
    expr.leaves.iter().all(|leaf| match &leaf.source {
        LeafSource::Gen(Generator::Random {
            dist: Dist::Uniform { low, high },
            ..
        }) => exact(&[*low, high - low]),
        LeafSource::Gen(Generator::Range { start, step, last }) => {
            exact(&[*start, *step, last.map_or(0.0, |l| l.1)])
        }
        _ => true,
    })
}

/// How far an affine view over `shape` reaches from its offset: (the most negative step
/// sum, the total span Σ |stride|·(n − 1)), so index checks need no per-element work.
pub fn stride_span(strides: &[i64], shape: &[usize]) -> (i64, i64) {
    strides
        .iter()
        .zip(shape)
        .fold((0, 0), |(lo, span), (&s, &n)| {
            let len = n.max(1) as i64 - 1;
            (lo + s.min(0) * len, span + s.abs() * len)
        })
}

/// The `meta` of a reduction partial of `op`: the map layout of its expression, then at
/// `gen_base(ndim, nleaves, nleaves)` `[nout, nred, reduced flag per axis, arg base, arg
/// stride per axis]`; with the accumulator shape (reduced axes kept as 1), `nout` and
/// `nred`.
pub fn reduce_meta(op: &ReduceOp) -> (Vec<i32>, Vec<usize>, usize, usize) {
    let (shape, axes, arg) = (&op.shape, &op.axes, &op.arg);
    let ndim = shape.len();
    let acc_shape: Vec<usize> = (0..ndim)
        .map(|k| if axes.contains(&k) { 1 } else { shape[k] })
        .collect();
    let nout: usize = acc_shape.iter().product();
    let nred: usize = axes.iter().map(|&k| shape[k]).product();
    let mut m = meta(&op.expr, shape);
    m.push(nout as i32);
    m.push(nred as i32);
    m.extend((0..ndim).map(|k| axes.contains(&k) as i32));
    m.push(arg.base as i32);
    m.extend((0..ndim).map(|k| arg.strides.get(k).copied().unwrap_or(0) as i32));
    (m, acc_shape, nout, nred)
}

/// Whether a reduction of a `shape` chunk over `axes` uses the serial driver (a thread
/// per output element): when the last axis is kept and there are outputs enough to fill
/// a GPU, so that neighbouring threads read neighbouring elements.
pub fn serial_reduction(shape: &[usize], axes: &[usize]) -> bool {
    let nd = shape.len();
    let nout: usize = (0..nd)
        .filter(|k| !axes.contains(k))
        .map(|k| shape[k])
        .product();
    nd > 0 && !axes.contains(&(nd - 1)) && nout >= 1024
}

/// Why `expr` over `shape` cannot run in a generated kernel: `meta` holds i32 words, so
/// every leaf's index range stays within 0..2³¹, and a random leaf's Philox counter
/// within 32 bits.
pub fn check_leaf_ranges(expr: &FusedExpr, shape: &[usize]) -> Result<(), Decline> {
    for leaf in &expr.leaves {
        let (below, reach) = stride_span(&leaf.strides, shape);
        if leaf.offset + below < 0 || leaf.offset + reach > i32::MAX as i64 {
            return Err(Decline::size(
                "leaf indices exceed the 32-bit range of GPU kernels",
            ));
        }
        if let LeafSource::Gen(Generator::Random { .. }) = leaf.source {
            if leaf.offset + reach > u32::MAX as i64 / 4 {
                return Err(Decline::size(
                    "random index beyond the 32-bit counter range of GPU kernels",
                ));
            }
        }
    }
    Ok(())
}

/// The dtype of each input slot `expr` reads (its kernel's buffer types, in order).
pub fn input_dtypes(expr: &FusedExpr) -> Result<Vec<DType>, Decline> {
    (0..expr.num_inputs())
        .map(|slot| {
            expr.leaves
                .iter()
                .find(|l| l.source == LeafSource::Input(slot))
                .map(|l| l.dtype)
                .ok_or_else(|| Decline::from("an input slot without a leaf"))
        })
        .collect()
}

/// The register holding the value of `expr` after [`body`].
pub fn result_register(expr: &FusedExpr) -> String {
    format!("r{}", expr.instrs.len().saturating_sub(1))
}

/// A math function a [`Lang`] spells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathFn {
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tanh,
    Floor,
    Ceil,
    Abs,
    Pow,
    Max,
    Min,
    Tan,
    Sinh,
    Cosh,
    Asin,
    Acos,
    Atan,
    Asinh,
    Acosh,
    Atanh,
    Expm1,
    Log1p,
    Log2,
    Log10,
    Trunc,
    /// Round half to even.
    Round,
    Atan2,
    Hypot,
    Copysign,
}

impl MathFn {
    /// Whether the result is exact in any float type (no rounding to narrow after it).
    fn exact(self) -> bool {
        matches!(
            self,
            MathFn::Floor
                | MathFn::Ceil
                | MathFn::Abs
                | MathFn::Max
                | MathFn::Min
                | MathFn::Trunc
                | MathFn::Round
        )
    }
}

/// How one generated language spells what [`body`] asks for. Arguments are expressions
/// of the language; `d` is the dtype of the values involved.
pub trait Lang {
    /// The register type holding a `d` value, or why this device has none.
    fn reg_type(&self, d: DType) -> Result<&'static str, Decline>;
    /// The constant `v` as a `d` value.
    fn literal(&self, v: Scalar, d: DType) -> Result<String, Decline>;
    /// `c ? a : b`.
    fn select(&self, c: &str, a: &str, b: &str) -> String;
    /// Whether `v` (a float of dtype `d`) is NaN, robust to compilers that assume none.
    fn is_nan(&self, v: &str, d: DType) -> String;
    /// Whether `v` (an f32 or f64 of dtype `d`) is infinite, robust in the same way.
    fn is_inf(&self, v: &str, d: DType) -> String;
    /// `f(args)` on registers of dtype `d` (f32 or f64 for rounding functions; any type
    /// for the exact ones).
    fn math(&self, f: MathFn, args: &[&str], d: DType) -> Result<String, Decline>;
    /// A register of narrow float dtype `d` (f16, bf16) as an f32 value.
    fn widen(&self, v: &str, d: DType) -> String;
    /// An f32 value rounded (to nearest, ties to even) to narrow float dtype `d`, as a
    /// register of `d`.
    fn narrow(&self, v: &str, d: DType) -> Result<String, Decline>;
    /// `a op b` on integers of dtype `d`, wrapping on overflow (`op` is `+`, `-`, `*`).
    fn wrapping(&self, op: &str, a: &str, b: &str, d: DType) -> String;
    /// `v` converted between numeric, non-narrow dtypes as Rust's `as` does (floats to
    /// integers truncate toward zero and saturate, NaN gives 0; integers wrap).
    fn convert(&self, v: &str, from: DType, to: DType) -> Result<String, Decline>;
    /// The value of leaf `l` of `expr` at the current coordinates, in dtype `d`.
    fn leaf(&self, expr: &FusedExpr, l: usize, ndim: usize) -> Result<String, Decline>;
    /// A statement binding register `r{i}` of type `ty` to `e`.
    fn bind(&self, i: usize, ty: &str, e: &str) -> String;
}

fn narrow_float(d: DType) -> bool {
    matches!(d, DType::F16 | DType::BF16)
}

/// The statements computing every instruction of `expr` into registers `r0, r1, ...`
/// (the last one, [`result_register`], is the value), in language `lang`, or why this
/// device declines. The tests below spell a small language to show what it decides.
pub fn body(expr: &FusedExpr, ndim: usize, lang: &impl Lang) -> Result<String, Decline> {
    if ndim > MAX_NDIM {
        return Err(Decline::size(format!(
            "{ndim} dimensions (kernels handle up to {MAX_NDIM})"
        )));
    }
    let mut s = String::new();
    for (i, (ins, d)) in expr.instrs.iter().enumerate() {
        let d = *d;
        let e = instr(expr, ins, d, ndim, lang)?;
        s.push_str(&lang.bind(i, lang.reg_type(d)?, &e));
    }
    Ok(s)
}

fn instr(
    expr: &FusedExpr,
    ins: &Instr,
    d: DType,
    ndim: usize,
    lang: &impl Lang,
) -> Result<String, Decline> {
    let reg = |a: &usize| format!("r{a}");
    let dtype_of = |a: &usize| expr.instrs[*a].1;
    Ok(match ins {
        Instr::Leaf(l) => lang.leaf(expr, *l, ndim)?,
        Instr::Const(v) => lang.literal(*v, d)?,
        Instr::Unary(op, a) if op.is_predicate() => predicate(*op, &reg(a), dtype_of(a), lang)?,
        Instr::Unary(op, a) => unary(*op, &reg(a), d, lang)?,
        Instr::Binary(op, a, b) => binary(*op, &reg(a), &reg(b), dtype_of(a), d, lang)?,
        Instr::Where(c, a, b) => lang.select(&reg(c), &reg(a), &reg(b)),
        Instr::Cast(a) => cast(&reg(a), dtype_of(a), d, lang)?,
    })
}

/// `f(args)` in float dtype `d`: narrow dtypes compute in f32 and round once after.
fn float_math(f: MathFn, args: &[&str], d: DType, lang: &impl Lang) -> Result<String, Decline> {
    if narrow_float(d) && !f.exact() {
        let wide: Vec<String> = args.iter().map(|a| lang.widen(a, d)).collect();
        let wide: Vec<&str> = wide.iter().map(|s| s.as_str()).collect();
        lang.narrow(&lang.math(f, &wide, DType::F32)?, d)
    } else {
        lang.math(f, args, d)
    }
}

/// A float test (`isnan`, `isinf`, `isfinite`) of `a`, an operand of dtype `operand`;
/// narrow floats are widened to f32 first (exact).
fn predicate(op: UnaryOp, a: &str, operand: DType, lang: &impl Lang) -> Result<String, Decline> {
    if !operand.is_float() {
        return Err(
            format!("{op:?} is defined on floats; the array layer casts {operand} first").into(),
        );
    }
    let (v, d) = if narrow_float(operand) {
        (lang.widen(a, operand), DType::F32)
    } else {
        (a.to_string(), operand)
    };
    Ok(match op {
        UnaryOp::IsNan => lang.is_nan(&v, d),
        UnaryOp::IsInf => lang.is_inf(&v, d),
        _ => format!("(!({} || {}))", lang.is_nan(&v, d), lang.is_inf(&v, d)),
    })
}

fn unary(op: UnaryOp, a: &str, d: DType, lang: &impl Lang) -> Result<String, Decline> {
    let zero = || lang.literal(Scalar::I64(0), d);
    Ok(match op {
        UnaryOp::Not => format!("(!{a})"),
        UnaryOp::Neg if d.is_float() => format!("(-{a})"),
        UnaryOp::Neg => lang.wrapping("-", &zero()?, a, d),
        UnaryOp::Abs if d == DType::U32 => a.to_string(),
        // Wrapping, as the CPU: |i64::MIN| is i64::MIN.
        UnaryOp::Abs if !d.is_float() => lang.select(
            &format!("({a} < {})", zero()?),
            &lang.wrapping("-", &zero()?, a, d),
            a,
        ),
        UnaryOp::Abs => float_math(MathFn::Abs, &[a], d, lang)?,
        _ if !d.is_float() => return Err(format!("{op:?} is not defined on {d}").into()),
        UnaryOp::Sqrt => float_math(MathFn::Sqrt, &[a], d, lang)?,
        UnaryOp::Exp => float_math(MathFn::Exp, &[a], d, lang)?,
        UnaryOp::Log => float_math(MathFn::Log, &[a], d, lang)?,
        UnaryOp::Sin => float_math(MathFn::Sin, &[a], d, lang)?,
        UnaryOp::Cos => float_math(MathFn::Cos, &[a], d, lang)?,
        UnaryOp::Tanh => float_math(MathFn::Tanh, &[a], d, lang)?,
        UnaryOp::Floor => float_math(MathFn::Floor, &[a], d, lang)?,
        UnaryOp::Ceil => float_math(MathFn::Ceil, &[a], d, lang)?,
        UnaryOp::Tan => float_math(MathFn::Tan, &[a], d, lang)?,
        UnaryOp::Sinh => float_math(MathFn::Sinh, &[a], d, lang)?,
        UnaryOp::Cosh => float_math(MathFn::Cosh, &[a], d, lang)?,
        UnaryOp::Asin => float_math(MathFn::Asin, &[a], d, lang)?,
        UnaryOp::Acos => float_math(MathFn::Acos, &[a], d, lang)?,
        UnaryOp::Atan => float_math(MathFn::Atan, &[a], d, lang)?,
        UnaryOp::Asinh => float_math(MathFn::Asinh, &[a], d, lang)?,
        UnaryOp::Acosh => float_math(MathFn::Acosh, &[a], d, lang)?,
        UnaryOp::Atanh => float_math(MathFn::Atanh, &[a], d, lang)?,
        UnaryOp::Expm1 => float_math(MathFn::Expm1, &[a], d, lang)?,
        UnaryOp::Log1p => float_math(MathFn::Log1p, &[a], d, lang)?,
        UnaryOp::Log2 => float_math(MathFn::Log2, &[a], d, lang)?,
        UnaryOp::Log10 => float_math(MathFn::Log10, &[a], d, lang)?,
        UnaryOp::Trunc => float_math(MathFn::Trunc, &[a], d, lang)?,
        UnaryOp::Round => float_math(MathFn::Round, &[a], d, lang)?,
        UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite => {
            return Err("a predicate reached the arithmetic path".into())
        }
    })
}

fn binary(
    op: BinaryOp,
    a: &str,
    b: &str,
    operand: DType,
    d: DType,
    lang: &impl Lang,
) -> Result<String, Decline> {
    let float = operand.is_float();
    let arith = |sym: &str| -> Result<String, Decline> {
        Ok(if narrow_float(d) {
            // Exact in f32 for + - * /, which holds more than twice f16's precision.
            let (wa, wb) = (lang.widen(a, d), lang.widen(b, d));
            lang.narrow(&format!("({wa} {sym} {wb})"), d)?
        } else if d.is_float() {
            format!("({a} {sym} {b})")
        } else {
            lang.wrapping(sym, a, b, d)
        })
    };
    let undefined = || Decline::from(format!("{} is not defined on {operand}", op.name()));
    Ok(match op {
        BinaryOp::Add if operand != DType::Bool => arith("+")?,
        BinaryOp::Sub if operand != DType::Bool => arith("-")?,
        BinaryOp::Mul if operand != DType::Bool => arith("*")?,
        BinaryOp::Div if float => arith("/")?,
        BinaryOp::Pow if float => float_math(MathFn::Pow, &[a, b], d, lang)?,
        BinaryOp::Pow if operand != DType::Bool => lang.math(MathFn::Pow, &[a, b], d)?,
        BinaryOp::Atan2 if float => float_math(MathFn::Atan2, &[a, b], d, lang)?,
        BinaryOp::Hypot if float => float_math(MathFn::Hypot, &[a, b], d, lang)?,
        BinaryOp::Copysign if float => float_math(MathFn::Copysign, &[a, b], d, lang)?,
        BinaryOp::Maximum | BinaryOp::Or if operand == DType::Bool => format!("({a} || {b})"),
        BinaryOp::Minimum | BinaryOp::And if operand == DType::Bool => format!("({a} && {b})"),
        // NaN propagates, as numpy.maximum / minimum.
        BinaryOp::Maximum if float => {
            let take_a = format!("({a} > {b} || {})", lang.is_nan(a, operand));
            lang.select(&take_a, a, b)
        }
        BinaryOp::Minimum if float => {
            let take_a = format!("({a} < {b} || {})", lang.is_nan(a, operand));
            lang.select(&take_a, a, b)
        }
        BinaryOp::Maximum => lang.math(MathFn::Max, &[a, b], d)?,
        BinaryOp::Minimum => lang.math(MathFn::Min, &[a, b], d)?,
        BinaryOp::Eq => format!("({a} == {b})"),
        // Not `!=`: it may compile to an ordered compare (false on NaN); IEEE and NumPy
        // say NaN != x is true.
        BinaryOp::Ne if float => format!("(!({a} == {b}))"),
        BinaryOp::Ne => format!("({a} != {b})"),
        BinaryOp::Lt => format!("({a} < {b})"),
        BinaryOp::Le => format!("({a} <= {b})"),
        BinaryOp::Gt => format!("({a} > {b})"),
        BinaryOp::Ge => format!("({a} >= {b})"),
        _ => return Err(undefined()),
    })
}

/// `a` of dtype `from` as dtype `to`, as the CPU converts.
pub fn cast(a: &str, from: DType, to: DType, lang: &impl Lang) -> Result<String, Decline> {
    lang.reg_type(from)?;
    let lit = |v: f64, d: DType| lang.literal(Scalar::F64(v), d);
    Ok(if from == to {
        a.to_string()
    } else if from == DType::Bool {
        lang.select(a, &lit(1.0, to)?, &lit(0.0, to)?)
    } else if to == DType::Bool {
        // Not `!=` (an ordered compare): NaN is truthy.
        format!("(!({a} == {}))", lit(0.0, from)?)
    } else if narrow_float(to) {
        // Through f32, as the CPU's narrow registers are (exact for integers up to
        // f16's range; f64 rounds twice, as there).
        let wide = if narrow_float(from) {
            lang.widen(a, from)
        } else if from == DType::F32 {
            a.to_string()
        } else {
            lang.convert(a, from, DType::F32)?
        };
        lang.narrow(&wide, to)?
    } else if narrow_float(from) {
        lang.convert(&lang.widen(a, from), DType::F32, to)?
    } else {
        lang.convert(a, from, to)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Leaf;

    /// A language that names every choice, so the tests read what the walk decided.
    struct Names;

    impl Lang for Names {
        fn reg_type(&self, d: DType) -> Result<&'static str, Decline> {
            Ok(d.name())
        }
        fn literal(&self, v: Scalar, _d: DType) -> Result<String, Decline> {
            Ok(format!("{}", v.as_f64()))
        }
        fn select(&self, c: &str, a: &str, b: &str) -> String {
            format!("sel({c}, {a}, {b})")
        }
        fn is_nan(&self, v: &str, _d: DType) -> String {
            format!("nan({v})")
        }
        fn is_inf(&self, v: &str, _d: DType) -> String {
            format!("inf({v})")
        }
        fn math(&self, f: MathFn, args: &[&str], d: DType) -> Result<String, Decline> {
            Ok(format!("{f:?}.{}({})", d.name(), args.join(", ")))
        }
        fn widen(&self, v: &str, _d: DType) -> String {
            format!("wide({v})")
        }
        fn narrow(&self, v: &str, d: DType) -> Result<String, Decline> {
            Ok(format!("round.{}({v})", d.name()))
        }
        fn wrapping(&self, op: &str, a: &str, b: &str, _d: DType) -> String {
            format!("wrap({a} {op} {b})")
        }
        fn convert(&self, v: &str, from: DType, to: DType) -> Result<String, Decline> {
            Ok(format!("{}->{}({v})", from.name(), to.name()))
        }
        fn leaf(&self, _e: &FusedExpr, l: usize, _ndim: usize) -> Result<String, Decline> {
            Ok(format!("in{l}"))
        }
        fn bind(&self, i: usize, ty: &str, e: &str) -> String {
            format!("{ty} r{i} = {e};\n")
        }
    }

    /// `op(in0, in1)` over two inputs of dtype `d`, and the statement computing it.
    fn last(op: Instr, d: DType, out: DType) -> String {
        let leaf = |slot| Leaf {
            source: LeafSource::Input(slot),
            dtype: d,
            offset: 0,
            strides: vec![1],
        };
        let e = FusedExpr {
            leaves: vec![leaf(0), leaf(1)],
            instrs: vec![(Instr::Leaf(0), d), (Instr::Leaf(1), d), (op, out)],
        };
        assert_eq!(result_register(&e), "r2");
        body(&e, 1, &Names)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_walk_decides_what_each_op_means_once_for_every_language() {
        use BinaryOp::*;
        // f16 arithmetic computes in f32 and rounds after the op.
        assert_eq!(
            last(Instr::Binary(Add, 0, 1), DType::F16, DType::F16),
            "float16 r2 = round.float16((wide(r0) + wide(r1)));"
        );
        // Exact functions are not rounded again; rounding ones are.
        assert_eq!(
            last(Instr::Unary(UnaryOp::Abs, 0), DType::BF16, DType::BF16),
            "bfloat16 r2 = Abs.bfloat16(r0);"
        );
        assert_eq!(
            last(Instr::Unary(UnaryOp::Sqrt, 0), DType::F16, DType::F16),
            "float16 r2 = round.float16(Sqrt.float32(wide(r0)));"
        );
        // Integers wrap; |x| of an integer wraps too.
        assert_eq!(
            last(Instr::Binary(Mul, 0, 1), DType::I32, DType::I32),
            "int32 r2 = wrap(r0 * r1);"
        );
        assert_eq!(
            last(Instr::Unary(UnaryOp::Abs, 0), DType::I64, DType::I64),
            "int64 r2 = sel((r0 < 0), wrap(0 - r0), r0);"
        );
        // NaN propagates through maximum; float != is not an ordered compare.
        assert_eq!(
            last(Instr::Binary(Maximum, 0, 1), DType::F32, DType::F32),
            "float32 r2 = sel((r0 > r1 || nan(r0)), r0, r1);"
        );
        assert_eq!(
            last(Instr::Binary(Ne, 0, 1), DType::F64, DType::Bool),
            "bool r2 = (!(r0 == r1));"
        );
        // Casts to narrow floats go through f32; from bools through a select.
        assert_eq!(
            last(Instr::Cast(0), DType::F64, DType::F16),
            "float16 r2 = round.float16(float64->float32(r0));"
        );
        assert_eq!(
            last(Instr::Cast(0), DType::Bool, DType::I32),
            "int32 r2 = sel(r0, 1, 0);"
        );
        // What the CPU does not define is declined, not spelled.
        let leaf = Leaf {
            source: LeafSource::Input(0),
            dtype: DType::I32,
            offset: 0,
            strides: vec![1],
        };
        let e = FusedExpr {
            leaves: vec![
                leaf.clone(),
                Leaf {
                    source: LeafSource::Input(1),
                    ..leaf
                },
            ],
            instrs: vec![
                (Instr::Leaf(0), DType::I32),
                (Instr::Leaf(1), DType::I32),
                (Instr::Binary(Div, 0, 1), DType::I32),
            ],
        };
        assert!(body(&e, 1, &Names).is_err());
    }

    #[test]
    fn f64_parts_are_exact_or_absent() {
        let [a, b, c] = f64_parts(0.1).unwrap();
        assert_eq!((a as f64 + b as f64) + c as f64, 0.1);
        assert!(f64_parts(1e300).is_none());
        assert!(f64_parts(f64::NAN).unwrap()[0].is_nan());
    }
}
