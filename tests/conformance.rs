//! The conformance suite: every op against an independent dense ndarray reference, on
//! every device in `common::devices()`.

mod common;

use common::*;
use ndarray::{arr1, ArrayD, Axis, IxDyn};
use tessera::kernel::Reduction;
use tessera::{DType, Index};

fn src(a: &ArrayD<f64>, chunks: &[usize]) -> tessera::Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

#[test]
fn creation_matches_numpy() {
    assert_close(
        &tessera::zeros(&[5, 7], 3).unwrap(),
        &ArrayD::zeros(IxDyn(&[5, 7])),
        0.0,
    );
    assert_close(
        &tessera::ones(&[4], 3).unwrap(),
        &ArrayD::ones(IxDyn(&[4])),
        0.0,
    );
    assert_close(
        &tessera::full(&[2, 3], 2.5, 2).unwrap(),
        &ArrayD::from_elem(IxDyn(&[2, 3]), 2.5),
        0.0,
    );
    // arange(1, 50, 3) in chunks of 5: 17 values.
    let a = tessera::arange(1.0, 50.0, 3.0, 5).unwrap();
    let expect: Vec<f64> = (0..17).map(|i| 1.0 + 3.0 * i as f64).collect();
    assert_close(&a, &arr1(&expect).into_dyn(), 0.0);
    assert_eq!(a.chunks().unwrap().sizes(0), &[5, 5, 5, 2]);
    let a = tessera::arange(5.0, 0.0, -1.5, 2).unwrap();
    assert_close(&a, &arr1(&[5.0, 3.5, 2.0, 0.5]).into_dyn(), 0.0);
    let l = tessera::linspace(-1.0, 2.0, 7, true, 3).unwrap();
    let expect: Vec<f64> = (0..7).map(|i| -1.0 + 0.5 * i as f64).collect();
    assert_close(&l, &arr1(&expect).into_dyn(), 1e-15);
    let l = tessera::linspace(0.0, 1.0, 4, false, 3).unwrap();
    assert_close(&l, &arr1(&[0.0, 0.25, 0.5, 0.75]).into_dyn(), 1e-15);
    let e = tessera::eye(4, Some(6), 1, 3).unwrap();
    let mut expect = ArrayD::zeros(IxDyn(&[4, 6]));
    for i in 0..4 {
        expect[[i, i + 1]] = 1.0;
    }
    assert_close(&e, &expect, 0.0);
    let d = data(&[7, 5, 3], 1);
    assert_close(&src(&d, &[3, 2, 3]), &d, 0.0);
}

#[test]
fn auto_chunks_target_128_mib() {
    let x = tessera::zeros(&[100_000, 100_000], "auto").unwrap();
    let c = x.chunks().unwrap().max_chunk();
    let bytes = c[0] * c[1] * 8;
    assert!(
        bytes <= 128 << 20 && bytes > 64 << 20,
        "auto chunk {c:?} = {bytes} bytes"
    );
    let y = tessera::zeros(&[10, 100_000_000], "auto").unwrap();
    assert_eq!(y.chunks().unwrap().max_chunk()[0], 10);
}

#[test]
fn sampled_distributions_are_the_per_element_function_in_any_chunking_on_every_device() {
    use tessera::kernel::Dist;
    use tessera::random as r;
    type Make = Box<dyn Fn(&[usize]) -> tessera::Array>;
    let cases: Vec<(Dist, DType, Make)> = vec![
        (
            Dist::Integers {
                low: -7,
                high: 1000,
            },
            DType::I64,
            Box::new(|c: &[usize]| r::integers(&[31, 19], c, 9, -7, 1000, DType::I64).unwrap()),
        ),
        (
            Dist::Exponential { scale: 2.0 },
            DType::F64,
            Box::new(|c: &[usize]| r::exponential(&[31, 19], c, 9, 2.0, DType::F64).unwrap()),
        ),
        (
            Dist::Gamma {
                shape: 0.3,
                scale: 1.5,
            },
            DType::F32,
            Box::new(|c: &[usize]| r::gamma(&[31, 19], c, 9, 0.3, 1.5, DType::F32).unwrap()),
        ),
        (
            Dist::Beta { a: 2.0, b: 0.5 },
            DType::F64,
            Box::new(|c: &[usize]| r::beta(&[31, 19], c, 9, 2.0, 0.5, DType::F64).unwrap()),
        ),
        (
            Dist::Poisson { lam: 37.5 },
            DType::I32,
            Box::new(|c: &[usize]| r::poisson(&[31, 19], c, 9, 37.5, DType::I32).unwrap()),
        ),
        (
            Dist::Binomial { n: 500, p: 0.7 },
            DType::I64,
            Box::new(|c: &[usize]| r::binomial(&[31, 19], c, 9, 500, 0.7, DType::I64).unwrap()),
        ),
    ];
    for (dist, dtype, make) in cases {
        // The reference: the per-element sampler, element by element (C order).
        let want: Vec<f64> = (0..31 * 19u64)
            .map(|g| {
                let v = tessera::sampling::sample(dist, 9, g);
                if dtype == DType::F32 {
                    v as f32 as f64
                } else {
                    v
                }
            })
            .collect();
        for chunks in [[31, 19], [4, 5], [1, 19]] {
            let x = make(&chunks);
            assert_eq!(x.dtype(), dtype);
            for (d, got) in run(&x) {
                assert_eq!(
                    got.as_slice().unwrap(),
                    &want[..],
                    "{} {chunks:?} on {d}",
                    dist.name()
                );
            }
        }
    }
    // Parameters out of range are errors naming the parameter.
    let e = r::poisson(&[3], 3, 0, -1.0, DType::I64).unwrap_err();
    assert!(e.to_string().contains("lam"), "{e}");
    let e = r::integers(&[3], 3, 0, 5, 5, DType::I64).unwrap_err();
    assert!(e.to_string().contains("low < high"), "{e}");
    let e = r::exponential(&[3], 3, 0, 1.0, DType::I64).unwrap_err();
    assert!(e.to_string().contains("floating point"), "{e}");
}

