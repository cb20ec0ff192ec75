//! Linear algebra against a dense reference (ndarray products, algebraic identities).

mod common;

use common::*;
use ndarray::{Array2, ArrayD, Ix2, IxDyn};
use tessera::linalg::{self, CompressedSvd, NormOrd};
use tessera::{Array, Error};

fn src(a: &ArrayD<f64>, chunks: &[usize]) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

fn m2(a: ArrayD<f64>) -> Array2<f64> {
    a.into_dimensionality::<Ix2>().unwrap()
}

/// The result on every device (they must agree; see `common::agreed`).
fn get(a: &Array) -> ArrayD<f64> {
    agreed(a)
}

fn max_abs_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn matmul_matches_ndarray_with_mismatched_chunks() {
    let a = data(&[13, 11], 1);
    let b = data(&[11, 7], 2);
    let expect = m2(a.clone()).dot(&m2(b.clone())).into_dyn();
    for (ca, cb) in [([5, 4], [3, 7]), ([13, 11], [11, 7]), ([1, 2], [4, 1])] {
        let c = linalg::matmul(&src(&a, &ca), &src(&b, &cb));
        assert!(
            max_abs_diff(&get(&c), &expect) < 1e-12,
            "chunks {ca:?} {cb:?}"
        );
    }
    // Vector cases and the method forms.
    let v = data(&[11], 3);
    let av = m2(a.clone())
        .dot(&v.clone().into_dimensionality::<ndarray::Ix1>().unwrap())
        .into_dyn();
    assert!(max_abs_diff(&get(&src(&a, &[4, 3]).dot(&src(&v, &[5]))), &av) < 1e-12);
    let w = data(&[13], 4);
    let wa = w
        .clone()
        .into_dimensionality::<ndarray::Ix1>()
        .unwrap()
        .dot(&m2(a.clone()))
        .into_dyn();
    assert!(max_abs_diff(&get(&src(&w, &[6]).matmul(&src(&a, &[4, 3]))), &wa) < 1e-12);
    let vv: f64 = v.iter().map(|x| x * x).sum();
    assert!((agreed_scalar(&src(&v, &[3]).dot(&src(&v, &[4]))) - vv).abs() < 1e-12);
    // Random inputs fuse into the products; f32 stays f32.
    let r = tessera::random::uniform(&[20, 30], &[7, 9], 5)
        .unwrap()
        .astype(tessera::DType::F32);
    assert_eq!(r.matmul(&r.t()).dtype(), tessera::DType::F32);
    let rr2 = get(&r).into_dimensionality::<Ix2>().unwrap();
    let got = get(&r.matmul(&r.t()));
    let exp = rr2.dot(&rr2.t());
    assert!(got
        .iter()
        .zip(exp.iter())
        .all(|(x, y)| (x - y).abs() < 1e-4));
}

#[test]
fn batched_matmul_broadcasts_batch_axes() {
    let a = data(&[2, 1, 4, 3], 5);
    let b = data(&[3, 3, 5], 6);
    let c = get(&linalg::matmul(
        &src(&a, &[1, 1, 2, 2]),
        &src(&b, &[2, 2, 3]),
    ));
    assert_eq!(c.shape(), &[2, 3, 4, 5]);
    for i in 0..2 {
        for j in 0..3 {
            let ai = m2(a.slice(ndarray::s![i, 0, .., ..]).to_owned().into_dyn());
            let bj = m2(b.slice(ndarray::s![j, .., ..]).to_owned().into_dyn());
            let e = ai.dot(&bj);
            let g = c.slice(ndarray::s![i, j, .., ..]).to_owned();
            assert!(g.iter().zip(e.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
        }
    }
}

#[test]
fn tensordot_over_two_axes() {
    let a = data(&[3, 4, 5], 7);
    let b = data(&[5, 4, 2], 8);
    let c = get(&linalg::tensordot(
        &src(&a, &[2, 3, 2]),
        &src(&b, &[3, 2, 1]),
        &[1, 2],
        &[1, 0],
    ));
    let mut e = ArrayD::zeros(IxDyn(&[3, 2]));
    for i in 0..3 {
        for j in 0..2 {
            let mut s = 0.0;
            for k in 0..4 {
                for l in 0..5 {
                    s += a[[i, k, l]] * b[[l, k, j]];
                }
            }
            e[[i, j]] = s;
        }
    }
    assert!(max_abs_diff(&c, &e) < 1e-12);
}

fn check_qr(a: &ArrayD<f64>, chunks: &[usize]) {
    let x = src(a, chunks);
    let (q, r) = linalg::qr(&x);
    let (qv, rv) = (m2(get(&q)), m2(get(&r)));
    let back = qv.dot(&rv).into_dyn();
    let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs())) * a.len() as f64;
    assert!(
        max_abs_diff(&back, a) < 1e-13 * scale,
        "QR != A for chunks {chunks:?}"
    );
    let qtq = qv.t().dot(&qv);
    let eye = Array2::<f64>::eye(qtq.nrows());
    assert!(
        max_abs_diff(&qtq.into_dyn(), &eye.into_dyn()) < 1e-12,
        "Q not orthonormal"
    );
    for i in 0..rv.nrows() {
        for j in 0..i.min(rv.ncols()) {
            assert!(rv[[i, j]].abs() < 1e-12, "R not upper triangular");
        }
    }
}

