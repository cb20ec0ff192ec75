//! Edge cases from dask's own array tests (`dask/array/tests/test_creation.py`,
//! `test_reductions.py`, `test_slicing.py`, `test_rechunk.py`, `test_array_core.py`,
//! `test_linalg.py`), each against an independent ndarray reference computed on the
//! whole array, on every device in `common::devices()`. The dask test each case comes
//! from is named above it.

mod common;

use common::*;
use ndarray::{Array1, Array2, ArrayD, Axis, IxDyn};
use tessera::{Array, Index};

fn src(a: &ArrayD<f64>, chunks: &[usize]) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

fn vec1(v: Vec<f64>) -> ArrayD<f64> {
    Array1::from(v).into_dyn()
}

// test_creation.py::test_arange, test_arange_float_step: positive, negative and
// fractional steps, ranges that are empty, chunks that do not divide.
#[test]
fn arange_steps_and_empty_ranges() {
    for (start, stop, step, chunks) in [
        (0.0f64, 10.0f64, 3.0f64, 3),
        (10.0, 0.0, -3.0, 2),
        (0.0, 2.0, 0.5, 3),
        (2.0, 1.0, 1.0, 5),
        (-5.0, 5.5, 1.25, 4),
    ] {
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let want = vec1((0..n).map(|i| start + i as f64 * step).collect());
        assert_close(
            &tessera::arange(start, stop, step, chunks).unwrap(),
            &want,
            0.0,
        );
    }
}

// test_creation.py::test_linspace: endpoint on and off, num 0 and 1, uneven chunks.
#[test]
fn linspace_endpoints_and_degenerate_counts() {
    for (start, stop, num, endpoint, chunks) in [
        (6.0, 49.0, 50, true, 5),
        (6.0, 49.0, 50, false, 7),
        (1.4, 4.9, 13, false, 6),
        (2.0, 5.0, 1, true, 1),
        (2.0, 5.0, 0, true, 1),
        (-3.0, 3.0, 7, true, 3),
    ] {
        let want = if endpoint {
            Array1::linspace(start, stop, num)
        } else if num > 0 {
            let step = (stop - start) / num as f64;
            Array1::from_iter((0..num).map(|i| start + i as f64 * step))
        } else {
            Array1::zeros(0)
        };
        let got = tessera::linspace(start, stop, num, endpoint, chunks).unwrap();
        assert_close(&got, &want.into_dyn(), 1e-15);
    }
}

// test_creation.py::test_eye: non-square, diagonals above and below, chunks that cut
// the diagonal.
#[test]
fn eye_offsets_and_shapes() {
    for (n, m, k, chunks) in [
        (5, None, 0, 2),
        (5, Some(3), 1, 2),
        (4, Some(7), -2, 3),
        (3, Some(3), 5, 1),
        (6, Some(2), -1, 4),
    ] {
        let cols = m.unwrap_or(n);
        let want =
            Array2::from_shape_fn(
                (n, cols),
                |(i, j)| {
                    if j as i64 - i as i64 == k {
                        1.0
                    } else {
                        0.0
                    }
                },
            );
        assert_close(
            &tessera::eye(n, m, k, chunks).unwrap(),
            &want.into_dyn(),
            0.0,
        );
    }
}

// test_reductions.py::test_reductions_with_empty_array, test_reduction_on_scalar,
// test_reductions_2D with negative axes and keepdims.
#[test]
fn reductions_of_empty_scalar_and_negative_axes() {
    let e = tessera::zeros(&[0, 3], 2).unwrap();
    assert_close(&e.sum_axis(0), &ArrayD::zeros(IxDyn(&[3])), 0.0);
    assert_close(&e.prod_axis(0), &ArrayD::ones(IxDyn(&[3])), 0.0);
    assert_close(&e.sum_axis(1), &ArrayD::zeros(IxDyn(&[0])), 0.0);
    let m = agreed(&e.mean_axis(0));
    assert!(m.iter().all(|v| v.is_nan()), "{m}");
    // A 0-d array reduces to itself.
    let s = tessera::full(&[], 3.5, 1).unwrap();
    assert_eq!(agreed_scalar(&s.sum()), 3.5);
    assert_eq!(agreed_scalar(&s.max()), 3.5);
    // Negative axes, several at once, keepdims.
    let a = data(&[4, 5, 6], 7);
    let x = src(&a, &[3, 2, 4]);
    let want = a.sum_axis(Axis(2)).sum_axis(Axis(0));
    assert_close(&x.sum_axes(&[-1, 0], false), &want, 1e-12);
    let kept = x.max_axes(&[-3, -1], true);
    assert_eq!(kept.shape(), &[1, 5, 1]);
    let want = Array2::from_shape_fn((5, 1), |(j, _)| {
        a.index_axis(Axis(1), j)
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max)
    })
    .insert_axis(Axis(0))
    .into_dyn();
    assert_close(&kept, &want, 0.0);
}

