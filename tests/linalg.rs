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
    // Integers multiply (exactly); bools are refused with a hint.
    let i = tessera::zeros(&[4, 4], 2).unwrap().gt(0.0);
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

/// Determinant by Gaussian elimination with partial pivoting, written out here: the
/// reference the stacked `det` (faer's LU) is checked against.
fn naive_det(m: &Array2<f64>) -> f64 {
    let mut a = m.clone();
    let n = a.nrows();
    let mut det = 1.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[[i, c]].abs().total_cmp(&a[[j, c]].abs()))
            .unwrap();
        if a[[p, c]] == 0.0 {
            return 0.0;
        }
        if p != c {
            for k in 0..n {
                a.swap([p, k], [c, k]);
            }
            det = -det;
        }
        det *= a[[c, c]];
        for r in c + 1..n {
            let f = a[[r, c]] / a[[c, c]];
            for k in c..n {
                a[[r, k]] -= f * a[[c, k]];
            }
        }
    }
    det
}

fn matrices(a: &ArrayD<f64>) -> Vec<Array2<f64>> {
    let s = a.shape();
    let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
    a.to_shape((a.len() / (r * c).max(1), r, c))
        .unwrap()
        .outer_iter()
        .map(|m| m.to_owned())
        .collect()
}

#[test]
fn stacked_functions_match_references_for_any_chunking() {
    // A stack of 2×3 matrices 5×5, chunked across the stack and the matrix axes.
    let a = data(&[2, 3, 5, 5], 11);
    let mats = matrices(&a);
    for chunks in [[2, 3, 5, 5], [1, 2, 2, 3]] {
        let x = src(&a, &chunks);
        let det = get(&linalg::det(&x));
        let (sign, logabs) = linalg::slogdet(&x);
        let (sign, logabs) = (get(&sign), get(&logabs));
        for (i, m) in mats.iter().enumerate() {
            let d = naive_det(m);
            let got = det.as_slice().unwrap()[i];
            assert!(
                (got - d).abs() <= 1e-9 * d.abs().max(1.0),
                "det {i}: {got} vs {d}"
            );
            let (s, l) = (sign.as_slice().unwrap()[i], logabs.as_slice().unwrap()[i]);
            assert!(
                (s * l.exp() - d).abs() <= 1e-9 * d.abs().max(1.0),
                "slogdet {i}"
            );
        }
        // inv: A · A⁻¹ = I for every matrix.
        let prod = get(&linalg::matmul(&x, &linalg::inv(&x)));
        for p in matrices(&prod) {
            assert!(max_abs_diff(&p.into_dyn(), &Array2::eye(5).into_dyn()) < 1e-9);
        }
        // solve with a stack of right sides and with one vector for all.
        let b = data(&[2, 3, 5, 2], 12);
        let sol = get(&linalg::matmul(
            &x,
            &linalg::solve(&x, &src(&b, &[1, 3, 5, 2])),
        ));
        assert!(max_abs_diff(&sol, &b) < 1e-9);
        let v = data(&[5], 13);
        let sv = get(&linalg::solve(&x, &src(&v, &[5])));
        assert_eq!(sv.shape(), &[2, 3, 5]);
        for (m, s) in mats.iter().zip(matrices(&sv.insert_axis(ndarray::Axis(3)))) {
            let back = m.dot(&s.column(0));
            assert!(back.iter().zip(v.iter()).all(|(p, q)| (p - q).abs() < 1e-9));
        }
        // qr (both modes) and svd (both) reconstruct A; Q has orthonormal columns.
        for complete in [false, true] {
            let (q, r) = linalg::qr_mode(&x, complete);
            let qr = get(&linalg::matmul(&q, &r));
            assert!(max_abs_diff(&qr, &a) < 1e-9, "qr complete={complete}");
            for r in matrices(&get(&r)) {
                assert!(r.indexed_iter().all(|((i, j), v)| j >= i || *v == 0.0));
            }
        }
        for full in [false, true] {
            let svd = linalg::svd_full(&x, full);
            let us = &svd.u * &svd.s.expand_dims(-2);
            let back = get(&linalg::matmul(&us, &svd.vt));
            assert!(max_abs_diff(&back, &a) < 1e-9, "svd full={full}");
            let s = get(&linalg::svdvals(&x));
            assert!(max_abs_diff(&s, &get(&svd.s)) < 1e-9);
        }
        // eigh of the symmetric part: A V = V diag(w), ascending w; eigvalsh agrees.
        let sym = &(&x + &x.swapaxes(-2, -1)) * 0.5;
        let (w, v) = linalg::eigh(&sym);
        let av = get(&linalg::matmul(&sym, &v));
        let vw = get(&(&v * &w.expand_dims(-2)));
        assert!(max_abs_diff(&av, &vw) < 1e-9);
        let w = get(&w);
        assert!(max_abs_diff(&w, &get(&linalg::eigvalsh(&sym))) < 1e-9);
        for row in w.to_shape((6, 5)).unwrap().outer_iter() {
            assert!(row.iter().zip(row.iter().skip(1)).all(|(p, q)| p <= q));
        }
        // cholesky of A Aᵀ + 5 I: L Lᵀ and Uᵀ U give it back.
        let spd = &linalg::matmul(&x, &x.swapaxes(-2, -1))
            + &tessera::eye(5, None, 0, 5)
                .unwrap()
                .broadcast_to(&[2, 3, 5, 5])
                * 5.0;
        let l = linalg::cholesky(&spd);
        let u = linalg::cholesky_upper(&spd, true);
        let spd_v = get(&spd);
        assert!(max_abs_diff(&get(&linalg::matmul(&l, &l.swapaxes(-2, -1))), &spd_v) < 1e-8);
        assert!(max_abs_diff(&get(&linalg::matmul(&u.swapaxes(-2, -1), &u)), &spd_v) < 1e-8);
        // eigvals: their product is the determinant, their sum the trace.
        let ev = linalg::eigvals(&x).compute::<tessera::Complex64>().unwrap();
        let tr = get(&linalg::trace(&x, 0));
        for (i, m) in mats.iter().enumerate() {
            let e = &ev.as_slice().unwrap()[i * 5..(i + 1) * 5];
            let p = e
                .iter()
                .fold(tessera::Complex64::new(1.0, 0.0), |p, z| p * z);
            let s: tessera::Complex64 = e.iter().sum();
            let d = naive_det(m);
            assert!(
                (p.re - d).abs() < 1e-8 * d.abs().max(1.0) && p.im.abs() < 1e-8 * d.abs().max(1.0)
            );
            assert!((s.re - tr.as_slice().unwrap()[i]).abs() < 1e-9);
        }
    }
}

