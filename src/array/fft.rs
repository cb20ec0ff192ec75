//! Discrete Fourier transforms (`numpy.fft` and the standard's `fft` extension): the
//! one-axis transforms `fft`, `ifft`, `rfft`, `irfft`, `hfft`, `ihfft`, their n-axis
//! forms, the frequencies and the shifts.
//!
//! Why an axis spanning several chunks is transformed, not refused (dask refuses it):
//! a transform needs its whole lane, so the axis is rechunked into one chunk first — a
//! pencil transpose, the other axes' chunks shrunk so a block stays within the larger of
//! its old size and [`PENCIL_BYTES`] — and the result keeps that chunking (rechunk it
//! back with `.rechunk(x.chunks())` where the input's chunking matters). An n-axis
//! transform is one such pass per axis. Dtypes follow NumPy 2: single precision for
//! f16, f32 and complex64, double for everything else (integers and bools included).

use super::indexing::{norm_axis, pencil};
use super::{arange, where_, Array, Op};
use crate::chunks::{ChunkGrid, Chunks};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{BinaryOp, FftKind};

/// A transform's block may grow to this many bytes when its axis is made whole.
pub const PENCIL_BYTES: usize = 64 << 20;

/// How a transform is scaled (NumPy's and the standard's `norm=`).
///
/// ```
/// use tessera::array::FftNorm;
/// assert_eq!(FftNorm::parse("ortho").unwrap(), FftNorm::Ortho);
/// assert!(FftNorm::parse("unitary").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FftNorm {
    /// The forward transform unscaled, the inverse scaled by `1/n` (the default).
    #[default]
    Backward,
    /// Both scaled by `1/sqrt(n)`.
    Ortho,
    /// The forward transform scaled by `1/n`, the inverse unscaled.
    Forward,
}

impl FftNorm {
    /// The norm named `"backward"`, `"ortho"` or `"forward"`.
    pub fn parse(name: &str) -> Result<FftNorm> {
        match name {
            "backward" => Ok(FftNorm::Backward),
            "ortho" => Ok(FftNorm::Ortho),
            "forward" => Ok(FftNorm::Forward),
            other => Err(Error::arg(
                "fft",
                format!("norm must be \"backward\", \"ortho\" or \"forward\", not {other:?}"),
            )),
        }
    }

    fn scale(self, n: usize, inverse: bool) -> f64 {
        let n = n as f64;
        match (self, inverse) {
            (FftNorm::Ortho, _) => 1.0 / n.sqrt(),
            (FftNorm::Backward, true) | (FftNorm::Forward, false) => 1.0 / n,
            _ => 1.0,
        }
    }

    /// The norm of the opposite direction (what `hfft` hands `irfft`).
    fn swapped(self) -> FftNorm {
        match self {
            FftNorm::Backward => FftNorm::Forward,
            FftNorm::Forward => FftNorm::Backward,
            FftNorm::Ortho => FftNorm::Ortho,
        }
    }
}

/// The real dtype a transform of `d` computes in, NumPy 2's rule: single precision for
/// f16, f32 and complex64, double for everything else (integers and bools included).
fn precision(d: DType) -> DType {
    match d {
        DType::F16 | DType::BF16 | DType::F32 | DType::C64 => DType::F32,
        _ => DType::F64,
    }
}

impl Array {
    /// One transform of length `n` (the axis's length when `None`) along `axis`.
    fn transform(
        &self,
        op: &'static str,
        kind: FftKind,
        n: Option<usize>,
        axis: isize,
        norm: FftNorm,
    ) -> Array {
        self.then(|node| {
            let ax = norm_axis(op, axis, &node.shape)?;
            let len = node.shape[ax];
            let n = n.unwrap_or(match kind {
                FftKind::RealInverse => 2 * len.saturating_sub(1),
                _ => len,
            });
            if n < 1 {
                return Err(Error::arg(op, format!("invalid number of data points ({n}) along axis {ax} of an array of shape {:?}; pass n >= 1", node.shape)));
            }
            let real = precision(node.dtype);
            let (input, out) = match kind {
                // Real input stays real until the kernel reads it: half the bytes to move.
                FftKind::Forward | FftKind::Inverse if !node.dtype.is_complex() => {
                    (real, real.to_complex())
                }
                FftKind::Forward | FftKind::Inverse => (real.to_complex(), real.to_complex()),
                FftKind::RealForward if node.dtype.is_complex() => {
                    return Err(Error::arg(op, format!("needs real input, got {}; take .real first or use fft for complex input", node.dtype.name())));
                }
                FftKind::RealForward => (real, real.to_complex()),
                FftKind::RealInverse => (real.to_complex(), real),
            };
            let x = self.astype(input);
            let xn = x.node()?;
            let mut chunks = pencil(xn, &[ax], input.size().max(out.size()));
            let x = x.rechunk(Chunks::Explicit(chunks.clone()));
            let (_, out_len) = kind.lengths(n);
            chunks[ax] = vec![out_len];
            let mut shape = node.shape.clone();
            shape[ax] = out_len;
            let inverse = matches!(kind, FftKind::Inverse | FftKind::RealInverse);
            Ok(Array::new(
                Op::Fft {
                    kind,
                    axis: ax,
                    n,
                    scale: norm.scale(n, inverse),
                },
                vec![x],
                shape,
                out,
                ChunkGrid::new(chunks),
            ))
        })
    }

