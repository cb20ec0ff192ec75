//! WGSL generated from a [`FusedExpr`]: one kernel per expression *structure* (shapes,
//! offsets, strides and generator parameters travel in the `meta` buffer, so chunks of
//! any shape and any seed share the compiled pipeline).

#[cfg(test)]
use crate::backend::codegen::serial_reduction;
use crate::backend::codegen::{
    body, cast, f64_parts, gen_base, input_dtypes, leaf_base, result_register, Lang, MathFn,
};
use crate::backend::Decline;
use crate::dtype::{DType, Scalar};
use crate::kernel::{Dist, FusedExpr, Generator, LeafSource, Reduction};

/// `shaders/philox.wgsl`, with its f64 generator where the adapter has f64.
fn philox_source(caps: Caps) -> String {
    let src = include_str!("../../../shaders/philox.wgsl");
    if caps.f64 {
        src.replace("//F64 ", "")
    } else {
        src.to_string()
    }
}

/// WGSL rebuilding the f64 stored as three f32 parts at `tmeta[p..p + 3]`.
fn f64_from_meta(p: usize) -> String {
    format!(
        "((f64(bitcast<f32>(tmeta[{p}])) + f64(bitcast<f32>(tmeta[{}]))) + f64(bitcast<f32>(tmeta[{}])))",
        p + 1,
        p + 2
    )
}

/// What the device can do beyond the WebGPU baseline.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub f64: bool,
    /// SHADER_F16: f16 storage and arithmetic (`enable f16;`).
    pub f16: bool,
    /// SHADER_INT64: i64 storage and arithmetic.
    pub i64: bool,
}

fn wgsl_type(d: DType, caps: Caps) -> Result<&'static str, Decline> {
    Ok(match d {
        DType::F32 => "f32",
        DType::F64 if caps.f64 => "f64",
        DType::F16 if caps.f16 => "f16",
        DType::I64 if caps.i64 => "i64",
        DType::U64 if caps.i64 => "u64",
        DType::I32 => "i32",
        // Narrow integers compute in i32 registers, wrapped after every instruction.
        DType::I8 | DType::U8 | DType::I16 | DType::U16 => "i32",
        DType::U32 => "u32",
        DType::Bool => "bool",
        DType::C64 => "vec2<f32>",
        DType::C128 if caps.f64 => "vec2<f64>",
        other => {
            return Err(Decline::DType {
                dtype: other,
                reason: format!("dtype {other} has no kernel on this adapter"),
            })
        }
    })
}

/// Element type of a storage buffer holding `d` (bools are stored as u32; 8- and 16-bit
/// integers packed four or two to a u32 word, as the host lays them out, since WGSL has
/// no narrower storage type).
pub fn storage_type(d: DType, caps: Caps) -> Result<&'static str, Decline> {
    Ok(match d {
        DType::Bool => "u32",
        d if d.is_small_int() => "u32",
        other => wgsl_type(other, caps)?,
    })
}

/// Element `i` (an i32 expression) of `buf`, a packed buffer of narrow integers `d`, as
/// an i32 (sign- or zero-extended).
fn unpack(buf: &str, i: &str, d: DType) -> String {
    let (per, bits) = (4 / d.size(), 8 * d.size());
    let word = format!("{buf}[u32({i}) / {per}u]");
    let at = format!("(u32({i}) % {per}u) * {bits}u");
    if d.is_signed_int() {
        format!("extractBits(bitcast<i32>({word}), {at}, {bits}u)")
    } else {
        format!("i32(extractBits({word}, {at}, {bits}u))")
    }
}

/// Declines a kernel that writes elements of packed dtype `d` one at a time (reduction
/// results, copies, user kernels): only the map driver writes whole words.
pub fn no_packed_writes(d: DType, what: &str) -> Result<(), Decline> {
    if packed(d) {
        return Err(Decline::DType {
            dtype: d,
            reason: format!("{what} writing {d} runs on the CPU (WGSL stores it packed, and only fused maps write whole words)"),
        });
    }
    Ok(())
}

/// Whether `d` is stored packed (several elements to a word): an output of it is
/// written a whole word per invocation ([`map_source`]'s packed driver), never one
/// element at a time, which would race with the word's other elements.
pub fn packed(d: DType) -> bool {
    d.is_small_int()
}

fn literal(s: Scalar, d: DType) -> Result<String, Decline> {
    Ok(match d {
        DType::F32 => format!("bitcast<f32>({}u)", (s.as_f64() as f32).to_bits()),
        DType::F64 => {
            let v = s.as_f64();
            let [a, b, c] = f64_parts(v)
                .ok_or_else(|| format!("f64 constant {v} has no exact form in generated WGSL"))?;
            if b == 0.0 && c == 0.0 {
                format!("f64(bitcast<f32>({}u))", a.to_bits())
            } else {
                format!(
                    "((f64(bitcast<f32>({}u)) + f64(bitcast<f32>({}u))) + f64(bitcast<f32>({}u)))",
                    a.to_bits(),
                    b.to_bits(),
                    c.to_bits()
                )
            }
        }
        // As the CPU fills an f16 register: through f32, then rounded.
        DType::F16 => format!(
            "f16(bitcast<f32>({}u))",
            half::f16::from_f32(s.as_f64() as f32).to_f32().to_bits()
        ),
        DType::I32 => format!("i32({})", s.as_i64() as i32),
        // A narrow integer's register is an i32 holding the wrapped value.
        DType::I8 | DType::U8 | DType::I16 | DType::U16 => {
            format!("i32({})", s.cast(d).as_i64() as i32)
        }
        // i64::MIN has no literal form (its negation overflows).
        DType::I64 if s.as_i64() == i64::MIN => "(-9223372036854775807li - 1li)".into(),
        DType::I64 => format!("{}li", s.as_i64()),
        DType::U64 => format!("{}lu", s.as_i64() as u64),
        DType::U32 => format!("{}u", s.as_i64() as u32),
        DType::Bool => (s.as_f64() != 0.0).to_string(),
        other => {
            return Err(Decline::DType {
                dtype: other,
                reason: format!("no constant of dtype {other}"),
            })
        }
    })
}