#[test]
fn stacked_functions_on_complex_and_f32_and_integer_input() {
    let re = data(&[3, 4, 4], 21);
    let im = data(&[3, 4, 4], 22);
    let z = tessera::array::complex(&src(&re, &[1, 4, 4]), &src(&im, &[1, 4, 4]));
    // inv of complex: A · A⁻¹ = I (real and imaginary parts).
    let p = linalg::matmul(&z, &linalg::inv(&z))
        .compute::<tessera::Complex64>()
        .unwrap();
    for (idx, v) in p.indexed_iter() {
        let want = if idx[1] == idx[2] { 1.0 } else { 0.0 };
        assert!(
            (v.re - want).abs() < 1e-9 && v.im.abs() < 1e-9,
            "{idx:?}: {v}"
        );
    }
    // |det| of complex from slogdet equals |det| from det; the sign has modulus 1.
    let d = linalg::det(&z).compute::<tessera::Complex64>().unwrap();
    let (sign, logabs) = linalg::slogdet(&z);
    assert_eq!(logabs.dtype(), tessera::DType::F64);
    let sign = sign.compute::<tessera::Complex64>().unwrap();
    let logabs = logabs.compute::<f64>().unwrap();
    for i in 0..3 {
        assert!((sign[[i]].norm() - 1.0).abs() < 1e-12);
        let back = sign[[i]] * logabs[[i]].exp();
        assert!((back - d[[i]]).norm() < 1e-9 * d[[i]].norm().max(1.0));
    }
    // f32 stays f32; integers compute in f64 (NumPy's rule).
    let f = src(&re, &[3, 4, 4]).astype(tessera::DType::F32);
    assert_eq!(linalg::det(&f).dtype(), tessera::DType::F32);
    let (w, v) = linalg::eigh(&f);
    assert_eq!(
        (w.dtype(), v.dtype()),
        (tessera::DType::F32, tessera::DType::F32)
    );
    let i = src(&re, &[3, 4, 4]).astype(tessera::DType::I64);
    assert_eq!(linalg::svdvals(&i).dtype(), tessera::DType::F64);
    let (ew, _) = linalg::eig(&f);
    assert_eq!(ew.dtype(), tessera::DType::C64);
}