#[test]
fn tsqr_one_and_many_row_blocks_and_short_fat() {
    check_qr(&data(&[40, 6], 9), &[40, 6]);
    check_qr(&data(&[103, 6], 10), &[10, 6]);
    check_qr(&data(&[50, 6], 11), &[4, 6]); // blocks shorter than n
    check_qr(&data(&[6, 30], 12), &[6, 7]); // one row of blocks
    check_qr(&data(&[8, 5], 13), &[8, 5]);
    // Many blocks with wide rows: the R stack (50 × 200 × 200 values) is reduced in a tree.
    check_qr(&data(&[10_000, 200], 14), &[200, 200]);
    let x = tessera::zeros(&[10_000, 200], &[200, 200]).unwrap();
    let g = tessera::graph::TaskGraph::build(&[&linalg::qr(&x).1]).unwrap();
    let qrs = g.tasks.iter().filter(|t| t.op.name() == "qr").count();
    assert!(
        qrs > 51,
        "expected a multi-level tree, got {qrs} QR tasks for 50 blocks"
    );
    // Rank-deficient input: QR = A still holds.
    let mut d = data(&[30, 4], 15);
    for i in 0..30 {
        d[[i, 3]] = d[[i, 0]] + d[[i, 1]];
    }
    check_qr(&d, &[7, 4]);
}

fn check_svd(a: &ArrayD<f64>, chunks: &[usize]) -> Vec<f64> {
    let svd = linalg::svd(&src(a, chunks));
    let (u, s, vt) = (m2(get(&svd.u)), get(&svd.s), m2(get(&svd.vt)));
    let s1 = s.clone().into_dimensionality::<ndarray::Ix1>().unwrap();
    let us = &u * &s1.insert_axis(ndarray::Axis(0));
    let back = us.dot(&vt).into_dyn();
    assert!(max_abs_diff(&back, a) < 1e-11, "U S Vt != A for {chunks:?}");
    let utu = u.t().dot(&u);
    assert!(max_abs_diff(&utu.into_dyn(), &Array2::<f64>::eye(s.len()).into_dyn()) < 1e-11);
    assert!(s.iter().zip(s.iter().skip(1)).all(|(x, y)| x >= y));
    // Sign convention: the largest-magnitude entry of each column of U is positive.
    for j in 0..u.ncols() {
        let col = u.column(j);
        let big = col
            .iter()
            .cloned()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        assert!(big > 0.0);
    }
    s.iter().copied().collect()
}

#[test]
fn svd_tall_wide_and_chunking_invariant() {
    let a = data(&[60, 5], 16);
    let s1 = check_svd(&a, &[60, 5]);
    let s2 = check_svd(&a, &[7, 5]);
    assert!(s1.iter().zip(&s2).all(|(x, y)| (x - y).abs() < 1e-12));
    // U agrees across chunkings thanks to the sign convention.
    let u1 = get(&linalg::svd(&src(&a, &[60, 5])).u);
    let u2 = get(&linalg::svd(&src(&a, &[9, 5])).u);
    assert!(max_abs_diff(&u1, &u2) < 1e-10);
    check_svd(&data(&[5, 40], 17), &[5, 9]);
}