/// WGSL testing `e` (of dtype `d`) for NaN. Not `e != e`: shader compilers may assume
/// no NaNs and fold that to false (lavapipe does), so the test reads the f32 bits (f64
/// and f16 values convert to f32, which keeps a NaN a NaN).
fn is_nan(e: &str, d: DType) -> String {
    match d {
        DType::F32 => format!("is_nan_f32({e})"),
        DType::F64 | DType::F16 => format!("is_nan_f32(f32({e}))"),
        _ => "false".into(),
    }
}

/// The helper behind [`is_nan`], emitted once per kernel.
const IS_NAN_F32: &str =
    "fn is_nan_f32(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }\n";

fn zero(d: DType) -> &'static str {
    match d {
        DType::F32 => "0.0",
        DType::F64 => "f64(0.0)",
        DType::F16 => "f16(0.0)",
        DType::I32 => "0i",
        DType::I64 => "0li",
        DType::U64 => "0lu",
        DType::U32 => "0u",
        _ => "false",
    }
}

/// Elements of one leaf's tile in `shaders/map_tiled.wgsl` (32 rows of 33).
pub const TILE_ELEMS: usize = 32 * 33;

/// How a map with transposed inputs is tiled (see `shaders/map_tiled.wgsl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiling {
    /// The output axis along which the tiled inputs are contiguous.
    pub axis: usize,
    /// The leaves read through the tile.
    pub leaves: Vec<usize>,
}

/// The tiling for a map of `expr` over `shape`, when some input is read with a stride
/// along the output's last axis but contiguously along another (a transpose or
/// permutation). Both axes must span at least half a tile (or tiling wastes threads),
/// and the tiles must fit `budget` bytes of workgroup memory (leaves beyond it are read
/// directly).
pub fn transpose_tiling(
    expr: &FusedExpr,
    shape: &[usize],
    caps: Caps,
    budget: usize,
) -> Option<Tiling> {
    let nd = shape.len();
    if nd < 2 || shape[nd - 1] < 16 || packed(expr.dtype()) {
        return None;
    }
    let strided = |l: &crate::kernel::Leaf| {
        matches!(l.source, LeafSource::Input(_)) && l.strides[nd - 1].abs() > 1
    };
    let tile_bytes = |l: usize| {
        let d = expr.leaves[l].dtype;
        if packed(d) {
            // A tile holds elements, a packed buffer words: read directly.
            return usize::MAX;
        }
        storage_type(d, caps).map_or(usize::MAX, |_| TILE_ELEMS * d.size().max(4))
    };
    // The axis along which the most strided inputs are contiguous.
    (0..nd - 1)
        .filter(|&p| shape[p] >= 16)
        .map(|p| {
            let mut used = 0usize;
            let leaves: Vec<usize> = (0..expr.leaves.len())
                .filter(|&l| strided(&expr.leaves[l]) && expr.leaves[l].strides[p] == 1)
                .filter(|&l| {
                    used = used.saturating_add(tile_bytes(l));
                    used <= budget
                })
                .collect();
            Tiling { axis: p, leaves }
        })
        .filter(|t| !t.leaves.is_empty())
        .max_by_key(|t| (t.leaves.len(), t.axis))
}

/// The WGSL source of a fused map over `ndim` dimensions, or why it cannot run here;
/// with a `tiling`, the transposed inputs go through workgroup memory.
pub fn map_source(
    expr: &FusedExpr,
    ndim: usize,
    caps: Caps,
    tiling: Option<&Tiling>,
) -> Result<String, Decline> {
    let out = expr.dtype();
    let out_t = wgsl_type(out, caps)?;
    let store = if out == DType::Bool {
        "select(0u, 1u, v)"
    } else {
        "v"
    };
    if packed(out) {
        // Never tiled (`transpose_tiling` declines a packed output).
        let mut s = value_source(expr, ndim, caps, storage_type(out, caps)?, &[])?;
        s.push_str(&format!(
            "const PER: u32 = {}u;\nconst BITS: u32 = {}u;\n",
            4 / out.size(),
            8 * out.size()
        ));
        s.push_str(&philox_source(caps));
        s.push_str(include_str!("../../../shaders/index.wgsl"));
        s.push_str(include_str!("../../../shaders/map_coords.wgsl"));
        s.push_str(include_str!("../../../shaders/map_packed.wgsl"));
        return Ok(s);
    }
    let tiled = tiling.map_or(&[][..], |t| &t.leaves[..]);
    let mut s = value_source(expr, ndim, caps, storage_type(out, caps)?, tiled)?;
    s.push_str(&format!(
        "fn store(lin: u32, v: {out_t}) {{ out_buf[lin] = {store}; }}\n"
    ));
    s.push_str(&philox_source(caps));
    s.push_str(include_str!("../../../shaders/index.wgsl"));
    match tiling {
        None => {
            s.push_str(include_str!("../../../shaders/map_coords.wgsl"));
            s.push_str(include_str!("../../../shaders/map.wgsl"));
        }
        Some(t) => {
            s.push_str(&format!("const TP: u32 = {}u;\n", t.axis));
            let mut load =
                String::from("fn load_tiles(c: array<i32, 8>, ndim: u32, slot: u32) {\n");
            for &l in &t.leaves {
                let leaf = &expr.leaves[l];
                let LeafSource::Input(slot) = leaf.source else {
                    return Err("only input leaves are tiled".into());
                };
                s.push_str(&format!(
                    "var<workgroup> tile{l}: array<{}, {TILE_ELEMS}>;\n",
                    storage_type(leaf.dtype, caps)?
                ));
                load.push_str(&format!(
                    "    tile{l}[slot] = in{slot}[leaf_index({}, ndim, c)];\n",
                    leaf_base(ndim, l)
                ));
            }
            load.push_str("}\n");
            s.push_str(&load);
            s.push_str(include_str!("../../../shaders/map_tiled.wgsl"));
        }
    }
    Ok(s)
}