#[test]
fn stacked_singular_empty_and_bad_inputs() {
    // A singular matrix in a stack: det 0, slogdet (0, -inf), inv an error naming it.
    let mut a = data(&[2, 3, 3], 31);
    for k in 0..3 {
        a[[1, 2, k]] = a[[1, 0, k]] * 2.0;
    }
    a[[1, 2, 0]] = a[[1, 0, 0]] * 2.0;
    let x = src(&a, &[1, 3, 3]);
    let (s, l) = linalg::slogdet(&x);
    let (s, l) = (get(&s), get(&l));
    assert_eq!((s[[1]], l[[1]]), (0.0, f64::NEG_INFINITY));
    assert_eq!(get(&linalg::det(&x))[[1]], 0.0);
    let e = linalg::inv(&x).compute::<f64>().unwrap_err();
    assert!(matches!(e, Error::LinAlg { op: "inv", .. }), "{e}");
    assert!(e.to_string().contains("matrix [1] of the stack"), "{e}");
    // Not positive definite.
    let e = linalg::cholesky(&x).compute::<f64>().unwrap_err();
    assert!(matches!(e, Error::LinAlg { op: "cholesky", .. }), "{e}");
    // Empty stacks and 0×0 matrices.
    let empty = tessera::zeros(&[0, 3, 3], 3).unwrap();
    assert_eq!(linalg::det(&empty).compute::<f64>().unwrap().shape(), &[0]);
    let zero = tessera::zeros(&[2, 0, 0], 2).unwrap();
    assert_eq!(get(&linalg::det(&zero)).as_slice().unwrap(), &[1.0, 1.0]);
    let (q, r) = linalg::qr_mode(&tessera::zeros(&[4, 0], 4).unwrap(), true);
    assert_eq!((q.shape(), r.shape()), (&[4, 4][..], &[4, 0][..]));
    assert_eq!(get(&q), Array2::<f64>::eye(4).into_dyn());
    // Errors name the op and the shape.
    let e = linalg::det(&tessera::zeros(&[3, 4], 4).unwrap())
        .compute::<f64>()
        .unwrap_err();
    assert!(
        e.to_string().contains("det") && e.to_string().contains("square"),
        "{e}"
    );
    let e = linalg::eigh(&tessera::zeros(&[3], 3).unwrap())
        .0
        .compute::<f64>()
        .unwrap_err();
    assert!(e.to_string().contains("at least 2 axes"), "{e}");
}

