//! Fourier transforms of every lane along one axis of a chunk, by `rustfft` (complex)
//! and `realfft` (real input or output), planned once per length and direction and
//! kept for the life of the process (a planner per precision; a plan is shared by every
//! worker thread).
//!
//! Why the axis is moved last first: the transforms then read and write contiguous
//! rows, and the lanes split into row batches that run in parallel; the two copies are
//! memory-bound and small next to the transform's `n log n` work.

use crate::dtype::HostArray;
use crate::kernel::{FftKind, FftOp};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use num_complex::Complex;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use rustfft::{FftNum, FftPlanner};
use std::sync::{Arc, Mutex, OnceLock};

/// Rows per parallel batch: enough work per batch to amortize its scratch buffers.
const BATCH_VALUES: usize = 1 << 16;

/// The process-wide planners of one precision.
trait Plans: FftNum + Default {
    fn complex() -> &'static Mutex<FftPlanner<Self>>;
    fn real() -> &'static Mutex<RealFftPlanner<Self>>;
    fn of_f64(v: f64) -> Self;
}

macro_rules! plans {
    ($t:ty) => {
        impl Plans for $t {
            fn complex() -> &'static Mutex<FftPlanner<Self>> {
                static P: OnceLock<Mutex<FftPlanner<$t>>> = OnceLock::new();
                P.get_or_init(|| Mutex::new(FftPlanner::new()))
            }
            fn real() -> &'static Mutex<RealFftPlanner<Self>> {
                static P: OnceLock<Mutex<RealFftPlanner<$t>>> = OnceLock::new();
                P.get_or_init(|| Mutex::new(RealFftPlanner::new()))
            }
            fn of_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}
plans!(f32);
plans!(f64);

/// The chunk with `axis` last, in C order, and the order that puts it back.
fn axis_last<T: Clone>(x: &ArrayD<T>, axis: usize) -> (ArrayD<T>, Vec<usize>) {
    let nd = x.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|&a| a != axis).collect();
    perm.push(axis);
    let moved = x.view().permuted_axes(IxDyn(&perm));
    let mut back = vec![0; nd];
    for (j, &p) in perm.iter().enumerate() {
        back[p] = j;
    }
    (moved.as_standard_layout().into_owned(), back)
}

/// Every lane of `x` along `axis` made into `out_len` values by `f`, which gets the
/// lane, its output row and a work state kept across the rows of a batch (scratch and
/// padded copies, allocated once per batch, not per lane).
fn lanes<I: Clone + Sync, O: Clone + Default + Send, W: Default>(
    x: &ArrayD<I>,
    axis: usize,
    out_len: usize,
    f: impl Fn(&[I], &mut [O], &mut W) + Sync,
) -> ArrayD<O> {
    let (moved, back) = axis_last(x, axis);
    let src = moved.as_slice().expect("standard layout");
    let in_len = *moved.shape().last().unwrap_or(&0);
    let mut shape = moved.shape().to_vec();
    *shape.last_mut().expect("an axis") = out_len;
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let mut out = vec![O::default(); rows * out_len];
    if rows > 0 && out_len > 0 {
        let per = (BATCH_VALUES / out_len.max(in_len).max(1)).max(1);
        let empty: &[I] = &[];
        out.par_chunks_mut(out_len * per)
            .enumerate()
            .for_each(|(b, o)| {
                let mut work = W::default();
                for (r, orow) in o.chunks_mut(out_len).enumerate() {
                    let row = b * per + r;
                    let irow = if in_len == 0 {
                        empty
                    } else {
                        &src[row * in_len..(row + 1) * in_len]
                    };
                    f(irow, orow, &mut work);
                }
            });
    }
    let a = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("rows × length");
    let view: ArrayViewD<O> = a.view().permuted_axes(IxDyn(&back));
    view.as_standard_layout().into_owned()
}

fn scaled<T: Plans>(v: &mut [Complex<T>], s: f64) {
    if s != 1.0 {
        let s = T::of_f64(s);
        v.iter_mut().for_each(|z| *z = *z * s);
    }
}