// test_reductions.py::test_arg_reductions: ties resolve to the first occurrence, also
// when the tied values sit in different chunks.
#[test]
fn arg_reductions_take_the_first_of_ties_across_chunks() {
    let v = vec1(vec![1.0, 7.0, 3.0, 7.0, -2.0, 7.0, -2.0, 0.0]);
    for chunks in [1, 2, 3, 8] {
        let x = src(&v, &[chunks]);
        assert_eq!(agreed_scalar(&x.argmax()), 1.0, "chunks {chunks}");
        assert_eq!(agreed_scalar(&x.argmin()), 4.0, "chunks {chunks}");
    }
    let m = ArrayD::from_shape_vec(
        IxDyn(&[3, 4]),
        vec![
            5.0, 1.0, 5.0, 0.0, //
            2.0, 2.0, 2.0, 2.0, //
            0.0, 9.0, 1.0, 9.0,
        ],
    )
    .unwrap();
    let x = src(&m, &[2, 3]);
    assert_close(&x.argmax_axis(1), &vec1(vec![0.0, 0.0, 1.0]), 0.0);
    assert_close(&x.argmin_axis(0), &vec1(vec![2.0, 0.0, 2.0, 0.0]), 0.0);
}

// test_slicing.py::test_slicing_with_negative_step_flops_keys,
// test_slice_optimizations, test_slicing_consistent_names: negative steps across chunk
// boundaries, bounds past either end, negative integer indices.
#[test]
fn slices_with_negative_steps_and_out_of_bounds() {
    let a = data(&[17], 3);
    let x = src(&a, &[5]);
    let a1 = a.clone().into_dimensionality::<ndarray::Ix1>().unwrap();
    type Case = (Option<isize>, Option<isize>, isize, Vec<usize>);
    let cases: Vec<Case> = vec![
        (None, None, -1, (0..17).rev().collect()),
        (None, None, -2, (0..17).rev().step_by(2).collect()),
        (Some(8), Some(1), -3, vec![8, 5, 2]),
        (Some(100), Some(200), 1, vec![]),
        (Some(-100), Some(3), 1, vec![0, 1, 2]),
        (Some(-1), Some(-100), -4, vec![16, 12, 8, 4, 0]),
        (Some(5), Some(5), 1, vec![]),
        (Some(3), None, 7, vec![3, 10]),
    ];
    for (start, stop, step, pos) in cases {
        let want = vec1(pos.iter().map(|&i| a1[i]).collect());
        let y = x.slice(&[Index::slice(start, stop, step)]);
        assert_close(&y, &want, 0.0);
    }
    assert_eq!(agreed_scalar(&x.slice(&[Index::At(-1)])), a1[16]);
    assert_eq!(agreed_scalar(&x.slice(&[Index::At(-17)])), a1[0]);
    // 2-d: a reversed, strided window of a transposed array.
    let b = data(&[9, 11], 4);
    let y = src(&b, &[4, 3]).t().slice(&[
        Index::slice(Some(9), Some(1), -2),
        Index::slice(None, None, 3),
    ]);
    // NumPy's b.T[9:1:-2, ::3]: rows 9, 7, 5, 3 of b.T, columns 0, 3, 6.
    let rows: Vec<usize> = (2..=9).rev().step_by(2).collect();
    let np = Array2::from_shape_fn((rows.len(), 3), |(i, j)| b[[j * 3, rows[i]]]).into_dyn();
    assert_close(&y, &np, 0.0);
}

// test_slicing.py::test_take_sorted / test_take_uses_config: repeated, unsorted and
// negative indices; an empty index list.
#[test]
fn take_with_repeats_unsorted_and_negative_indices() {
    let a = data(&[10, 4], 5);
    let x = src(&a, &[3, 3]);
    let idx = [7isize, 0, 0, -1, 3, 9, -10];
    let want = a.select(
        Axis(0),
        &idx.iter()
            .map(|&i| if i < 0 { (i + 10) as usize } else { i as usize })
            .collect::<Vec<_>>(),
    );
    assert_close(&x.take(0, &idx), &want, 0.0);
    let none = x.take(1, &[]);
    assert_eq!(none.shape(), &[10, 0]);
    assert_close(&none, &ArrayD::zeros(IxDyn(&[10, 0])), 0.0);
}

