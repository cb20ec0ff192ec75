//! Runs a [`FusedExpr`] over a chunk, tile by tile, handing each finished tile to a sink
//! (a store into the output chunk, or a reduction fold).
//!
//! A chunk of shape `[outer.., R, C]` is cut into tiles of `tr × tc` elements. Rows are
//! long when every leaf reads its last axis contiguously; when a leaf is transposed the
//! tile is square-ish (64 × 64) so its strided reads stay in cache, and generated leaves
//! are produced along their own contiguous axis and scattered into the tile.

use super::regs::{self, Reg, TILE};
use crate::dtype::{DType, HostArray};
use crate::kernel::{Dist, FusedExpr, Generator, Instr, Leaf, LeafSource};
use crate::philox as random;
use half::{bf16, f16};
use num_complex::{Complex32, Complex64};

/// Where one tile lies in the chunk.
pub struct Tile<'a> {
    /// Multi-index over the outer axes (all but the last two).
    pub outer: &'a [usize],
    /// Linear number of `outer`.
    pub outer_lin: usize,
    pub r0: usize,
    pub tr: usize,
    pub c0: usize,
    pub tc: usize,
}

/// The chunk shape seen as `outer × R × C`.
pub struct Geometry {
    pub outer: Vec<usize>,
    pub rows: usize,
    pub cols: usize,
}

impl Geometry {
    pub fn of(shape: &[usize]) -> Geometry {
        let d = shape.len();
        match d {
            0 => Geometry {
                outer: vec![],
                rows: 1,
                cols: 1,
            },
            1 => Geometry {
                outer: vec![],
                rows: 1,
                cols: shape[0],
            },
            _ => Geometry {
                outer: shape[..d - 2].to_vec(),
                rows: shape[d - 2],
                cols: shape[d - 1],
            },
        }
    }

    /// `(outer strides, row stride, column stride)` of a per-axis stride vector.
    pub fn split(&self, strides: &[i64]) -> (Vec<i64>, i64, i64) {
        let d = strides.len();
        match d {
            0 => (vec![], 0, 0),
            1 => (vec![], 0, strides[0]),
            _ => (strides[..d - 2].to_vec(), strides[d - 2], strides[d - 1]),
        }
    }
}

struct LeafPlan {
    outer: Vec<i64>,
    sr: i64,
    sc: i64,
}

/// Scratch reused across tiles.
struct Scratch {
    f64s: Vec<f64>,
    f32s: Vec<f32>,
}