/// `lane` cut or zero-padded to `len` values, in `buf`.
fn padded<T: Copy + Default>(buf: &mut Vec<T>, lane: &[T], len: usize) {
    buf.clear();
    buf.extend_from_slice(&lane[..lane.len().min(len)]);
    buf.resize(len, T::default());
}

/// Complex transforms of complex lanes, or of real ones read as complex (the graph
/// leaves real input real, so pencils move half the bytes).
fn complex<T: Plans, I: Copy + Sync + Into<Complex<T>>>(
    x: &ArrayD<I>,
    op: &FftOp,
) -> ArrayD<Complex<T>> {
    let plan = {
        let mut p = T::complex().lock().unwrap_or_else(|e| e.into_inner());
        match op.kind {
            FftKind::Inverse => p.plan_fft_inverse(op.n),
            _ => p.plan_fft_forward(op.n),
        }
    };
    lanes(x, op.axis, op.n, |i, o, scratch: &mut Vec<Complex<T>>| {
        for (o, &v) in o.iter_mut().zip(i) {
            *o = v.into();
        }
        scratch.resize(plan.get_inplace_scratch_len(), Complex::default());
        plan.process_with_scratch(o, scratch);
        scaled(o, op.scale);
    })
}

fn real_forward<T: Plans>(x: &ArrayD<T>, op: &FftOp) -> ArrayD<Complex<T>> {
    let plan: Arc<dyn realfft::RealToComplex<T>> = T::real()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .plan_fft_forward(op.n);
    let (_, out_len) = op.kind.lengths(op.n);
    type Work<T> = (Vec<T>, Vec<Complex<T>>);
    lanes(x, op.axis, out_len, |i, o, (buf, scratch): &mut Work<T>| {
        padded(buf, i, op.n);
        scratch.resize(plan.get_scratch_len(), Complex::default());
        // Lengths match the plan by construction, so the only error is impossible.
        let _ = plan.process_with_scratch(buf, o, scratch);
        scaled(o, op.scale);
    })
}

fn real_inverse<T: Plans>(x: &ArrayD<Complex<T>>, op: &FftOp) -> ArrayD<T> {
    let plan: Arc<dyn realfft::ComplexToReal<T>> = T::real()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .plan_fft_inverse(op.n);
    let (half, _) = op.kind.lengths(op.n);
    let s = T::of_f64(op.scale);
    type Work<T> = (Vec<Complex<T>>, Vec<Complex<T>>);
    lanes(x, op.axis, op.n, |i, o, (buf, scratch): &mut Work<T>| {
        padded(buf, i, half);
        // NumPy ignores the imaginary parts a real signal's spectrum cannot have.
        buf[0].im = T::default();
        if op.n.is_multiple_of(2) {
            buf[half - 1].im = T::default();
        }
        scratch.resize(plan.get_scratch_len(), Complex::default());
        let _ = plan.process_with_scratch(buf, o, scratch);
        if op.scale != 1.0 {
            o.iter_mut().for_each(|v| *v = *v * s);
        }
    })
}

/// Runs one transform task on a host chunk.
pub(crate) fn run(op: &FftOp, x: &HostArray) -> Result<HostArray, String> {
    use FftKind::*;
    Ok(match (op.kind, x) {
        (Forward | Inverse, HostArray::C64(a)) => HostArray::C64(complex(a, op)),
        (Forward | Inverse, HostArray::C128(a)) => HostArray::C128(complex(a, op)),
        (Forward | Inverse, HostArray::F32(a)) => HostArray::C64(complex(a, op)),
        (Forward | Inverse, HostArray::F64(a)) => HostArray::C128(complex(a, op)),
        (RealForward, HostArray::F32(a)) => HostArray::C64(real_forward(a, op)),
        (RealForward, HostArray::F64(a)) => HostArray::C128(real_forward(a, op)),
        (RealInverse, HostArray::C64(a)) => HostArray::F32(real_inverse(a, op)),
        (RealInverse, HostArray::C128(a)) => HostArray::F64(real_inverse(a, op)),
        (kind, other) => {
            return Err(format!(
                "{} has no form for {} input (the graph casts to a float or complex dtype first)",
                kind.name(),
                other.dtype().name()
            ))
        }
    })
}
