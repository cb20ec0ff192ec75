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

mod complex;

use crate::backend::Decline;
use crate::dtype::{DType, Scalar};
use crate::kernel::{
    BinaryOp, Dist, FusedExpr, Generator, Instr, LeafSource, ReduceOp, Reduction, UnaryOp,
};

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
                    // Sampled on the CPU (the device walks decline them): no parameters.
                    _ => (0.0, 1.0),
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
    /// C's `fmod` (exact).
    Fmod,
    Cbrt,
    Exp2,
    NextAfter,
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
                | MathFn::Fmod
        )
    }
}

/// Declines a device reduction whose partials are order-keyed u64s
/// ([`Reduction::u64_keyed`]): only the CPU writes those so far.
pub fn keyed_u64(red: Reduction, d: DType) -> Result<(), Decline> {
    if red.u64_keyed(d) {
        return Err(Decline::DType {
            dtype: d,
            reason: format!(
                "{} of uint64 runs on the CPU (its partials are order-keyed)",
                red.name()
            ),
        });
    }
    Ok(())
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
    /// `a << b` or `a >> b` (arithmetic for signed `d`) on integers of dtype `d`, for a
    /// count `b` (of dtype `d`) already known to lie in `0..bits`.
    fn shift(&self, left: bool, a: &str, b: &str, d: DType) -> String;
    /// A statement binding the register `name` of type `ty` to `e`.
    fn bind(&self, name: &str, ty: &str, e: &str) -> String;
    /// The complex value `re + im·i` of complex dtype `d` (the parts are registers or
    /// expressions of `d`'s part dtype).
    fn pair(&self, re: &str, im: &str, d: DType) -> Result<String, Decline>;
    /// A +0.0 of float dtype `d` that the compiler cannot fold away: WGSL compilers treat
    /// float arithmetic as free of signed zeros, infinities and NaN (lavapipe turns
    /// `x * 0.0` into `0.0` and `0.0 + x` into `x`), which would change a complex
    /// product's special values and zero signs; a zero known only at run time keeps
    /// the CPU's IEEE results. The default is the plain literal.
    fn zero(&self, d: DType) -> Result<String, Decline> {
        self.literal(Scalar::F64(0.0), d)
    }
    /// The real (`imag = false`) or imaginary part of complex register `v`.
    fn part(&self, v: &str, imag: bool) -> String {
        format!("{v}.{}", if imag { "y" } else { "x" })
    }
    /// `v`, a 32-bit signed integer, wrapped to the width of narrow integer dtype `d`
    /// (i8, u8, i16, u16) and extended back: narrow integers compute in 32-bit
    /// registers, as NumPy's loops and the CPU do, and wrap after every instruction.
    fn wrap_small(&self, v: &str, d: DType) -> String;
}

/// Registers an instruction needs before its value (`r5_0`, `r5_1`, ...), so a step
/// used several times is computed once.
struct Temps<'a, L: Lang> {
    lang: &'a L,
    prefix: String,
    stmts: String,
    n: usize,
}

impl<L: Lang> Temps<'_, L> {
    /// Binds `e`, a `d` value, to a new register and returns its name.
    fn bind(&mut self, e: &str, d: DType) -> Result<String, Decline> {
        let name = format!("{}_{}", self.prefix, self.n);
        self.n += 1;
        self.stmts
            .push_str(&self.lang.bind(&name, self.lang.reg_type(d)?, e));
        Ok(name)
    }
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
        let mut t = Temps {
            lang,
            prefix: format!("r{i}"),
            stmts: String::new(),
            n: 0,
        };
        let mut e = instr(expr, ins, d, ndim, &mut t)?;
        if d.is_small_int() && matches!(ins, Instr::Unary(..) | Instr::Binary(..)) {
            e = lang.wrap_small(&e, d);
        }
        s.push_str(&t.stmts);
        s.push_str(&lang.bind(&format!("r{i}"), lang.reg_type(d)?, &e));
    }
    Ok(s)
}

