//! Fourier transforms against a direct O(n²) DFT of each lane (independent of the FFT
//! library), on every device, with the transformed axis in one chunk and in many.

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use tessera::array::FftNorm;
use tessera::{Array, Complex64, HostArray};

/// The direct transform of every lane along `ax`, of length `n` (cut or zero-padded).
fn dft(a: &ArrayD<Complex64>, ax: usize, n: usize, inverse: bool) -> ArrayD<Complex64> {
    let mut shape = a.shape().to_vec();
    shape[ax] = n;
    let mut out = ArrayD::from_elem(IxDyn(&shape), Complex64::new(0.0, 0.0));
    let sign = if inverse { 1.0 } else { -1.0 };
    for (lin, mut lout) in a.lanes(Axis(ax)).into_iter().zip(out.lanes_mut(Axis(ax))) {
        for k in 0..n {
            let mut s = Complex64::new(0.0, 0.0);
            for (j, &v) in lin.iter().enumerate().take(n) {
                let t = sign * 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                s += v * Complex64::new(t.cos(), t.sin());
            }
            lout[k] = s;
        }
    }
    out
}

fn complex_data(shape: &[usize], seed: u64) -> ArrayD<Complex64> {
    let re = data(shape, seed);
    let im = data(shape, seed + 99);
    ndarray::Zip::from(&re)
        .and(&im)
        .map_collect(|&r, &i| Complex64::new(r, i))
}

/// Every device's complex128 result, within `tol` of `want` (relative to the largest).
fn check_complex(x: &Array, want: &ArrayD<Complex64>, tol: f64) {
    let scale = want.iter().map(|z| z.norm()).fold(1.0, f64::max);
    for d in devices() {
        let got = match x.compute_host_with(&opts(d)).unwrap() {
            HostArray::C128(g) => g,
            other => panic!("{x} on {d}: dtype {:?}", other.dtype()),
        };
        assert_eq!(got.shape(), want.shape(), "{x} on {d}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).norm() <= tol * scale, "{x} on {d}: {g} vs {w}");
        }
    }
}

fn check_real(x: &Array, want: &ArrayD<f64>, tol: f64) {
    let scale = want.iter().map(|v| v.abs()).fold(1.0, f64::max);
    for d in devices() {
        let got = x.compute_host_with(&opts(d)).unwrap().to_f64();
        assert_eq!(got.shape(), want.shape(), "{x} on {d}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() <= tol * scale, "{x} on {d}: {g} vs {w}");
        }
    }
}

fn lazy(a: &ArrayD<Complex64>, chunks: &[usize]) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

#[test]
fn fft_and_ifft_match_the_direct_transform_for_every_length_and_chunking() {
    for (len, chunk) in [
        (1, 1),
        (2, 1),
        (5, 2),
        (8, 3),
        (12, 12),
        (17, 4),
        (64, 10),
        (1000, 300),
        (1024, 1024),
    ] {
        let a = complex_data(&[3, len], len as u64);
        for ax in [0usize, 1] {
            let x = lazy(&a, &[2, chunk]);
            let n = a.shape()[ax];
            check_complex(
                &x.fft(None, ax as isize, FftNorm::Backward),
                &dft(&a, ax, n, false),
                1e-12,
            );
            let inv = dft(&a, ax, n, true).mapv(|z| z / n as f64);
            check_complex(&x.ifft(None, ax as isize, FftNorm::Backward), &inv, 1e-12);
        }
    }
}

#[test]
fn n_cuts_or_pads_and_every_norm_scales() {
    let a = complex_data(&[4, 10], 7);
    let x = lazy(&a, &[3, 4]);
    for n in [3usize, 10, 16] {
        let plain = dft(&a, 1, n, false);
        let cases = [
            (FftNorm::Backward, 1.0),
            (FftNorm::Ortho, 1.0 / (n as f64).sqrt()),
            (FftNorm::Forward, 1.0 / n as f64),
        ];
        for (norm, s) in cases {
            check_complex(&x.fft(Some(n), -1, norm), &plain.mapv(|z| z * s), 1e-12);
        }
    }
}

