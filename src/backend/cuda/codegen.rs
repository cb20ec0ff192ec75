//! CUDA C generated from a [`FusedExpr`] by the shared walk ([`body`]), on top of the
//! hand-written kernel families in `kernels/*.cu`. One kernel per expression structure:
//! shapes, offsets, strides and generator parameters travel in `tmeta` (the layout of
//! [`crate::backend::codegen::meta`]), as on wgpu.
//!
//! Registers: f16 and bf16 values live in `float` registers holding values the narrow
//! type represents (rounded after every op, as the CPU's registers), bools in `bool`;
//! storage: f16/bf16 as their 16 bits, bools as one byte, as on the host, so uploads and
//! downloads are plain copies.

use crate::backend::codegen::{
    body, cast, f64_parts, gen_base, input_dtypes, leaf_base, result_register, Lang, MathFn,
};
use crate::backend::Decline;
use crate::dtype::{DType, Scalar};
use crate::kernel::{Dist, FusedExpr, Generator, LeafSource, Reduction};

/// The kernel families, in the order a program concatenates them (each may use those
/// before it): name and source.
pub const KERNEL_FILES: [(&str, &str); 6] = [
    ("common.cu", include_str!("../../../kernels/common.cu")),
    ("philox.cu", include_str!("../../../kernels/philox.cu")),
    ("index.cu", include_str!("../../../kernels/index.cu")),
    ("reduce.cu", include_str!("../../../kernels/reduce.cu")),
    ("copy.cu", include_str!("../../../kernels/copy.cu")),
    ("linalg.cu", include_str!("../../../kernels/linalg.cu")),
];

/// Most inputs a fused kernel takes (`TsrInputs` in `kernels/common.cu`).
pub const MAX_INPUTS: usize = 16;

/// The kernel families up to and including `last`, concatenated.
pub fn prelude(last: &str) -> String {
    let mut s = String::new();
    for (name, src) in KERNEL_FILES {
        s.push_str(&format!("// ---- kernels/{name}\n"));
        s.push_str(src);
        if name == last {
            break;
        }
    }
    s
}

/// Register type of a `d` value.
fn reg_type(d: DType) -> &'static str {
    match d {
        DType::Bool => "bool",
        DType::U32 => "u32",
        // Narrow integers compute in int, wrapped after every instruction.
        DType::I32 | DType::I8 | DType::U8 | DType::I16 | DType::U16 => "int",
        DType::I64 => "i64",
        DType::U64 => "u64",
        DType::F16 | DType::BF16 | DType::F32 => "float",
        DType::F64 => "double",
        // Pairs of reals, interleaved as the host stores them.
        DType::C64 => "float2",
        DType::C128 => "double2",
    }
}

/// Element type of a buffer holding `d` values.
pub fn storage_type(d: DType) -> &'static str {
    match d {
        DType::Bool => "unsigned char",
        DType::I8 => "signed char",
        DType::U8 => "tsr_u8",
        DType::I16 => "short",
        DType::U16 => "unsigned short",
        DType::F16 => "tsr_f16",
        DType::BF16 => "tsr_bf16",
        other => reg_type(other),
    }
}

/// CUDA C as the shared walk spells it.
struct Cuda;