#[test]
fn random_is_chunking_invariant_bit_for_bit() {
    for dtype in [DType::F64, DType::F32] {
        for normal in [false, true] {
            let make = |chunks: &[usize]| {
                if normal {
                    tessera::random::normal_with(&[37, 23], chunks, 1234, 0.0, 1.0, dtype).unwrap()
                } else {
                    tessera::random::uniform_range(&[37, 23], chunks, 1234, 0.0, 1.0, dtype)
                        .unwrap()
                }
            };
            let a = make(&[37, 23]).compute_host().unwrap();
            for chunks in [[1, 1], [5, 7], [10, 23], [36, 2]] {
                assert_eq!(
                    make(&chunks).compute_host().unwrap(),
                    a,
                    "{dtype} normal={normal} chunks {chunks:?}"
                );
            }
            // A transposed or sliced view reads exactly the same elements.
            let t = make(&[6, 4]).t().compute_host().unwrap().to_f64();
            assert_eq!(t, a.to_f64().t().to_owned());
            let s = make(&[5, 5])
                .slice(&[Index::slice(Some(30), Some(2), -3), Index::At(4)])
                .compute_host()
                .unwrap()
                .to_f64();
            let expect: Vec<f64> = slice_positions(37, Some(30), Some(2), -3)
                .iter()
                .map(|&i| a.to_f64()[[i, 4]])
                .collect();
            assert_eq!(s.as_slice().unwrap(), &expect[..]);
        }
    }
    // Different seeds differ; the uniform mean and normal moments are right.
    let u = tessera::random::uniform(&[200_000], 30_000, 7).unwrap();
    let m = u.mean().compute_scalar::<f64>().unwrap();
    assert!((m - 0.5).abs() < 0.005, "uniform mean {m}");
    let z = tessera::random::normal(&[200_000], 30_000, 7).unwrap();
    let (zm, zs) = (
        z.mean().compute_scalar::<f64>().unwrap(),
        z.std(0).compute_scalar::<f64>().unwrap(),
    );
    assert!(
        zm.abs() < 0.01 && (zs - 1.0).abs() < 0.01,
        "normal mean {zm} std {zs}"
    );
    let v = tessera::random::uniform(&[100], 30, 8)
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert_ne!(
        v,
        tessera::random::uniform(&[100], 30, 7)
            .unwrap()
            .compute::<f64>()
            .unwrap()
    );
}

#[test]
fn elementwise_with_broadcasting_and_mismatched_chunks() {
    let a = data(&[6, 5], 1);
    let b = data(&[5], 2);
    let c = data(&[6, 1], 3);
    let (x, y, z) = (src(&a, &[4, 2]), src(&b, &[3]), src(&c, &[5, 1]));
    assert_close(&(&x + &y), &(&a + &b), 1e-15);
    assert_close(&(&x - &z), &(&a - &c), 1e-15);
    assert_close(&(&x * &y / &z), &(&a * &b / &c), 1e-14);
    assert_close(&(2.0 - &x), &a.mapv(|v| 2.0 - v), 1e-15);
    assert_close(&(&x / 4.0), &a.mapv(|v| v / 4.0), 1e-15);
    assert_close(&(-&x), &a.mapv(|v| -v), 0.0);
    assert_close(&x.abs().sqrt(), &a.mapv(|v| v.abs().sqrt()), 1e-15);
    assert_close(&x.exp().log(), &a.mapv(|v| v.exp().ln()), 1e-14);
    assert_close(
        &x.sin().maximum(x.cos()),
        &a.mapv(|v| v.sin().max(v.cos())),
        1e-15,
    );
    assert_close(
        &x.tanh().minimum(0.1),
        &a.mapv(|v| v.tanh().min(0.1)),
        1e-15,
    );
    assert_close(&x.floor(), &a.mapv(f64::floor), 0.0);
    assert_close(&x.ceil(), &a.mapv(f64::ceil), 0.0);
    assert_close(
        &x.abs().pow(y.abs()),
        &ndarray::Zip::from(&a)
            .and_broadcast(&b)
            .map_collect(|p, q| p.abs().powf(q.abs())),
        1e-13,
    );
    // Comparisons and logic give bool; where selects.
    let gt = x.gt(&y);
    assert_eq!(gt.dtype(), DType::Bool);
    let expect = ndarray::Zip::from(&a)
        .and_broadcast(&b)
        .map_collect(|p, q| (p > q) as u8 as f64);
    assert_close(&gt, &expect, 0.0);
    let both = gt.and(x.lt(1.0)).or(x.eq(&x).not());
    let expect2 = ndarray::Zip::from(&a)
        .and_broadcast(&b)
        .map_collect(|p, q| (p > q && *p < 1.0) as u8 as f64);
    assert_close(&both, &expect2, 0.0);
    let w = tessera::where_(&gt, &x, &z);
    let expect3 = ndarray::Zip::from(&a)
        .and_broadcast(&b)
        .and_broadcast(&c)
        .map_collect(|p, q, r| if p > q { *p } else { *r });
    assert_close(&w, &expect3, 0.0);
    // x + x.T on a square array with uneven chunks.
    let s = data(&[7, 7], 4);
    let xs = src(&s, &[3, 2]);
    assert_close(&(&xs + &xs.t()), &(&s + &s.t()), 1e-15);
}

