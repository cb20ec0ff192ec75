//! complex64 and complex128: promotion, arithmetic against the textbook formulas computed
//! here element by element, the parts, reductions from the parts, scans, errors for what
//! has no complex meaning, and (on every accelerator) a complex task declining to the
//! CPU with the right answer. NumPy is the reference for the functions in
//! `python/tests/test_complex.py`.

mod common;

use ndarray::ArrayD;
use tessera::{Array, Complex32, Complex64, DType, Error, HostArray};

type C = Complex64;

/// Deterministic complex values of moderate size (where the textbook division formula
/// is as exact as Smith's), with signed zeros among them.
fn values(shape: &[usize], seed: u64) -> ArrayD<C> {
    let re = common::data(shape, seed);
    let im = common::data(shape, seed + 17);
    let mut z = ndarray::Zip::from(&re)
        .and(&im)
        .map_collect(|&a, &b| C::new(a, b));
    if let Some(v) = z.iter_mut().nth(3) {
        *v = C::new(-0.0, 0.0);
    }
    z
}

fn arr(z: &ArrayD<C>, chunks: &[usize]) -> Array {
    tessera::array::from_host(HostArray::C128(z.clone()), chunks).unwrap()
}

fn close(a: C, b: C, tol: f64) -> bool {
    let nan = |z: C| z.re.is_nan() || z.im.is_nan();
    (nan(a) && nan(b)) || (a - b).norm() <= tol * (1.0 + b.norm())
}

#[test]
fn complex_promotion_follows_numpy() {
    use DType::*;
    let cases = [
        (C64, F32, C64),
        (C64, F64, C128),
        (C64, F16, C64),
        (C64, I16, C64),
        (C64, I32, C128),
        (C64, U64, C128),
        (C128, F32, C128),
        (C64, C128, C128),
        (Bool, C64, C64),
    ];
    for (a, b, want) in cases {
        assert_eq!(a.promote(b), want, "{a} + {b}");
        assert_eq!(b.promote(a), want, "{b} + {a}");
    }
    assert_eq!(C64.size(), 8);
    assert_eq!(C128.real_part(), F64);
    assert_eq!(F32.to_complex(), C64);
    // A Python complex literal is weak: it keeps float32's precision.
    let s = tessera::Scalar::WeakComplex(C::new(0.0, 1.0));
    assert_eq!(s.dtype_with(F32), C64);
    assert_eq!(s.dtype_with(I32), C128);
}