/// Bindings (`tmeta`, `out_buf` of `out_store`, inputs) and `fn value(c, ndim)`; the
/// `tiled` leaves are read from their workgroup tile at `tslot`.
fn value_source(
    expr: &FusedExpr,
    ndim: usize,
    caps: Caps,
    out_store: &str,
    tiled: &[usize],
) -> Result<String, Decline> {
    let lang = Wgsl { caps, tiled };
    let out_t = wgsl_type(expr.dtype(), caps)?;
    let mut s = String::new();
    let uses_f16 = expr.instrs.iter().any(|(_, d)| *d == DType::F16)
        || expr.leaves.iter().any(|l| l.dtype == DType::F16);
    if uses_f16 {
        s.push_str("enable f16;\n");
    }
    s.push_str("@group(0) @binding(0) var<storage, read> tmeta: array<i32>;\n");
    s.push_str(IS_NAN_F32);
    if uses_f16 {
        s.push_str(ROUND_F16);
    }
    s.push_str(&format!(
        "@group(0) @binding(1) var<storage, read_write> out_buf: array<{out_store}>;\n"
    ));
    for (slot, d) in input_dtypes(expr)?.into_iter().enumerate() {
        s.push_str(&format!(
            "@group(0) @binding({}) var<storage, read> in{slot}: array<{}>;\n",
            slot + 2,
            storage_type(d, caps)?
        ));
    }
    s.push_str(&format!(
        "fn value(c: array<i32, 8>, ndim: u32) -> {out_t} {{\n"
    ));
    s.push_str(&body(expr, ndim, &lang)?);
    s.push_str(&format!("    return {};\n}}\n", result_register(expr)));
    Ok(s)
}

/// WGSL as the shared walk ([`body`]) spells it; `tiled` leaves come from workgroup tiles.
struct Wgsl<'a> {
    caps: Caps,
    tiled: &'a [usize],
}

impl Wgsl<'_> {
    fn plain(caps: Caps) -> Wgsl<'static> {
        Wgsl { caps, tiled: &[] }
    }
}