impl Lang for Cuda {
    fn reg_type(&self, d: DType) -> Result<&'static str, Decline> {
        Ok(reg_type(d))
    }

    fn literal(&self, v: Scalar, d: DType) -> Result<String, Decline> {
        Ok(match d {
            DType::F32 => format!("__uint_as_float({:#x}u)", (v.as_f64() as f32).to_bits()),
            // As the CPU fills a narrow register: through f32, then rounded.
            DType::F16 => format!(
                "__uint_as_float({:#x}u)",
                half::f16::from_f32(v.as_f64() as f32).to_f32().to_bits()
            ),
            DType::BF16 => format!(
                "__uint_as_float({:#x}u)",
                half::bf16::from_f32(v.as_f64() as f32).to_f32().to_bits()
            ),
            DType::F64 => format!("__longlong_as_double({:#x}ll)", v.as_f64().to_bits()),
            DType::I32 => format!("((int){:#x}u)", v.as_i64() as i32 as u32),
            DType::I64 => format!("((i64){:#x}ull)", v.as_i64() as u64),
            DType::U32 => format!("{:#x}u", v.as_i64() as u32),
            DType::U64 => format!("{:#x}ull", v.as_i64() as u64),
            DType::I8 | DType::U8 | DType::I16 | DType::U16 => {
                format!("((int){})", v.cast(d).as_i64())
            }
            DType::Bool => (v.as_f64() != 0.0).to_string(),
            DType::C64 | DType::C128 => {
                return Err(Decline::DType {
                    dtype: d,
                    reason: format!("{d} has no CUDA kernels yet"),
                })
            }
        })
    }

    fn select(&self, c: &str, a: &str, b: &str) -> String {
        format!("({c} ? {a} : {b})")
    }

    fn is_nan(&self, v: &str, d: DType) -> String {
        if d.is_float() {
            format!("tsr_isnan({v})")
        } else {
            "false".into()
        }
    }

    fn is_inf(&self, v: &str, d: DType) -> String {
        if d.is_float() {
            format!("tsr_isinf({v})")
        } else {
            "false".into()
        }
    }

    fn math(&self, f: MathFn, args: &[&str], d: DType) -> Result<String, Decline> {
        let a = args.join(", ");
        if !d.is_float() {
            return Ok(match f {
                MathFn::Max => format!("max({a})"),
                MathFn::Min => format!("min({a})"),
                MathFn::Pow => format!("tsr_ipow({a})"),
                other => return Err(format!("{other:?} is not defined on {d}").into()),
            });
        }
        let name = match f {
            MathFn::Sqrt => "sqrt",
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Sin => "sin",
            MathFn::Cos => "cos",
            MathFn::Tanh => "tanh",
            MathFn::Floor => "floor",
            MathFn::Ceil => "ceil",
            MathFn::Abs => "fabs",
            MathFn::Pow => "pow",
            MathFn::Max => "fmax",
            MathFn::Min => "fmin",
            MathFn::Tan => "tan",
            MathFn::Sinh => "sinh",
            MathFn::Cosh => "cosh",
            MathFn::Asin => "asin",
            MathFn::Acos => "acos",
            MathFn::Atan => "atan",
            MathFn::Asinh => "asinh",
            MathFn::Acosh => "acosh",
            MathFn::Atanh => "atanh",
            MathFn::Expm1 => "expm1",
            MathFn::Log1p => "log1p",
            MathFn::Log2 => "log2",
            MathFn::Log10 => "log10",
            MathFn::Trunc => "trunc",
            // Half to even in the default rounding mode, as NumPy's rint.
            MathFn::Round => "rint",
            MathFn::Atan2 => "atan2",
            MathFn::Hypot => "hypot",
            MathFn::Copysign => "copysign",
            MathFn::Fmod => "fmod",
            MathFn::Cbrt => "cbrt",
            MathFn::Exp2 => "exp2",
            MathFn::NextAfter => "nextafter",
        };
        // f32 (and narrow registers, which are f32) take the `f`-suffixed functions.
        let suffix = if d == DType::F64 { "" } else { "f" };
        Ok(format!("{name}{suffix}({a})"))
    }

    fn widen(&self, v: &str, _d: DType) -> String {
        v.to_string()
    }

    fn narrow(&self, v: &str, d: DType) -> Result<String, Decline> {
        Ok(match d {
            DType::BF16 => format!("tsr_round_bf16({v})"),
            _ => format!("tsr_round_f16({v})"),
        })
    }

    fn wrapping(&self, op: &str, a: &str, b: &str, _d: DType) -> String {
        let f = match op {
            "+" => "tsr_wrap_add",
            "-" => "tsr_wrap_sub",
            _ => "tsr_wrap_mul",
        };
        format!("{f}({a}, {b})")
    }

    fn convert(&self, v: &str, from: DType, to: DType) -> Result<String, Decline> {
        // A narrow integer's register is an int.
        let from = if from.is_small_int() {
            DType::I32
        } else {
            from
        };
        Ok(match to {
            _ if from == to => v.to_string(),
            DType::I8 | DType::U8 | DType::I16 | DType::U16 => {
                self.wrap_small(&self.convert(v, from, DType::I32)?, to)
            }
            DType::U64 => format!("tsr_to_u64({v})"),
            // Round to nearest, as Rust's `as` (cvt.rn).
            DType::F32 | DType::F16 | DType::BF16 => format!("((float)({v}))"),
            DType::F64 => format!("((double)({v}))"),
            DType::I32 => format!("tsr_to_i32({v})"),
            DType::U32 => format!("tsr_to_u32({v})"),
            DType::I64 => format!("tsr_to_i64({v})"),
            DType::Bool => format!("(!({v} == 0))"),
            DType::C64 | DType::C128 => {
                return Err(Decline::DType {
                    dtype: to,
                    reason: format!("{to} has no CUDA kernels yet"),
                })
            }
        })
    }

    fn pair(&self, re: &str, im: &str, d: DType) -> Result<String, Decline> {
        Ok(match d {
            DType::C64 => format!("make_float2({re}, {im})"),
            _ => format!("make_double2({re}, {im})"),
        })
    }

    fn leaf(&self, expr: &FusedExpr, l: usize, ndim: usize) -> Result<String, Decline> {
        leaf_value(expr, l, ndim)
    }

    fn shift(&self, left: bool, a: &str, b: &str, d: DType) -> String {
        if left {
            // Through the unsigned type: shifting a negative value left is undefined in C++17.
            let (u, s) = match d {
                DType::I64 => ("unsigned long long", "long long"),
                DType::U64 => ("unsigned long long", "unsigned long long"),
                DType::U32 => ("unsigned int", "unsigned int"),
                _ => ("unsigned int", "int"),
            };
            format!("(({s})(({u})({a}) << {b}))")
        } else {
            // Arithmetic for signed types in CUDA, as in Rust.
            format!("({a} >> {b})")
        }
    }

    fn bind(&self, name: &str, ty: &str, e: &str) -> String {
        format!("    const {ty} {name} = {e};\n")
    }

    fn wrap_small(&self, v: &str, d: DType) -> String {
        let f = match d {
            DType::I8 => "tsr_wrap_i8",
            DType::U8 => "tsr_wrap_u8",
            DType::I16 => "tsr_wrap_i16",
            _ => "tsr_wrap_u16",
        };
        format!("{f}({v})")
    }
}

