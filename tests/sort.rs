//! Sorting, searching and membership against a whole-lane reference: each lane sorted in
//! one piece by the standard library, independent of the chunked network.

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use tessera::array::Side;
use tessera::{Array, Error};

/// Test data with ties (half-integers) and NaNs.
fn tied(shape: &[usize], seed: u64, nans: bool) -> ArrayD<f64> {
    let mut a = data(shape, seed).mapv(|v| (v * 2.0).round() / 2.0);
    if nans {
        for (i, v) in a.iter_mut().enumerate() {
            if i % 7 == 3 {
                *v = f64::NAN;
            }
        }
    }
    a
}

fn asc(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap(),
        (x, y) => x.cmp(&y),
    }
}

/// The stable order of each lane: (sorted values, their source positions).
fn reference(a: &ArrayD<f64>, ax: usize, desc: bool) -> (ArrayD<f64>, ArrayD<f64>) {
    let (mut v, mut i) = (a.clone(), a.mapv(|_| 0.0));
    for (mut lv, mut li) in v.lanes_mut(Axis(ax)).into_iter().zip(i.lanes_mut(Axis(ax))) {
        let mut p: Vec<(f64, usize)> = lv.iter().copied().zip(0..).collect();
        p.sort_by(|x, y| {
            let o = if desc && !x.0.is_nan() && !y.0.is_nan() {
                asc(y.0, x.0)
            } else {
                asc(x.0, y.0)
            };
            o.then(x.1.cmp(&y.1))
        });
        for ((o, oi), (x, k)) in lv.iter_mut().zip(li.iter_mut()).zip(p) {
            *o = x;
            *oi = k as f64;
        }
    }
    (v, i)
}

fn chunked(a: &ArrayD<f64>, chunks: Vec<Vec<usize>>) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

#[test]
fn sort_and_argsort_along_a_chunked_axis_match_one_whole_sort() {
    let a = tied(&[23, 9], 1, true);
    // Regular, one chunk, many small, and irregular (rechunked to regular inside).
    let chunkings: Vec<Vec<Vec<usize>>> = vec![
        vec![vec![5, 5, 5, 5, 3], vec![4, 5]],
        vec![vec![23], vec![9]],
        vec![
            vec![2; 11].into_iter().chain([1]).collect(),
            vec![2, 2, 2, 2, 1],
        ],
        vec![vec![2, 9, 1, 11], vec![7, 2]],
    ];
    for (c, chunks) in chunkings.into_iter().enumerate() {
        let x = chunked(&a, chunks.clone());
        for ax in 0..2 {
            for desc in [false, true] {
                let (v, i) = reference(&a, ax, desc);
                let s = x.sort_axis(ax as isize, desc);
                assert_eq!(s.chunks().unwrap().all(), x.chunks().unwrap().all());
                assert_close(&s, &v, 0.0);
                assert_close(&x.argsort_axis(ax as isize, desc), &i, 0.0);
                if c == 0 {
                    assert_close(&x.argsort_axis(ax as isize - 2, desc), &i, 0.0);
                }
            }
        }
    }
}

#[test]
fn integer_and_narrow_dtypes_sort_exactly() {
    let a = tied(&[40], 2, false);
    for dt in [
        tessera::DType::I8,
        tessera::DType::I64,
        tessera::DType::U16,
        tessera::DType::F32,
    ] {
        let x = chunked(&a, vec![vec![7; 5].into_iter().chain([5]).collect()]).astype(dt);
        let xs = x.compute_host().unwrap().to_f64();
        let (v, i) = reference(&xs, 0, false);
        let s = x.sort_axis(0, false);
        assert_eq!(s.dtype(), dt);
        assert_close(&s, &v, 0.0);
        assert_close(&x.argsort_axis(0, false), &i, 0.0);
    }
}

