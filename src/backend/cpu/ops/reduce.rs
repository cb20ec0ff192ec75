//! Reduction partials on the CPU: fold tiles into accumulators, combine partials in a
//! fixed order, and finalize (mean = sum / n, var from Chan's pairwise M2, ...).
//!
//! Accumulators are f64 for floats (and for mean/var/std of any dtype) and i64 for
//! integers and bools. Moments use the count/mean/M2 form with Chan et al.'s pairwise
//! update, never a sum of squares.

use super::map::{for_each_tile, Geometry, Tile};
use super::regs::Reg;
use crate::chunks::c_strides;
use crate::dtype::{DType, HostArray};
use crate::kernel::{ArgIndex, Chunk, Finalize, FusedExpr, Reduction};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

/// Numbers an accumulator can hold.
trait Num: Copy + PartialOrd + Default {
    const ONE: Self;
    const LOW: Self;
    const HIGH: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn nan(self) -> bool;
    fn truthy(self) -> bool;
}
impl Num for f64 {
    const ONE: f64 = 1.0;
    const LOW: f64 = f64::NEG_INFINITY;
    const HIGH: f64 = f64::INFINITY;
    fn add(self, o: f64) -> f64 {
        self + o
    }
    fn mul(self, o: f64) -> f64 {
        self * o
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
    fn truthy(self) -> bool {
        self != 0.0
    }
}
impl Num for i64 {
    const ONE: i64 = 1;
    const LOW: i64 = i64::MIN;
    const HIGH: i64 = i64::MAX;
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
    fn nan(self) -> bool {
        false
    }
    fn truthy(self) -> bool {
        self != 0
    }
}

#[inline(always)]
fn fold1<T: Num>(red: Reduction, acc: T, v: T) -> T {
    match red {
        Reduction::Sum => acc.add(v),
        Reduction::Prod => acc.mul(v),
        Reduction::Min => {
            if v < acc || v.nan() {
                v
            } else {
                acc
            }
        }
        Reduction::Max => {
            if v > acc || v.nan() {
                v
            } else {
                acc
            }
        }
        Reduction::Any => {
            if acc.truthy() || v.truthy() {
                T::ONE
            } else {
                T::default()
            }
        }
        Reduction::All => {
            if acc.truthy() && v.truthy() {
                T::ONE
            } else {
                T::default()
            }
        }
        _ => unreachable!("moments and arg reductions fold elsewhere"),
    }
}

fn init<T: Num>(red: Reduction) -> T {
    match red {
        Reduction::Prod | Reduction::All => T::ONE,
        Reduction::Min | Reduction::ArgMin => T::HIGH,
        Reduction::Max | Reduction::ArgMax => T::LOW,
        _ => T::default(),
    }
}

/// Is `(v, i)` a better arg candidate than `(a, ai)`? Ties and NaNs go to the first index.
#[inline(always)]
fn arg_better<T: Num>(max: bool, v: T, i: i64, a: T, ai: i64) -> bool {
    if ai < 0 {
        return true;
    }
    if v.nan() {
        return !a.nan() || i < ai;
    }
    if a.nan() {
        return false;
    }
    let strictly = if max { v > a } else { v < a };
    strictly || (v == a && i < ai)
}

/// Σ (x - m)² with 8 independent lanes (vectorises).
fn sum_sq_dev(v: &[f64], m: f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let d = c[k] - m;
            lanes[k] += d * d;
        }
    }
    let mut s: f64 = lanes.iter().sum();
    for &x in rem {
        s += (x - m) * (x - m);
    }
    s
}

/// Sum of a slice with 8 independent lanes (vectorises and is more accurate than a
/// single running sum).
fn sum_slice(v: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            lanes[k] += c[k];
        }
    }
    let mut s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for &x in rem {
        s += x;
    }
    s
}

enum Acc {
    F {
        v: Vec<f64>,
        idx: Vec<i64>,
    },
    I {
        v: Vec<i64>,
        idx: Vec<i64>,
    },
    Moments {
        n: Vec<f64>,
        mean: Vec<f64>,
        m2: Vec<f64>,
    },
}

fn is_moments(r: Reduction) -> bool {
    matches!(
        r,
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. }
    )
}

fn is_arg(r: Reduction) -> bool {
    matches!(r, Reduction::ArgMin | Reduction::ArgMax)
}