#[test]
fn dtype_promotion_follows_the_table() {
    let i = tessera::full(&[3], 7i64, 2).unwrap().astype(DType::I32);
    let f = tessera::full(&[3], 0.5f32, 2).unwrap();
    assert_eq!((&i + &f).dtype(), DType::F64);
    assert_eq!((&f * 2.0).dtype(), DType::F32);
    assert_eq!((&i + 1).dtype(), DType::I32);
    assert_eq!((&i * 1.5).dtype(), DType::F64);
    assert_eq!((&i / &i).dtype(), DType::F64);
    assert_eq!(i.sum().dtype(), DType::I64);
    assert_eq!(f.mean().dtype(), DType::F32);
    let h = f.astype(DType::F16);
    assert_eq!((&h + &f).dtype(), DType::F32);
    assert_eq!((&h + &h).dtype(), DType::F16);
    let u = i.astype(DType::U32);
    assert_eq!((&u + &i).dtype(), DType::I64);
    assert_eq!((&i * 1.5).compute::<f64>().unwrap()[[0]], 10.5);
    assert_eq!((&i / 2).compute::<f64>().unwrap()[[0]], 3.5);
    assert_eq!((&i + 1).compute::<i32>().unwrap()[[2]], 8);
    // f16 arithmetic rounds like NumPy's float16: 2049 is not representable.
    let big = tessera::full(&[1], half::f16::from_f32(2048.0), 1).unwrap();
    assert_eq!(
        (&big + &big.astype(DType::F16).minimum(1i64).astype(DType::F16))
            .compute::<half::f16>()
            .unwrap()[[0]]
        .to_f32(),
        2048.0
    );
    let bf = tessera::full(&[2], half::bf16::from_f32(1.5), 1).unwrap();
    assert_eq!(bf.sum().compute::<half::bf16>().unwrap()[[]].to_f32(), 3.0);
    // Casting floats to ints truncates toward zero; bools count.
    let t = tessera::from_ndarray(arr1(&[-1.7, 2.9, 0.0]).into_dyn(), 2).unwrap();
    assert_eq!(
        t.astype(DType::I64)
            .compute::<i64>()
            .unwrap()
            .as_slice()
            .unwrap(),
        &[-1, 2, 0]
    );
    assert_eq!(
        t.astype(DType::Bool).sum().compute_scalar::<i64>().unwrap(),
        2
    );
}

#[test]
fn transpose_permute_swapaxes() {
    let a = data(&[4, 5, 6], 5);
    let x = src(&a, &[3, 2, 4]);
    assert_close(&x.t(), &a.t().to_owned(), 0.0);
    assert_close(
        &x.permute_axes(&[1, 2, 0]),
        &a.view().permuted_axes(vec![1, 2, 0]).to_owned(),
        0.0,
    );
    let mut sw = a.clone();
    sw.swap_axes(0, 2);
    assert_close(&x.swapaxes(0, -1), &sw, 0.0);
    assert_close(&(x.t().t() * 1.0), &a, 0.0);
}

