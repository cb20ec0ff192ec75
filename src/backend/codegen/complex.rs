//! The walk's complex instructions, as pairs of reals: what a complex op means is
//! decided here once (Smith's division as the CPU's, equality of both parts, a cast to
//! a real dtype keeping the real part), and a [`Lang`] only spells a pair and its parts.
//!
//! What a device computes: arithmetic (`+ - * /`), negation, `conj`, the parts, `abs`
//! and `angle` where the language has `hypot` and `atan2`, `isnan/isinf/isfinite`,
//! equality, `complex(re, im)`, `where` and every cast. The elementary functions (`exp`,
//! `log`, `sqrt`, ...) and `**` decline by kind: the CPU computes them with the C
//! library's functions, whose special values no device form matches yet.

use super::{cast as real_cast, float_math, Lang, MathFn, Temps};
use crate::backend::Decline;
use crate::dtype::{DType, Scalar};
use crate::kernel::{BinaryOp, FusedExpr, Instr, LeafSource, UnaryOp};

/// Whether instruction `ins` (of result dtype `d`) reads or makes a complex value.
pub(super) fn involved(expr: &FusedExpr, ins: &Instr, d: DType) -> bool {
    let complex = |a: &usize| expr.instrs[*a].1.is_complex();
    d.is_complex()
        || match ins {
            Instr::Unary(_, a) | Instr::Cast(a) => complex(a),
            Instr::Binary(_, a, b) => complex(a) || complex(b),
            _ => false,
        }
}

/// A complex operand as its bound parts, with the part dtype `r` and the result's `d`.
#[derive(Clone, Copy)]
struct Z<'a> {
    re: &'a str,
    im: &'a str,
    r: DType,
    d: DType,
}

fn no_kernel(what: impl std::fmt::Display) -> Decline {
    Decline::from(format!(
        "{what} of complex numbers has no device kernel yet; the CPU runs it"
    ))
}

/// The value of a complex instruction, in the walk's registers.
pub(super) fn instr<L: Lang>(
    expr: &FusedExpr,
    ins: &Instr,
    d: DType,
    ndim: usize,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let reg = |a: &usize| format!("r{a}");
    let dtype_of = |a: &usize| expr.instrs[*a].1;
    match ins {
        Instr::Leaf(l) => match expr.leaves[*l].source {
            LeafSource::Input(_) => lang.leaf(expr, *l, ndim),
            LeafSource::Gen(_) => Err(no_kernel("generating")),
        },
        Instr::Const(v) => {
            let (r, c) = (d.real_part(), v.as_c64());
            // Zero parts through `Lang::zero`, so `x * (2 + 0i)` keeps IEEE's answer.
            let part = |p: f64| match p {
                0.0 if p.is_sign_negative() => Ok(format!("(-{})", lang.zero(r)?)),
                0.0 => lang.zero(r),
                _ => lang.literal(Scalar::F64(p), r),
            };
            lang.pair(&part(c.re)?, &part(c.im)?, d)
        }
        Instr::Where(c, a, b) => Ok(lang.select(&reg(c), &reg(a), &reg(b))),
        Instr::Cast(a) => cast(&reg(a), dtype_of(a), d, t),
        Instr::Unary(op, a) => unary(*op, &reg(a), dtype_of(a), d, t),
        Instr::Binary(op, a, b) => binary(*op, &reg(a), &reg(b), dtype_of(a), d, t),
    }
}

/// The parts of complex register `a` (of dtype `c`), bound once.
fn parts<L: Lang>(a: &str, c: DType, t: &mut Temps<'_, L>) -> Result<(String, String), Decline> {
    let r = c.real_part();
    let re = t.bind(&t.lang.part(a, false), r)?;
    let im = t.bind(&t.lang.part(a, true), r)?;
    Ok((re, im))
}