/// One reduction's accumulators over a chunk, fed tile by tile.
struct Folder {
    red: Reduction,
    arg_base: i64,
    acc_shape: Vec<usize>,
    a: (Vec<i64>, i64, i64),
    g: (Vec<i64>, i64, i64),
    acc: Acc,
    f64buf: Vec<f64>,
    i64buf: Vec<i64>,
    /// u64 values ordered by min/max/argmin/argmax travel in i64 partials with the
    /// top bit flipped, which keeps their order ([`crate::kernel::u64_key`]).
    u64_order: bool,
}

impl Folder {
    /// Accumulators for `red` over `axes` of a chunk of `shape` whose values are `dtype`.
    fn new(dtype: DType, shape: &[usize], red: Reduction, axes: &[usize], arg: &ArgIndex) -> Self {
        let d = shape.len();
        let acc_shape: Vec<usize> = (0..d)
            .map(|k| if axes.contains(&k) { 1 } else { shape[k] })
            .collect();
        let len: usize = acc_shape.iter().product();
        let cs = c_strides(&acc_shape);
        let acc_strides: Vec<i64> = (0..d)
            .map(|k| if axes.contains(&k) { 0 } else { cs[k] })
            .collect();
        let geo = Geometry::of(shape);
        let arg_strides = if arg.strides.len() == d {
            arg.strides.clone()
        } else {
            vec![0; d]
        };
        let acc = if is_moments(red) {
            Acc::Moments {
                n: vec![0.0; len],
                mean: vec![0.0; len],
                m2: vec![0.0; len],
            }
        } else if red.float_acc(dtype) {
            Acc::F {
                v: vec![init(red); len],
                idx: vec![-1; if is_arg(red) { len } else { 0 }],
            }
        } else {
            Acc::I {
                v: vec![init(red); len],
                idx: vec![-1; if is_arg(red) { len } else { 0 }],
            }
        };
        let cap = super::regs::TILE.min(shape.iter().product());
        Folder {
            red,
            arg_base: arg.base,
            acc_shape,
            a: geo.split(&acc_strides),
            g: geo.split(&arg_strides),
            acc,
            f64buf: vec![0.0f64; cap],
            i64buf: vec![0i64; cap],
            u64_order: red.u64_keyed(dtype),
        }
    }

    fn fold(&mut self, t: &Tile, vals: Vals) {
        let n = t.tr * t.tc;
        let (a_outer, a_r, a_c) = (&self.a.0, self.a.1, self.a.2);
        let (g_outer, g_r, g_c) = (&self.g.0, self.g.1, self.g.2);
        let mut a_base = 0i64;
        let mut g_base = self.arg_base;
        for (k, &o) in t.outer.iter().enumerate() {
            a_base += o as i64 * a_outer[k];
            g_base += o as i64 * g_outer[k];
        }
        let row_acc = |r: usize| (a_base + (t.r0 + r) as i64 * a_r + t.c0 as i64 * a_c) as usize;
        let row_arg = |r: usize| g_base + (t.r0 + r) as i64 * g_r + t.c0 as i64 * g_c;
        let (red, max) = (self.red, self.red == Reduction::ArgMax);
        match &mut self.acc {
            Acc::Moments { n: cnt, mean, m2 } => {
                let vals = vals.f64(n, &mut self.f64buf);
                for r in 0..t.tr {
                    let row = &vals[r * t.tc..(r + 1) * t.tc];
                    let a = row_acc(r);
                    if a_c == 0 {
                        let nb = row.len() as f64;
                        let mb = sum_slice(row) / nb;
                        let m2b = sum_sq_dev(row, mb);
                        chan(&mut cnt[a], &mut mean[a], &mut m2[a], nb, mb, m2b);
                    } else {
                        // Every accumulator of this row has seen the same rows: one count.
                        let n1 = cnt[a] + 1.0;
                        let inv = 1.0 / n1;
                        let me = &mut mean[a..a + t.tc];
                        let mm = &mut m2[a..a + t.tc];
                        for c in 0..t.tc {
                            let x = row[c];
                            let delta = x - me[c];
                            me[c] += delta * inv;
                            mm[c] += delta * (x - me[c]);
                        }
                        cnt[a..a + t.tc].fill(n1);
                    }
                }
            }
            Acc::F { v, idx } => {
                let vals = vals.f64(n, &mut self.f64buf);
                fold_rows(red, max, vals, t, a_c, g_c, &row_acc, &row_arg, v, idx);
            }
            Acc::I { v, idx } => {
                let vals = vals.i64(n, &mut self.i64buf, self.u64_order);
                fold_rows(red, max, vals, t, a_c, g_c, &row_acc, &row_arg, v, idx);
            }
        }
    }

