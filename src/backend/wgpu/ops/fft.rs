//! Fourier transforms on wgpu: every lane of a chunk transformed in a work buffer of
//! `M` complex values per lane, by four kernels (`shaders/fft_*.wgsl`): load (cut, pad,
//! real or Hermitian input to complex), radix-2 Stockham passes, store (scale, half
//! spectrum or real part, back to the chunk's layout). A length that is not a power of
//! two goes through Bluestein's algorithm: the chirp-multiplied input convolved with the
//! chirp filter by a forward and an inverse transform of length `M >= 2n - 1`.
//!
//! Why the twiddles, chirps and filter come from the host in f64: WGSL has no f64
//! `sin`/`cos`, and f32 ones on GPUs are loosely bounded; tables computed once in f64
//! (the filter by rustfft) keep f32 transforms within the f32 rounding of the passes.

use super::super::{codegen, GpuBuf, WgpuBackend};
use crate::backend::{Buffer, Decline};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::{FftKind, FftOp};
use num_complex::Complex64;
use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

/// The kernels' sources for one precision.
fn sources(scalar: &str) -> [String; 4] {
    [
        include_str!("../../../../shaders/fft_load.wgsl"),
        include_str!("../../../../shaders/fft_pass.wgsl"),
        include_str!("../../../../shaders/fft_mul.wgsl"),
        include_str!("../../../../shaders/fft_store.wgsl"),
    ]
    .map(|s| s.replace("SCALAR", scalar))
}

/// The work length of a transform of length `n`: `n` itself when a power of two, else
/// Bluestein's `M`.
fn work_len(n: usize) -> (usize, bool) {
    if n.is_power_of_two() {
        (n, false)
    } else {
        ((2 * n - 1).next_power_of_two(), true)
    }
}

/// Which host-computed table a transform uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    /// `exp(sign 2πi j / M)` for `j < M/2`: the Stockham passes' twiddles.
    Twiddles,
    /// Bluestein's chirp `w_j = exp(sign πi j² / n)` for `j < n` (`j²` reduced mod `2n`,
    /// so the angle stays exact for any length).
    Chirp,
    /// The transform of the chirp filter `b_m = conj(w_m)` (wrapped circularly into
    /// `M`), divided by `M`: what the chirped input's spectrum is multiplied by.
    Filter,
}

/// Table `t` for a transform of length `n` in a work buffer of `big`, direction `sign`,
/// computed once in f64 and kept (as rustfft keeps its plans; at most 64 at a time).
fn table(t: Table, n: usize, big: usize, sign: f64) -> Arc<Vec<Complex64>> {
    type Tables = Mutex<HashMap<(Table, usize, usize, bool), Arc<Vec<Complex64>>>>;
    static CACHE: OnceLock<Tables> = OnceLock::new();
    // Twiddles depend on the work length only, a chirp on the transform's length only.
    let key = match t {
        Table::Twiddles => (t, 0, big, sign > 0.0),
        Table::Chirp => (t, n, 0, sign > 0.0),
        Table::Filter => (t, n, big, sign > 0.0),
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return v.clone();
    }
    let v: Vec<Complex64> = match t {
        Table::Twiddles => (0..big / 2)
            .map(|j| Complex64::from_polar(1.0, sign * 2.0 * PI * j as f64 / big as f64))
            .collect(),
        Table::Chirp => (0..n)
            .map(|j| {
                let r = ((j as u128 * j as u128) % (2 * n as u128)) as f64;
                Complex64::from_polar(1.0, sign * PI * r / n as f64)
            })
            .collect(),
        Table::Filter => {
            let w = table(Table::Chirp, n, big, sign);
            let mut b = vec![Complex64::new(0.0, 0.0); big];
            for (m, wm) in w.iter().enumerate() {
                b[m] = wm.conj();
                if m > 0 {
                    b[big - m] = wm.conj();
                }
            }
            rustfft::FftPlanner::new()
                .plan_fft_forward(big)
                .process(&mut b);
            let scale = 1.0 / big as f64;
            b.into_iter().map(|z| z * scale).collect()
        }
    };
    let v = Arc::new(v);
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() >= 64 {
        c.clear();
    }
    c.insert(key, v.clone());
    v
}

/// How many lanes a transform's result holds (every axis but the transformed one).
fn lane_count(op: &FftOp) -> usize {
    op.shape
        .iter()
        .enumerate()
        .filter(|&(a, _)| a != op.axis)
        .map(|(_, &s)| s)
        .product()
}