impl Lang for Wgsl<'_> {
    fn reg_type(&self, d: DType) -> Result<&'static str, Decline> {
        wgsl_type(d, self.caps)
    }

    fn literal(&self, v: Scalar, d: DType) -> Result<String, Decline> {
        literal(v, d)
    }

    fn select(&self, c: &str, a: &str, b: &str) -> String {
        format!("select({b}, {a}, {c})")
    }

    fn is_nan(&self, v: &str, d: DType) -> String {
        is_nan(v, d)
    }

    fn is_inf(&self, v: &str, d: DType) -> String {
        match d {
            DType::F32 => format!("((bitcast<u32>({v}) & 0x7fffffffu) == 0x7f800000u)"),
            // No f64 bitcast in WGSL; a comparison with the largest finite value cannot
            // be folded away by a compiler that assumes finite math.
            DType::F64 => format!("(abs({v}) > f64(1.7976931348623157e308))"),
            _ => "false".into(),
        }
    }

    fn math(&self, f: MathFn, args: &[&str], d: DType) -> Result<String, Decline> {
        let name = match f {
            MathFn::Sqrt => "sqrt",
            MathFn::Floor => "floor",
            MathFn::Ceil => "ceil",
            MathFn::Abs => "abs",
            MathFn::Max => "max",
            MathFn::Min => "min",
            MathFn::Pow => {
                return Err(format!(
                    "power on {d} runs on the CPU (WGSL pow differs for negative bases)"
                )
                .into())
            }
            // lavapipe's f64 trunc and round were measured wrong (trunc(-0.5) lost its
            // sign, round(1.5) gave 1); they are built from floor and ceil, which hold.
            MathFn::Trunc if d == DType::F64 => {
                let a = args[0];
                return Ok(format!(
                    "select(floor({a}), ceil({a}), {a} < {})",
                    literal(Scalar::F64(0.0), d)?
                ));
            }
            MathFn::Round if d == DType::F64 => return round_f64(args[0]),
            MathFn::Trunc => "trunc",
            // WGSL's round is half to even, as NumPy's.
            MathFn::Round => "round",
            // WGSL has no expm1, log1p, log10 or hypot, and Vulkan bounds the error of its
            // inverse, hyperbolic and tangent functions loosely (derived from other
            // functions, thousands of ulps allowed): measured on lavapipe, atan2 was 28
            // ulps off and sinh(-0) lost its sign. They run on the CPU until WGSL forms
            // of known accuracy are written.
            MathFn::Expm1
            | MathFn::Log1p
            | MathFn::Log10
            | MathFn::Hypot
            | MathFn::Tan
            | MathFn::Sinh
            | MathFn::Cosh
            | MathFn::Asin
            | MathFn::Acos
            | MathFn::Atan
            | MathFn::Asinh
            | MathFn::Acosh
            | MathFn::Atanh
            | MathFn::Log2
            | MathFn::Atan2
            | MathFn::Cbrt
            | MathFn::Exp2 => {
                return Err(Decline::feature(
                    "accurate math",
                    format!("{f:?} runs on the CPU (no WGSL form of known accuracy)"),
                ))
            }
            MathFn::Copysign if d == DType::F32 => {
                // On the bits: exact, and right for -0.0 and NaN signs.
                return Ok(format!(
                    "bitcast<f32>((bitcast<u32>({}) & 0x7fffffffu) | (bitcast<u32>({}) & 0x80000000u))",
                    args[0], args[1]
                ));
            }
            // WGSL's `%` on floats is `x - y * trunc(x / y)`, rounded; C's fmod is exact.
            MathFn::Fmod => {
                return Err(Decline::feature(
                    "accurate math",
                    format!("fmod on {d} runs on the CPU (WGSL has no exact fmod)"),
                ))
            }
            // Stepping to a subnormal needs them kept, which WGSL does not promise.
            MathFn::NextAfter => {
                return Err(Decline::feature(
                    "subnormals",
                    format!("nextafter on {d} runs on the CPU (WGSL may flush subnormals)"),
                ))
            }
            MathFn::Copysign => {
                return Err(Decline::feature(
                    "f64 bit casts",
                    format!("copysign on {d} runs on the CPU (WGSL cannot reach f64 bits)"),
                ))
            }
            MathFn::Exp | MathFn::Log | MathFn::Sin | MathFn::Cos | MathFn::Tanh
                if d != DType::F32 =>
            {
                return Err(Decline::feature(
                    "f64 transcendentals",
                    format!("{f:?} on {d} runs on the CPU (Vulkan has no f64 transcendentals)"),
                ))
            }
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Sin => "sin",
            MathFn::Cos => "cos",
            MathFn::Tanh => "tanh",
        };
        Ok(format!("{name}({})", args.join(", ")))
    }

    fn widen(&self, v: &str, _d: DType) -> String {
        format!("f32({v})")
    }

    fn narrow(&self, v: &str, d: DType) -> Result<String, Decline> {
        wgsl_type(d, self.caps)?;
        Ok(format!("f16(round_f16({v}))"))
    }

    fn wrapping(&self, op: &str, a: &str, b: &str, _d: DType) -> String {
        // WGSL integer arithmetic wraps (two's complement).
        format!("({a} {op} {b})")
    }

    fn convert(&self, v: &str, from: DType, to: DType) -> Result<String, Decline> {
        // A narrow integer's register is an i32; a conversion to one wraps the i32.
        let from = if from.is_small_int() {
            DType::I32
        } else {
            from
        };
        if to.is_small_int() {
            return Ok(self.wrap_small(&self.convert(v, from, DType::I32)?, to));
        }
        Ok(if from == to {
            v.to_string()
        } else if (from, to) == (DType::U32, DType::I64) {
            // Through u64: a direct i64(u32) sign-extends values above 2³¹ here
            // (measured on lavapipe), where the CPU zero-extends.
            format!("i64(u64({v}))")
        } else if (from, to) == (DType::I32, DType::U64) {
            // Through i64: the CPU sign-extends, as Rust's `as` (and NumPy) do.
            format!("u64(i64({v}))")
        } else {
            format!("{}({v})", wgsl_type(to, self.caps)?)
        })
    }

    fn leaf(&self, expr: &FusedExpr, l: usize, ndim: usize) -> Result<String, Decline> {
        leaf_value(expr, l, ndim, self.caps, self.tiled)
    }

    fn shift(&self, left: bool, a: &str, b: &str, _d: DType) -> String {
        // WGSL shifts take a u32 count (arithmetic for signed left operands).
        format!("({a} {} u32({b}))", if left { "<<" } else { ">>" })
    }

    fn bind(&self, name: &str, ty: &str, e: &str) -> String {
        format!("    let {name}: {ty} = {e};\n")
    }

    fn pair(&self, re: &str, im: &str, d: DType) -> Result<String, Decline> {
        Ok(format!("{}({re}, {im})", wgsl_type(d, self.caps)?))
    }

    fn zero(&self, d: DType) -> Result<String, Decline> {
        // `tmeta[0]` is the rank (never negative), unknown to the compiler.
        Ok(format!("{}(min(tmeta[0], 0))", wgsl_type(d, self.caps)?))
    }

    // Narrow integers live in i32 registers; this brings a result back to the width.
    fn wrap_small(&self, v: &str, d: DType) -> String {
        let bits = 32 - 8 * d.size();
        if d.is_signed_int() {
            format!("(({v} << {bits}u) >> {bits}u)")
        } else {
            format!("({v} & {}i)", (1u32 << (8 * d.size())) - 1)
        }
    }
}

/// Round half to even of the f64 register `a` from `floor`: the fraction `a - floor(a)`
/// is exact, a tie goes to the even neighbour, a zero result keeps `a`'s sign, and
/// values from 2^52 up (integers already, or infinite) are returned as they are.
fn round_f64(a: &str) -> Result<String, Decline> {
    let l = |v: f64| literal(Scalar::F64(v), DType::F64);
    let (half, one, zero) = (l(0.5)?, l(1.0)?, l(0.0)?);
    let r = format!("floor({a})");
    let frac = format!("({a} - {r})");
    let odd = format!("({r} - {} * floor({r} * {half}))", l(2.0)?);
    let v =
        format!("select(select({r}, {r} + {one}, {frac} > {half}), {r} + {odd}, {frac} == {half})");
    // Not `a * 0.0`: lavapipe drops the sign of that product.
    let signed = format!(
        "select({v}, select({zero}, {}, {a} < {zero}), {v} == {zero})",
        l(-0.0)?
    );
    Ok(format!(
        "select({signed}, {a}, abs({a}) >= {})",
        l(4503599627370496.0)?
    ))
}