    fn into_chunk(self) -> Chunk {
        let dims = IxDyn(&self.acc_shape);
        let arr = |v: Vec<f64>| HostArray::F64(ArrayD::from_shape_vec(dims.clone(), v).unwrap());
        let arri = |v: Vec<i64>| HostArray::I64(ArrayD::from_shape_vec(dims.clone(), v).unwrap());
        let arg = is_arg(self.red);
        let parts = match self.acc {
            Acc::Moments { n, mean, m2 } => vec![arr(n), arr(mean), arr(m2)],
            Acc::F { v, idx } if arg => vec![arr(v), arri(idx)],
            Acc::F { v, .. } => vec![arr(v)],
            Acc::I { v, idx } if arg => vec![arri(v), arri(idx)],
            Acc::I { v, .. } => vec![arri(v)],
        };
        Chunk { parts }
    }
}

/// Evaluates `expr` over a chunk of `shape` once, feeding every tile to each folder.
fn drive(
    expr: &FusedExpr,
    inputs: &[&HostArray],
    shape: &[usize],
    folders: &mut [Folder],
) -> Result<(), String> {
    match direct_f64(expr, inputs, shape).filter(|_| shape.iter().product::<usize>() > 0) {
        // A plain read of a stored f64 chunk: fold straight from its memory.
        Some(src) => {
            let geo = Geometry::of(shape);
            let outer: Vec<Vec<usize>> = if geo.outer.is_empty() {
                vec![vec![]]
            } else {
                crate::chunks::multi_indices(&geo.outer)
            };
            let tr = (super::regs::TILE / geo.cols.max(1)).clamp(1, geo.rows.max(1));
            for (outer_lin, o) in outer.iter().enumerate() {
                let mut r0 = 0;
                while r0 < geo.rows {
                    let tr = tr.min(geo.rows - r0);
                    let start = (outer_lin * geo.rows + r0) * geo.cols;
                    let t = Tile {
                        outer: o,
                        outer_lin,
                        r0,
                        tr,
                        c0: 0,
                        tc: geo.cols,
                    };
                    for f in folders.iter_mut() {
                        f.fold(&t, Vals::F64(&src[start..start + tr * geo.cols]));
                    }
                    r0 += tr;
                }
            }
            Ok(())
        }
        None => for_each_tile(expr, inputs, shape, |t: &Tile, reg: &Reg| {
            for f in folders.iter_mut() {
                f.fold(t, Vals::Reg(reg));
            }
        }),
    }
}

/// Partial reduction of one chunk: evaluate `expr` over `shape` and fold `axes`.
pub fn reduce_chunk(
    expr: &FusedExpr,
    inputs: &[&HostArray],
    shape: &[usize],
    red: Reduction,
    axes: &[usize],
    arg: &ArgIndex,
) -> Result<Chunk, String> {
    let mut f = [Folder::new(expr.dtype(), shape, red, axes, arg)];
    drive(expr, inputs, shape, &mut f)?;
    let [f] = f;
    Ok(f.into_chunk())
}

/// Several reductions of one chunk in one pass: `expr` is evaluated (or its input read)
/// once and every tile folds into each reduction's accumulators, in the same order as
/// [`reduce_chunk`] would, so each result is bit-identical to reducing alone. The output
/// holds each result's parts in turn (finalized where asked).
pub fn reduce_many(
    expr: &FusedExpr,
    inputs: &[&HostArray],
    shape: &[usize],
    outs: &[crate::kernel::ReduceOut],
) -> Result<Chunk, String> {
    let mut folders: Vec<Folder> = outs
        .iter()
        .map(|o| Folder::new(expr.dtype(), shape, o.reduction, &o.axes, &o.arg))
        .collect();
    drive(expr, inputs, shape, &mut folders)?;
    let mut parts = vec![];
    for (f, o) in folders.into_iter().zip(outs) {
        let p = f.into_chunk();
        match &o.finalize {
            Some(fin) => parts.push(finalize(o.reduction, &p, fin)?),
            None => parts.extend(p.parts),
        }
    }
    Ok(Chunk { parts })
}