fn instr<L: Lang>(
    expr: &FusedExpr,
    ins: &Instr,
    d: DType,
    ndim: usize,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    if complex::involved(expr, ins, d) {
        return complex::instr(expr, ins, d, ndim, t);
    }
    let lang = t.lang;
    let reg = |a: &usize| format!("r{a}");
    let dtype_of = |a: &usize| expr.instrs[*a].1;
    Ok(match ins {
        Instr::Leaf(l) => lang.leaf(expr, *l, ndim)?,
        Instr::Const(v) => lang.literal(*v, d)?,
        Instr::Unary(op, a) if op.is_predicate() => predicate(*op, &reg(a), dtype_of(a), lang)?,
        Instr::Unary(op, a) => unary(*op, &reg(a), d, t)?,
        Instr::Binary(op, a, b) => binary(*op, &reg(a), &reg(b), dtype_of(a), d, t)?,
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
        // Through copysign, which reads the sign bit (-0.0 and NaN signs included).
        UnaryOp::SignBit => {
            let one = lang.literal(Scalar::F64(1.0), d)?;
            let zero = lang.literal(Scalar::F64(0.0), d)?;
            format!(
                "({} < {zero})",
                lang.math(MathFn::Copysign, &[&one, &v], d)?
            )
        }
        _ => format!("(!({} || {}))", lang.is_nan(&v, d), lang.is_inf(&v, d)),
    })
}

fn unary<L: Lang>(op: UnaryOp, a: &str, d: DType, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let lang = t.lang;
    let zero = || lang.literal(Scalar::I64(0), d);
    let lit = |v: i64| lang.literal(Scalar::I64(v), d);
    Ok(match op {
        UnaryOp::Real | UnaryOp::Imag | UnaryOp::Conj | UnaryOp::Angle => {
            return Err(
                format!("{op:?} takes complex numbers, which have no device kernels yet").into(),
            )
        }
        UnaryOp::Not => format!("(!{a})"),
        UnaryOp::BitNot if d == DType::Bool => format!("(!{a})"),
        UnaryOp::BitNot if d.is_int() => format!("(~{a})"),
        // ±0 gives +0 and NaN itself, as numpy.sign; integers -1, 0, 1.
        UnaryOp::Sign if d.is_float() => lang.select(
            &format!("({a} > {})", zero()?),
            &lit(1)?,
            &lang.select(
                &format!("({a} < {})", zero()?),
                &lit(-1)?,
                &lang.select(&format!("({a} == {})", zero()?), &zero()?, a),
            ),
        ),
        UnaryOp::Sign if d.is_unsigned_int() => {
            lang.select(&format!("({a} > {})", zero()?), &lit(1)?, &zero()?)
        }
        UnaryOp::Sign if d.is_int() => lang.select(
            &format!("({a} > {})", zero()?),
            &lit(1)?,
            &lang.select(&format!("({a} < {})", zero()?), &lit(-1)?, &zero()?),
        ),
        UnaryOp::Neg if d.is_float() => format!("(-{a})"),
        UnaryOp::Neg => lang.wrapping("-", &zero()?, a, d),
        UnaryOp::Abs if d.is_unsigned_int() => a.to_string(),
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
        UnaryOp::Cbrt => float_math(MathFn::Cbrt, &[a], d, lang)?,
        UnaryOp::Exp2 => float_math(MathFn::Exp2, &[a], d, lang)?,
        UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite | UnaryOp::SignBit => {
            return Err("a predicate reached the arithmetic path".into())
        }
        UnaryOp::BitNot | UnaryOp::Sign => {
            return Err(format!("{op:?} is not defined on {d}").into())
        }
    })
}