#[test]
fn arithmetic_matches_the_textbook_formulas_over_uneven_chunks() {
    let (a, b) = (values(&[23, 17], 1), values(&[23, 17], 2));
    let (x, y) = (arr(&a, &[7, 5]), arr(&b, &[10, 17]));
    let textbook_div = |p: C, q: C| {
        let d = q.re * q.re + q.im * q.im;
        C::new(
            (p.re * q.re + p.im * q.im) / d,
            (p.im * q.re - p.re * q.im) / d,
        )
    };
    type Case = (&'static str, Array, fn(C, C) -> C);
    let ops: [Case; 4] = [
        ("add", &x + &y, |p, q| C::new(p.re + q.re, p.im + q.im)),
        ("sub", &x - &y, |p, q| C::new(p.re - q.re, p.im - q.im)),
        ("mul", &x * &y, |p, q| {
            C::new(p.re * q.re - p.im * q.im, p.re * q.im + p.im * q.re)
        }),
        ("div", &x / &y, textbook_div),
    ];
    for (name, z, f) in ops {
        let got = z.compute::<C>().unwrap();
        for (i, (&p, &q)) in a.iter().zip(b.iter()).enumerate() {
            let want = f(p, q);
            let g = got.as_slice().unwrap()[i];
            assert!(close(g, want, 1e-15), "{name}({p}, {q}) = {g}, want {want}");
        }
    }
    // A real operand joins as a complex one with a zero imaginary part.
    let r = (&x * 2.0).compute::<C>().unwrap();
    assert_eq!(r, a.mapv(|p| C::new(2.0 * p.re, 2.0 * p.im)));
}

#[test]
fn parts_magnitude_and_angle_are_real() {
    let a = values(&[9, 8], 3);
    let x = arr(&a, &[4, 3]);
    assert_eq!(x.real().dtype(), DType::F64);
    assert_eq!(x.real().compute::<f64>().unwrap(), a.mapv(|z| z.re));
    assert_eq!(x.imag().compute::<f64>().unwrap(), a.mapv(|z| z.im));
    assert_eq!(
        x.conj().compute::<C>().unwrap(),
        a.mapv(|z| C::new(z.re, -z.im))
    );
    assert_eq!(
        x.abs().compute::<f64>().unwrap(),
        a.mapv(|z| z.re.hypot(z.im))
    );
    assert_eq!(
        x.angle().compute::<f64>().unwrap(),
        a.mapv(|z| z.im.atan2(z.re))
    );
    // Rebuilt from its parts, exactly; infinite parts stay infinite.
    let back = tessera::array::complex(&x.real(), &x.imag());
    assert_eq!(back.compute::<C>().unwrap(), a);
    let inf = tessera::full(&[2], f64::INFINITY, 2).unwrap();
    let z = tessera::array::complex(&inf, &inf).compute::<C>().unwrap();
    assert!(z.iter().all(|v| v.re.is_infinite() && v.im.is_infinite()));
    // Of a real array: itself, zeros, itself.
    let r = tessera::arange(0.0, 4.0, 1.0, 3).unwrap();
    assert_eq!(r.imag().compute::<f64>().unwrap().sum(), 0.0);
    assert_eq!(r.conj().dtype(), DType::F64);
}

#[test]
fn reductions_of_a_complex_array_are_those_of_its_parts() {
    let a = values(&[31, 12], 4);
    let x = arr(&a, &[8, 5]);
    let n = a.len() as f64;
    let sum = a.iter().fold(C::new(0.0, 0.0), |s, &v| s + v);
    let mean = sum / n;
    let var = a.iter().map(|&v| (v - mean).norm_sqr()).sum::<f64>() / n;
    let got_sum = x.sum().compute::<C>().unwrap().into_raw_vec_and_offset().0[0];
    let got_mean = x.mean().compute::<C>().unwrap().into_raw_vec_and_offset().0[0];
    assert!(close(got_sum, sum, 1e-13), "{got_sum} vs {sum}");
    assert!(close(got_mean, mean, 1e-13));
    assert_eq!(x.var(0).dtype(), DType::F64);
    assert!((x.var(0).compute_scalar::<f64>().unwrap() - var).abs() < 1e-12 * var);
    assert!((x.std(0).compute_scalar::<f64>().unwrap() - var.sqrt()).abs() < 1e-12);
    // Along an axis, against the ndarray reference.
    let s0 = x.sum_axis(0).compute::<C>().unwrap();
    let want = a.sum_axis(ndarray::Axis(0));
    for (g, w) in s0.iter().zip(want.iter()) {
        assert!(close(*g, *w, 1e-13));
    }
    // No order: max and argmin refuse, by name.
    for r in [x.max(), x.argmin()] {
        match r.compute_host() {
            Err(Error::UnsupportedDType { dtype, hint, .. }) => {
                assert_eq!(dtype, DType::C128);
                assert!(hint.contains("no order"), "{hint}");
            }
            other => panic!("expected an UnsupportedDType error, got {other:?}"),
        }
    }
}

#[test]
fn a_complex_running_sum_is_the_same_for_any_chunking() {
    let a = values(&[40], 5);
    let mut want = Vec::with_capacity(a.len());
    let mut acc = C::new(0.0, 0.0);
    for &v in a.iter() {
        acc += v;
        want.push(acc);
    }
    for chunks in [1usize, 7, 13, 40] {
        let got = arr(&a, &[chunks]).cumsum(Some(0)).compute::<C>().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w, 1e-14), "chunks {chunks}: {g} vs {w}");
        }
    }
}

#[test]
fn functions_without_a_complex_meaning_are_refused_by_name() {
    let x = arr(&values(&[4], 6), &[2]);
    for (name, r) in [
        ("floor", x.floor()),
        ("less", x.lt(&x)),
        ("maximum", x.binary(tessera::kernel::BinaryOp::Maximum, &x)),
        ("remainder", x.binary(tessera::kernel::BinaryOp::Rem, &x)),
    ] {
        match r.compute_host() {
            Err(Error::UnsupportedDType { op, dtype, .. }) => {
                assert_eq!(dtype, DType::C128, "{name}");
                assert!(op.contains(name) || name.contains(op), "{op} vs {name}");
            }
            other => panic!("{name}: expected UnsupportedDType, got {other:?}"),
        }
    }
}