impl WgpuBackend {
    /// The real dtype a transform computes in here, or why it cannot run here.
    pub(in crate::backend::wgpu) fn plan_fft(
        &self,
        op: &FftOp,
    ) -> std::result::Result<DType, Decline> {
        let real = op.dtype.real_part();
        let scalar = codegen::storage_type(real, self.caps)?;
        let (big, _) = work_len(op.n);
        let lanes = lane_count(op);
        let widest = 2 * lanes * big.max(op.shape[op.axis]) * real.size();
        if widest > self.limits.max_storage_buffer_binding_size as usize
            || 2 * lanes * big > u32::MAX as usize
        {
            return Err(Decline::size(
                "the transform's work buffer exceeds the storage binding",
            ));
        }
        for s in sources(scalar) {
            // A kernel that fails to compile is an error of the task, met again in `run`.
            let _ = self.pipeline(&s);
        }
        Ok(real)
    }

    pub(in crate::backend::wgpu) fn fft(&self, op: &FftOp, inputs: &[&Buffer]) -> Result<Buffer> {
        let name = op.kind.name();
        let real = op.dtype.real_part();
        let scalar =
            codegen::storage_type(real, self.caps).map_err(|d| self.fail(name, d.to_string()))?;
        let [load, pass, mul, store] = sources(scalar);
        let input: &GpuBuf =
            self.buf(inputs.first().ok_or_else(|| self.fail(name, "no input"))?)?;
        let m = input.shape[op.axis];
        let inner: usize = input.shape[op.axis + 1..].iter().product();
        let lanes = lane_count(op);
        let out_len = op.shape[op.axis];
        let total: usize = op.shape.iter().product();
        let out = self.alloc(total * op.dtype.size());
        if total == 0 {
            return Ok(self.wrap(out, op.dtype, op.shape.clone()));
        }
        let (big, bluestein) = work_len(op.n);
        let forward = matches!(op.kind, FftKind::Forward | FftKind::RealForward);
        let sign = if forward { -1.0 } else { 1.0 };
        // The load kernel's input form: complex, real, or a Hermitian half spectrum.
        let kind = match op.kind {
            FftKind::RealInverse => 2u32,
            _ if !input.dtype.is_complex() => 1,
            _ => 0,
        };
        let upload = |v: &[Complex64]| {
            let flat: Vec<f64> = v.iter().flat_map(|z| [z.re, z.im]).collect();
            if real == DType::F64 {
                self.alloc_init(bytemuck::cast_slice(&flat))
            } else {
                let f: Vec<f32> = flat.iter().map(|&x| x as f32).collect();
                self.alloc_init(bytemuck::cast_slice(&f))
            }
        };
        let scalars = |v: f64| {
            if real == DType::F64 {
                self.alloc_init(bytemuck::bytes_of(&v))
            } else {
                self.alloc_init(bytemuck::bytes_of(&(v as f32)))
            }
        };
        let meta = |p: usize| {
            let m: [u32; 10] = [
                lanes as u32,
                op.n as u32,
                big as u32,
                m as u32,
                inner.max(1) as u32,
                out_len as u32,
                kind,
                bluestein as u32,
                p as u32,
                0,
            ];
            self.alloc_init(bytemuck::cast_slice(&m))
        };
        let (load, pass, mul, store) = (
            self.pipeline(&load)?,
            self.pipeline(&pass)?,
            self.pipeline(&mul)?,
            self.pipeline(&store)?,
        );
        self.scoped(name, || {
            let work = [
                self.alloc(2 * lanes * big * real.size()),
                self.alloc(2 * lanes * big * real.size()),
            ];
            let w = if bluestein {
                table(Table::Chirp, op.n, big, sign)
            } else {
                // Unread without a chirp, but every binding needs a buffer.
                Arc::new(vec![Complex64::new(1.0, 0.0)])
            };
            let wbuf = upload(&w);
            let m0 = meta(0);
            self.run_kernel(
                &load,
                &[&m0, &work[0], &input.buffer, &wbuf],
                self.groups_1d(lanes * big),
            );
            let mut cur = 0;
            let passes = |cur: &mut usize, sign: f64| {
                let tw = upload(&table(Table::Twiddles, op.n, big, sign));
                let mut p = 1;
                while p < big {
                    let mp = meta(p);
                    self.run_kernel(
                        &pass,
                        &[&mp, &work[1 - *cur], &work[*cur], &tw],
                        self.groups_1d(lanes * big / 2),
                    );
                    *cur = 1 - *cur;
                    p *= 2;
                }
            };
            if bluestein {
                passes(&mut cur, -1.0);
                let f = upload(&table(Table::Filter, op.n, big, sign));
                self.run_kernel(&mul, &[&m0, &work[cur], &f], self.groups_1d(lanes * big));
                passes(&mut cur, 1.0);
            } else {
                passes(&mut cur, sign);
            }
            let scale = scalars(op.scale);
            self.run_kernel(
                &store,
                &[&m0, &out, &work[cur], &wbuf, &scale],
                self.groups_1d(lanes * out_len),
            );
            Ok(())
        })?;
        Ok(self.wrap(out, op.dtype, op.shape.clone()))
    }
}