/// The WGSL value of leaf `l` at coordinates `c`.
fn leaf_value(
    expr: &FusedExpr,
    l: usize,
    ndim: usize,
    caps: Caps,
    tiled: &[usize],
) -> Result<String, Decline> {
    let nleaves = expr.leaves.len();
    let leaf = &expr.leaves[l];
    let idx = format!("leaf_index({}, ndim, c)", leaf_base(ndim, l));
    let p = gen_base(ndim, nleaves, l);
    Ok(match &leaf.source {
        LeafSource::Input(slot) => {
            let read = if tiled.contains(&l) {
                format!("tile{l}[tslot]")
            } else if packed(leaf.dtype) {
                unpack(&format!("in{slot}"), &idx, leaf.dtype)
            } else {
                format!("in{slot}[{idx}]")
            };
            if leaf.dtype == DType::Bool {
                format!("{read} != 0u")
            } else {
                read
            }
        }
        LeafSource::Gen(Generator::Random { dist, .. }) if dist.sampled() => {
            return Err(Decline::Op {
                reason: format!(
                    "random {} draws (a bounded rejection or inversion per element) are generated on the CPU",
                    dist.name()
                ),
            })
        }
        LeafSource::Gen(Generator::Random {
            dist: Dist::Uniform { low, high },
            ..
        }) if leaf.dtype == DType::F64 => {
            if !caps.f64 {
                return Err(Decline::feature(
                    "SHADER_F64",
                    "random f64 needs SHADER_F64 on the device",
                ));
            }
            for v in [*low, high - low] {
                f64_parts(v).ok_or_else(|| {
                    format!("random bound {v} has no exact form in generated WGSL")
                })?;
            }
            format!(
                "{} + {} * random_uniform_f64(u32({idx}), vec2<u32>(bitcast<u32>(tmeta[{p}]), bitcast<u32>(tmeta[{}])))",
                f64_from_meta(p + 2),
                f64_from_meta(p + 5),
                p + 1
            )
        }
        LeafSource::Gen(Generator::Random { dist, .. }) => {
            // f16 values are the f32 ones rounded once, as on the CPU.
            if !(leaf.dtype == DType::F32 || leaf.dtype == DType::F16 && caps.f16) {
                let reason = format!(
                    "random {} {} is generated on the CPU (GPU kernels make f32, f16 and uniform f64; Vulkan has no f64 log/cos)",
                    if matches!(dist, Dist::Normal { .. }) { "normal" } else { "uniform" },
                    leaf.dtype
                );
                return Err(match leaf.dtype {
                    DType::F64 => Decline::feature("f64 transcendentals", reason),
                    dtype => Decline::DType { dtype, reason },
                });
            }
            let f = match dist {
                Dist::Normal { .. } => "random_normal_f32",
                _ => "random_uniform_f32",
            };
            let v = format!("bitcast<f32>(tmeta[{}]) + bitcast<f32>(tmeta[{}]) * {f}(u32({idx}), vec2<u32>(bitcast<u32>(tmeta[{p}]), bitcast<u32>(tmeta[{}])))", p + 2, p + 3, p + 1);
            if leaf.dtype == DType::F16 {
                format!("f16(round_f16({v}))")
            } else {
                v
            }
        }
        LeafSource::Gen(Generator::Eye { .. }) => {
            let one = literal(Scalar::F64(1.0), leaf.dtype)?;
            format!(
                "select({}, {one}, ({idx} % tmeta[{p}]) - ({idx} / tmeta[{p}]) == tmeta[{}])",
                zero(leaf.dtype),
                p + 1
            )
        }
        LeafSource::Gen(Generator::Range { start, step, last }) => {
            if !caps.f64 || leaf.dtype != DType::F64 {
                return Err(Decline::feature(
                    "SHADER_F64",
                    "ranges need f64 arithmetic (SHADER_F64) on the device",
                ));
            }
            let stop = last.map_or(0.0, |l| l.1);
            for v in [*start, *step, stop] {
                f64_parts(v).ok_or_else(|| {
                    format!("range parameter {v} has no exact form in generated WGSL")
                })?;
            }
            // As the CPU: start + i·step, and exactly `stop` at index `last`.
            format!(
                "select({} + f64({idx}) * {}, {}, {idx} == tmeta[{}])",
                f64_from_meta(p),
                f64_from_meta(p + 3),
                f64_from_meta(p + 7),
                p + 6
            )
        }
    })
}

/// The dtype a device reduction of `d` values accumulates in, and its partials hold:
/// f32 for f32/f16 data, f64 for f64, f64 for the moments of integers and bools, and
/// i64 (wrapping, exactly as the CPU) for integer and bool sums, products, extrema and
/// arg indices.
pub fn acc_dtype(red: Reduction, d: DType, caps: Caps) -> Result<DType, Decline> {
    wgsl_type(d, caps)?;
    crate::backend::codegen::keyed_u64(red, d)?;
    let acc = match d {
        DType::F32 | DType::F16 => DType::F32,
        DType::F64 => DType::F64,
        _ if red.float_acc(d) => DType::F64,
        _ => DType::I64,
    };
    wgsl_type(acc, caps).map_err(|_| {
        format!(
            "{} of {d} accumulates in {acc}, which this adapter lacks",
            red.name()
        )
    })?;
    Ok(acc)
}

