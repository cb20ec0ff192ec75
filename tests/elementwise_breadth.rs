//! The integer and division functions, shifts and scans on every device: integers
//! against an i128 reference written here from Python's definitions (an independent
//! spelling of what `floor_divide`, `remainder`, `fmod` and the shifts mean), floats
//! bit-for-bit against the CPU (whose answers the Python suite holds to NumPy), and
//! scans bit-for-bit across chunkings.

mod common;

use common::*;
use ndarray::{arr1, ArrayD};
use tessera::kernel::ScanKind;
use tessera::{Array, DType, Device, HostArray};

fn int_dtypes() -> impl Iterator<Item = DType> {
    DType::ALL.into_iter().filter(|d| d.is_int())
}

/// The range of integer dtype `dtype`.
fn range(dtype: DType) -> (i128, i128) {
    let bits = 8 * dtype.size() as u32;
    if dtype.is_signed_int() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

fn ints(dtype: DType) -> Vec<i128> {
    let (lo, hi) = range(dtype);
    let mut v: Vec<i128> = vec![
        0,
        1,
        2,
        3,
        7,
        31,
        32,
        33,
        63,
        64,
        100,
        hi,
        hi - 1,
        hi / 2 + 1,
    ];
    if lo < 0 {
        v.extend([-1, -2, -7, -64, lo, lo + 1]);
    }
    v.retain(|&x| x <= hi);
    v
}

fn as_array(v: &[i128], dtype: DType, chunks: usize) -> Array {
    macro_rules! arr {
        ($t:ty) => {
            tessera::from_ndarray(
                arr1(&v.iter().map(|&x| x as $t).collect::<Vec<_>>()).into_dyn(),
                chunks,
            )
        };
    }
    match dtype {
        DType::I8 => arr!(i8),
        DType::U8 => arr!(u8),
        DType::I16 => arr!(i16),
        DType::U16 => arr!(u16),
        DType::I32 => arr!(i32),
        DType::U32 => arr!(u32),
        DType::U64 => arr!(u64),
        _ => arr!(i64),
    }
    .unwrap()
}

fn host_ints(h: HostArray) -> Vec<i128> {
    match h {
        HostArray::I8(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::U8(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::I16(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::U16(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::I32(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::U32(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::I64(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::U64(a) => a.iter().map(|&x| x as i128).collect(),
        HostArray::Bool(a) => a.iter().map(|&x| x as i128).collect(),
        other => panic!("not an integer result: {:?}", other.dtype()),
    }
}

/// `v` wrapped into `dtype`'s range, as two's complement hardware does.
fn wrap(v: i128, dtype: DType) -> i128 {
    let bits = 8 * dtype.size() as u32;
    let m = v.rem_euclid(1i128 << bits);
    if dtype.is_signed_int() && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

#[test]
fn integer_division_bitwise_and_shifts_on_every_device() {
    for dtype in int_dtypes() {
        let vals = ints(dtype);
        let pairs: Vec<(i128, i128)> = vals
            .iter()
            .flat_map(|&a| vals.iter().map(move |&b| (a, b)))
            .collect();
        let (av, bv): (Vec<i128>, Vec<i128>) = pairs.iter().copied().unzip();
        let (x, y) = (as_array(&av, dtype, 17), as_array(&bv, dtype, 29));
        let bits = 8 * dtype.size() as i128;
        // Exact: a - (a mod b) is a multiple of b.
        let floor_div = |a: i128, b: i128| if b == 0 { 0 } else { (a - py_rem(a, b)) / b };
        type R = Box<dyn Fn(i128, i128) -> i128>;
        let cases: Vec<(&str, Array, R)> = vec![
            ("add", &x + &y, Box::new(|a, b| a + b)),
            ("subtract", &x - &y, Box::new(|a, b| a - b)),
            (
                "multiply",
                &x * &y,
                Box::new(|a: i128, b| a.wrapping_mul(b)),
            ),
            ("maximum", x.maximum(&y), Box::new(|a: i128, b| a.max(b))),
            ("minimum", x.minimum(&y), Box::new(|a: i128, b| a.min(b))),
            // Chained, so a result not wrapped between instructions would show.
            (
                "(a + b) // 3 < a",
                (&x + &y).floor_divide(3).lt(&x).astype(dtype),
                Box::new(move |a, b| {
                    let s = wrap(a + b, dtype);
                    (s.div_euclid(3) < a) as i128
                }),
            ),
            ("negative", -&x, Box::new(|a, _| -a)),
            ("abs", x.abs(), Box::new(|a: i128, _| a.abs())),
            ("floor_divide", x.floor_divide(&y), Box::new(floor_div)),
            ("remainder", x.remainder(&y), Box::new(py_rem)),
            (
                "fmod",
                x.fmod(&y),
                Box::new(|a, b| if b == 0 { 0 } else { a % b }),
            ),
            ("bitwise_and", x.bitwise_and(&y), Box::new(|a, b| a & b)),
            ("bitwise_or", x.bitwise_or(&y), Box::new(|a, b| a | b)),
            ("bitwise_xor", x.bitwise_xor(&y), Box::new(|a, b| a ^ b)),
            (
                "left_shift",
                x.shl(&y),
                Box::new(move |a, b| {
                    if b < 0 || b >= bits {
                        0
                    } else {
                        wrap(a << b, dtype)
                    }
                }),
            ),
            (
                "right_shift",
                x.shr(&y),
                Box::new(move |a, b| {
                    if b < 0 || b >= bits {
                        if a < 0 {
                            -1
                        } else {
                            0
                        }
                    } else {
                        a >> b
                    }
                }),
            ),
        ];
        for (name, z, want) in cases {
            assert_eq!(z.dtype(), dtype, "{name} keeps {dtype}");
            for d in devices() {
                // Where the device has the dtype, the arithmetic runs there (narrow
                // integers packed into words on wgpu; without SHADER_INT64, 64-bit ones
                // run on the CPU).
                let held = match d {
                    Device::Cpu => false,
                    Device::Wgpu(_) => dtype.size() < 8 || caps(d).i64,
                    _ => true,
                };
                if held && name == "add" {
                    let (on, _) = device_share(&z, d);
                    assert!(on > 0, "{name} of {dtype} ran nothing on {d}");
                }
                let got = host_ints(
                    z.compute_host_with(&opts(d))
                        .unwrap_or_else(|e| panic!("{name} on {d}: {e}")),
                );
                for (k, (&(a, b), g)) in pairs.iter().zip(&got).enumerate() {
                    assert_eq!(
                        *g,
                        wrap(want(a, b), dtype),
                        "{name}({a}, {b}) as {dtype} on {d} (element {k})"
                    );
                }
            }
        }
    }
}

/// Python's `a % b`: in `[0, |b|)` moved to `(b, 0]` for a negative divisor (0 for b = 0,
/// NumPy's answer).
fn py_rem(a: i128, b: i128) -> i128 {
    if b == 0 {
        return 0;
    }
    let r = a.rem_euclid(b.abs());
    if b < 0 && r != 0 {
        r + b
    } else {
        r
    }
}

#[test]
fn float_division_and_friends_give_the_cpus_bits_on_every_device() {
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.5,
        3.0,
        7.25,
        -7.25,
        1e-30,
        1e30,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let pairs: Vec<(f64, f64)> = special
        .iter()
        .flat_map(|&a| special.iter().map(move |&b| (a, b)))
        .collect();
    let a = arr1(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()).into_dyn();
    let b = arr1(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()).into_dyn();
    for dtype in [DType::F64, DType::F32, DType::F16] {
        let x = tessera::from_ndarray(a.clone(), 23).unwrap().astype(dtype);
        let y = tessera::from_ndarray(b.clone(), 31).unwrap().astype(dtype);
        let mut cases = vec![
            ("floor_divide", x.floor_divide(&y)),
            ("remainder", x.remainder(&y)),
            ("fmod", x.fmod(&y)),
            ("fmax", x.fmax(&y)),
            ("fmin", x.fmin(&y)),
            ("logaddexp", x.logaddexp(&y)),
            ("sign", x.sign()),
            ("signbit", x.signbit().astype(DType::F64)),
            ("cbrt", x.cbrt()),
            ("exp2", x.exp2()),
        ];
        if dtype != DType::F16 {
            cases.push(("nextafter", x.nextafter(&y)));
        }
        for (name, z) in cases {
            let exact = !matches!(name, "logaddexp" | "cbrt" | "exp2");
            let runs = run(&z.astype(DType::F64));
            let cpu = &runs[0].1;
            // An independent check of the CPU where one is simple: the floor quotient
            // and remainder recombine to the dividend.
            if name == "floor_divide" && dtype == DType::F64 {
                for (&(p, q), g) in pairs.iter().zip(cpu.iter()) {
                    if p.is_finite() && q.is_finite() && q != 0.0 && (p / q).abs() < 1e15 {
                        assert_eq!(
                            *g,
                            (p - p % q) / q
                                - if p % q != 0.0 && ((q < 0.0) != (p % q < 0.0)) {
                                    1.0
                                } else {
                                    0.0
                                },
                            "floor_divide({p}, {q})"
                        );
                    }
                }
            }
            for (d, got) in &runs[1..] {
                for (k, (g, w)) in got.iter().zip(cpu.iter()).enumerate() {
                    let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
                    let close = !exact && (g - w).abs() <= 4.0 * f32::EPSILON as f64 * w.abs();
                    assert!(
                        same || close,
                        "{name}{:?} as {dtype} on {d}: got {g}, CPU {w}",
                        pairs[k]
                    );
                }
            }
        }
    }
}

#[test]
fn scans_give_the_same_bits_for_every_chunking_on_every_device() {
    let a: ArrayD<f64> = data(&[13, 10], 5);
    let want_sum = {
        let mut w = a.clone();
        for i in 1..13 {
            for j in 0..10 {
                w[[i, j]] += w[[i - 1, j]];
            }
        }
        w
    };
    for chunks in [vec![1, 1], vec![4, 3], vec![13, 10], vec![5, 10]] {
        let x = tessera::from_ndarray(a.clone(), &chunks[..]).unwrap();
        for (d, got) in run(&x.cumulative(ScanKind::Sum, Some(0), false)) {
            assert_eq!(got, want_sum, "cumsum over chunks {chunks:?} on {d}");
        }
        let c = x.cumulative(ScanKind::Prod, Some(1), true);
        assert_eq!(c.shape(), &[13, 11]);
        let got = c.compute::<f64>().unwrap();
        for i in 0..13 {
            let mut p = 1.0;
            assert_eq!(got[[i, 0]], 1.0);
            for j in 0..10 {
                p *= a[[i, j]];
                assert_eq!(got[[i, j + 1]], p, "cumprod row {i} over chunks {chunks:?}");
            }
        }
    }
    // Integers accumulate in int64, wrapping as NumPy's do.
    let i = tessera::from_ndarray(arr1(&[i64::MAX, 1, 2]).into_dyn(), 1).unwrap();
    assert_eq!(
        i.cumsum(None)
            .compute::<i64>()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![i64::MAX, i64::MIN, i64::MIN + 2]
    );
    assert_eq!(
        tessera::ones(&[3], 1)
            .unwrap()
            .astype(DType::Bool)
            .cumsum(None)
            .dtype(),
        DType::I64
    );
}

#[test]
fn reductions_and_scans_of_every_integer_width_on_every_device() {
    for dtype in int_dtypes() {
        let vals = ints(dtype);
        let v: Vec<i128> = (0..5).flat_map(|_| vals.iter().copied()).collect();
        let x = as_array(&v, dtype, 7);
        let acc = if dtype.is_unsigned_int() {
            DType::U64
        } else {
            DType::I64
        };
        let max_at = (0..v.len()).fold(0, |m, i| if v[i] > v[m] { i } else { m });
        let min_at = (0..v.len()).fold(0, |m, i| if v[i] < v[m] { i } else { m });
        let cums: Vec<i128> = v
            .iter()
            .scan(0i128, |s, &a| {
                *s = wrap(*s + a, acc);
                Some(*s)
            })
            .collect();
        let cases: Vec<(&str, Array, DType, Vec<i128>)> = vec![
            ("sum", x.sum(), acc, vec![wrap(v.iter().sum(), acc)]),
            ("max", x.max(), dtype, vec![v[max_at]]),
            ("min", x.min(), dtype, vec![v[min_at]]),
            ("argmax", x.argmax(), DType::I64, vec![max_at as i128]),
            ("argmin", x.argmin(), DType::I64, vec![min_at as i128]),
            ("cumsum", x.cumsum(None), acc, cums),
        ];
        for (name, z, out, want) in cases {
            assert_eq!(z.dtype(), out, "{name} of {dtype}");
            for d in devices() {
                let got = host_ints(
                    z.compute_host_with(&opts(d))
                        .unwrap_or_else(|e| panic!("{name} of {dtype} on {d}: {e}")),
                );
                assert_eq!(got, want, "{name} of {dtype} on {d}");
            }
        }
    }
}