#[test]
fn real_transforms_round_trip_and_match_the_half_spectrum() {
    for (len, chunk) in [(1usize, 1usize), (6, 4), (7, 2), (31, 8)] {
        let r = data(&[len, 3], len as u64);
        let c = r.mapv(|v| Complex64::new(v, 0.0));
        let x = tessera::from_ndarray(r.clone(), &[chunk, 2]).unwrap();
        let full = dft(&c, 0, len, false);
        let half = full.slice_axis(Axis(0), (0..len / 2 + 1).into()).to_owned();
        let f = x.rfft(None, 0, FftNorm::Backward);
        check_complex(&f, &half, 1e-12);
        // irfft needs n for odd lengths: 2 (m - 1) is even.
        check_real(&f.irfft(Some(len), 0, FftNorm::Backward), &r, 1e-12);
        // hfft of the half spectrum of a Hermitian signal is n times the real signal's
        // transform read back; ihfft inverts it.
        let h = x.ihfft(None, 0, FftNorm::Backward);
        check_real(&h.hfft(Some(len), 0, FftNorm::Backward), &r, 1e-12);
    }
}

#[test]
fn n_axis_transforms_are_one_axis_after_another() {
    let a = complex_data(&[6, 5, 4], 3);
    let x = lazy(&a, &[4, 2, 3]);
    let want = dft(&dft(&dft(&a, 2, 4, false), 1, 5, false), 0, 6, false);
    check_complex(&x.fftn(None, None, FftNorm::Backward), &want, 1e-11);
    let back = x
        .fftn(None, None, FftNorm::Ortho)
        .ifftn(None, None, FftNorm::Ortho);
    check_complex(&back, &a, 1e-12);
    // fft2 with lengths: the last two axes, cut and padded.
    let want = dft(&dft(&a, 2, 6, false), 1, 3, false);
    check_complex(
        &x.fftn(Some(&[Some(3), Some(6)]), None, FftNorm::Backward),
        &want,
        1e-11,
    );
    let r = data(&[6, 5, 4], 4);
    let xr = tessera::from_ndarray(r.clone(), &[4, 2, 3]).unwrap();
    let back = xr.rfftn(None, Some(&[0, 2]), FftNorm::Backward).irfftn(
        Some(&[Some(6), None]),
        Some(&[0, 2]),
        FftNorm::Backward,
    );
    check_real(&back, &r, 1e-12);
}

#[test]
fn dtypes_follow_numpy() {
    let x = tessera::ones(&[8], 3).unwrap();
    assert_eq!(
        x.astype(tessera::DType::F32)
            .fft(None, 0, FftNorm::Backward)
            .dtype(),
        tessera::DType::C64
    );
    assert_eq!(
        x.astype(tessera::DType::I32)
            .fft(None, 0, FftNorm::Backward)
            .dtype(),
        tessera::DType::C128
    );
    assert_eq!(
        x.astype(tessera::DType::F32)
            .rfft(None, 0, FftNorm::Backward)
            .dtype(),
        tessera::DType::C64
    );
    assert_eq!(
        x.rfft(None, 0, FftNorm::Backward)
            .irfft(None, 0, FftNorm::Backward)
            .dtype(),
        tessera::DType::F64
    );
    // complex64 computes in single precision and stays close to the f64 answer.
    let a = complex_data(&[2, 33], 5);
    let x32 = lazy(&a, &[1, 8]).astype(tessera::DType::C64);
    let got = match x32.fft(None, 1, FftNorm::Backward).compute_host().unwrap() {
        HostArray::C64(g) => g,
        other => panic!("dtype {:?}", other.dtype()),
    };
    let want = dft(&a, 1, 33, false);
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((Complex64::new(g.re.into(), g.im.into()) - w).norm() < 1e-4 * 33.0);
    }
}