fn binary<L: Lang>(
    op: BinaryOp,
    a: &str,
    b: &str,
    operand: DType,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let float = operand.is_float();
    let int = operand.is_int();
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
        BinaryOp::Fmod if float => float_math(MathFn::Fmod, &[a, b], d, lang)?,
        BinaryOp::FloorDiv | BinaryOp::Rem if float => narrowed(a, b, d, t, |a, b, w, t| {
            float_divmod(op == BinaryOp::Rem, a, b, w, t)
        })?,
        BinaryOp::FloorDiv | BinaryOp::Rem | BinaryOp::Fmod if int => int_division(op, a, b, d, t)?,
        BinaryOp::LogAddExp if float => narrowed(a, b, d, t, logaddexp)?,
        BinaryOp::NextAfter if float && !narrow_float(d) => {
            lang.math(MathFn::NextAfter, &[a, b], d)?
        }
        BinaryOp::BitAnd if operand == DType::Bool => format!("({a} && {b})"),
        BinaryOp::BitOr if operand == DType::Bool => format!("({a} || {b})"),
        BinaryOp::BitXor if operand == DType::Bool => format!("({a} != {b})"),
        BinaryOp::BitAnd if int => format!("({a} & {b})"),
        BinaryOp::BitOr if int => format!("({a} | {b})"),
        BinaryOp::BitXor if int => format!("({a} ^ {b})"),
        BinaryOp::Shl | BinaryOp::Shr if int => shift(op == BinaryOp::Shl, a, b, d, t)?,
        // A NaN is ignored unless both are NaN, as numpy.fmax / fmin.
        BinaryOp::Fmax if float => {
            lang.select(&format!("({a} > {b} || {})", lang.is_nan(b, operand)), a, b)
        }
        BinaryOp::Fmin if float => {
            lang.select(&format!("({a} < {b} || {})", lang.is_nan(b, operand)), a, b)
        }
        BinaryOp::Fmax if operand == DType::Bool => format!("({a} || {b})"),
        BinaryOp::Fmin if operand == DType::Bool => format!("({a} && {b})"),
        BinaryOp::Fmax => lang.math(MathFn::Max, &[a, b], d)?,
        BinaryOp::Fmin => lang.math(MathFn::Min, &[a, b], d)?,
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

/// `f(a, b)` computed in the float type `w`: narrow dtypes widen to f32 and round once
/// after, as NumPy's half loops do.
fn narrowed<L: Lang>(
    a: &str,
    b: &str,
    d: DType,
    t: &mut Temps<'_, L>,
    f: impl FnOnce(&str, &str, DType, &mut Temps<'_, L>) -> Result<String, Decline>,
) -> Result<String, Decline> {
    if narrow_float(d) {
        let lang = t.lang;
        let wa = t.bind(&lang.widen(a, d), DType::F32)?;
        let wb = t.bind(&lang.widen(b, d), DType::F32)?;
        let v = f(&wa, &wb, DType::F32, t)?;
        lang.narrow(&v, d)
    } else {
        f(a, b, d, t)
    }
}

/// NumPy's `npy_divmod`: the floor quotient (or, with `rem`, the remainder with the
/// divisor's sign) of floats of dtype `d`, snapped to an integer as NumPy snaps it; with
/// an infinite operand the quotient is the standard's `floor(a / b)`.
fn float_divmod<L: Lang>(
    rem: bool,
    a: &str,
    b: &str,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let lit = |v: f64| lang.literal(Scalar::F64(v), d);
    let (zero, one) = (lit(0.0)?, lit(1.0)?);
    let m0 = t.bind(&lang.math(MathFn::Fmod, &[a, b], d)?, d)?;
    // Not `!=` (an ordered compare): a NaN remainder counts as non-zero, as in C.
    let adjust = t.bind(
        &format!("(!({m0} == {zero}) && (({b} < {zero}) != ({m0} < {zero})))"),
        DType::Bool,
    )?;
    let signed_zero = |s: &str| lang.math(MathFn::Copysign, &[&zero, s], d);
    if rem {
        let m = lang.select(
            &adjust,
            &format!("({m0} + {b})"),
            &lang.select(&format!("({m0} == {zero})"), &signed_zero(b)?, &m0),
        );
        // fmod(a, 0) is NaN, NumPy's answer for a zero divisor.
        return Ok(lang.select(&format!("({b} == {zero})"), &m0, &m));
    }
    let div0 = t.bind(&format!("(({a} - {m0}) / {b})"), d)?;
    let div = t.bind(
        &lang.select(&adjust, &format!("({div0} - {one})"), &div0),
        d,
    )?;
    let fl = t.bind(&lang.math(MathFn::Floor, &[&div], d)?, d)?;
    let snapped = lang.select(
        &format!("(({div} - {fl}) > {})", lit(0.5)?),
        &format!("({fl} + {one})"),
        &fl,
    );
    let q = t.bind(&format!("({a} / {b})"), d)?;
    let floordiv = lang.select(
        &format!("(!({div} == {zero}))"),
        &snapped,
        &signed_zero(&q)?,
    );
    // An infinite operand: the standard's floor(a / b) (NumPy gives NaN for ±inf // x and
    // -1 for x // ∓inf).
    let infinite = format!("({} || {})", lang.is_inf(a, d), lang.is_inf(b, d));
    let floordiv = lang.select(&infinite, &lang.math(MathFn::Floor, &[&q], d)?, &floordiv);
    Ok(lang.select(&format!("({b} == {zero})"), &q, &floordiv))
}

/// Integer `floor_divide`, `remainder` or `fmod` of dtype `d`: a zero divisor gives 0
/// and `MIN // -1` wraps, as NumPy; the language only ever divides by a safe divisor.
fn int_division<L: Lang>(
    op: BinaryOp,
    a: &str,
    b: &str,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let lit = |v: i64| lang.literal(Scalar::I64(v), d);
    let (zero, one) = (lit(0)?, lit(1)?);
    let signed = !d.is_unsigned_int();
    let unsafe_div = if signed {
        format!("({b} == {zero} || {b} == {})", lit(-1)?)
    } else {
        format!("({b} == {zero})")
    };
    let nb = t.bind(&lang.select(&unsafe_div, &one, b), d)?;
    let q = t.bind(&format!("({a} / {nb})"), d)?;
    let r = t.bind(&format!("({a} % {nb})"), d)?;
    let by_zero = format!("({b} == {zero})");
    let v = match op {
        BinaryOp::Fmod => r,
        _ if !signed => {
            if op == BinaryOp::Rem {
                r
            } else {
                q
            }
        }
        BinaryOp::Rem => lang.select(
            &format!("(!({r} == {zero}) && (({r} < {zero}) != ({b} < {zero})))"),
            &lang.wrapping("+", &r, b, d),
            &r,
        ),
        _ => {
            // a / -1 is -a, wrapping for MIN.
            let q = lang.select(
                &format!("({b} == {})", lit(-1)?),
                &lang.wrapping("-", &zero, a, d),
                &q,
            );
            lang.select(
                &format!("(!({r} == {zero}) && (({a} < {zero}) != ({b} < {zero})))"),
                &lang.wrapping("-", &q, &one, d),
                &q,
            )
        }
    };
    Ok(lang.select(&by_zero, &zero, &v))
}

/// `a << b` or `a >> b` with NumPy's answer for a count outside `0..bits`: 0, or for
/// a right shift of a negative signed value, -1.
fn shift<L: Lang>(
    left: bool,
    a: &str,
    b: &str,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let lit = |v: i64| lang.literal(Scalar::I64(v), d);
    let zero = lit(0)?;
    let bits = lit(8 * d.size() as i64)?;
    let out = if d.is_unsigned_int() {
        format!("({b} >= {bits})")
    } else {
        format!("({b} < {zero} || {b} >= {bits})")
    };
    let out = t.bind(&out, DType::Bool)?;
    let count = t.bind(&lang.select(&out, &zero, b), d)?;
    let shifted = lang.shift(left, a, &count, d);
    let beyond = if left || d.is_unsigned_int() {
        zero.clone()
    } else {
        lang.select(&format!("({a} < {zero})"), &lit(-1)?, &zero)
    };
    Ok(lang.select(&out, &beyond, &shifted))
}

/// NumPy's `logaddexp` on floats of dtype `d`: equal arguments (infinities included)
/// give `a + ln 2`; otherwise the larger plus `log1p(exp(-|a - b|))`.
fn logaddexp<L: Lang>(a: &str, b: &str, d: DType, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let lang = t.lang;
    let zero = lang.literal(Scalar::F64(0.0), d)?;
    let ln2 = lang.literal(Scalar::F64(std::f64::consts::LN_2), d)?;
    let diff = t.bind(&format!("({a} - {b})"), d)?;
    let tail = |e: &str| -> Result<String, Decline> {
        let ex = lang.math(MathFn::Exp, &[e], d)?;
        lang.math(MathFn::Log1p, &[&ex], d)
    };
    let pos = format!("({a} + {})", tail(&format!("(-{diff})"))?);
    let neg = format!("({b} + {})", tail(&diff)?);
    Ok(lang.select(
        &format!("({a} == {b})"),
        &format!("({a} + {ln2})"),
        &lang.select(
            &format!("({diff} > {zero})"),
            &pos,
            &lang.select(&format!("({diff} <= {zero})"), &neg, &diff),
        ),
    ))
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

/// The `dims` words a user kernel is given (`userfn::UserKernel`): `[total, ndim,
/// out_shape…, halo_before…, in0_shape…, …]`, every shape left-padded with 1s to the
/// output's rank, in every device language alike (`tests/kernels/laplacian.*` read it).
pub fn user_dims(u: &crate::kernel::UserOp) -> Vec<i32> {
    let d = u.shape.len();
    let padded = |s: &[usize]| -> Vec<i32> {
        let mut v = vec![1i32; d.saturating_sub(s.len())];
        v.extend(s.iter().map(|&n| n as i32));
        v
    };
    let total: usize = u.shape.iter().product();
    let mut dims = vec![total as i32, d as i32];
    dims.extend(padded(&u.shape));
    dims.extend((0..d).map(|k| u.trim.get(k).map_or(0, |t| t.0 as i32)));
    for i in &u.info.inputs {
        let block: Vec<usize> = i.location.iter().map(|r| r.len()).collect();
        dims.extend(padded(&block));
    }
    dims
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
        fn shift(&self, left: bool, a: &str, b: &str, _d: DType) -> String {
            format!("({a} {} {b})", if left { "<<" } else { ">>" })
        }
        fn bind(&self, name: &str, ty: &str, e: &str) -> String {
            format!("{ty} {name} = {e};\n")
        }
        fn wrap_small(&self, v: &str, d: DType) -> String {
            format!("wrap.{}({v})", d.name())
        }
        fn pair(&self, re: &str, im: &str, d: DType) -> Result<String, Decline> {
            Ok(format!("{}({re}, {im})", d.name()))
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
    fn complex_values_are_pairs_of_reals_and_their_functions_decline() {
        use BinaryOp::*;
        let c = DType::C64;
        // A product spelled on the parts, each bound once.
        let e = FusedExpr {
            leaves: (0..2)
                .map(|slot| Leaf {
                    source: LeafSource::Input(slot),
                    dtype: c,
                    offset: 0,
                    strides: vec![1],
                })
                .collect(),
            instrs: vec![
                (Instr::Leaf(0), c),
                (Instr::Leaf(1), c),
                (Instr::Binary(Mul, 0, 1), c),
                (Instr::Unary(UnaryOp::Real, 2), DType::F32),
            ],
        };
        let src = body(&e, 1, &Names).unwrap();
        assert!(src.contains("float32 r2_0 = r0.x;"), "{src}");
        assert!(
            src.contains("complex64 r2 = complex64(((r2_0 * r2_2) - (r2_1 * r2_3)), ((r2_0 * r2_3) + (r2_1 * r2_2)));"),
            "{src}"
        );
        assert!(src.ends_with("float32 r3 = r2.x;\n"), "{src}");
        // asin of a complex number has no device form: a typed decline, not a wrong kernel.
        let mut asin = e.clone();
        asin.instrs[2] = (Instr::Unary(UnaryOp::Asin, 0), c);
        let why = body(&asin, 1, &Names).unwrap_err();
        assert!(
            matches!(why, Decline::Op { .. }) && why.reason().contains("CPU"),
            "{why}"
        );
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

    /// All statements of `op(in0, in1)` (temporaries included).
    fn all(op: Instr, d: DType, out: DType) -> String {
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
        body(&e, 1, &Names).unwrap()
    }

    #[test]
    fn division_and_shifts_never_reach_the_language_with_an_unsafe_operand() {
        use BinaryOp::*;
        // Integer division divides by a divisor made safe first (0 and -1 replaced).
        let s = all(Instr::Binary(FloorDiv, 0, 1), DType::I64, DType::I64);
        assert!(
            s.contains("int64 r2_0 = sel((r1 == 0 || r1 == -1), 1, r1);"),
            "{s}"
        );
        assert!(s.contains("(r0 / r2_0)") && !s.contains("(r0 / r1)"), "{s}");
        // A shift count outside 0..64 is replaced, and the answer chosen by the select.
        let s = all(Instr::Binary(Shr, 0, 1), DType::I64, DType::I64);
        assert!(s.contains("bool r2_0 = (r1 < 0 || r1 >= 64);"), "{s}");
        assert!(
            s.contains("sel(r2_0, sel((r0 < 0), -1, 0), (r0 >> r2_1))"),
            "{s}"
        );
        // float16 floor division widens once, computes NumPy's divmod in f32, rounds once.
        let s = all(Instr::Binary(FloorDiv, 0, 1), DType::F16, DType::F16);
        assert!(
            s.contains("float32 r2_0 = wide(r0);") && s.contains("Fmod.float32(r2_0, r2_1)"),
            "{s}"
        );
        assert!(
            s.lines()
                .last()
                .unwrap()
                .starts_with("float16 r2 = round.float16("),
            "{s}"
        );
        // nextafter steps in the dtype's own bits: declined for float16.
        let leaf = |slot| Leaf {
            source: LeafSource::Input(slot),
            dtype: DType::F16,
            offset: 0,
            strides: vec![1],
        };
        let e = FusedExpr {
            leaves: vec![leaf(0), leaf(1)],
            instrs: vec![
                (Instr::Leaf(0), DType::F16),
                (Instr::Leaf(1), DType::F16),
                (Instr::Binary(NextAfter, 0, 1), DType::F16),
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