#[allow(clippy::too_many_arguments)]
fn fold_rows<T: Num>(
    red: Reduction,
    max: bool,
    vals: &[T],
    t: &Tile,
    a_c: i64,
    g_c: i64,
    row_acc: &dyn Fn(usize) -> usize,
    row_arg: &dyn Fn(usize) -> i64,
    v: &mut [T],
    idx: &mut [i64],
) where
    [T]: SumRow<T>,
{
    for r in 0..t.tr {
        let row = &vals[r * t.tc..(r + 1) * t.tc];
        let a = row_acc(r);
        if is_arg(red) {
            let g0 = row_arg(r);
            for (c, &x) in row.iter().enumerate() {
                let ai = a + (c as i64 * a_c) as usize;
                let gi = g0 + c as i64 * g_c;
                if arg_better(max, x, gi, v[ai], idx[ai]) {
                    v[ai] = x;
                    idx[ai] = gi;
                }
            }
        } else if a_c == 0 {
            v[a] = if red == Reduction::Sum {
                v[a].add(row.sum_row())
            } else if matches!(red, Reduction::Min | Reduction::Max) {
                fold_lanes(red, v[a], row)
            } else {
                row.iter().fold(v[a], |acc, &x| fold1(red, acc, x))
            };
        } else {
            let dst = &mut v[a..a + t.tc];
            if red == Reduction::Sum {
                // The hot case (column sums): a plain add loop that vectorises.
                for (d, &x) in dst.iter_mut().zip(row) {
                    *d = d.add(x);
                }
            } else {
                for (d, &x) in dst.iter_mut().zip(row) {
                    *d = fold1(red, *d, x);
                }
            }
        }
    }
}

/// Min/max of a row with 8 independent lanes, NaN-propagating, then into `acc`.
fn fold_lanes<T: Num>(red: Reduction, acc: T, row: &[T]) -> T {
    let mut lanes = [acc; 8];
    let chunks = row.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            lanes[k] = fold1(red, lanes[k], c[k]);
        }
    }
    let mut out = lanes.iter().fold(acc, |a, &l| fold1(red, a, l));
    for &x in rem {
        out = fold1(red, out, x);
    }
    out
}

/// Fast row sums.
trait SumRow<T> {
    fn sum_row(&self) -> T;
}
impl SumRow<f64> for [f64] {
    fn sum_row(&self) -> f64 {
        sum_slice(self)
    }
}
impl SumRow<i64> for [i64] {
    fn sum_row(&self) -> i64 {
        self.iter().fold(0i64, |a, &b| a.wrapping_add(b))
    }
}

fn chan(n: &mut f64, mean: &mut f64, m2: &mut f64, nb: f64, mb: f64, m2b: f64) {
    if nb == 0.0 {
        return;
    }
    let na = *n;
    let nt = na + nb;
    let delta = mb - *mean;
    *mean += delta * nb / nt;
    *m2 += m2b + delta * delta * na * nb / nt;
    *n = nt;
}