#[test]
fn svd_compressed_recovers_a_low_rank_matrix() {
    // A rank-3 matrix: the rank-3 approximation is exact, and k larger than a chunk works.
    let l = tessera::random::normal(&[120, 3], &[40, 3], 1).unwrap();
    let r = tessera::random::normal(&[3, 90], &[3, 30], 2).unwrap();
    let a = l.matmul(&r);
    let av = get(&a);
    let svd = linalg::svd_compressed(
        &a,
        3,
        CompressedSvd {
            n_power_iter: 1,
            ..Default::default()
        },
    );
    let (u, s, vt) = (m2(get(&svd.u)), get(&svd.s), m2(get(&svd.vt)));
    let s1 = s.clone().into_dimensionality::<ndarray::Ix1>().unwrap();
    let back = (&u * &s1.insert_axis(ndarray::Axis(0))).dot(&vt).into_dyn();
    assert!(max_abs_diff(&back, &av) < 1e-9);
    // The leading singular values agree with the exact SVD.
    let exact = get(&linalg::svd(&a.rechunk(vec![40, 90])).s);
    for i in 0..3 {
        assert!((s[i] - exact[i]).abs() < 1e-9 * exact[0]);
    }
    let k40 = linalg::svd_compressed(&a, 40, CompressedSvd::default());
    assert_eq!(k40.u.shape(), &[120, 40]);
}

#[test]
fn cholesky_triangular_solve_solve_lstsq_inv() {
    let b = data(&[9, 9], 18);
    let spd = (m2(b.clone()).t().dot(&m2(b.clone())) + Array2::<f64>::eye(9) * 9.0).into_dyn();
    let x = src(&spd, &[4, 4]);
    let l = m2(get(&linalg::cholesky(&x)));
    assert!(max_abs_diff(&l.dot(&l.t()).into_dyn(), &spd) < 1e-10);
    assert!((0..9).all(|i| (i + 1..9).all(|j| l[[i, j]] == 0.0)));
    // Triangular solves, 1-d and 2-d right sides, both directions.
    let lv = src(&l.clone().into_dyn(), &[4, 4]);
    let rhs = data(&[9, 3], 19);
    let xs = m2(get(&linalg::solve_triangular(
        &lv,
        &src(&rhs, &[5, 2]),
        true,
    )));
    assert!(max_abs_diff(&l.dot(&xs).into_dyn(), &rhs) < 1e-10);
    let ut = src(&l.t().to_owned().into_dyn(), &[4, 4]);
    let r1 = data(&[9], 20);
    let x1 = get(&linalg::solve_triangular(&ut, &src(&r1, &[2]), false));
    let back = l
        .t()
        .dot(&x1.clone().into_dimensionality::<ndarray::Ix1>().unwrap())
        .into_dyn();
    assert!(max_abs_diff(&back, &r1) < 1e-10);
    // General solve and inverse.
    let a = data(&[8, 8], 21);
    let xs = get(&linalg::solve(
        &src(&a, &[3, 3]),
        &src(&r1.slice(ndarray::s![..8]).to_owned().into_dyn(), &[3]),
    ));
    let back = m2(a.clone()).dot(&xs.clone().into_dimensionality::<ndarray::Ix1>().unwrap());
    assert!(back
        .iter()
        .zip(r1.iter())
        .all(|(x, y)| (x - y).abs() < 1e-9));
    let inv = m2(get(&linalg::inv(&src(&a, &[3, 3]))));
    assert!(
        max_abs_diff(
            &m2(a.clone()).dot(&inv).into_dyn(),
            &Array2::<f64>::eye(8).into_dyn()
        ) < 1e-9
    );
    // Least squares: normal equations hold at the solution.
    let t = data(&[50, 4], 22);
    let y = data(&[50], 23);
    let ls = linalg::lstsq(&src(&t, &[12, 4]), &src(&y, &[12]));
    let xv = get(&ls.x).into_dimensionality::<ndarray::Ix1>().unwrap();
    let res = &y.clone().into_dimensionality::<ndarray::Ix1>().unwrap() - &m2(t.clone()).dot(&xv);
    let grad = m2(t.clone()).t().dot(&res);
    assert!(grad.iter().all(|g| g.abs() < 1e-9), "Aᵀ r = {grad:?}");
    // A 1-d b has one residual, shape (1,), as in NumPy and dask.
    let r = agreed(&ls.residuals);
    assert_eq!(r.shape(), &[1]);
    assert!((r[[0]] - res.dot(&res)).abs() < 1e-9);
    let y2 = data(&[50, 3], 25);
    let ls2 = linalg::lstsq(&src(&t, &[12, 4]), &src(&y2, &[12, 2]));
    assert_eq!(agreed(&ls2.residuals).shape(), &[3]);
    assert_eq!(agreed_scalar(&ls.rank), 4.0);
}