/// Rounds an f32 to the nearest f16 value (ties to even, past 65504 to infinity), kept
/// in f32. Why not `f16(x)`: devices may keep f16 registers in f32 and round only when
/// storing (lavapipe does), so a chain of f16 ops would round once at the end, where
/// NumPy and the CPU round after every op. Scaling by powers of two is exact and
/// `round` is round-half-to-even, so this is the IEEE conversion on any device.
const ROUND_F16: &str = "fn round_f16(x: f32) -> f32 {
    let a = bitcast<u32>(x) & 0x7fffffffu;
    if (a >= 0x7f800000u) { return x; }
    let e = max(i32(a >> 23u) - 127, -14);
    let r = ldexp(round(ldexp(x, 10 - e)), e - 10);
    return select(r, sign(x) * bitcast<f32>(0x7f800000u), abs(r) > 65504.0);
}
";

/// `v` (a WGSL value of dtype `from`) as dtype `to`, as the CPU converts.
fn convert(v: &str, from: DType, to: DType, caps: Caps) -> Result<String, Decline> {
    cast(v, from, to, &Wgsl::plain(caps))
}

/// The WGSL source of a reduction partial (or, with `finalize`, of the final result of
/// that dtype) of `expr` over `ndim` dimensions, with the serial or the tree driver.
pub fn reduce_source(
    expr: &FusedExpr,
    ndim: usize,
    caps: Caps,
    red: Reduction,
    finalize: Option<DType>,
    serial: bool,
) -> Result<String, Decline> {
    let d = expr.dtype();
    let acc = acc_dtype(red, d, caps)?;
    if let Some(f) = finalize {
        no_packed_writes(f, red.name())?;
    }
    let out_store = match finalize {
        Some(f) => storage_type(f, caps)?,
        None => wgsl_type(acc, caps)?,
    };
    let mut s = value_source(expr, ndim, caps, out_store, &[])?;
    let nleaves = expr.leaves.len();
    s.push_str(&format!(
        "const RB: i32 = {};\n",
        gen_base(ndim, nleaves, nleaves)
    ));
    s.push_str(&format!(
        "fn reduce_value(c: array<i32, 8>, ndim: u32) -> {} {{ return {}; }}\n",
        wgsl_type(acc, caps)?,
        convert("value(c, ndim)", d, acc, caps)?
    ));
    s.push_str(&acc_source(red, acc, caps, finalize)?);
    s.push_str(&philox_source(caps));
    s.push_str(include_str!("../../../shaders/index.wgsl"));
    s.push_str(include_str!("../../../shaders/reduce.wgsl"));
    s.push_str(if serial {
        include_str!("../../../shaders/reduce_serial.wgsl")
    } else {
        include_str!("../../../shaders/reduce_tree.wgsl")
    });
    Ok(s)
}