fn cast<L: Lang>(a: &str, from: DType, to: DType, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let lang = t.lang;
    match (from.is_complex(), to.is_complex()) {
        (false, true) => {
            let r = to.real_part();
            lang.pair(&real_cast(a, from, r, lang)?, &lang.zero(r)?, to)
        }
        (true, true) => {
            let (re, im) = parts(a, from, t)?;
            let (fr, tr) = (from.real_part(), to.real_part());
            lang.pair(
                &real_cast(&re, fr, tr, lang)?,
                &real_cast(&im, fr, tr, lang)?,
                to,
            )
        }
        // Either part non-zero (NaN counts), not `!=`: an ordered compare drops NaN.
        (true, false) if to == DType::Bool => {
            let (re, im) = parts(a, from, t)?;
            let zero = lang.literal(Scalar::F64(0.0), from.real_part())?;
            Ok(format!("(!({re} == {zero} && {im} == {zero}))"))
        }
        // The real part, as NumPy's astype (which warns) and the CPU keep it.
        (true, false) => real_cast(&lang.part(a, false), from.real_part(), to, lang),
        (false, false) => unreachable!("a real cast is not a complex instruction"),
    }
}

fn unary<L: Lang>(
    op: UnaryOp,
    a: &str,
    c: DType,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let r = c.real_part();
    match op {
        UnaryOp::Real => return Ok(lang.part(a, false)),
        UnaryOp::Imag => return Ok(lang.part(a, true)),
        _ => {}
    }
    let (re, im) = parts(a, c, t)?;
    let z = Z {
        re: &re,
        im: &im,
        r,
        d,
    };
    Ok(match op {
        UnaryOp::Neg => lang.pair(&format!("(-{re})"), &format!("(-{im})"), d)?,
        UnaryOp::Conj => lang.pair(&re, &format!("(-{im})"), d)?,
        UnaryOp::Abs => float_math(MathFn::Hypot, &[&re, &im], r, lang)?,
        UnaryOp::Angle => float_math(MathFn::Atan2, &[&im, &re], r, lang)?,
        UnaryOp::IsNan => format!("({} || {})", lang.is_nan(&re, r), lang.is_nan(&im, r)),
        UnaryOp::IsInf => format!("({} || {})", lang.is_inf(&re, r), lang.is_inf(&im, r)),
        UnaryOp::IsFinite => format!(
            "(!({} || {} || {} || {}))",
            lang.is_nan(&re, r),
            lang.is_inf(&re, r),
            lang.is_nan(&im, r),
            lang.is_inf(&im, r)
        ),
        UnaryOp::Round => lang.pair(
            &float_math(MathFn::Round, &[&re], r, lang)?,
            &float_math(MathFn::Round, &[&im], r, lang)?,
            d,
        )?,
        UnaryOp::Exp => exp(&z, t)?,
        UnaryOp::Log | UnaryOp::Log2 | UnaryOp::Log10 => log(op, &z, t)?,
        UnaryOp::Sqrt => sqrt(&z, t)?,
        UnaryOp::Sin | UnaryOp::Cos | UnaryOp::Sinh | UnaryOp::Cosh => trig(op, &z, t)?,
        other => return Err(no_kernel(format!("{other:?}"))),
    })
}

/// `e^z = e^x (cos y + i sin y)`; a real `z` (y = 0) gives `(e^x, y)` exactly, so
/// `exp(+inf + 0i)` is `+inf + 0i` as C99 says, not `inf·0 = NaN`.
fn exp<L: Lang>(z: &Z<'_>, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let (lang, Z { re, im, r, d }) = (t.lang, *z);
    let ex = t.bind(&float_math(MathFn::Exp, &[re], r, lang)?, r)?;
    let c = float_math(MathFn::Cos, &[im], r, lang)?;
    let s = float_math(MathFn::Sin, &[im], r, lang)?;
    let real = t.bind(&format!("({im} == {})", lang.zero(r)?), DType::Bool)?;
    lang.pair(
        &lang.select(&real, &ex, &format!("({ex} * {c})")),
        &lang.select(&real, im, &format!("({ex} * {s})")),
        d,
    )
}