/// The values of one tile: a register, or a slice of a stored chunk.
enum Vals<'a> {
    Reg(&'a Reg),
    F64(&'a [f64]),
}

impl<'a> Vals<'a> {
    fn f64(self, n: usize, buf: &'a mut [f64]) -> &'a [f64] {
        match self {
            Vals::F64(s) => s,
            Vals::Reg(r) => as_f64(r, n, buf),
        }
    }
    fn i64(self, n: usize, buf: &'a mut [i64], u64_order: bool) -> &'a [i64] {
        match self {
            Vals::Reg(Reg::U64(v)) if u64_order => {
                (0..n).for_each(|i| buf[i] = crate::kernel::u64_key(v[i]));
                &buf[..n]
            }
            Vals::Reg(r) => as_i64(r, n, buf),
            Vals::F64(s) => {
                for (b, &x) in buf.iter_mut().zip(s) {
                    *b = x as i64;
                }
                &buf[..n]
            }
        }
    }
}

/// The input slice when `expr` just reads input 0, an f64 chunk, whole and in C order.
fn direct_f64<'a>(
    expr: &FusedExpr,
    inputs: &[&'a HostArray],
    shape: &[usize],
) -> Option<&'a [f64]> {
    let ([leaf], [(crate::kernel::Instr::Leaf(0), DType::F64)]) =
        (&expr.leaves[..], &expr.instrs[..])
    else {
        return None;
    };
    if leaf.source != crate::kernel::LeafSource::Input(0)
        || leaf.offset != 0
        || leaf.strides != c_strides(shape)
    {
        return None;
    }
    match inputs.first()? {
        HostArray::F64(a) if a.shape() == shape => a.as_slice_memory_order(),
        _ => None,
    }
}

fn as_f64<'a>(reg: &'a Reg, n: usize, buf: &'a mut [f64]) -> &'a [f64] {
    match reg {
        Reg::F64(v) => return &v[..n],
        Reg::F32(v) => (0..n).for_each(|i| buf[i] = v[i] as f64),
        Reg::I64(v) => (0..n).for_each(|i| buf[i] = v[i] as f64),
        Reg::I32(v) => (0..n).for_each(|i| buf[i] = v[i] as f64),
        Reg::U32(v) => (0..n).for_each(|i| buf[i] = v[i] as f64),
        Reg::U64(v) => (0..n).for_each(|i| buf[i] = v[i] as f64),
        Reg::Bool(v) => (0..n).for_each(|i| buf[i] = v[i] as u8 as f64),
        // The array layer reduces a complex array's parts as real arrays.
        Reg::C64(v) => (0..n).for_each(|i| buf[i] = v[i].re as f64),
        Reg::C128(v) => (0..n).for_each(|i| buf[i] = v[i].re),
    }
    &buf[..n]
}

fn as_i64<'a>(reg: &'a Reg, n: usize, buf: &'a mut [i64]) -> &'a [i64] {
    match reg {
        Reg::I64(v) => return &v[..n],
        Reg::I32(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::U32(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::U64(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::Bool(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::F64(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::F32(v) => (0..n).for_each(|i| buf[i] = v[i] as i64),
        Reg::C64(v) => (0..n).for_each(|i| buf[i] = v[i].re as i64),
        Reg::C128(v) => (0..n).for_each(|i| buf[i] = v[i].re as i64),
    }
    &buf[..n]
}

fn f64s(a: &HostArray) -> Result<&[f64], String> {
    match a {
        HostArray::F64(a) => Ok(a.as_slice_memory_order().unwrap()),
        o => Err(format!("expected an f64 partial, got {}", o.dtype())),
    }
}

fn i64s(a: &HostArray) -> Result<&[i64], String> {
    match a {
        HostArray::I64(a) => Ok(a.as_slice_memory_order().unwrap()),
        o => Err(format!("expected an i64 partial, got {}", o.dtype())),
    }
}

/// Combines partials (all of one shape) in input order.
pub fn combine(red: Reduction, parts: &[&Chunk]) -> Result<Chunk, String> {
    let first = parts.first().ok_or("combine of nothing")?;
    let mut out = (*first).clone();
    for p in &parts[1..] {
        if p.parts.len() != out.parts.len() || p.parts[0].shape() != out.parts[0].shape() {
            return Err("partials of different shapes".into());
        }
        if is_moments(red) {
            let (n2, m2_, s2) = (f64s(&p.parts[0])?, f64s(&p.parts[1])?, f64s(&p.parts[2])?);
            let [HostArray::F64(n), HostArray::F64(m), HostArray::F64(s)] = &mut out.parts[..]
            else {
                return Err("bad moments partial".into());
            };
            let (n, m, s) = (
                n.as_slice_memory_order_mut().unwrap(),
                m.as_slice_memory_order_mut().unwrap(),
                s.as_slice_memory_order_mut().unwrap(),
            );
            for i in 0..n.len() {
                chan(&mut n[i], &mut m[i], &mut s[i], n2[i], m2_[i], s2[i]);
            }
            continue;
        }
        let max = red == Reduction::ArgMax;
        let (head, tail) = out.parts.split_at_mut(1);
        match &mut head[0] {
            HostArray::F64(a) => combine_vals(
                red,
                max,
                a.as_slice_memory_order_mut().unwrap(),
                f64s(&p.parts[0])?,
                tail,
                p,
            )?,
            HostArray::I64(a) => combine_vals(
                red,
                max,
                a.as_slice_memory_order_mut().unwrap(),
                i64s(&p.parts[0])?,
                tail,
                p,
            )?,
            o => return Err(format!("unexpected partial dtype {}", o.dtype())),
        }
    }
    Ok(out)
}

fn combine_vals<T: Num>(
    red: Reduction,
    max: bool,
    a: &mut [T],
    b: &[T],
    tail: &mut [HostArray],
    p: &Chunk,
) -> Result<(), String> {
    if is_arg(red) {
        let bi = i64s(&p.parts[1])?;
        let HostArray::I64(ai) = &mut tail[0] else {
            return Err("bad arg partial".into());
        };
        let ai = ai.as_slice_memory_order_mut().unwrap();
        for i in 0..a.len() {
            if bi[i] >= 0 && arg_better(max, b[i], bi[i], a[i], ai[i]) {
                a[i] = b[i];
                ai[i] = bi[i];
            }
        }
    } else {
        for i in 0..a.len() {
            a[i] = fold1(red, a[i], b[i]);
        }
    }
    Ok(())
}

/// Turns a final partial into the result chunk.
pub fn finalize(red: Reduction, p: &Chunk, fin: &Finalize) -> Result<HostArray, String> {
    let dims = IxDyn(&fin.shape);
    let from_f64 = |v: Vec<f64>| -> HostArray {
        match fin.dtype {
            DType::F32 => HostArray::F32(
                ArrayD::from_shape_vec(dims.clone(), v.iter().map(|&x| x as f32).collect())
                    .unwrap(),
            ),
            DType::F16 => HostArray::F16(
                ArrayD::from_shape_vec(dims.clone(), v.iter().map(|&x| f16::from_f64(x)).collect())
                    .unwrap(),
            ),
            DType::BF16 => HostArray::BF16(
                ArrayD::from_shape_vec(
                    dims.clone(),
                    v.iter().map(|&x| bf16::from_f64(x)).collect(),
                )
                .unwrap(),
            ),
            _ => HostArray::F64(ArrayD::from_shape_vec(dims.clone(), v).unwrap()),
        }
    };
    let keyed = red.u64_keyed(fin.dtype);
    let from_i64 = |v: Vec<i64>| -> HostArray {
        macro_rules! to {
            ($v:ident, $t:ty) => {
                HostArray::$v(
                    ArrayD::from_shape_vec(dims.clone(), v.iter().map(|&x| x as $t).collect())
                        .unwrap(),
                )
            };
        }
        match fin.dtype {
            DType::I8 => to!(I8, i8),
            DType::U8 => to!(U8, u8),
            DType::I16 => to!(I16, i16),
            DType::U16 => to!(U16, u16),
            DType::U64 if keyed => HostArray::U64(
                ArrayD::from_shape_vec(
                    dims.clone(),
                    v.iter().map(|&x| crate::kernel::u64_from_key(x)).collect(),
                )
                .unwrap(),
            ),
            DType::U64 => to!(U64, u64),
            DType::I32 => to!(I32, i32),
            DType::U32 => to!(U32, u32),
            DType::Bool => HostArray::Bool(
                ArrayD::from_shape_vec(dims.clone(), v.iter().map(|&x| x != 0).collect()).unwrap(),
            ),
            _ => HostArray::I64(ArrayD::from_shape_vec(dims.clone(), v).unwrap()),
        }
    };
    Ok(match red {
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => {
            let (n, m, s) = (f64s(&p.parts[0])?, f64s(&p.parts[1])?, f64s(&p.parts[2])?);
            let v: Vec<f64> = (0..n.len())
                .map(|i| match red {
                    Reduction::Mean => {
                        if n[i] > 0.0 {
                            m[i]
                        } else {
                            f64::NAN
                        }
                    }
                    Reduction::Var { ddof } => var(n[i], s[i], ddof),
                    Reduction::Std { ddof } => var(n[i], s[i], ddof).sqrt(),
                    _ => unreachable!(),
                })
                .collect();
            from_f64(v)
        }
        Reduction::ArgMin | Reduction::ArgMax => from_i64(i64s(&p.parts[1])?.to_vec()),
        Reduction::Any | Reduction::All => {
            let v: Vec<i64> = match &p.parts[0] {
                HostArray::F64(a) => a.iter().map(|&x| (x != 0.0) as i64).collect(),
                HostArray::I64(a) => a.iter().map(|&x| (x != 0) as i64).collect(),
                o => return Err(format!("bad partial {}", o.dtype())),
            };
            from_i64(v)
        }
        _ => match &p.parts[0] {
            HostArray::F64(a) => from_f64(a.iter().copied().collect()),
            HostArray::I64(a) => from_i64(a.iter().copied().collect()),
            o => return Err(format!("bad partial {}", o.dtype())),
        },
    })
}

/// NumPy's divisor, `max(n - ddof, 0)`: past the count the variance is `m2 / 0`, inf
/// (NaN for an empty or constant input, where m2 is 0).
fn var(n: f64, m2: f64, ddof: u32) -> f64 {
    m2 / (n - ddof as f64).max(0.0)
}