#[test]
fn sort_of_a_3d_stack_along_the_middle_axis() {
    let a = tied(&[3, 17, 4], 3, true);
    let x = chunked(&a, vec![vec![2, 1], vec![6, 6, 5], vec![3, 1]]);
    let (v, i) = reference(&a, 1, true);
    assert_close(&x.sort_axis(1, true), &v, 0.0);
    assert_close(&x.argsort_axis(1, true), &i, 0.0);
}

#[test]
fn searchsorted_counts_across_the_sorted_arrays_chunks() {
    let mut s: Vec<f64> = tied(&[30], 4, false).iter().copied().collect();
    s.sort_by(|a, b| asc(*a, *b));
    s.push(f64::NAN);
    let q = tied(&[6, 5], 5, true);
    let sorted = ArrayD::from_shape_vec(IxDyn(&[31]), s.clone()).unwrap();
    let a = chunked(&sorted, vec![vec![8, 8, 8, 7]]);
    let v = chunked(&q, vec![vec![4, 2], vec![5]]);
    for side in [Side::Left, Side::Right] {
        let e = q.mapv(|x| {
            s.iter()
                .filter(|&&y| match side {
                    Side::Left => asc(y, x).is_lt(),
                    Side::Right => asc(y, x).is_le(),
                })
                .count() as f64
        });
        let got = a.searchsorted(&v, side);
        assert_eq!(got.dtype(), tessera::DType::I64);
        assert_close(&got, &e, 0.0);
    }
    // A 2-d sorted array is refused with the fix.
    let e = v.searchsorted(&a, Side::Left).check().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "searchsorted",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn isin_is_equality_after_promotion_nan_in_nothing() {
    let x = tied(&[9, 8], 6, true);
    let t = tied(&[5, 3], 7, true);
    let e = x.mapv(|v| t.iter().any(|&w| w == v));
    let xa = chunked(&x, vec![vec![4, 5], vec![3, 5]]);
    let ta = chunked(&t, vec![vec![2, 3], vec![2, 1]]);
    assert_close(&xa.isin(&ta, false), &e.mapv(|b| b as u8 as f64), 0.0);
    assert_close(&xa.isin(&ta, true), &e.mapv(|b| !b as u8 as f64), 0.0);
    // Integers against floats: 2 is in [2.0].
    let i = chunked(&x, vec![vec![9], vec![8]]).astype(tessera::DType::I64);
    let hit = i.isin(&tessera::full(&[1], 2.0, 1).unwrap(), false);
    let ie = i
        .compute_host()
        .unwrap()
        .to_f64()
        .mapv(|v| (v == 2.0) as u8 as f64);
    assert_close(&hit, &ie, 0.0);
}

#[test]
fn take_by_a_lazy_index_array() {
    let a = data(&[5, 7], 8);
    let x = chunked(&a, vec![vec![2, 3], vec![3, 4]]);
    let idx = [6i64, 0, -1, 3, 3];
    let i = tessera::from_ndarray(ndarray::arr1(&idx).into_dyn(), 2).unwrap();
    let e = ArrayD::from_shape_fn(IxDyn(&[5, 5]), |p| {
        let j = idx[p[1]];
        a[[p[0], if j < 0 { (j + 7) as usize } else { j as usize }]]
    });
    assert_close(&x.take_by(&i, 1), &e, 0.0);
    let bad = tessera::from_ndarray(ndarray::arr1(&[7i64]).into_dyn(), 1).unwrap();
    let err = x.take_by(&bad, 1).compute::<f64>().unwrap_err();
    assert!(matches!(err, Error::BadIndex { .. }), "{err}");
    let two_d = tessera::from_ndarray(ndarray::arr2(&[[0i64]]).into_dyn(), 1).unwrap();
    assert!(matches!(
        x.take_by(&two_d, 0).check().unwrap_err(),
        Error::ShapeMismatch { op: "take", .. }
    ));
}

#[test]
fn sorting_a_scalar_is_an_axis_error() {
    let x = tessera::full(&[], 1.0, 1).unwrap();
    let e = x.sort_axis(-1, false).check().unwrap_err();
    assert!(e.to_string().contains("sort"), "{e}");
}