// test_rechunk.py::test_rechunk_1d, test_rechunk_2d, test_rechunk_with_zero,
// test_rechunk_same: uneven explicit chunks, zero-length axes, identity.
#[test]
fn rechunk_uneven_zero_and_back() {
    let a = data(&[13, 7], 6);
    let x = src(&a, &[4, 3]);
    let uneven = x.rechunk(vec![vec![1, 5, 7], vec![7]]);
    assert_eq!(uneven.chunks().unwrap().sizes(0), &[1, 5, 7]);
    assert_close(&uneven, &a, 0.0);
    assert_close(&uneven.rechunk(vec![2, 2]).rechunk(vec![13, 7]), &a, 0.0);
    let z = tessera::zeros(&[0, 5], 2).unwrap().rechunk(vec![3, 1]);
    assert_eq!(z.shape(), &[0, 5]);
    assert_close(&z, &ArrayD::zeros(IxDyn(&[0, 5])), 0.0);
}

// test_array_core.py::test_broadcast_shapes, test_elemwise_with_ndarrays,
// test_concatenate (empty pieces), test_stack (negative axis), test_where (broadcast).
#[test]
fn broadcasting_concatenate_stack_and_where() {
    let c = data(&[3, 1], 8);
    let r = data(&[1, 4], 9);
    let v = data(&[4], 10);
    let (xc, xr, xv) = (src(&c, &[2, 1]), src(&r, &[1, 3]), src(&v, &[3]));
    assert_close(&(&xc + &xr), &(&c + &r), 0.0);
    assert_close(&(&xc * &xv), &(&c * &v), 0.0);
    // Concatenating an empty piece changes nothing.
    let e = tessera::zeros(&[0, 4], 1).unwrap();
    let cat = tessera::concatenate(&[&xr, &e, &xr], 0);
    let want = ndarray::concatenate(Axis(0), &[r.view(), r.view()]).unwrap();
    assert_close(&cat, &want, 0.0);
    // Stack along the last axis by a negative index.
    let st = tessera::stack(&[&xv, &(&xv * 2.0)], -1);
    let want = ndarray::stack(Axis(1), &[v.view(), (&v * 2.0).view()]).unwrap();
    assert_close(&st, &want, 0.0);
    // where with a broadcast condition and a scalar branch.
    let cond = xv.gt(0.0);
    let w = tessera::where_(&cond, &xc, -1.0);
    let want = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| {
        if v[[i[1]]] > 0.0 {
            c[[i[0], 0]]
        } else {
            -1.0
        }
    });
    assert_close(&w, &want, 0.0);
}

// test_linalg.py::test_tsqr (uneven row blocks), test_linalg_consistent_names,
// test_svd_flip: Q is orthonormal, QR rebuilds A, singular values match on every
// device, for blocks that do not divide the rows.
#[test]
fn tsqr_and_svd_with_uneven_row_blocks() {
    let a = data(&[23, 4], 11);
    for rows in [5, 7, 23] {
        let x = src(&a, &[rows, 4]);
        let (q, r) = tessera::linalg::qr(&x);
        let (q, r) = (agreed(&q), agreed(&r));
        let q2 = q.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
        let r2 = r.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
        let qtq = q2.t().dot(&q2);
        let back = q2.dot(&r2);
        let a2 = a.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
        assert!((&qtq - &Array2::<f64>::eye(4))
            .iter()
            .all(|v| v.abs() < 1e-12));
        assert!((&back - &a2).iter().all(|v| v.abs() < 1e-12));
        // Singular values of A are those of R: both sides computed independently
        // (A's from the eigenvalues of AᵀA by Jacobi rotations).
        let s = agreed(&tessera::linalg::svd(&x).s);
        let mut want = jacobi_eigenvalues(a2.t().dot(&a2))
            .into_iter()
            .map(f64::sqrt)
            .collect::<Vec<_>>();
        want.sort_by(|x, y| y.partial_cmp(x).unwrap());
        for (g, w) in s.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9 * w.max(1.0), "rows {rows}: {g} vs {w}");
        }
    }
}

/// Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations (the reference).
fn jacobi_eigenvalues(mut m: Array2<f64>) -> Vec<f64> {
    let n = m.nrows();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]] * m[[i, j]])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[[p, q]].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * m[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[[k, p]], m[[k, q]]);
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[[p, k]], m[[q, k]]);
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
            }
        }
    }
    (0..n).map(|i| m[[i, i]]).collect()
}

// test_reductions.py::reduction_2d_test: every reduction with axis=(), 0, 1, -1, -2,
// (1, 0), with and without keepdims, from chunks that do not divide the shape.
#[test]
fn reduction_2d_test_every_axis_form() {
    use tessera::kernel::Reduction;
    let a = data(&[7, 9], 12);
    let x = src(&a, &[3, 4]);
    type Fold = fn(&[f64]) -> f64;
    let reductions: [(Reduction, Fold); 7] = [
        (Reduction::Sum, |v| v.iter().sum()),
        (Reduction::Prod, |v| v.iter().product()),
        (Reduction::Mean, mean),
        (Reduction::Min, |v| {
            v.iter().cloned().fold(f64::INFINITY, f64::min)
        }),
        (Reduction::Max, |v| {
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        }),
        (Reduction::Var { ddof: 0 }, |v| var(v, 0)),
        (Reduction::Std { ddof: 1 }, |v| var(v, 1).sqrt()),
    ];
    let forms: [(&[isize], &[usize]); 6] = [
        (&[], &[]),
        (&[0], &[0]),
        (&[1], &[1]),
        (&[-1], &[1]),
        (&[-2], &[0]),
        (&[1, 0], &[0, 1]),
    ];
    for (red, f) in reductions {
        for (axes, norm) in forms {
            for keepdims in [false, true] {
                let got = x.reduce(red, Some(axes), keepdims, 4);
                assert_close(&got, &reduce_ref(&a, norm, keepdims, f), 1e-12);
            }
        }
    }
}

// test_array_core.py::test_concatenate_types (dtypes promote as NumPy's),
// test_stack_scalars (0-d arrays stack to 1-d), test_squeeze (only length-1 axes),
// test_broadcast_to (to a zero-length axis), test_size (zero-size creation).
#[test]
fn concatenate_types_stack_scalars_squeeze_and_zero_sizes() {
    use tessera::DType;
    let i = tessera::arange(0.0, 4.0, 1.0, 3)
        .unwrap()
        .astype(DType::I32);
    let f = tessera::ones(&[2], 1).unwrap().astype(DType::F32);
    let c = tessera::concatenate(&[&i, &f], 0);
    // int32 with float32 is float64 in NumPy.
    assert_eq!(c.dtype(), DType::F64);
    assert_close(&c, &vec1(vec![0.0, 1.0, 2.0, 3.0, 1.0, 1.0]), 0.0);
    let scalars: Vec<Array> = [1.5, -2.0, 7.0]
        .iter()
        .map(|&v| tessera::full(&[], v, 1).unwrap())
        .collect();
    let refs: Vec<&Array> = scalars.iter().collect();
    assert_close(&tessera::stack(&refs, 0), &vec1(vec![1.5, -2.0, 7.0]), 0.0);
    let a = data(&[1, 3, 1], 13);
    let x = src(&a, &[1, 2, 1]);
    assert_close(
        &x.squeeze(Some(&[-1])),
        &a.clone().into_shape_with_order(IxDyn(&[1, 3])).unwrap(),
        0.0,
    );
    assert_close(
        &x.squeeze(None),
        &a.clone().into_shape_with_order(IxDyn(&[3])).unwrap(),
        0.0,
    );
    assert!(
        x.squeeze(Some(&[1])).check().is_err(),
        "axis 1 has length 3"
    );
    let z = tessera::ones(&[1, 4], 2).unwrap().broadcast_to(&[0, 4]);
    assert_close(&z, &ArrayD::zeros(IxDyn(&[0, 4])), 0.0);
    assert_eq!(agreed_scalar(&z.sum()), 0.0);
    let e = tessera::full(&[3, 0, 2], 1.0, 2).unwrap();
    assert_eq!(e.size(), 0);
    assert_close(&e.sum_axis(1), &ArrayD::zeros(IxDyn(&[3, 2])), 0.0);
    assert_close(&e.max_axis(0), &ArrayD::zeros(IxDyn(&[0, 2])), 0.0);
}