fn exact(v: f64, what: &str) -> Result<(), Decline> {
    f64_parts(v).map(|_| ()).ok_or_else(|| {
        format!("{what} {v} has no exact three-f32 form in kernel parameters").into()
    })
}

/// The value of leaf `l` at coordinates `c`.
fn leaf_value(expr: &FusedExpr, l: usize, ndim: usize) -> Result<String, Decline> {
    let leaf = &expr.leaves[l];
    let idx = format!("tsr_leaf_index(tmeta, {}, ndim, c)", leaf_base(ndim, l));
    let p = gen_base(ndim, expr.leaves.len(), l);
    let seed = format!("tsr_meta_seed(tmeta, {p})");
    Ok(match (&leaf.source, leaf.dtype) {
        (LeafSource::Input(slot), _) => format!("tsr_load(in{slot}, {idx})"),
        (LeafSource::Gen(Generator::Random { dist, .. }), _) if dist.sampled() => {
            return Err(Decline::Op {
                reason: format!(
                    "random {} draws (a bounded rejection or inversion per element) are generated on the CPU",
                    dist.name()
                ),
            })
        }
        (LeafSource::Gen(Generator::Random { dist, .. }), DType::F64) => match dist {
            Dist::Uniform { low, high } => {
                exact(*low, "random bound")?;
                exact(high - low, "random scale")?;
                format!(
                    "(tsr_meta_f64(tmeta, {}) + tsr_meta_f64(tmeta, {}) * tsr_uniform_f64((u64){idx}, {seed}))",
                    p + 2,
                    p + 5
                )
            }
            // The CPU's f64 normals use the host libm's log and cos; CUDA's differ by
            // ulps, and every device must give the same bits. (Sampled dists were
            // declined above.)
            _ => {
                return Err(Decline::feature(
                    "bit-identical f64 log/cos",
                    "random normal f64 is generated on the CPU (CUDA's log and cos differ from the host's by ulps)",
                ))
            }
        },
        (LeafSource::Gen(Generator::Random { dist, .. }), d @ (DType::F32 | DType::F16 | DType::BF16)) => {
            let f = match dist {
                Dist::Normal { .. } => "tsr_normal_f32",
                _ => "tsr_uniform_f32",
            };
            let v = format!(
                "(__int_as_float(tmeta[{}]) + __int_as_float(tmeta[{}]) * {f}((u64){idx}, {seed}))",
                p + 2,
                p + 3
            );
            // Narrow values are the f32 ones rounded once, as on the CPU.
            match d {
                DType::F32 => v,
                _ => Cuda.narrow(&v, d)?,
            }
        }
        (LeafSource::Gen(Generator::Random { .. }), d) => {
            return Err(Decline::DType {
                dtype: d,
                reason: format!("random {d} is generated on the CPU"),
            })
        }
        (LeafSource::Gen(Generator::Eye { .. }), d) => {
            let one = Cuda.literal(Scalar::F64(1.0), d)?;
            let zero = Cuda.literal(Scalar::F64(0.0), d)?;
            format!(
                "((({idx}) % tmeta[{p}]) - (({idx}) / tmeta[{p}]) == tmeta[{}] ? {one} : {zero})",
                p + 1
            )
        }
        (LeafSource::Gen(Generator::Range { start, step, last }), d) if d != DType::Bool => {
            let stop = last.map_or(0.0, |l| l.1);
            for v in [*start, *step, stop] {
                exact(v, "range parameter")?;
            }
            // As the CPU: start + i·step in f64, exactly `stop` at index `last`, then
            // converted to the range's dtype.
            let v = format!(
                "(({idx}) == tmeta[{}] ? tsr_meta_f64(tmeta, {}) : tsr_meta_f64(tmeta, {p}) + (double)({idx}) * tsr_meta_f64(tmeta, {}))",
                p + 6,
                p + 7,
                p + 3
            );
            cast(&v, DType::F64, d, &Cuda)?
        }
        (LeafSource::Gen(Generator::Range { .. }), d) => {
            return Err(Decline::DType {
                dtype: d,
                reason: format!("ranges of {d} are generated on the CPU"),
            })
        }
    })
}