#[test]
fn norms() {
    let a = data(&[7, 5], 24);
    let x = src(&a, &[3, 2]);
    let fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((agreed_scalar(&linalg::norm(&x, NormOrd::Default, None)) - fro).abs() < 1e-12);
    let one = (0..5)
        .map(|j| (0..7).map(|i| a[[i, j]].abs()).sum::<f64>())
        .fold(0.0, f64::max);
    assert!((agreed_scalar(&linalg::norm(&x, NormOrd::P(1.0), None)) - one).abs() < 1e-12);
    let inf = (0..7)
        .map(|i| (0..5).map(|j| a[[i, j]].abs()).sum::<f64>())
        .fold(0.0, f64::max);
    assert!((agreed_scalar(&linalg::norm(&x, NormOrd::Inf, None)) - inf).abs() < 1e-12);
    let s = get(&linalg::svd(&x.rechunk(vec![3, 5])).s);
    assert!((agreed_scalar(&linalg::norm(&x, NormOrd::P(2.0), None)) - s[0]).abs() < 1e-12);
    assert!((agreed_scalar(&linalg::norm(&x, NormOrd::Nuc, None)) - s.sum()).abs() < 1e-11);
    let rows = get(&linalg::norm(&x, NormOrd::P(3.0), Some(1)));
    for i in 0..7 {
        let e = (0..5)
            .map(|j| a[[i, j]].abs().powi(3))
            .sum::<f64>()
            .powf(1.0 / 3.0);
        assert!((rows[[i]] - e).abs() < 1e-12);
    }
}

#[test]
fn bad_inputs_name_the_op_and_the_fix() {
    let a = tessera::zeros(&[6, 4], 2).unwrap();
    let e = linalg::qr(&a).0.check().unwrap_err();
    assert!(
        matches!(e, Error::InvalidChunks { op: "qr", .. })
            && e.to_string().contains("rechunk(&[2, 4])"),
        "{e}"
    );
    let e = linalg::svd(&a).u.check().unwrap_err();
    assert!(e.to_string().contains("rechunk"), "{e}");
    let e = linalg::matmul(&a, &a).check().unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { op: "matmul", .. }),
        "{e}"
    );
    let e = linalg::cholesky(&a).check().unwrap_err();
    assert!(e.to_string().contains("square"), "{e}");
    let sq = tessera::zeros(&[6, 6], &[2, 3]).unwrap();
    let e = linalg::cholesky(&sq).check().unwrap_err();
    assert!(e.to_string().contains("rechunk(2)"), "{e}");
    let e = linalg::solve(&a, &tessera::zeros(&[6], 2).unwrap())
        .check()
        .unwrap_err();
    assert!(e.to_string().contains("square"), "{e}");
    let e = linalg::svd_compressed(&a, 5, CompressedSvd::default())
        .u
        .check()
        .unwrap_err();
    assert!(e.to_string().contains("k = 5"), "{e}");
    let i = tessera::zeros(&[4, 4], 2)
        .unwrap()
        .astype(tessera::DType::I32);
    assert!(matches!(
        linalg::matmul(&i, &i).check().unwrap_err(),
        Error::UnsupportedDType { .. }
    ));
    let e = linalg::tensordot(&a, &a, &[0], &[1]).check().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "tensordot",
                ..
            }
        ),
        "{e}"
    );
    // Not positive definite: a clear error at compute time.
    let neg =
        tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [2.0, 1.0]]).into_dyn(), 1).unwrap();
    for d in devices() {
        let e = linalg::cholesky(&neg)
            .compute_with::<f64>(&opts(d))
            .unwrap_err();
        assert!(
            matches!(e, Error::LinAlg { op: "cholesky", .. }),
            "{d}: a linear-algebra error, not a backend fault: {e:?}"
        );
        assert!(e.to_string().contains("not positive definite"), "{d}: {e}");
    }
}