#[test]
fn slicing_with_steps_and_integer_indices() {
    let a = data(&[20, 30], 6);
    let x = src(&a, &[6, 7]);
    let cases: Vec<(Index, Index)> = vec![
        (Index::from(..10), Index::slice(Some(25), Some(3), -2)),
        (Index::slice(None, None, -1), Index::from(5..)),
        (
            Index::slice(Some(-3), None, 1),
            Index::slice(Some(-1), Some(-31), -7),
        ),
        (Index::slice(Some(19), Some(0), -19), Index::all()),
        (Index::slice(Some(4), Some(4), 1), Index::all()),
    ];
    for (i, j) in cases {
        let (
            Index::Slice {
                start: s0,
                stop: e0,
                step: p0,
            },
            Index::Slice {
                start: s1,
                stop: e1,
                step: p1,
            },
        ) = (i, j)
        else {
            unreachable!()
        };
        let r = slice_positions(20, s0, e0, p0);
        let c = slice_positions(30, s1, e1, p1);
        let expect = a.select(Axis(0), &r).select(Axis(1), &c);
        assert_close(&x.slice(&[i, j]), &expect, 0.0);
        // Slices of slices, and slices feeding elementwise and reductions.
        assert_close(
            &(x.slice(&[i, j]) * 2.0).sum_axis(0),
            &expect.mapv(|v| v * 2.0).sum_axis(Axis(0)),
            1e-13,
        );
    }
    let row = x.slice(&[Index::At(-2)]);
    assert_close(&row, &a.index_axis(Axis(0), 18).to_owned(), 0.0);
    let el = x.slice(&[Index::At(3), Index::At(4)]);
    assert_eq!(el.shape(), &[] as &[usize]);
    assert_eq!(el.compute_scalar::<f64>().unwrap(), a[[3, 4]]);
}

#[test]
fn take_any_order_with_repeats() {
    let a = data(&[12, 9], 7);
    let x = src(&a, &[5, 4]);
    let idx = [10isize, 1, 5, 1, -1, 0, 11];
    let pos: Vec<usize> = idx
        .iter()
        .map(|&i| if i < 0 { (12 + i) as usize } else { i as usize })
        .collect();
    assert_close(&x.take(0, &idx), &a.select(Axis(0), &pos), 0.0);
    assert_close(
        &x.take(1, &[8, 0, 3]).t(),
        &a.select(Axis(1), &[8, 0, 3]).t().to_owned(),
        0.0,
    );
    // take of a generated array and of an elementwise result.
    let r = tessera::random::uniform(&[12, 9], 4, 3).unwrap();
    let rv = r.compute::<f64>().unwrap();
    assert_close(
        &(&r * 2.0).take(0, &idx),
        &rv.select(Axis(0), &pos).mapv(|v| v * 2.0),
        0.0,
    );
    assert_close(&x.take(0, &[]), &ArrayD::zeros(IxDyn(&[0, 9])), 0.0);
}

#[test]
fn reductions_over_every_axis_set() {
    let a = data(&[5, 7, 6], 8);
    let x = src(&a, &[2, 3, 4]);
    let axis_sets: Vec<Vec<usize>> = vec![
        vec![0],
        vec![1],
        vec![2],
        vec![0, 2],
        vec![1, 2],
        vec![0, 1, 2],
    ];
    type Ref = fn(&[f64]) -> f64;
    let refs: Vec<(Reduction, Ref, f64)> = vec![
        (Reduction::Sum, |v| v.iter().sum(), 1e-12),
        (Reduction::Prod, |v| v.iter().product(), 1e-12),
        (Reduction::Mean, mean, 1e-12),
        (Reduction::Var { ddof: 0 }, |v| var(v, 0), 1e-12),
        (Reduction::Std { ddof: 1 }, |v| var(v, 1).sqrt(), 1e-12),
        (
            Reduction::Min,
            |v| v.iter().cloned().fold(f64::INFINITY, f64::min),
            0.0,
        ),
        (
            Reduction::Max,
            |v| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            0.0,
        ),
        (
            Reduction::Any,
            |v| v.iter().any(|&x| x > 2.0) as u8 as f64,
            0.0,
        ),
    ];
    for axes in &axis_sets {
        let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        for keepdims in [false, true] {
            for (red, f, tol) in &refs {
                let input = if *red == Reduction::Any {
                    x.gt(2.0)
                } else {
                    x.clone()
                };
                for split in [2, 4] {
                    let got = input.reduce(*red, Some(&ax), keepdims, split);
                    assert_close(&got, &reduce_ref(&a, axes, keepdims, f), *tol);
                }
            }
        }
    }
    // All-reduce of a boolean and `all`.
    assert!(x.gt(-100.0).all().compute_scalar::<bool>().unwrap());
    assert!(!x.gt(0.0).all().compute_scalar::<bool>().unwrap());
}

