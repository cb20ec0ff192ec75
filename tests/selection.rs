//! Data-dependent shapes against plain loops over the whole array: masks, compress,
//! nonzero, and the set functions; chunks emptied by a selection are dropped.

mod common;

use common::*;
use ndarray::{ArrayD, IxDyn};
use tessera::Array;

fn ints(shape: &[usize], seed: u64) -> ArrayD<f64> {
    data(shape, seed).mapv(|v| v.round())
}

fn chunked(a: &ArrayD<f64>, chunks: Vec<Vec<usize>>) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

fn vec1(v: Vec<f64>) -> ArrayD<f64> {
    let n = v.len();
    ArrayD::from_shape_vec(IxDyn(&[n]), v).unwrap()
}

#[test]
fn mask_selects_in_c_order_with_exact_chunks() {
    let a = ints(&[9, 7], 1);
    let x = chunked(&a, vec![vec![4, 1, 4], vec![3, 4]]);
    for t in [-10.0, 2.0, 5.0, 100.0] {
        let got = x.mask(&x.gt(t));
        let e = vec1(a.iter().copied().filter(|&v| v > t).collect());
        assert_eq!(got.shape(), e.shape());
        let sizes = got.chunks().unwrap().sizes(0).to_vec();
        assert!(
            e.is_empty() || !sizes.contains(&0),
            "empty chunks dropped: {sizes:?}"
        );
        assert_close(&got, &e, 0.0);
        assert_close(&got.sum(), &ArrayD::from_elem(IxDyn(&[]), e.sum()), 1e-12);
    }
    // A mask on the leading axis selects rows.
    let rows = tessera::from_ndarray(
        ndarray::arr1(&[true, false, true, true, false, false, false, true, false]).into_dyn(),
        4,
    )
    .unwrap();
    let got = x.mask(&rows);
    let keep = [0usize, 2, 3, 7];
    let e = ArrayD::from_shape_fn(IxDyn(&[4, 7]), |p| a[[keep[p[0]], p[1]]]);
    assert_close(&got, &e, 0.0);
    assert!(x.mask(&x.gt(0.0).t()).check().is_err());
}

#[test]
fn nonzero_and_argwhere_give_positions() {
    let a = ints(&[5, 6], 2).mapv(|v| if v > 2.0 { v } else { 0.0 });
    let x = chunked(&a, vec![vec![2, 3], vec![4, 2]]);
    let (mut r, mut c) = (vec![], vec![]);
    for i in 0..5 {
        for j in 0..6 {
            if a[[i, j]] != 0.0 {
                r.push(i as f64);
                c.push(j as f64);
            }
        }
    }
    let nz = x.nonzero();
    assert_close(&nz[0], &vec1(r.clone()), 0.0);
    assert_close(&nz[1], &vec1(c.clone()), 0.0);
    let w = x.argwhere();
    let e = ArrayD::from_shape_fn(IxDyn(&[r.len(), 2]), |p| {
        if p[1] == 0 {
            r[p[0]]
        } else {
            c[p[0]]
        }
    });
    assert_close(&w, &e, 0.0);
}

#[test]
fn unique_values_counts_indices_and_inverse() {
    // float64 sorts; int64 in a narrow range counts (unique_counted): the same answers.
    unique_against_loops(tessera::DType::F64);
    unique_against_loops(tessera::DType::I64);
    unique_against_loops(tessera::DType::I16);
}

fn unique_against_loops(dt: tessera::DType) {
    let a = ints(&[7, 6], 3);
    let x = chunked(&a, vec![vec![3, 4], vec![5, 1]]).astype(dt);
    let flat: Vec<f64> = a.iter().copied().collect();
    let mut vals = flat.clone();
    vals.sort_by(|p, q| p.partial_cmp(q).unwrap());
    vals.dedup();
    let u = x.unique_all(true);
    assert_close(&u.values, &vec1(vals.clone()), 0.0);
    let counts: Vec<f64> = vals
        .iter()
        .map(|v| flat.iter().filter(|&&w| w == *v).count() as f64)
        .collect();
    assert_close(&u.counts, &vec1(counts), 0.0);
    let first: Vec<f64> = vals
        .iter()
        .map(|v| flat.iter().position(|w| w == v).unwrap() as f64)
        .collect();
    assert_close(&u.indices, &vec1(first), 0.0);
    let inv = a.mapv(|v| vals.iter().position(|&w| w == v).unwrap() as f64);
    assert_close(&u.inverse, &inv, 0.0);
    // Sets against plain loops.
    let b = ints(&[10], 4);
    let y = chunked(&b, vec![vec![3, 3, 4]]).astype(dt);
    let inb = |v: &f64| b.iter().any(|w| w == v);
    assert_close(
        &x.intersect1d(&y),
        &vec1(vals.iter().copied().filter(inb).collect()),
        0.0,
    );
    assert_close(
        &x.setdiff1d(&y),
        &vec1(vals.iter().copied().filter(|v| !inb(v)).collect()),
        0.0,
    );
}