#[test]
fn solve_and_inv_of_a_singular_matrix_are_errors_naming_the_rank() {
    // Rank 1 (the second row is twice the first) and rank 2 of 3; NumPy raises
    // LinAlgError("Singular matrix") for both.
    let r1 = ndarray::arr2(&[[1.0, 2.0], [2.0, 4.0]]).into_dyn();
    let r2 = ndarray::arr2(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]).into_dyn();
    for d in devices() {
        for (m, c, rank, n) in [(&r1, 1, 1, 2), (&r2, 2, 2, 3)] {
            let a = src(m, &[c, c]);
            let b = tessera::ones(&[n], c).unwrap();
            let e = linalg::solve(&a, &b)
                .compute_with::<f64>(&opts(d))
                .unwrap_err();
            assert!(matches!(e, Error::LinAlg { op: "solve", .. }), "{d}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("numerical rank {rank} of {n}")) && msg.contains("lstsq"),
                "{d}: {msg}"
            );
            let e = linalg::inv(&a).compute_with::<f64>(&opts(d)).unwrap_err();
            assert!(matches!(e, Error::LinAlg { op: "inv", .. }), "{d}: {e:?}");
        }
        // A well-conditioned matrix still solves (the check passes the blocks through).
        let a = src(
            &ndarray::arr2(&[[2.0, 1.0], [1.0, 3.0]]).into_dyn(),
            &[1, 1],
        );
        let x = linalg::solve(&a, &tessera::ones(&[2], 1).unwrap())
            .compute_with::<f64>(&opts(d))
            .unwrap();
        assert!(
            (x[[0]] - 0.4).abs() < 1e-12 && (x[[1]] - 0.2).abs() < 1e-12,
            "{x}"
        );
    }
}

#[test]
fn zero_size_and_degenerate() {
    let a = tessera::zeros(&[0, 3], 2).unwrap();
    let b = tessera::ones(&[3, 2], 2).unwrap();
    assert_eq!(get(&linalg::matmul(&a, &b)).shape(), &[0, 2]);
    let k0 = linalg::matmul(
        &tessera::ones(&[2, 0], 1).unwrap(),
        &tessera::ones(&[0, 3], 1).unwrap(),
    );
    assert_eq!(get(&k0), ArrayD::<f64>::zeros(IxDyn(&[2, 3])));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        #[test]
        fn matmul_any_shapes_and_chunks(m in 0usize..9, k in 0usize..9, n in 0usize..9,
                                        c in proptest::collection::vec(1usize..5, 4)) {
            let a = data(&[m, k], 1);
            let b = data(&[k, n], 2);
            let got = get(&linalg::matmul(&src(&a, &[c[0], c[1]]), &src(&b, &[c[2], c[3]])));
            let expect = m2(a).dot(&m2(b)).into_dyn();
            prop_assert!(max_abs_diff(&got, &expect) < 1e-12);
        }

        #[test]
        fn qr_and_svd_any_tall_shapes(m in 1usize..40, n in 1usize..6, rc in 1usize..12) {
            let a = data(&[m, n], 3);
            let (q, r) = linalg::qr(&src(&a, &[rc, n]));
            let back = m2(get(&q)).dot(&m2(get(&r))).into_dyn();
            prop_assert!(max_abs_diff(&back, &a) < 1e-11);
            let svd = linalg::svd(&src(&a, &[rc, n]));
            let (u, s, vt) = (m2(get(&svd.u)), get(&svd.s), m2(get(&svd.vt)));
            let s1 = s.into_dimensionality::<ndarray::Ix1>().unwrap();
            let back = (&u * &s1.insert_axis(ndarray::Axis(0))).dot(&vt).into_dyn();
            prop_assert!(max_abs_diff(&back, &a) < 1e-10);
        }

        #[test]
        fn cholesky_and_solve_any_square_chunks(n in 1usize..12, c in 1usize..5) {
            let b = data(&[n, n], 4);
            let spd = (m2(b.clone()).t().dot(&m2(b)) + Array2::<f64>::eye(n) * n as f64).into_dyn();
            let l = m2(get(&linalg::cholesky(&src(&spd, &[c, c]))));
            prop_assert!(max_abs_diff(&l.dot(&l.t()).into_dyn(), &spd) < 1e-9);
            let rhs = data(&[n], 5);
            let x = get(&linalg::solve(&src(&spd, &[c, c]), &src(&rhs, &[c])));
            let back = m2(spd).dot(&x.into_dimensionality::<ndarray::Ix1>().unwrap()).into_dyn();
            prop_assert!(max_abs_diff(&back, &rhs) < 1e-8);
        }
    }
}