/// The accumulator of a reduction in dtype `acc` (f32, f64 or i64): `struct Acc`,
/// `acc_init`, `acc_add`, `acc_merge` and `acc_store` (partial layout, or the finalized
/// value of dtype `finalize`).
fn acc_source(
    red: Reduction,
    acc: DType,
    caps: Caps,
    finalize: Option<DType>,
) -> Result<String, Decline> {
    let a = wgsl_type(acc, caps)?;
    let lit = |v: f64| literal(Scalar::F64(v), acc);
    let wrap = |bits: &str| match acc {
        DType::F32 => format!("bitcast<f32>({bits})"),
        _ => format!("f64(bitcast<f32>({bits}))"),
    };
    let nan = wrap("0x7fc00000u");
    let (lowest, highest) = match acc {
        DType::I64 => (
            literal(Scalar::I64(i64::MIN), acc)?,
            literal(Scalar::I64(i64::MAX), acc)?,
        ),
        _ => (format!("-{}", wrap("0x7f800000u")), wrap("0x7f800000u")),
    };
    let (zero, one) = (lit(0.0)?, lit(1.0)?);
    let mut s = String::new();
    s.push_str(&format!(
        "struct Acc {{ a: {a}, b: {a}, c: {a}, i: u32 }}\n"
    ));
    let simple = |init: String, add: String| {
        format!(
            "fn acc_init() -> Acc {{ return Acc({init}, {zero}, {zero}, 0u); }}\n\
             fn acc_add(x: Acc, v: {a}, idx: u32) -> Acc {{ var y = x; y.a = {add}; return y; }}\n\
             fn acc_merge(x: Acc, y: Acc) -> Acc {{ return acc_add(x, y.a, 0u); }}\n"
        )
    };
    let cmp = if red == Reduction::ArgMax { ">" } else { "<" };
    let (v_nan, xa_nan) = (is_nan("v", acc), is_nan("x.a", acc));
    let funcs = match red {
        Reduction::Sum => simple(zero.clone(), "x.a + v".into()),
        Reduction::Prod => simple(one.clone(), "x.a * v".into()),
        Reduction::Min => simple(highest.clone(), format!("select(x.a, v, v < x.a || {v_nan})")),
        Reduction::Max => simple(lowest, format!("select(x.a, v, v > x.a || {v_nan})")),
        Reduction::Any => simple(zero.clone(), format!("select(x.a, {one}, !(v == {zero}))")),
        Reduction::All => simple(one.clone(), format!("select(x.a, {zero}, v == {zero})")),
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => format!(
            "fn acc_init() -> Acc {{ return Acc({zero}, {zero}, {zero}, 0u); }}\n\
             fn acc_add(x: Acc, v: {a}, idx: u32) -> Acc {{ let n = x.a + {one}; let d = v - x.b; let m = x.b + d / n; return Acc(n, m, x.c + d * (v - m), 0u); }}\n\
             fn acc_merge(x: Acc, y: Acc) -> Acc {{ if (y.a == {zero}) {{ return x; }} if (x.a == {zero}) {{ return y; }} let n = x.a + y.a; let d = y.b - x.b; return Acc(n, x.b + d * y.a / n, x.c + y.c + d * d * x.a * y.a / n, 0u); }}\n"
        ),
        Reduction::ArgMin | Reduction::ArgMax => format!(
            "fn acc_init() -> Acc {{ return Acc({zero}, {zero}, {zero}, 0xffffffffu); }}\n\
             fn better(v: {a}, i: u32, x: Acc) -> bool {{ if (x.i == 0xffffffffu) {{ return true; }} if ({v_nan}) {{ return !{xa_nan} || i < x.i; }} if ({xa_nan}) {{ return false; }} return v {cmp} x.a || (v == x.a && i < x.i); }}\n\
             fn acc_add(x: Acc, v: {a}, idx: u32) -> Acc {{ if (better(v, idx, x)) {{ return Acc(v, {zero}, {zero}, idx); }} return x; }}\n\
             fn acc_merge(x: Acc, y: Acc) -> Acc {{ if (y.i == 0xffffffffu) {{ return x; }} return acc_add(x, y.a, y.i); }}\n"
        ),
    };
    s.push_str(&funcs);
    let moments = matches!(
        red,
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. }
    );
    let arg = matches!(red, Reduction::ArgMin | Reduction::ArgMax);
    let store = match finalize {
        None if moments => {
            "out_buf[o] = x.a; out_buf[nout + o] = x.b; out_buf[2u * nout + o] = x.c;".to_string()
        }
        None if arg => {
            let enc = match acc {
                DType::F32 => "bitcast<f32>(x.i)",
                DType::F64 => "f64(x.i)",
                _ => "i64(x.i)",
            };
            format!("out_buf[o] = x.a; out_buf[nout + o] = {enc};")
        }
        None => "out_buf[o] = x.a;".to_string(),
        Some(f) => {
            let value = match red {
                _ if arg => {
                    if f != DType::I64 || !caps.i64 {
                        return Err(Decline::feature(
                            "SHADER_INT64",
                            format!("{} finalizes on the CPU (i64 result)", red.name()),
                        ));
                    }
                    "select(i64(x.i), -1li, x.i == 0xffffffffu)".to_string()
                }
                Reduction::Any | Reduction::All => format!("x.a != {zero}"),
                Reduction::Mean => format!("select({nan}, x.b, x.a > {zero})"),
                Reduction::Var { ddof } | Reduction::Std { ddof } => {
                    let root = if matches!(red, Reduction::Std { .. }) {
                        "sqrt"
                    } else {
                        ""
                    };
                    // NumPy divides by max(n - ddof, 0): past the count that is
                    // m2 / 0, inf (or NaN when m2 is 0), spelled out because a
                    // shader's division by zero is not guaranteed to be IEEE.
                    format!(
                        "select(select({nan}, {highest}, x.c > {zero}), {root}(x.c / (x.a - {d})), x.a - {d} > {zero})",
                        d = lit(ddof as f64)?,
                    )
                }
                _ => "x.a".to_string(),
            };
            let from = match red {
                _ if arg => DType::I64,
                Reduction::Any | Reduction::All => DType::Bool,
                _ => acc,
            };
            let v = convert(&value, from, f, caps)?;
            let v = if f == DType::Bool {
                format!("select(0u, 1u, {v})")
            } else {
                v
            };
            format!("out_buf[o] = {v};")
        }
    };
    s.push_str(&format!(
        "fn acc_store(o: u32, nout: u32, x: Acc) {{ {store} }}\n"
    ));
    Ok(s)
}