    /// The discrete Fourier transform along `axis`, of length `n` (the input cut or
    /// padded with zeros; the axis's length when `None`), like `numpy.fft.fft`.
    ///
    /// ```
    /// use tessera::array::FftNorm;
    /// let x = tessera::arange(0.0, 4.0, 1.0, 2).unwrap();
    /// let f = x.fft(None, -1, FftNorm::Backward).compute::<tessera::Complex64>().unwrap();
    /// assert_eq!(f[[0]].re, 6.0);
    /// assert_eq!((f[[1]].re, f[[1]].im), (-2.0, 2.0));
    /// ```
    pub fn fft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        self.transform("fft", FftKind::Forward, n, axis, norm)
    }

    /// The inverse of [`Array::fft`] (scaled by `1/n` under the default norm).
    pub fn ifft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        self.transform("ifft", FftKind::Inverse, n, axis, norm)
    }

    /// The `n/2 + 1` non-negative frequencies of the transform of real input.
    ///
    /// ```
    /// use tessera::array::FftNorm;
    /// let x = tessera::ones(&[6], 4).unwrap();
    /// assert_eq!(x.rfft(None, 0, FftNorm::Backward).shape(), &[4]);
    /// ```
    pub fn rfft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        self.transform("rfft", FftKind::RealForward, n, axis, norm)
    }

    /// The `n` real values (`2 (m - 1)` when `None`) whose `rfft` is this spectrum.
    pub fn irfft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        self.transform("irfft", FftKind::RealInverse, n, axis, norm)
    }

    /// The real transform of a Hermitian-symmetric signal given by its first half
    /// (`irfft` of the conjugate in the opposite norm, as NumPy defines it).
    pub fn hfft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        let c = self.then(|node| Ok(self.astype(precision(node.dtype).to_complex()).conj()));
        c.transform("hfft", FftKind::RealInverse, n, axis, norm.swapped())
    }

    /// The inverse of [`Array::hfft`]: the conjugate of `rfft` in the opposite norm.
    pub fn ihfft(&self, n: Option<usize>, axis: isize, norm: FftNorm) -> Array {
        self.transform("ihfft", FftKind::RealForward, n, axis, norm.swapped())
            .conj()
    }

    /// The lengths and axes of an n-axis transform (NumPy's rules: the last `len(s)`
    /// axes when only `s` is given, every axis when neither is).
    fn nd_args(
        &self,
        op: &'static str,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        real_inverse: bool,
    ) -> Result<(Vec<usize>, Vec<isize>)> {
        let n = self.node()?;
        let nd = n.shape.len() as isize;
        let axes: Vec<isize> = match (axes, s) {
            (Some(a), _) => a.to_vec(),
            (None, Some(s)) => (nd - s.len() as isize..nd).collect(),
            (None, None) => (0..nd).collect(),
        };
        let s = match s {
            Some(s) if s.len() != axes.len() => {
                return Err(Error::arg(
                    op,
                    format!(
                        "s has {} lengths but axes {:?} name {} axes; give one length per axis",
                        s.len(),
                        axes,
                        axes.len()
                    ),
                ))
            }
            s => s.map(|s| s.to_vec()).unwrap_or(vec![None; axes.len()]),
        };
        let k = axes.len();
        let s = axes
            .iter()
            .zip(s)
            .enumerate()
            .map(|(i, (&a, len))| {
                let m = n.shape[norm_axis(op, a, &n.shape)?];
                Ok(len.unwrap_or(if real_inverse && i + 1 == k {
                    2 * m.saturating_sub(1)
                } else {
                    m
                }))
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok((s, axes))
    }

    /// The transform over several axes (`fftn`; `fft2` is `axes = [-2, -1]`): `s` gives
    /// the lengths (`None` for an axis's own length, the standard's `-1`), `axes` the
    /// axes, as `numpy.fft.fftn`.
    ///
    /// ```
    /// use tessera::array::FftNorm;
    /// let x = tessera::ones(&[4, 6], 2).unwrap();
    /// let f = x.fftn(None, None, FftNorm::Backward).compute::<tessera::Complex64>().unwrap();
    /// assert_eq!(f[[0, 0]].re, 24.0);
    /// assert_eq!(f[[1, 2]].norm(), 0.0);
    /// ```
    pub fn fftn(
        &self,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Array {
        self.nd("fftn", FftKind::Forward, None, s, axes, norm)
    }

    /// The inverse of [`Array::fftn`].
    pub fn ifftn(
        &self,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Array {
        self.nd("ifftn", FftKind::Inverse, None, s, axes, norm)
    }

    /// An n-axis transform: `kind` along `axes`, except the last of them when `real`
    /// names a real transform (run there first when forward, last when inverse).
    fn nd(
        &self,
        op: &'static str,
        kind: FftKind,
        real: Option<FftKind>,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Array {
        let go = || -> Result<Array> {
            let (s, axes) = self.nd_args(op, s, axes, real == Some(FftKind::RealInverse))?;
            let k = match real {
                None => axes.len(),
                Some(_) => axes
                    .len()
                    .checked_sub(1)
                    .ok_or_else(|| Error::arg(op, "needs at least one axis"))?,
            };
            let mut x = self.clone();
            if real == Some(FftKind::RealForward) {
                x = x.transform(op, FftKind::RealForward, Some(s[k]), axes[k], norm);
            }
            for (&n, &a) in s[..k].iter().zip(&axes[..k]).rev() {
                x = x.transform(op, kind, Some(n), a, norm);
            }
            if real == Some(FftKind::RealInverse) {
                x = x.transform(op, FftKind::RealInverse, Some(s[k]), axes[k], norm);
            }
            Ok(x)
        };
        go().unwrap_or_else(Array::err)
    }

    /// The transform of real input over several axes: `rfft` along the last of `axes`,
    /// then `fft` along the others.
    pub fn rfftn(
        &self,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Array {
        let real = Some(FftKind::RealForward);
        self.nd("rfftn", FftKind::Forward, real, s, axes, norm)
    }

    /// The inverse of [`Array::rfftn`]: `ifft` along all but the last of `axes`, then
    /// `irfft` along it (to `s`'s last length, `2 (m - 1)` by default).
    pub fn irfftn(
        &self,
        s: Option<&[Option<usize>]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Array {
        let real = Some(FftKind::RealInverse);
        self.nd("irfftn", FftKind::Inverse, real, s, axes, norm)
    }

    /// Moves the zero frequency to the middle of `axes` (every axis when `None`): a roll
    /// by half the length, like `numpy.fft.fftshift`.
    ///
    /// ```
    /// let f = tessera::fftfreq(5, 1.0, 5).unwrap().fftshift(None);
    /// assert_eq!(f.compute::<f64>().unwrap().as_slice().unwrap(), &[-0.4, -0.2, 0.0, 0.2, 0.4]);
    /// ```
    pub fn fftshift(&self, axes: Option<&[isize]>) -> Array {
        self.shift("fftshift", axes, false)
    }

    /// The inverse of [`Array::fftshift`] (they differ for odd lengths).
    pub fn ifftshift(&self, axes: Option<&[isize]>) -> Array {
        self.shift("ifftshift", axes, true)
    }

    fn shift(&self, op: &'static str, axes: Option<&[isize]>, back: bool) -> Array {
        self.then(|n| {
            let all: Vec<isize> = (0..n.shape.len() as isize).collect();
            let mut x = self.clone();
            for &a in axes.unwrap_or(&all) {
                let ax = norm_axis(op, a, &n.shape)?;
                let half = (n.shape[ax] / 2) as isize;
                x = x.roll(if back { -half } else { half }, Some(ax as isize));
            }
            Ok(x)
        })
    }
}

/// The sample frequencies of an `n`-point transform with sample spacing `d`, zero first,
/// then the positive ones, then the negative ones (f64), like `numpy.fft.fftfreq`.
///
/// ```
/// let f = tessera::fftfreq(4, 0.5, 2).unwrap();
/// assert_eq!(f.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.5, -1.0, -0.5]);
/// ```
pub fn fftfreq(n: usize, d: f64, chunks: impl Into<Chunks>) -> Result<Array> {
    freq_check("fftfreq", n, d)?;
    let i = arange(0.0, n as f64, 1.0, chunks)?;
    let positive = n.div_ceil(2) as f64;
    let k = where_(&i.binary(BinaryOp::Lt, positive), &i, &(&i - n as f64));
    Ok(&k / (d * n as f64))
}

/// The `n/2 + 1` non-negative sample frequencies of an `n`-point real transform, like
/// `numpy.fft.rfftfreq`.
///
/// ```
/// let f = tessera::rfftfreq(5, 1.0, 5).unwrap();
/// assert_eq!(f.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.2, 0.4]);
/// ```
pub fn rfftfreq(n: usize, d: f64, chunks: impl Into<Chunks>) -> Result<Array> {
    freq_check("rfftfreq", n, d)?;
    Ok(&arange(0.0, (n / 2 + 1) as f64, 1.0, chunks)? / (d * n as f64))
}

fn freq_check(op: &'static str, n: usize, d: f64) -> Result<()> {
    if n == 0 || d == 0.0 || !d.is_finite() {
        return Err(Error::arg(
            op,
            format!("needs n >= 1 and a finite, non-zero spacing d (got n {n}, d {d})"),
        ));
    }
    Ok(())
}