#[test]
fn bad_lengths_and_norms_are_clear_errors() {
    let x = tessera::ones(&[4, 1], 2).unwrap();
    let e = x
        .fft(Some(0), 0, FftNorm::Backward)
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("fft") && e.contains("n >= 1"), "{e}");
    let e = x
        .irfft(None, 1, FftNorm::Backward)
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("irfft") && e.contains("(0)"), "{e}");
    let e = x
        .fft(None, 2, FftNorm::Backward)
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("axis"), "{e}");
    let e = x
        .fftn(Some(&[Some(4)]), Some(&[0, 1]), FftNorm::Backward)
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("one length per axis"), "{e}");
    assert!(FftNorm::parse("none")
        .unwrap_err()
        .to_string()
        .contains("ortho"));
    let c = x.astype(tessera::DType::C128);
    let e = c
        .rfft(None, 0, FftNorm::Backward)
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("real input"), "{e}");
}

#[test]
fn frequencies_and_shifts_match_numpy() {
    let f = tessera::fftfreq(7, 0.1, 3)
        .unwrap()
        .compute::<f64>()
        .unwrap();
    let want = [0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0].map(|v| v / 0.7);
    for (g, w) in f.iter().zip(want) {
        assert!((g - w).abs() < 1e-12);
    }
    let x = tessera::arange(0.0, 10.0, 1.0, 3).unwrap().reshape(&[2, 5]);
    let s = x.fftshift(None).compute::<f64>().unwrap();
    assert_eq!(
        s.as_slice().unwrap(),
        &[8., 9., 5., 6., 7., 3., 4., 0., 1., 2.]
    );
    let back = x
        .fftshift(Some(&[1]))
        .ifftshift(Some(&[1]))
        .compute::<f64>()
        .unwrap();
    assert_eq!(back, x.compute::<f64>().unwrap());
}

#[test]
fn a_chunked_axis_becomes_whole_and_blocks_stay_bounded() {
    // 4096 x 4096 complex128 in 512² chunks: the transformed axis is made whole and the
    // other axis narrowed so a block stays within the pencil budget.
    let x = tessera::zeros(&[4096, 4096], 512)
        .unwrap()
        .astype(tessera::DType::C128);
    let f = x.fft(None, 0, FftNorm::Backward);
    let max = f.chunks().unwrap().max_chunk();
    assert_eq!(max[0], 4096);
    assert!(
        max[0] * max[1] * 16 <= tessera::array::PENCIL_BYTES,
        "{max:?}"
    );
}

#[test]
fn transforms_run_on_the_device_for_powers_of_two_and_other_lengths() {
    let Some(i) = test_adapter() else {
        eprintln!("SKIPPED: no wgpu adapter");
        return;
    };
    let d = tessera::Device::Wgpu(i);
    for len in [8usize, 12, 1] {
        let a = complex_data(&[5, len], len as u64);
        let x = lazy(&a, &[2, len.max(1)]).astype(tessera::DType::C64);
        let f = x.fft(None, 1, FftNorm::Backward);
        let (on_device, _) = device_share(&f, d);
        assert!(
            on_device >= 3,
            "fft of length {len}: {on_device} tasks on {d}"
        );
        let r = tessera::from_ndarray(data(&[len, 3], 1), &[len.max(1), 2]).unwrap();
        let (on_device, _) = device_share(
            &r.astype(tessera::DType::F32).rfft(None, 0, FftNorm::Ortho),
            d,
        );
        assert!(on_device >= 2, "rfft of length {len} on {d}");
    }
    // complex64 on the device within f32 rounding of the direct transform, for a power
    // of two and a Bluestein length.
    for len in [4096usize, 1500] {
        let a = complex_data(&[2, len], 9);
        let x = lazy(&a, &[1, 1000]).astype(tessera::DType::C64);
        let got = match x
            .fft(None, 1, FftNorm::Backward)
            .compute_host_with(&opts(d))
            .unwrap()
        {
            HostArray::C64(g) => g,
            other => panic!("dtype {:?}", other.dtype()),
        };
        let want = dft(&a, 1, len, false);
        let scale = want.iter().map(|z| z.norm()).fold(0.0, f64::max);
        for (g, w) in got.iter().zip(want.iter()) {
            let g = Complex64::new(g.re.into(), g.im.into());
            assert!((g - w).norm() < 1e-5 * scale, "length {len}: {g} vs {w}");
        }
    }
}