/// `tsr_value(tmeta, c, ndim, in)`: the expression's value at coordinates `c`.
fn value_source(expr: &FusedExpr, ndim: usize) -> Result<String, Decline> {
    let ninputs = expr.num_inputs();
    if ninputs > MAX_INPUTS {
        return Err(Decline::size(format!(
            "{ninputs} inputs (fused CUDA kernels take up to {MAX_INPUTS})"
        )));
    }
    let mut s = format!(
        "__device__ __forceinline__ {} tsr_value(const int* __restrict__ tmeta, const int* c, int ndim, const TsrInputs& in) {{\n",
        reg_type(expr.dtype())
    );
    for (slot, d) in input_dtypes(expr)?.into_iter().enumerate() {
        let t = storage_type(d);
        s.push_str(&format!(
            "    const {t}* __restrict__ in{slot} = (const {t}*)in.p[{slot}];\n"
        ));
    }
    s.push_str(&body(expr, ndim, &Cuda)?);
    s.push_str(&format!("    return {};\n}}\n", result_register(expr)));
    Ok(s)
}

/// The CUDA source of a fused map over `ndim` dimensions (kernel `tsr_map(tmeta, out,
/// inputs)`, a grid-stride loop over the output), or why it cannot run on CUDA.
pub fn map_source(expr: &FusedExpr, ndim: usize) -> Result<String, Decline> {
    let mut s = prelude("index.cu");
    s.push_str("// ---- generated\n");
    s.push_str(&value_source(expr, ndim)?);
    s.push_str(&format!(
        "extern \"C\" __global__ void tsr_map(const int* __restrict__ tmeta, {}* __restrict__ out, TsrInputs in) {{
    const int ndim = tmeta[0];
    const i64 total = (u32)tmeta[1];
    int c[TSR_MAX_NDIM];
    for (i64 lin = blockIdx.x * (i64)blockDim.x + threadIdx.x; lin < total; lin += (i64)gridDim.x * blockDim.x) {{
        tsr_coords(tmeta, lin, ndim, c);
        tsr_store(out, lin, tsr_value(tmeta, c, ndim, in));
    }}
}}
",
        storage_type(expr.dtype())
    ));
    Ok(s)
}

/// The dtype a CUDA reduction of `d` values accumulates in (and its partials hold): f32
/// for f32, f16 and bf16; f64 for f64 and for the moments of integers and bools; i64
/// (wrapping, as the CPU) for integer and bool sums, products, extrema and arg indices.
pub fn acc_dtype(red: Reduction, d: DType) -> DType {
    match d {
        DType::F32 | DType::F16 | DType::BF16 => DType::F32,
        DType::F64 => DType::F64,
        _ if red.float_acc(d) => DType::F64,
        _ => DType::I64,
    }
}

/// The accumulator functor of `red` over accumulation type `t` (see `kernels/reduce.cu`),
/// and the partial layout kind (0 one part, 1 moments, 2 value and index).
fn kind(red: Reduction, t: &str) -> (String, u8) {
    match red {
        Reduction::Sum => (format!("TsrSum<{t}>"), 0),
        Reduction::Prod => (format!("TsrProd<{t}>"), 0),
        Reduction::Min => (format!("TsrMin<{t}>"), 0),
        Reduction::Max => (format!("TsrMax<{t}>"), 0),
        Reduction::Any => (format!("TsrAny<{t}>"), 0),
        Reduction::All => (format!("TsrAll<{t}>"), 0),
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => {
            (format!("TsrMoments<{t}>"), 1)
        }
        Reduction::ArgMin => (format!("TsrArg<{t}, false>"), 2),
        Reduction::ArgMax => (format!("TsrArg<{t}, true>"), 2),
    }
}