#[test]
fn argmin_argmax_ties_and_nan() {
    let a = data(&[6, 8], 9);
    let x = src(&a, &[4, 3]);
    for axis in 0..2 {
        let expect_min = a.map_axis(Axis(axis), |l| {
            l.iter()
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |b, (i, &v)| if v < b.1 { (i, v) } else { b },
                )
                .0 as f64
        });
        let expect_max = a.map_axis(Axis(axis), |l| {
            l.iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                )
                .0 as f64
        });
        assert_close(&x.argmin_axis(axis as isize), &expect_min, 0.0);
        assert_close(&x.argmax_axis(axis as isize), &expect_max, 0.0);
    }
    let flat_min = a
        .iter()
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |b, (i, &v)| if v < b.1 { (i, v) } else { b },
        )
        .0;
    assert_eq!(x.argmin().compute_scalar::<i64>().unwrap(), flat_min as i64);
    // Ties go to the first index, across chunk boundaries.
    let t = tessera::from_ndarray(arr1(&[3.0, 1.0, 2.0, 1.0, 1.0]).into_dyn(), 2).unwrap();
    assert_eq!(t.argmin().compute_scalar::<i64>().unwrap(), 1);
    let t = tessera::from_ndarray(arr1(&[0.0, 5.0, 2.0, 5.0]).into_dyn(), 1).unwrap();
    assert_eq!(t.argmax().compute_scalar::<i64>().unwrap(), 1);
    // NaN wins (first NaN), as in NumPy; min/max propagate NaN.
    let n = tessera::from_ndarray(arr1(&[1.0, f64::NAN, -4.0, f64::NAN]).into_dyn(), 3).unwrap();
    assert_eq!(n.argmin().compute_scalar::<i64>().unwrap(), 1);
    assert_eq!(n.argmax().compute_scalar::<i64>().unwrap(), 1);
    assert!(n.min().compute_scalar::<f64>().unwrap().is_nan());
    assert!(n.max().compute_scalar::<f64>().unwrap().is_nan());
    // Integer data.
    let i = tessera::from_ndarray(arr1(&[4i32, -2, 9, -2]).into_dyn(), 3).unwrap();
    assert_eq!(i.argmin().compute_scalar::<i64>().unwrap(), 1);
    assert_eq!(i.max().compute_scalar::<i32>().unwrap(), 9);
    assert_eq!(i.sum().compute_scalar::<i64>().unwrap(), 9);
}

#[test]
fn variance_is_stable_with_a_large_offset() {
    // Sum-of-squares would lose every digit here; pairwise moments keep them.
    let base = data(&[1000], 10).mapv(|v| 1e9 + v);
    let x = src(&base, &[7]);
    let v = x.var(0).compute_scalar::<f64>().unwrap();
    let expect = var(base.as_slice().unwrap(), 0);
    assert!((v - expect).abs() < 1e-6 * expect, "var {v} vs {expect}");
}

#[test]
fn var_and_std_with_ddof_at_or_past_the_count_follow_numpy() {
    // NumPy divides by max(n - ddof, 0): m2 / 0 is inf, 0 / 0 (a constant or empty
    // slice) is NaN.
    let a = ndarray::arr2(&[[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]]).into_dyn();
    let x = src(&a, &[1, 2]);
    let f32x = x.astype(DType::F32);
    for ddof in [2u32, 3, 4, 7] {
        for arr in [&x, &f32x] {
            for (what, got) in [
                ("var", arr.var_axis(1, ddof)),
                ("std", arr.std_axis(1, ddof)),
            ] {
                let want: Vec<f64> = (0..2)
                    .map(|i| {
                        let v = var(a.index_axis(Axis(0), i).as_slice().unwrap(), ddof as usize);
                        if what == "std" {
                            v.sqrt()
                        } else {
                            v
                        }
                    })
                    .collect();
                for (d, r) in run(&got) {
                    for (g, w) in r.iter().zip(&want) {
                        assert!(
                            g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() < 1e-6 * w.abs(),
                            "{what} ddof {ddof} {} on {d}: {g}, NumPy {w}",
                            arr.dtype()
                        );
                    }
                }
            }
        }
        // The whole array: 6 values.
        let w = var(a.as_slice().unwrap(), ddof as usize);
        for (d, r) in run(&x.var(ddof)) {
            let g = r[[]];
            assert!(
                g == w || (g - w).abs() < 1e-12 * w.abs(),
                "var ddof {ddof} on {d}: {g}, NumPy {w}"
            );
        }
    }
    assert_eq!(var(&[1.0, 2.0], 3), f64::INFINITY);
    assert!(var(&[5.0, 5.0], 2).is_nan());
}

#[test]
fn empty_and_size_one_axes() {
    let e = tessera::zeros(&[0, 4], 2).unwrap();
    assert_eq!(e.sum().compute_scalar::<f64>().unwrap(), 0.0);
    assert_close(&e.sum_axis(0), &ArrayD::zeros(IxDyn(&[4])), 0.0);
    assert!(e.mean().compute_scalar::<f64>().unwrap().is_nan());
    assert_eq!(e.prod().compute_scalar::<f64>().unwrap(), 1.0);
    assert!(e.max().check().is_err());
    let one = data(&[1, 5, 1], 11);
    let x = src(&one, &[1, 2, 1]);
    assert_close(&(&x + &x.t()), &(&one + &one.t()), 1e-15);
    assert_close(
        &x.sum_axes(&[0, 2], false),
        &one.sum_axis(Axis(2)).sum_axis(Axis(0)),
        1e-15,
    );
}

#[test]
fn multiple_outputs_share_one_graph() {
    let x = tessera::random::uniform(&[60, 50], &[25, 20], 3).unwrap();
    let xv = x.compute::<f64>().unwrap();
    let outs =
        tessera::compute_all(&[&x.sum_axis(0), &x.mean_axis(1), &x.std(0), &x.max()]).unwrap();
    let r0 = xv.sum_axis(Axis(0));
    for (g, e) in outs[0].to_f64().iter().zip(r0.iter()) {
        assert!((g - e).abs() < 1e-12);
    }
    assert_eq!(
        outs[3].to_f64()[[]],
        xv.iter().cloned().fold(f64::MIN, f64::max)
    );
}