/// `log z = log|z| + i·arg z` (base 2 and 10 scale both parts, as NumPy's loops do).
fn log<L: Lang>(op: UnaryOp, z: &Z<'_>, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let (lang, Z { re, im, r, d }) = (t.lang, *z);
    let m = float_math(MathFn::Hypot, &[re, im], r, lang)?;
    let lr = float_math(MathFn::Log, &[&m], r, lang)?;
    let li = float_math(MathFn::Atan2, &[im, re], r, lang)?;
    let k = match op {
        UnaryOp::Log2 => std::f64::consts::LOG2_E,
        UnaryOp::Log10 => std::f64::consts::LOG10_E,
        _ => return lang.pair(&lr, &li, d),
    };
    let k = lang.literal(Scalar::F64(k), r)?;
    lang.pair(&format!("({lr} * {k})"), &format!("({li} * {k})"), d)
}

/// The principal square root: `t = sqrt((|x| + |z|) / 2)`, then `(t, y / 2t)` for
/// `x >= 0` and `(|y| / 2t, ±t)` otherwise; `0` gives `(0, y)`.
fn sqrt<L: Lang>(z: &Z<'_>, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let (lang, Z { re, im, r, d }) = (t.lang, *z);
    let a = t.bind(&float_math(MathFn::Hypot, &[re, im], r, lang)?, r)?;
    let ax = float_math(MathFn::Abs, &[re], r, lang)?;
    let ay = float_math(MathFn::Abs, &[im], r, lang)?;
    let half = lang.literal(Scalar::F64(0.5), r)?;
    let two = lang.literal(Scalar::F64(2.0), r)?;
    let tt = t.bind(
        &float_math(
            MathFn::Sqrt,
            &[&format!("(({ax} + {a}) * {half})")],
            r,
            lang,
        )?,
        r,
    )?;
    let zero = lang.zero(r)?;
    let pos = t.bind(&format!("({re} >= {zero})"), DType::Bool)?;
    let nil = t.bind(&format!("({a} == {zero})"), DType::Bool)?;
    let signed_t = float_math(MathFn::Copysign, &[&tt, im], r, lang)?;
    let re_out = lang.select(&pos, &tt, &format!("({ay} / ({two} * {tt}))"));
    let im_out = lang.select(&pos, &format!("({im} / ({two} * {tt}))"), &signed_t);
    lang.pair(
        &lang.select(&nil, &zero, &re_out),
        &lang.select(&nil, im, &im_out),
        d,
    )
}