/// `tsr_put(out, o, nout, x)`: an accumulator stored as a partial, or finalized to `fin`.
fn store_source(red: Reduction, acc: DType, fin: Option<DType>) -> Result<String, Decline> {
    let t = reg_type(acc);
    let (_, k) = kind(red, t);
    let (out_t, stmt) = match fin {
        None => (t, format!("tsr_store_partial(out, o, nout, x, {k});")),
        Some(f) => {
            let (value, from) = match red {
                Reduction::ArgMin | Reduction::ArgMax => {
                    ("tsr_final_arg(x)".to_string(), DType::I64)
                }
                Reduction::Any | Reduction::All => (format!("(!(x.a == ({t})0))"), DType::Bool),
                Reduction::Mean => ("tsr_final_mean(x)".to_string(), acc),
                Reduction::Var { ddof } => (format!("tsr_final_var(x, ({t}){ddof}, false)"), acc),
                Reduction::Std { ddof } => (format!("tsr_final_var(x, ({t}){ddof}, true)"), acc),
                _ => ("x.a".to_string(), acc),
            };
            (
                storage_type(f),
                format!("tsr_store(out, o, {});", cast(&value, from, f, &Cuda)?),
            )
        }
    };
    Ok(format!(
        "__device__ __forceinline__ void tsr_put({out_t}* __restrict__ out, u32 o, u32 nout, const TsrAcc<{t}>& x) {{ {stmt} }}\n"
    ))
}

/// The CUDA source of a reduction partial of `expr` over `ndim` dimensions (or, with
/// `fin`, of the final result of that dtype), with the serial or the tree driver:
/// kernel `tsr_reduce(tmeta, out, inputs)`.
pub fn reduce_source(
    expr: &FusedExpr,
    ndim: usize,
    red: Reduction,
    fin: Option<DType>,
    serial: bool,
) -> Result<String, Decline> {
    let d = expr.dtype();
    crate::backend::codegen::keyed_u64(red, d)?;
    let acc = acc_dtype(red, d);
    let t = reg_type(acc);
    let (k, _) = kind(red, t);
    let out_t = fin.map_or(t, storage_type);
    let rb = gen_base(ndim, expr.leaves.len(), expr.leaves.len());
    let mut s = prelude("reduce.cu");
    s.push_str("// ---- generated\n");
    s.push_str(&value_source(expr, ndim)?);
    s.push_str(&store_source(red, acc, fin)?);
    let driver = if serial {
        "tsr_reduce_serial"
    } else {
        "tsr_reduce_tree"
    };
    s.push_str(&format!(
        "extern \"C\" __global__ void tsr_reduce(const int* __restrict__ tmeta, {out_t}* __restrict__ out, TsrInputs in) {{
    {driver}<{k}, {t}>(tmeta, {rb},
        [&](const int* c, int ndim) {{ return ({t}){}; }},
        [&](u32 o, u32 nout, const TsrAcc<{t}>& x) {{ tsr_put(out, o, nout, x); }});
}}
",
        cast("tsr_value(tmeta, c, ndim, in)", d, acc, &Cuda)?
    ));
    Ok(s)
}

/// The CUDA source merging device partials of a reduction over `d` values (finalizing to
/// `fin` when given): kernel `tsr_combine(inputs, ninputs, nout, out)`.
pub fn combine_source(red: Reduction, d: DType, fin: Option<DType>) -> Result<String, Decline> {
    crate::backend::codegen::keyed_u64(red, d)?;
    let acc = acc_dtype(red, d);
    let t = reg_type(acc);
    let (k, layout) = kind(red, t);
    let out_t = fin.map_or(t, storage_type);
    let mut s = prelude("reduce.cu");
    s.push_str("// ---- generated\n");
    s.push_str(&store_source(red, acc, fin)?);
    s.push_str(&format!(
        "extern \"C\" __global__ void tsr_combine(TsrInputs in, int ninputs, u32 nout, {out_t}* __restrict__ out) {{
    tsr_combine<{k}, {t}>(in, ninputs, nout, {layout},
        [&](u32 o, u32 nout, const TsrAcc<{t}>& x) {{ tsr_put(out, o, nout, x); }});
}}
"
    ));
    Ok(s)
}