#[test]
fn norms_rank_pinv_power_cross_of_stacks() {
    let a = data(&[2, 4, 3], 41);
    let x = src(&a, &[1, 2, 3]);
    let mats = matrices(&a);
    let fro = get(&linalg::matrix_norm(&x, linalg::MatrixOrd::Fro, false));
    let one = get(&linalg::matrix_norm(&x, linalg::MatrixOrd::P(1.0), true));
    assert_eq!(one.shape(), &[2, 1, 1]);
    let two = get(&linalg::matrix_norm(&x, linalg::MatrixOrd::P(2.0), false));
    for (i, m) in mats.iter().enumerate() {
        let f = m.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((fro[[i]] - f).abs() < 1e-12);
        let c1 = (0..3)
            .map(|j| m.column(j).iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        assert!((one[[i, 0, 0]] - c1).abs() < 1e-12);
        // The 2-norm is the largest singular value: |A v| <= it for unit v, equal at v₁.
        assert!(two[[i]] <= f + 1e-12);
    }
    let vn = get(&linalg::vector_norm(&x, Some(&[-1]), false, 3.0));
    for (i, m) in mats.iter().enumerate() {
        for r in 0..4 {
            let want = m.row(r).iter().map(|v| v.abs().powi(3)).sum::<f64>().cbrt();
            assert!((vn[[i, r]] - want).abs() < 1e-12);
        }
    }
    // rank of a stack with a rank-1 matrix; pinv satisfies A A⁺ A = A.
    let mut r1 = a.clone();
    for i in 0..4 {
        for j in 0..3 {
            r1[[1, i, j]] = (i + 1) as f64 * (j + 2) as f64;
        }
    }
    let xr = src(&r1, &[1, 4, 3]);
    let rank = linalg::matrix_rank(&xr, None).compute::<i64>().unwrap();
    assert_eq!(rank.as_slice().unwrap(), &[3, 1]);
    let p = linalg::pinv(&xr, None);
    let back = get(&linalg::matmul(&linalg::matmul(&xr, &p), &xr));
    assert!(max_abs_diff(&back, &r1) < 1e-9);
    // matrix_power: A⁵ = A·A·A·A·A, A⁻² = (A²)⁻¹, A⁰ = I.
    let sq = src(&data(&[2, 3, 3], 42), &[1, 3, 3]);
    let p5 = get(&linalg::matrix_power(&sq, 5));
    let mut m5 = sq.clone();
    for _ in 0..4 {
        m5 = linalg::matmul(&m5, &sq);
    }
    assert!(max_abs_diff(&p5, &get(&m5)) < 1e-6 * p5.iter().fold(1.0f64, |m, v| m.max(v.abs())));
    let pm2 = linalg::matmul(
        &linalg::matrix_power(&sq, -2),
        &linalg::matrix_power(&sq, 2),
    );
    for m in matrices(&get(&pm2)) {
        assert!(max_abs_diff(&m.into_dyn(), &Array2::eye(3).into_dyn()) < 1e-8);
    }
    assert_eq!(
        matrices(&get(&linalg::matrix_power(&sq, 0)))[1],
        Array2::<f64>::eye(3)
    );
    // cross along a middle axis, broadcast.
    let u = data(&[2, 3, 4], 43);
    let v = data(&[3, 1], 44);
    let c = get(&linalg::cross(&src(&u, &[1, 3, 2]), &src(&v, &[3, 1]), -2));
    for i in 0..2 {
        for k in 0..4 {
            let (p, q) = (
                [u[[i, 0, k]], u[[i, 1, k]], u[[i, 2, k]]],
                [v[[0, 0]], v[[1, 0]], v[[2, 0]]],
            );
            let want = [
                p[1] * q[2] - p[2] * q[1],
                p[2] * q[0] - p[0] * q[2],
                p[0] * q[1] - p[1] * q[0],
            ];
            for (j, w) in want.iter().enumerate() {
                assert!((c[[i, j, k]] - w).abs() < 1e-12);
            }
        }
    }
    let e = linalg::cross(&src(&u, &[2, 3, 4]), &src(&u, &[2, 3, 4]), -1)
        .compute::<f64>()
        .unwrap_err();
    assert!(e.to_string().contains("length 3"), "{e}");
}

#[test]
fn integer_and_complex_products_are_exact_and_wrap_like_numpy() {
    // int32 products across several contracted chunks, against a direct loop.
    let a = ndarray::Array::from_shape_fn((3, 4, 5), |(i, j, k)| (i * 7 + j * 3 + k) as i32 - 9)
        .into_dyn();
    let b = ndarray::Array::from_shape_fn((3, 5, 2), |(i, j, k)| (i + 2 * j) as i32 - 3 * k as i32)
        .into_dyn();
    let x = tessera::from_ndarray(a.clone(), &[2, 2, 2]).unwrap();
    let y = tessera::from_ndarray(b.clone(), &[1, 3, 2]).unwrap();
    let c = linalg::matmul(&x, &y);
    assert_eq!(c.dtype(), tessera::DType::I32);
    let got = c.compute::<i32>().unwrap();
    for ((i, r, col), v) in got
        .clone()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        let want: i32 = (0..5).map(|p| a[[i, r, p]] * b[[i, p, col]]).sum();
        assert_eq!(*v, want);
    }
    // uint8 wraps in its width, as numpy.matmul does.
    let u = tessera::from_ndarray(ndarray::arr2(&[[200u8, 100]]).into_dyn(), 2).unwrap();
    let v = tessera::from_ndarray(ndarray::arr2(&[[2u8], [3]]).into_dyn(), 2).unwrap();
    assert_eq!(
        linalg::matmul(&u, &v).compute::<u8>().unwrap()[[0, 0]],
        ((200 * 2 + 100 * 3) % 256) as u8
    );
    // complex128 tensordot against a direct sum.
    let re = data(&[3, 4], 51);
    let im = data(&[3, 4], 52);
    let z = tessera::array::complex(&src(&re, &[2, 3]), &src(&im, &[2, 3]));
    let zz = linalg::tensordot(&z, &z, &[1], &[1])
        .compute::<tessera::Complex64>()
        .unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let want: tessera::Complex64 = (0..4)
                .map(|p| {
                    tessera::Complex64::new(re[[i, p]], im[[i, p]])
                        * tessera::Complex64::new(re[[j, p]], im[[j, p]])
                })
                .sum();
            assert!((zz[[i, j]] - want).norm() < 1e-12);
        }
    }
    let e = linalg::matmul(&u.gt(0), &v.gt(0))
        .compute::<bool>()
        .unwrap_err();
    assert!(e.to_string().contains("astype"), "{e}");
}