/// Evaluates `expr` over a chunk of `shape`, calling `sink` once per tile with the
/// output register (first `tr * tc` values valid, row-major within the tile).
pub fn for_each_tile(
    expr: &FusedExpr,
    inputs: &[&HostArray],
    shape: &[usize],
    mut sink: impl FnMut(&Tile, &Reg),
) -> Result<(), String> {
    let geo = Geometry::of(shape);
    let total: usize = shape.iter().product();
    if total == 0 {
        return Ok(());
    }
    let plans: Vec<LeafPlan> = expr
        .leaves
        .iter()
        .map(|l| {
            let (outer, sr, sc) = geo.split(&l.strides);
            LeafPlan { outer, sr, sc }
        })
        .collect();
    let transposed = plans.iter().any(|p| p.sc != 1 && p.sc != 0) && geo.rows > 1;
    let tc = if transposed {
        geo.cols.min(64)
    } else {
        geo.cols.min(TILE)
    };
    let tr = (TILE / tc.max(1)).min(geo.rows).max(1);
    // Tiny chunks get tiny registers: allocation must not dominate small tasks.
    let cap = (tr * tc).min(total);
    let mut regs: Vec<Reg> = expr.instrs.iter().map(|(_, d)| Reg::new(*d, cap)).collect();
    // Constants fill their registers once: every instruction writes only its own
    // register, so they hold for every tile (filling them per tile was 8% of
    // `(x * 2 + 1).sum()`).
    for (i, (ins, dtype)) in expr.instrs.iter().enumerate() {
        if let Instr::Const(s) = ins {
            regs::fill(&mut regs[i], *s, cap);
            if let Reg::F32(v) = &mut regs[i] {
                regs::round_half(v, *dtype);
            }
        }
    }
    let mut scratch = Scratch {
        f64s: vec![0.0; cap],
        f32s: vec![0.0; cap],
    };
    let outer_idx = crate::chunks::multi_indices(&geo.outer);
    let outer_iter: Vec<Vec<usize>> = if geo.outer.is_empty() {
        vec![vec![]]
    } else {
        outer_idx
    };
    for (outer_lin, outer) in outer_iter.iter().enumerate() {
        let mut r0 = 0;
        while r0 < geo.rows {
            let tr = tr.min(geo.rows - r0);
            let mut c0 = 0;
            while c0 < geo.cols {
                let tc = tc.min(geo.cols - c0);
                let n = tr * tc;
                for i in 0..expr.instrs.len() {
                    let (before, rest) = regs.split_at_mut(i);
                    let out = &mut rest[0];
                    let dtype = expr.instrs[i].1;
                    match &expr.instrs[i].0 {
                        Instr::Leaf(l) => {
                            let leaf = &expr.leaves[*l];
                            let p = &plans[*l];
                            let mut base = leaf.offset + r0 as i64 * p.sr + c0 as i64 * p.sc;
                            for (k, &o) in outer.iter().enumerate() {
                                base += o as i64 * p.outer[k];
                            }
                            gather_leaf(leaf, inputs, base, p.sr, p.sc, tr, tc, out, &mut scratch)?;
                        }
                        Instr::Const(_) => continue,
                        Instr::Unary(op, a) => regs::unary(*op, &before[*a], out, n)
                            .map_err(|e| format!("{op:?}: {e}"))?,
                        Instr::Binary(op, a, b) => {
                            regs::binary(*op, &before[*a], &before[*b], out, n)
                                .map_err(|e| format!("{}: {e}", op.name()))?
                        }
                        Instr::Where(c, a, b) => {
                            regs::select(&before[*c], &before[*a], &before[*b], out, n)
                                .map_err(|e| format!("where: {e}"))?
                        }
                        Instr::Cast(a) => regs::cast(&before[*a], out, n),
                    }
                    regs::settle(out, dtype, n);
                }
                let tile = Tile {
                    outer,
                    outer_lin,
                    r0,
                    tr,
                    c0,
                    tc,
                };
                sink(&tile, regs.last().expect("a fused program has an output"));
                c0 += tc;
            }
            r0 += tr;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gather<T: Copy, U>(
    src: &[T],
    base: i64,
    sr: i64,
    sc: i64,
    tr: usize,
    tc: usize,
    out: &mut [U],
    conv: impl Fn(T) -> U,
) {
    for r in 0..tr {
        let row = base + r as i64 * sr;
        let o = &mut out[r * tc..(r + 1) * tc];
        if sc == 1 {
            let s = &src[row as usize..row as usize + tc];
            for (o, &v) in o.iter_mut().zip(s) {
                *o = conv(v);
            }
        } else {
            for (c, o) in o.iter_mut().enumerate() {
                *o = conv(src[(row + c as i64 * sc) as usize]);
            }
        }
    }
}

fn slice_of<T>(a: &ndarray::ArrayD<T>) -> &[T] {
    a.as_slice_memory_order()
        .expect("chunks are C-contiguous by construction")
}

#[allow(clippy::too_many_arguments)]
fn gather_leaf(
    leaf: &Leaf,
    inputs: &[&HostArray],
    base: i64,
    sr: i64,
    sc: i64,
    tr: usize,
    tc: usize,
    out: &mut Reg,
    scratch: &mut Scratch,
) -> Result<(), String> {
    match &leaf.source {
        LeafSource::Input(slot) => {
            let src = inputs
                .get(*slot)
                .ok_or_else(|| format!("missing input {slot}"))?;
            match (src, out) {
                (HostArray::F64(a), Reg::F64(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::F32(a), Reg::F32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::F16(a), Reg::F32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x: f16| x.to_f32())
                }
                (HostArray::BF16(a), Reg::F32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x: bf16| x.to_f32())
                }
                (HostArray::I64(a), Reg::I64(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::I32(a), Reg::I32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::U32(a), Reg::U32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::U64(a), Reg::U64(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::I8(a), Reg::I32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x as i32)
                }
                (HostArray::U8(a), Reg::I32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x as i32)
                }
                (HostArray::I16(a), Reg::I32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x as i32)
                }
                (HostArray::U16(a), Reg::I32(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x as i32)
                }
                (HostArray::Bool(a), Reg::Bool(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::C64(a), Reg::C64(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (HostArray::C128(a), Reg::C128(o)) => {
                    gather(slice_of(a), base, sr, sc, tr, tc, o, |x| x)
                }
                (a, _) => {
                    return Err(format!(
                        "input {slot} has dtype {} but the program reads {}",
                        a.dtype(),
                        leaf.dtype
                    ))
                }
            }
        }
        LeafSource::Gen(g) => gen_tile(g, leaf.dtype, base, sr, sc, tr, tc, out, scratch),
    }
    Ok(())
}

/// Fills a tile from a generator. Runs along whichever tile axis is contiguous in the
/// generator's index space, so random pairs and SIMD batches stay whole.
#[allow(clippy::too_many_arguments)]
fn gen_tile(
    g: &Generator,
    dtype: DType,
    base: i64,
    sr: i64,
    sc: i64,
    tr: usize,
    tc: usize,
    out: &mut Reg,
    s: &mut Scratch,
) {
    let n = tr * tc;
    let f32_native = matches!(g, Generator::Random { .. }) && dtype.compute() == DType::F32;
    // Produce values in f64 (or f32 for f32 random, to keep its exact bits) into scratch.
    let column_runs = sc != 1 && sr == 1 && tr > 1;
    let mut tmp64 = std::mem::take(&mut s.f64s);
    let mut tmp32 = std::mem::take(&mut s.f32s);
    // Generate straight into the output register when the types already agree.
    let direct = match out {
        Reg::F64(v) if !f32_native => {
            std::mem::swap(&mut tmp64, v);
            true
        }
        Reg::F32(v) if f32_native => {
            std::mem::swap(&mut tmp32, v);
            true
        }
        _ => false,
    };
    if column_runs {
        let mut col64 = vec![0f64; if f32_native { 0 } else { tr }];
        let mut col32 = vec![0f32; if f32_native { tr } else { 0 }];
        for c in 0..tc {
            let start = base + c as i64 * sc;
            if f32_native {
                gen_run_f32(g, start, 1, &mut col32);
                for r in 0..tr {
                    tmp32[r * tc + c] = col32[r];
                }
            } else {
                gen_run_f64(g, start, 1, &mut col64);
                for r in 0..tr {
                    tmp64[r * tc + c] = col64[r];
                }
            }
        }
    } else {
        for r in 0..tr {
            let start = base + r as i64 * sr;
            if f32_native {
                gen_run_f32(g, start, sc, &mut tmp32[r * tc..(r + 1) * tc]);
            } else {
                gen_run_f64(g, start, sc, &mut tmp64[r * tc..(r + 1) * tc]);
            }
        }
    }
    if direct {
        match out {
            Reg::F64(v) => std::mem::swap(&mut tmp64, v),
            Reg::F32(v) => {
                std::mem::swap(&mut tmp32, v);
                regs::round_half(&mut v[..n], dtype);
            }
            _ => unreachable!("direct generation only into float registers"),
        }
        s.f64s = tmp64;
        s.f32s = tmp32;
        return;
    }
    match out {
        Reg::F64(o) => o[..n].copy_from_slice(&tmp64[..n]),
        Reg::F32(o) => {
            if f32_native {
                o[..n].copy_from_slice(&tmp32[..n]);
            } else {
                for i in 0..n {
                    o[i] = tmp64[i] as f32;
                }
            }
            regs::round_half(&mut o[..n], dtype);
        }
        Reg::I64(o) => (0..n).for_each(|i| o[i] = tmp64[i] as i64),
        Reg::I32(o) => (0..n).for_each(|i| o[i] = tmp64[i] as i32),
        Reg::U32(o) => (0..n).for_each(|i| o[i] = tmp64[i] as u32),
        Reg::U64(o) => (0..n).for_each(|i| o[i] = tmp64[i] as u64),
        Reg::Bool(o) => (0..n).for_each(|i| o[i] = tmp64[i] != 0.0),
        Reg::C64(o) => (0..n).for_each(|i| o[i] = Complex32::new(tmp64[i] as f32, 0.0)),
        Reg::C128(o) => (0..n).for_each(|i| o[i] = Complex64::new(tmp64[i], 0.0)),
    }
    s.f64s = tmp64;
    s.f32s = tmp32;
}

/// Streams of the random generator (counter word 2).
const STREAM_UNIFORM_F64: u32 = 0;
const STREAM_UNIFORM_F32: u32 = 1;
const STREAM_NORMAL_F64: u32 = 2;
const STREAM_NORMAL_F32: u32 = 3;

/// Values of `g` at indices `start + i * stride`.
pub fn gen_run_f64(g: &Generator, start: i64, stride: i64, out: &mut [f64]) {
    match *g {
        Generator::Range {
            start: a,
            step,
            last,
        } => {
            for (i, o) in out.iter_mut().enumerate() {
                let idx = start + i as i64 * stride;
                *o = match last {
                    Some((l, stop)) if idx as u64 == l => stop,
                    _ => a + idx as f64 * step,
                };
            }
        }
        Generator::Eye { ncols, k } => {
            for (i, o) in out.iter_mut().enumerate() {
                let idx = (start + i as i64 * stride) as u64;
                let (row, col) = (idx / ncols, idx % ncols);
                *o = if col as i64 - row as i64 == k {
                    1.0
                } else {
                    0.0
                };
            }
        }
        Generator::Random { seed, dist } => {
            let (scale, shift) = match dist {
                Dist::Uniform { low, high } => (high - low, low),
                Dist::Normal { mean, std } => (std, mean),
                // A bounded rejection or inversion per element (`crate::sampling`).
                _ => {
                    for (i, o) in out.iter_mut().enumerate() {
                        let g = (start + i as i64 * stride) as u64;
                        *o = crate::sampling::sample(dist, seed, g);
                    }
                    return;
                }
            };
            let normal = matches!(dist, Dist::Normal { .. });
            if stride != 1 {
                for (i, o) in out.iter_mut().enumerate() {
                    let idx = (start + i as i64 * stride) as u64;
                    *o = shift + scale * random_f64_at(seed, normal, idx);
                }
                return;
            }
            let g0 = start as u64;
            if normal {
                random::fill_normal_f64(seed, STREAM_NORMAL_F64, g0, out, shift, scale);
            } else {
                random::fill_uniform_f64(seed, STREAM_UNIFORM_F64, g0, out, shift, scale);
            }
        }
    }
}

/// f32 random values at indices `start + i * stride` (other generators go through f64).
pub fn gen_run_f32(g: &Generator, start: i64, stride: i64, out: &mut [f32]) {
    let Generator::Random { seed, dist } = *g else {
        let mut tmp = vec![0f64; out.len()];
        gen_run_f64(g, start, stride, &mut tmp);
        out.iter_mut().zip(tmp).for_each(|(o, v)| *o = v as f32);
        return;
    };
    let (scale, shift, normal) = match dist {
        Dist::Uniform { low, high } => ((high - low) as f32, low as f32, false),
        Dist::Normal { mean, std } => (std as f32, mean as f32, true),
        // Sampled in f64 and rounded once.
        _ => {
            let mut tmp = vec![0f64; out.len()];
            gen_run_f64(g, start, stride, &mut tmp);
            out.iter_mut().zip(tmp).for_each(|(o, v)| *o = v as f32);
            return;
        }
    };
    let (per, stream) = if normal {
        (2u64, STREAM_NORMAL_F32)
    } else {
        (4u64, STREAM_UNIFORM_F32)
    };
    if stride == 1 {
        let g0 = start as u64;
        if normal {
            random::fill_normal_f32(seed, STREAM_NORMAL_F32, g0, out, shift, scale);
        } else {
            random::fill_uniform_f32(seed, STREAM_UNIFORM_F32, g0, out, shift, scale);
        }
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let gi = (start + i as i64 * stride) as u64;
        let c = gi / per;
        let r = random::philox4x32([c as u32, (c >> 32) as u32, stream, 0], key(seed));
        *o = shift + scale * f32_lane(r, (gi % per) as usize, normal);
    }
}

#[inline(always)]
fn f32_lane(r: [u32; 4], lane: usize, normal: bool) -> f32 {
    if normal {
        random::normal_f32(r[2 * lane], r[2 * lane + 1])
    } else {
        random::u01_f32(r[lane])
    }
}

fn key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

fn random_f64_at(seed: u64, normal: bool, g: u64) -> f64 {
    if normal {
        random::normal_f64(random::philox4x32(
            [g as u32, (g >> 32) as u32, STREAM_NORMAL_F64, 0],
            key(seed),
        ))
    } else {
        let p = g >> 1;
        let r = random::philox4x32(
            [p as u32, (p >> 32) as u32, STREAM_UNIFORM_F64, 0],
            key(seed),
        );
        if g & 1 == 0 {
            random::u01_f64(r[0], r[1])
        } else {
            random::u01_f64(r[2], r[3])
        }
    }
}