#[test]
fn complex64_computes_in_single_precision() {
    let a = values(&[50], 7).mapv(|z| Complex32::new(z.re as f32, z.im as f32));
    let x = tessera::array::from_host(HostArray::C64(a.clone()), 16).unwrap();
    let y = (&x * &x + 1.0).compute::<Complex32>().unwrap();
    for (g, &z) in y.iter().zip(a.iter()) {
        let w = z * z + Complex32::new(1.0, 0.0);
        assert_eq!(*g, w, "complex64 arithmetic is f32 arithmetic, bit for bit");
    }
    assert_eq!(
        (&x + 1.0f64).dtype(),
        DType::C64,
        "a weak float keeps complex64"
    );
    assert_eq!(
        (&x + &tessera::ones(&[50], 16).unwrap()).dtype(),
        DType::C128
    );
}

#[test]
fn complex_round_trips_through_npy_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("tessera-complex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = values(&[13, 6], 8);
    let p = dir.join("z.npy");
    arr(&a, &[5, 6]).to_npy(&p).unwrap();
    let back = tessera::from_npy(&p, &[4, 4][..]).unwrap();
    assert_eq!(back.dtype(), DType::C128);
    assert_eq!(back.compute::<C>().unwrap(), a);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The elementary functions of complex numbers have no device form yet: on every
/// accelerator they decline by kind and the CPU computes them, with its bits; sums of
/// complex arrays fold their parts on the device where it can.
#[test]
fn complex_functions_decline_to_the_cpu_on_every_accelerator() {
    let a = values(&[64, 32], 9);
    let x = arr(&a, &[16, 16]);
    let e = x.exp().sqrt();
    let cpu = e.compute_host().unwrap();
    let s = x.sum_axis(1);
    let s_cpu = s.compute::<C>().unwrap();
    for dev in common::accelerators() {
        assert_eq!(
            e.compute_host_with(&common::opts(dev)).unwrap(),
            cpu,
            "{dev:?}"
        );
        let (on_dev, _) = common::device_share(&e, dev);
        assert_eq!(on_dev, 0, "{dev:?} ran a complex exp it has no kernel for");
        let g = s.compute_with::<C>(&common::opts(dev)).unwrap();
        for (p, q) in g.iter().zip(s_cpu.iter()) {
            assert!(close(*p, *q, 1e-13), "{dev:?}: {p} vs {q}");
        }
    }
}

#[test]
fn a_complex_product_is_a_tree_of_complex_blocks() {
    let a = values(&[9, 7], 10).mapv(|z| z / 3.0);
    let x = arr(&a, &[2, 3]);
    let all = a.iter().fold(C::new(1.0, 0.0), |p, &v| p * v);
    let got = x.prod().compute::<C>().unwrap().into_raw_vec_and_offset().0[0];
    assert!(close(got, all, 1e-12), "{got} vs {all}");
    let rows = x.prod_axis(1).compute::<C>().unwrap();
    for (i, g) in rows.iter().enumerate() {
        let w = a
            .index_axis(ndarray::Axis(0), i)
            .iter()
            .fold(C::new(1.0, 0.0), |p, &v| p * v);
        assert!(close(*g, w, 1e-13), "row {i}: {g} vs {w}");
    }
    assert_eq!(x.prod_axes(&[0], true).shape(), &[1, 7]);
}

/// Devices compile a program once per structure and bake constants into it: two complex
/// constants that differ only in their imaginary part are two kernels.
#[test]
fn complex_constants_differing_in_the_imaginary_part_are_different_kernels() {
    let x = arr(&values(&[32], 11), &[16]);
    let a = x.binary(
        tessera::kernel::BinaryOp::Mul,
        tessera::Scalar::C128(C::new(1.0, 2.0)),
    );
    let b = x.binary(
        tessera::kernel::BinaryOp::Mul,
        tessera::Scalar::C128(C::new(1.0, -5.0)),
    );
    let want_a = a.compute::<C>().unwrap();
    let want_b = b.compute::<C>().unwrap();
    assert_ne!(want_a, want_b);
    for dev in common::accelerators() {
        assert_eq!(
            a.compute_host_with(&common::opts(dev)).unwrap().to_f64(),
            want_a.mapv(|z| z.re)
        );
        let got_b = b.compute_with::<C>(&common::opts(dev)).unwrap();
        for (g, w) in got_b.iter().zip(want_b.iter()) {
            assert!(close(*g, *w, 1e-15), "{dev:?}: {g} vs {w}");
        }
    }
}