/// The circular and hyperbolic sine and cosine, by the parts:
/// `sin z = sin x cosh y + i cos x sinh y`, `cos z = cos x cosh y - i sin x sinh y`,
/// `sinh z = sinh x cos y + i cosh x sin y`, `cosh z = cosh x cos y + i sinh x sin y`.
fn trig<L: Lang>(op: UnaryOp, z: &Z<'_>, t: &mut Temps<'_, L>) -> Result<String, Decline> {
    let (lang, Z { re, im, r, d }) = (t.lang, *z);
    let mut f = |m: MathFn, v: &str| -> Result<String, Decline> {
        let e = float_math(m, &[v], r, lang)?;
        t.bind(&e, r)
    };
    let (p, q) = match op {
        UnaryOp::Sin | UnaryOp::Cos => (re, im),
        _ => (im, re),
    };
    // sin/cos of the circular argument, sinh/cosh of the hyperbolic one.
    let (s, c) = (f(MathFn::Sin, p)?, f(MathFn::Cos, p)?);
    let (sh, ch) = (f(MathFn::Sinh, q)?, f(MathFn::Cosh, q)?);
    let (a, b) = match op {
        UnaryOp::Sin => (format!("({s} * {ch})"), format!("({c} * {sh})")),
        UnaryOp::Cos => (format!("({c} * {ch})"), format!("(-({s} * {sh}))")),
        UnaryOp::Sinh => (format!("({sh} * {c})"), format!("({ch} * {s})")),
        _ => (format!("({ch} * {c})"), format!("({sh} * {s})")),
    };
    lang.pair(&a, &b, d)
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
    if op == BinaryOp::Complex {
        // Two reals of `d`'s part dtype (the array layer cast them).
        return lang.pair(a, b, d);
    }
    let r = operand.real_part();
    let (ar, ai) = parts(a, operand, t)?;
    let (br, bi) = parts(b, operand, t)?;
    Ok(match op {
        BinaryOp::Add => lang.pair(&format!("({ar} + {br})"), &format!("({ai} + {bi})"), d)?,
        BinaryOp::Sub => lang.pair(&format!("({ar} - {br})"), &format!("({ai} - {bi})"), d)?,
        BinaryOp::Mul => lang.pair(
            &format!("(({ar} * {br}) - ({ai} * {bi}))"),
            &format!("(({ar} * {bi}) + ({ai} * {br}))"),
            d,
        )?,
        BinaryOp::Div => smith(&ar, &ai, &br, &bi, r, d, t)?,
        BinaryOp::Eq => format!("(({ar} == {br}) && ({ai} == {bi}))"),
        BinaryOp::Ne => format!("(!(({ar} == {br}) && ({ai} == {bi})))"),
        other => return Err(no_kernel(other.name())),
    })
}

/// `a / b` by Smith's algorithm, both branches computed and one selected (as the CPU's
/// `ComplexDefs::smith_div` branches): no overflow of `|b|²`, and a zero divisor gives
/// a complex inf or NaN.
fn smith<L: Lang>(
    ar: &str,
    ai: &str,
    br: &str,
    bi: &str,
    r: DType,
    d: DType,
    t: &mut Temps<'_, L>,
) -> Result<String, Decline> {
    let lang = t.lang;
    let one = lang.literal(Scalar::F64(1.0), r)?;
    let zero = lang.literal(Scalar::F64(0.0), r)?;
    let abr = t.bind(&float_math(MathFn::Abs, &[br], r, lang)?, r)?;
    let abi = t.bind(&float_math(MathFn::Abs, &[bi], r, lang)?, r)?;
    // |br| >= |bi|: rat = bi / br.
    let rat1 = t.bind(&format!("({bi} / {br})"), r)?;
    let scl1 = t.bind(&format!("({one} / ({br} + ({bi} * {rat1})))"), r)?;
    let re1 = format!("((({ar} + ({ai} * {rat1}))) * {scl1})");
    let im1 = format!("((({ai} - ({ar} * {rat1}))) * {scl1})");
    // Else: rat = br / bi.
    let rat2 = t.bind(&format!("({br} / {bi})"), r)?;
    let scl2 = t.bind(&format!("({one} / ({bi} + ({br} * {rat2})))"), r)?;
    let re2 = format!("((({ar} * {rat2}) + {ai}) * {scl2})");
    let im2 = format!("((({ai} * {rat2}) - {ar}) * {scl2})");
    // A zero divisor: each part over |br| (= +0), an inf or NaN as the CPU gives.
    let re0 = format!("({ar} / {abr})");
    let im0 = format!("({ai} / {abr})");
    let first = t.bind(&format!("({abr} >= {abi})"), DType::Bool)?;
    let zero_div = t.bind(
        &format!("(({abr} == {zero}) && ({abi} == {zero}))"),
        DType::Bool,
    )?;
    let pick =
        |z: &str, one_: &str, two: &str| lang.select(&first, &lang.select(&zero_div, z, one_), two);
    lang.pair(&pick(&re0, &re1, &re2), &pick(&im0, &im1, &im2), d)
}