#[test]
fn seed_workload_small() {
    let x = tessera::random::uniform(&[300, 300], &[70, 70], 42).unwrap();
    let xv = x.compute::<f64>().unwrap();
    let y = (&x + &x.t()).sum_axis(0).mean();
    let expect = (&xv + &xv.t()).sum_axis(Axis(0)).mean().unwrap();
    let got = y.compute_scalar::<f64>().unwrap();
    assert!((got - expect).abs() < 1e-9, "{got} vs {expect}");
}

#[test]
fn sync_scheduler_and_threads_agree() {
    let x = tessera::random::normal(&[200, 100], 33, 5).unwrap();
    let y = (&x * &x).sum_axis(1);
    let a = y
        .compute_with::<f64>(&tessera::ComputeOptions {
            scheduler: tessera::Scheduler::Sync,
            ..Default::default()
        })
        .unwrap();
    let b = y
        .compute_with::<f64>(&tessera::ComputeOptions {
            scheduler: tessera::Scheduler::Threads(3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(a, b, "fixed combine order gives identical bits");
}

#[test]
fn rechunk_and_elementwise_reuse() {
    let a = data(&[17, 13], 12);
    let x = src(&a, &[5, 6]);
    for c in [[17usize, 1], [4, 13], [3, 3]] {
        assert_close(&x.rechunk(&c), &a, 0.0);
    }
    // An elementwise result used twice is stored once, then read by both consumers.
    let y = &x * 3.0;
    assert_close(&(&y + &y.t().t()), &a.mapv(|v| 6.0 * v), 1e-14);
}

#[test]
fn memory_stays_bounded_by_chunks_not_array_size() {
    // 4000² f64 is 128 MB; chunks of 400² are 1.28 MB. The scheduler's own accounting of
    // bytes held must stay at a few chunks per worker.
    let chunk_bytes = 400 * 400 * 8;
    let x = tessera::random::uniform(&[4000, 4000], 400, 1).unwrap();
    let outs = [
        (&x + &x.t()).sum_axis(0).mean(),
        x.std(0),
        (&x * 2.0).max_axis(1),
    ];
    for y in &outs {
        let g = tessera::graph::TaskGraph::build(&[y]).unwrap();
        let r = tessera::scheduler::execute(&g, &opts(tessera::Device::Cpu)).unwrap();
        assert!(
            r.stats.peak_bytes <= 4 * chunk_bytes as u64,
            "peak {} bytes for {y}",
            r.stats.peak_bytes
        );
    }
    // Several reductions of one random array store x chunk by chunk, freed as they go.
    let g = tessera::graph::TaskGraph::build(&[&x.sum_axis(0), &x.mean_axis(1), &x.max()]).unwrap();
    let r = tessera::scheduler::execute(&g, &opts(tessera::Device::Cpu)).unwrap();
    assert!(
        r.stats.peak_bytes <= 6 * chunk_bytes as u64,
        "peak {} bytes",
        r.stats.peak_bytes
    );
}

#[test]
fn display_reports_shape_dtype_chunks_and_tasks() {
    let x = tessera::random::uniform(&[20_000, 20_000], &[2_000, 2_000], 42).unwrap();
    let y = (&x + &x.t()).sum_axis(0).mean();
    let s = format!("{x}");
    for part in [
        "shape=[20000, 20000]",
        "dtype=float64",
        "chunksize=[2000, 2000]",
        "chunks=100",
        "bytes=3.20 GB",
        "tasks=100",
    ] {
        assert!(s.contains(part), "{s} lacks {part}");
    }
    // 100 fused partials, then 25 + 7 + 2 + 1 combines down axis 0... and the mean.
    assert_eq!(
        y.num_tasks().unwrap(),
        format!("{y}")
            .split("tasks=")
            .nth(1)
            .unwrap()
            .trim_end_matches('>')
            .parse::<usize>()
            .unwrap()
    );
    let dot = y.to_dot().unwrap();
    assert_eq!(dot.matches("shape=circle").count(), y.num_tasks().unwrap());
    assert_eq!(dot.matches("shape=box").count(), y.num_tasks().unwrap());
}

#[test]
fn reductions_of_stored_empty_chunks() {
    // A stored (not generated) chunk with a zero-length axis: found by the property test.
    let e = tessera::from_ndarray(ArrayD::<f64>::zeros(IxDyn(&[1, 0])), &[1, 1]).unwrap();
    assert_eq!(e.mean_axis(0).compute::<f64>().unwrap().shape(), &[0]);
    assert_eq!(
        e.sum_axis(1).compute::<f64>().unwrap().as_slice().unwrap(),
        &[0.0]
    );
    assert!(e.var_axis(1, 0).compute::<f64>().unwrap()[[0]].is_nan());
}

/// Horizontal fusion: reductions of one program over the same blocks, computed together
/// on the CPU, read each block once (one multi-output task per block) and give the same
/// bits as each reduction computed on its own, which shares nothing.
#[test]
fn reductions_computed_together_share_one_pass_and_match_each_alone() {
    let stored = src(&data(&[90, 70], 4), &[40, 30]);
    let generated = tessera::random::uniform(&[90, 70], &[40, 30][..], 8).unwrap();
    let ints = (&generated * 100.0).astype(DType::I32);
    let cpu = tessera::ComputeOptions {
        device: tessera::Device::Cpu,
        ..Default::default()
    };
    for (what, x) in [
        ("stored f64", stored),
        ("generated f64", generated.clone()),
        ("fused (x*2+1)", &generated * 2.0 + 1.0),
        ("i32", ints),
    ] {
        let outs = [
            x.sum_axis(0),
            x.mean_axis(1),
            x.std(0),
            x.var_axis(0, 1),
            x.max(),
            x.min_axis(1),
            x.argmax_axis(0),
            x.argmin(),
            x.prod_axis(1),
            x.any(),
        ];
        let refs: Vec<&tessera::Array> = outs.iter().collect();
        let together = tessera::compute_all_with(&refs, &cpu).unwrap();
        for (k, (a, t)) in outs.iter().zip(&together).enumerate() {
            assert_eq!(&a.compute_host().unwrap(), t, "{what}: output {k}");
        }
        let g = tessera::graph::TaskGraph::build_with(
            &refs,
            tessera::graph::Lowering {
                horizontal_fusion: true,
            },
        )
        .unwrap();
        let passes = g
            .tasks
            .iter()
            .filter(|t| t.op.name().ends_with("-partial") || t.op.name().ends_with("-partials"))
            .count();
        assert_eq!(passes, 3 * 3, "{what}: one pass per block of x");
    }
}

#[test]
fn isnan_isinf_isfinite_on_every_float_dtype_and_device() {
    let vals = [
        0.0,
        -0.0,
        1.5,
        -2.0,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e300,
        f64::MIN_POSITIVE,
        f64::MAX,
    ];
    let a = arr1(&vals).into_dyn();
    for dtype in [DType::F64, DType::F32, DType::F16, DType::BF16] {
        let x = src(&a, &[5]).astype(dtype);
        // The reference: the values as the dtype holds them (1e300 is inf in f32).
        let held = x.compute_host().unwrap().to_f64();
        let want = |f: fn(f64) -> bool| held.mapv(|v| if f(v) { 1.0 } else { 0.0 });
        assert_close(&x.isnan().astype(DType::F64), &want(f64::is_nan), 0.0);
        assert_close(&x.isinf().astype(DType::F64), &want(f64::is_infinite), 0.0);
        assert_close(&x.isfinite().astype(DType::F64), &want(f64::is_finite), 0.0);
        assert_eq!(x.isnan().dtype(), DType::Bool);
    }
    // Integers are never NaN or infinite (i64::MAX included: it is finite in f32 too).
    let i = tessera::from_ndarray(arr1(&[i64::MIN, -1, 0, i64::MAX]).into_dyn(), 3).unwrap();
    assert_close(
        &i.isfinite().astype(DType::F64),
        &arr1(&[1.0; 4]).into_dyn(),
        0.0,
    );
    assert_close(
        &i.isnan().astype(DType::F64),
        &arr1(&[0.0; 4]).into_dyn(),
        0.0,
    );
}

#[test]
fn float_math_functions_match_f64_references_on_every_device() {
    type F = fn(f64) -> f64;
    // Each function over points inside its domain, plus a point outside where there is
    // one (NaN expected), zeros of both signs and infinities.
    let cases: [(&str, F, &[f64]); 15] = [
        ("tan", f64::tan, &[-1.2, -0.3, 0.0, -0.0, 0.7, 1.3]),
        (
            "sinh",
            f64::sinh,
            &[-3.0, -0.5, 0.0, -0.0, 1e-8, 2.5, f64::INFINITY],
        ),
        (
            "cosh",
            f64::cosh,
            &[-3.0, -0.5, 0.0, 2.5, f64::NEG_INFINITY],
        ),
        ("asin", f64::asin, &[-1.0, -0.5, 0.0, -0.0, 0.25, 1.0, 1.5]),
        ("acos", f64::acos, &[-1.0, -0.5, 0.0, 0.25, 1.0, -1.5]),
        (
            "atan",
            f64::atan,
            &[-50.0, -0.5, 0.0, -0.0, 0.25, 3.0, f64::INFINITY],
        ),
        ("asinh", f64::asinh, &[-5.0, -0.5, 0.0, -0.0, 0.25, 3.0]),
        (
            "acosh",
            f64::acosh,
            &[1.0, 1.5, 3.0, 40.0, 0.5, f64::INFINITY],
        ),
        (
            "atanh",
            f64::atanh,
            &[-0.9, -0.5, 0.0, -0.0, 0.25, 0.75, 1.0, -1.0, 2.0],
        ),
        (
            "expm1",
            f64::exp_m1,
            &[-3.0, -1e-9, 0.0, -0.0, 1e-7, 0.5, 4.0],
        ),
        (
            "log1p",
            f64::ln_1p,
            &[-0.5, -1e-9, 0.0, -0.0, 1e-7, 3.0, -1.0, -2.0],
        ),
        (
            "log2",
            f64::log2,
            &[0.125, 0.7, 1.0, 3.0, 1024.0, 0.0, -1.0],
        ),
        ("log10", f64::log10, &[0.001, 0.7, 1.0, 3.0, 1e5, 0.0, -1.0]),
        ("trunc", f64::trunc, &[-2.7, -0.5, -0.0, 0.0, 0.5, 2.5, 3.7]),
        (
            "round",
            f64::round_ties_even,
            &[-2.5, -1.5, -0.5, -0.4, 0.5, 1.5, 2.5, 2.6],
        ),
    ];
    for (name, f, pts) in cases {
        let a = arr1(pts).into_dyn();
        for (dtype, rel) in [(DType::F64, 1e-13), (DType::F32, 4e-6), (DType::F16, 2e-3)] {
            let x = src(&a, &[3]).astype(dtype);
            let held = x.compute_host().unwrap().to_f64();
            let y = match name {
                "tan" => x.tan(),
                "sinh" => x.sinh(),
                "cosh" => x.cosh(),
                "asin" => x.asin(),
                "acos" => x.acos(),
                "atan" => x.atan(),
                "asinh" => x.asinh(),
                "acosh" => x.acosh(),
                "atanh" => x.atanh(),
                "expm1" => x.expm1(),
                "log1p" => x.log1p(),
                "log2" => x.log2(),
                "log10" => x.log10(),
                "trunc" => x.trunc(),
                _ => x.round(),
            };
            assert_eq!(y.dtype(), dtype, "{name} keeps {dtype}");
            // The reference in f64 of the values the dtype holds, rounded to the dtype.
            let want = tessera::from_ndarray(held.mapv(f), &[3][..])
                .unwrap()
                .astype(dtype)
                .compute_host()
                .unwrap()
                .to_f64();
            for (d, got) in run(&y.astype(DType::F64)) {
                for ((g, w), p) in got.iter().zip(want.iter()).zip(held.iter()) {
                    let ok = (g.is_nan() && w.is_nan())
                        || g == w
                        || (g - w).abs()
                            <= rel * w.abs().max(if dtype == DType::F16 { 1e-2 } else { 1e-300 });
                    assert!(ok, "{name}({p}) as {dtype} on {d}: got {g}, want {w}");
                    if *w == 0.0 {
                        assert_eq!(
                            g.is_sign_negative(),
                            w.is_sign_negative(),
                            "{name}({p}) sign on {d}"
                        );
                    }
                }
            }
        }
    }
    // Integers: trunc and round keep them; the functions become f64.
    let i = tessera::from_ndarray(arr1(&[-3i64, 0, 7]).into_dyn(), 2).unwrap();
    assert_eq!(i.round().dtype(), DType::I64);
    assert_eq!(i.trunc().dtype(), DType::I64);
    assert_close(
        &i.log2(),
        &arr1(&[f64::NAN, f64::NEG_INFINITY, 7f64.log2()]).into_dyn(),
        1e-15,
    );
}

#[test]
fn atan2_hypot_copysign_on_every_device() {
    let a = arr1(&[
        1.0,
        -1.0,
        0.0,
        -0.0,
        3.0,
        -2.5,
        f64::INFINITY,
        1e200,
        f64::NAN,
    ])
    .into_dyn();
    let b = arr1(&[1.0, 1.0, -1.0, -0.0, -4.0, 0.0, 2.0, 1e200, 1.0]).into_dyn();
    for (dtype, rel) in [(DType::F64, 1e-13), (DType::F32, 4e-6)] {
        let (x, y) = (src(&a, &[4]).astype(dtype), src(&b, &[3]).astype(dtype));
        let (hx, hy) = (
            x.compute_host().unwrap().to_f64(),
            y.compute_host().unwrap().to_f64(),
        );
        type G = fn(f64, f64) -> f64;
        let fns: [(&str, G, tessera::Array); 3] = [
            ("atan2", f64::atan2, x.atan2(&y)),
            ("hypot", f64::hypot, x.hypot(&y)),
            ("copysign", f64::copysign, x.copysign(&y)),
        ];
        for (name, f, z) in fns {
            let want = ndarray::Zip::from(&hx)
                .and(&hy)
                .map_collect(|&p, &q| f(p, q));
            let want = tessera::from_ndarray(want, &[9][..])
                .unwrap()
                .astype(dtype)
                .compute_host()
                .unwrap()
                .to_f64();
            for (d, got) in run(&z.astype(DType::F64)) {
                for (k, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                    let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= rel * w.abs();
                    assert!(
                        ok,
                        "{name} element {k} as {dtype} on {d}: got {g}, want {w}"
                    );
                    assert_eq!(
                        g.is_sign_negative(),
                        w.is_sign_negative(),
                        "{name} element {k} sign on {d}"
                    );
                }
            }
        }
    }
}