/// The WGSL source of a combine of `ninputs` device partials of a reduction over `d`
/// values (finalizing to dtype `finalize` when given).
pub fn combine_source(
    red: Reduction,
    d: DType,
    caps: Caps,
    finalize: Option<DType>,
    ninputs: usize,
) -> Result<String, Decline> {
    let acc = acc_dtype(red, d, caps)?;
    let a = wgsl_type(acc, caps)?;
    if let Some(f) = finalize {
        no_packed_writes(f, red.name())?;
    }
    let out_store = match finalize {
        Some(f) => storage_type(f, caps)?,
        None => a,
    };
    let mut s = String::new();
    if finalize == Some(DType::F16) {
        s.push_str("enable f16;\n");
        s.push_str(ROUND_F16);
    }
    s.push_str("@group(0) @binding(0) var<storage, read> tmeta: array<i32>;\n");
    s.push_str(IS_NAN_F32);
    s.push_str(&format!(
        "@group(0) @binding(1) var<storage, read_write> out_buf: array<{out_store}>;\n"
    ));
    for k in 0..ninputs {
        s.push_str(&format!(
            "@group(0) @binding({}) var<storage, read> in{k}: array<{a}>;\n",
            k + 2
        ));
    }
    s.push_str(&acc_source(red, acc, caps, finalize)?);
    let zero = literal(Scalar::F64(0.0), acc)?;
    for k in 0..ninputs {
        let body = match red {
            Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => {
                format!("Acc(in{k}[o], in{k}[nout + o], in{k}[2u * nout + o], 0u)")
            }
            Reduction::ArgMin | Reduction::ArgMax => {
                let idx = if acc == DType::F32 {
                    format!("bitcast<u32>(in{k}[nout + o])")
                } else {
                    format!("u32(in{k}[nout + o])")
                };
                format!("Acc(in{k}[o], {zero}, {zero}, {idx})")
            }
            _ => format!("Acc(in{k}[o], {zero}, {zero}, 0u)"),
        };
        s.push_str(&format!(
            "fn load{k}(o: u32, nout: u32) -> Acc {{ return {body}; }}\n"
        ));
    }
    s.push_str("@compute @workgroup_size(256)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n");
    s.push_str("    let nout = u32(tmeta[0]);\n    for (var o = gid.x; o < nout; o = o + nwg.x * 256u) {\n        var acc = load0(o, nout);\n");
    for k in 1..ninputs {
        s.push_str(&format!(
            "        acc = acc_merge(acc, load{k}(o, nout));\n"
        ));
    }
    s.push_str("        acc_store(o, nout, acc);\n    }\n}\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::codegen::exact_f64_params;
    use crate::kernel::{BinaryOp, Instr, Leaf};

    fn expr(leaves: Vec<(LeafSource, Vec<i64>)>) -> FusedExpr {
        let n = leaves.len();
        let mut instrs: Vec<(Instr, DType)> =
            (0..n).map(|l| (Instr::Leaf(l), DType::F32)).collect();
        for l in 1..n {
            instrs.push((
                Instr::Binary(BinaryOp::Add, instrs.len() - 1, l),
                DType::F32,
            ));
        }
        FusedExpr {
            leaves: leaves
                .into_iter()
                .map(|(source, strides)| Leaf {
                    source,
                    dtype: DType::F32,
                    offset: 0,
                    strides,
                })
                .collect(),
            instrs,
        }
    }

    const CAPS: Caps = Caps {
        f64: false,
        f16: false,
        i64: false,
    };

    #[test]
    fn transposed_inputs_are_tiled_along_their_contiguous_axis() {
        // out[i, j] = a[j, i] + b[i, j] over a 64×48 chunk: a is strided along j.
        let e = expr(vec![
            (LeafSource::Input(0), vec![1, 64]),
            (LeafSource::Input(1), vec![48, 1]),
        ]);
        let t = transpose_tiling(&e, &[64, 48], CAPS, 16384).unwrap();
        assert_eq!(
            t,
            Tiling {
                axis: 0,
                leaves: vec![0]
            }
        );
        // Too thin a last axis, or no contiguous axis: the direct kernel.
        assert_eq!(transpose_tiling(&e, &[64, 8], CAPS, 16384), None);
        let gathered = expr(vec![(LeafSource::Input(0), vec![2, 64])]);
        assert_eq!(transpose_tiling(&gathered, &[64, 48], CAPS, 16384), None);
        // Random leaves are computed, not read: nothing to tile.
        let gen = expr(vec![(
            LeafSource::Gen(Generator::Random {
                seed: 1,
                dist: Dist::Uniform {
                    low: 0.0,
                    high: 1.0,
                },
            }),
            vec![1, 64],
        )]);
        assert_eq!(transpose_tiling(&gen, &[64, 48], CAPS, 16384), None);
    }

    #[test]
    fn structure_keys_ignore_what_travels_in_meta_and_keep_what_the_source_holds() {
        let key = |e: &FusedExpr| (e.structure_key(), exact_f64_params(e));
        let random = |seed, low: f64, offset| FusedExpr {
            leaves: vec![Leaf {
                source: LeafSource::Gen(Generator::Random {
                    seed,
                    dist: Dist::Uniform { low, high: 1.0 },
                }),
                dtype: DType::F64,
                offset,
                strides: vec![1],
            }],
            instrs: vec![(Instr::Leaf(0), DType::F64)],
        };
        // Seeds and offsets live in `meta`: one kernel serves every chunk and seed.
        assert_eq!(key(&random(1, 0.0, 0)), key(&random(2, 0.5, 4096)));
        // A bound with no exact f32-parts form changes what is generated (a decline).
        assert_ne!(key(&random(1, 0.0, 0)), key(&random(1, 1e-300, 0)));
        // Constants are literals in the source.
        let scaled = |c: f64| {
            let mut e = random(1, 0.0, 0);
            e.instrs.push((Instr::Const(Scalar::F64(c)), DType::F64));
            e.instrs
                .push((Instr::Binary(BinaryOp::Mul, 0, 1), DType::F64));
            e
        };
        assert_ne!(key(&scaled(2.0)), key(&scaled(3.0)));
        assert_eq!(key(&scaled(2.0)), key(&scaled(2.0)));
    }

    #[test]
    fn reductions_keeping_the_last_axis_over_many_outputs_run_serially() {
        assert!(serial_reduction(&[1024, 1024], &[0]));
        assert!(serial_reduction(&[9, 20, 64], &[0]));
        assert!(!serial_reduction(&[9, 20, 64], &[0, 1]), "64 outputs: tree");
        assert!(
            !serial_reduction(&[1024, 1024], &[1]),
            "last axis reduced: tree"
        );
        assert!(!serial_reduction(&[1024, 1024], &[0, 1]));
    }

    #[test]
    fn tiles_stay_within_workgroup_memory() {
        // 3-d permutation: out[a, b, c] = z[b, c, a]; four transposed reads of 4.2 KB tiles.
        let leaves = (0..4)
            .map(|s| (LeafSource::Input(s), vec![1, 20 * 33, 20]))
            .collect();
        let e = expr(leaves);
        let t = transpose_tiling(&e, &[20, 9, 33], CAPS, 16384).unwrap();
        assert_eq!(t.axis, 0);
        assert_eq!(t.leaves, vec![0, 1, 2], "a fourth tile would pass 16 KiB");
        let src = map_source(&e, 3, CAPS, Some(&t)).unwrap();
        assert!(src.contains("var<workgroup> tile2") && !src.contains("tile3"));
        assert!(
            src.contains("in3[leaf_index("),
            "the untiled leaf is read directly"
        );
    }
}
