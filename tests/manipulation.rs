//! Shape manipulation and rechunk plans against the dense reference.

mod common;

use common::*;
use ndarray::{concatenate, stack, ArrayD, Axis, IxDyn};
use tessera::{Array, Error};

fn src(a: &ArrayD<f64>, chunks: &[usize]) -> Array {
    tessera::from_ndarray(a.clone(), chunks).unwrap()
}

#[test]
fn concatenate_and_stack_with_different_chunks() {
    let a = data(&[4, 6], 1);
    let b = data(&[3, 6], 2);
    let c = tessera::concatenate(&[&src(&a, &[3, 4]), &src(&b, &[2, 5])], 0);
    let e = concatenate(Axis(0), &[a.view(), b.view()]).unwrap();
    assert_close(&c, &e, 0.0);
    // A consumer that straddles the seam (a rechunk) and one that fuses (elementwise).
    assert_close(&c.rechunk(&[7, 6]), &e, 0.0);
    assert_close(
        &(&c * 2.0).sum_axis(0),
        &e.mapv(|v| 2.0 * v).sum_axis(Axis(0)),
        1e-13,
    );
    let s = tessera::stack(&[&src(&a, &[2, 3]), &src(&a, &[4, 2])], 1);
    assert_close(&s, &stack(Axis(1), &[a.view(), a.view()]).unwrap(), 0.0);
    // dtypes promote.
    let i = tessera::full(&[2, 6], 1i64, 2)
        .unwrap()
        .astype(tessera::DType::I32);
    assert_eq!(
        tessera::concatenate(&[&src(&a, &[2, 2]), &i], 0).dtype(),
        tessera::DType::F64
    );
    let e = tessera::concatenate(&[&src(&a, &[2, 2]), &src(&data(&[4, 5], 3), &[2, 2])], 0)
        .check()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "concatenate",
                ..
            }
        ),
        "{e}"
    );
    assert!(tessera::stack(&[&src(&a, &[2, 2]), &src(&b, &[2, 2])], 0)
        .check()
        .is_err());
}

#[test]
fn expand_squeeze_broadcast() {
    let a = data(&[3, 4], 4);
    let x = src(&a, &[2, 3]);
    assert_close(&x.expand_dims(1), &a.clone().insert_axis(Axis(1)), 0.0);
    assert_close(&x.expand_dims(0).squeeze(None), &a, 0.0);
    let b = x.expand_dims(0).broadcast_to(&[5, 3, 4]);
    let e = a.broadcast(IxDyn(&[5, 3, 4])).unwrap().to_owned();
    assert_close(&b, &e, 0.0);
    assert_close(&b.sum_axis(0), &e.sum_axis(Axis(0)), 1e-13);
    assert!(x.broadcast_to(&[3, 5]).check().is_err());
}

#[test]
fn reshape_merge_split_and_errors() {
    let a = data(&[6, 4, 5], 5);
    let x = src(&a, &[2, 4, 5]);
    let e = a.clone().into_shape_with_order(IxDyn(&[12, 10])).unwrap();
    assert_close(&x.reshape(&[12, -1]), &e, 0.0);
    let e2 = a.clone().into_shape_with_order(IxDyn(&[3, 2, 20])).unwrap();
    assert_close(&x.reshape(&[3, 2, 20]), &e2, 0.0);
    let flat = a.clone().into_shape_with_order(IxDyn(&[120])).unwrap();
    assert_close(&x.reshape(&[-1]), &flat, 0.0);
    assert_close(&x.reshape(&[-1]).reshape(&[6, 4, 5]), &a, 0.0);
    // Chunked trailing axes merge after a rechunk, as in dask (this used to be an error).
    let y = src(&a, &[2, 2, 5]);
    assert_close(&y.reshape(&[12, 10]), &e, 0.0);
    assert!(x.reshape(&[7, -1]).check().is_err());
    assert!(x.reshape(&[-1, -1]).check().is_err());
}

#[test]
fn rechunk_plans_bound_task_memory() {
    use tessera::array::{plan_rechunk, rechunk_task_bytes};
    use tessera::ChunkGrid;
    let from = ChunkGrid::regular(&[10_000, 10_000], &[1, 10_000]);
    let to = ChunkGrid::regular(&[10_000, 10_000], &[10_000, 1]);
    assert!(rechunk_task_bytes(&from, &to, 8) > 128 << 20);
    let stages = plan_rechunk(&from, &to, 8, 128 << 20);
    assert!(stages.len() >= 2);
    let mut prev = from.clone();
    for s in &stages {
        assert!(
            rechunk_task_bytes(&prev, s, 8) <= 128 << 20,
            "stage {prev:?} -> {s:?}"
        );
        prev = s.clone();
    }
    // A small plan computes the right values through its stages, and its peak stays low.
    let a = data(&[300, 300], 6);
    let x = src(&a, &[1, 300]);
    let y = x.rechunk(&[300, 1]);
    assert_close(&y, &a, 0.0);
    let stages = plan_rechunk(x.chunks().unwrap(), y.chunks().unwrap(), 8, 64 << 10);
    assert!(stages.len() >= 2);
    // Running those stages one after another (what rechunk does under its limit).
    let mut z = x.clone();
    for s in &stages {
        z = z.rechunk(tessera::Chunks::Explicit(s.all().to_vec()));
    }
    assert_eq!(z.chunks().unwrap(), y.chunks().unwrap());
    assert_close(&z, &a, 0.0);
    let g = tessera::graph::TaskGraph::build(&[&z]).unwrap();
    let r = tessera::scheduler::execute(&g, &opts(tessera::Device::Cpu)).unwrap();
    assert!(r.stats.tasks > 300, "staged plan runs intermediate tasks");
}

/// Every target shape with `total` elements and `ndim` axes (lengths in `lens`).
fn shapes_of(total: usize, ndim: usize, lens: &[usize]) -> Vec<Vec<usize>> {
    if ndim == 0 {
        return if total == 1 { vec![vec![]] } else { vec![] };
    }
    let mut out = vec![];
    for &l in lens {
        if total.is_multiple_of(l) {
            for mut rest in shapes_of(total / l, ndim - 1, lens) {
                rest.insert(0, l);
                out.push(rest);
            }
        }
    }
    out
}

#[test]
fn every_reshape_numpy_accepts_works_whatever_the_chunks() {
    // From the issue: (1, 12) in (1, 4) chunks to (12,), which used to be refused.
    let a = data(&[1, 12], 40);
    let flat = a.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    let r = src(&a, &[1, 4]).reshape(&[12]);
    assert_close(&r, &flat, 0.0);
    assert_eq!(
        r.chunks().unwrap().sizes(0),
        &[4, 4, 4],
        "blockwise, no rechunk"
    );
    // Every shape of 24 elements with up to 4 axes, from several chunkings of three
    // inputs, against ndarray's C-order reshape.
    let lens = [1, 2, 3, 4, 6, 8, 12, 24];
    let mut checked = 0;
    for (shape, chunkings) in [
        (
            vec![2, 3, 4],
            vec![vec![1, 1, 1], vec![1, 2, 3], vec![2, 3, 4], vec![1, 3, 2]],
        ),
        (vec![4, 6], vec![vec![3, 4], vec![1, 5], vec![4, 1]]),
        (vec![1, 24, 1], vec![vec![1, 5, 1], vec![1, 24, 1]]),
    ] {
        let a = data(&shape, 41);
        for chunks in &chunkings {
            let x = src(&a, chunks);
            for ndim in 1..=4 {
                for target in shapes_of(24, ndim, &lens) {
                    let want = a.clone().into_shape_with_order(IxDyn(&target)).unwrap();
                    let t: Vec<isize> = target.iter().map(|&v| v as isize).collect();
                    let y = x.reshape(&t);
                    let got = y
                        .compute::<f64>()
                        .unwrap_or_else(|e| panic!("{shape:?} in {chunks:?} to {target:?}: {e}"));
                    assert_eq!(got, want, "{shape:?} in {chunks:?} to {target:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
    // On every device too, for a few.
    let x = src(&data(&[4, 6], 42), &[3, 4]);
    for t in [[6isize, 4], [2, 12], [24, 1]] {
        let want = data(&[4, 6], 42)
            .into_shape_with_order(IxDyn(&[t[0] as usize, t[1] as usize]))
            .unwrap();
        assert_close(&x.reshape(&t), &want, 0.0);
    }
}

#[test]
fn take_along_axis_gathers_by_another_arrays_values_over_chunks() {
    let a = common::data(&[9, 7], 21);
    let x = tessera::from_ndarray(a.clone(), &[4, 3][..]).unwrap();
    // The row of each column's maximum, gathered back: the column maxima.
    let i = x.argmax_axis(0).expand_dims(0);
    let top = x.take_along_axis(&i, 0).compute::<f64>().unwrap();
    for j in 0..7 {
        let want = a
            .index_axis(ndarray::Axis(1), j)
            .iter()
            .cloned()
            .fold(f64::MIN, f64::max);
        assert_eq!(top[[0, j]], want);
    }
    // Reversed columns by negative indices, chunked unlike the array.
    let rev = ndarray::Array2::from_shape_fn((9, 7), |(r, _)| -1 - r as i64).into_dyn();
    let idx = tessera::from_ndarray(rev, &[5, 5][..]).unwrap();
    let got = x.take_along_axis(&idx, 0).compute::<f64>().unwrap();
    let mut want = a.clone();
    want.invert_axis(ndarray::Axis(0));
    assert_eq!(got, want);
    // Out of range: the operation's own error, when computed.
    let bad = tessera::full(&[1, 7], 9i64, 7).unwrap();
    match x.take_along_axis(&bad, 0).compute_host() {
        Err(tessera::Error::BadIndex { op, .. }) => assert_eq!(op, "take_along_axis"),
        other => panic!("expected BadIndex, got {other:?}"),
    }
}

#[test]
fn repeat_by_a_count_per_element_and_by_an_array_of_counts() {
    let x = tessera::arange(0.0, 4.0, 1.0, 3).unwrap();
    let r = x.repeat_counts(&[1, 0, 3, 2], Some(0));
    assert_eq!(
        r.compute::<f64>().unwrap().as_slice().unwrap(),
        &[0.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    );
    let counts = tessera::from_ndarray(ndarray::arr1(&[2i64, 1, 0, 1]).into_dyn(), 2).unwrap();
    let r = x.repeat_by(&counts, None);
    assert_eq!(
        r.compute::<f64>().unwrap().as_slice().unwrap(),
        &[0.0, 0.0, 1.0, 3.0]
    );
    assert!(matches!(
        x.repeat_counts(&[1, 2], Some(0)).compute_host(),
        Err(Error::ShapeMismatch { .. })
    ));
    let neg = tessera::from_ndarray(ndarray::arr1(&[1i64, -1, 0, 0]).into_dyn(), 2).unwrap();
    assert!(matches!(
        x.repeat_by(&neg, Some(0)).compute_host(),
        Err(Error::InvalidArgument { .. })
    ));
}

/// NumPy's `sliding_window_view(a, w, axis)`, built element by element.
fn windows_ref(a: &ArrayD<f64>, axis: usize, w: usize) -> ArrayD<f64> {
    let mut shape = a.shape().to_vec();
    shape[axis] = shape[axis] - w + 1;
    shape.push(w);
    ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let d = a.ndim();
        let mut src: Vec<usize> = (0..d).map(|k| ix[k]).collect();
        src[axis] += ix[d];
        a[IxDyn(&src)]
    })
}

#[test]
fn sliding_windows_are_a_view_whose_reductions_never_hold_the_windows() {
    let a = data(&[23, 10], 7);
    // Uneven chunks, windows that cross one or two block seams, and a window over a
    // window (two axes).
    for (chunks, axis, w) in [
        (vec![5, 4], 0, 7),
        (vec![3, 10], 0, 7),
        (vec![23, 3], 1, 4),
        (vec![6, 6], 1, 10),
        (vec![4, 4], 0, 1),
    ] {
        let x = src(&a, &chunks).sliding_window(axis as isize, w);
        let e = windows_ref(&a, axis, w);
        assert_eq!(x.shape(), e.shape());
        assert_close(&x, &e, 0.0);
        assert_close(&x.sum_axis(2), &e.sum_axis(Axis(2)), 1e-12);
        assert_close(&x.rechunk(&[8, 3, 2]), &e, 0.0);
    }
    let x = src(&a, &[5, 4]);
    let two = x.sliding_window(0, 3).sliding_window(1, 2);
    let e = windows_ref(&windows_ref(&a, 0, 3), 1, 2);
    assert_close(&two, &e, 0.0);
    // The window sum reads each block with its halo: no task holds w times a block.
    // An expression over the windows read by two reductions (xarray's rolling sums
    // and counts) is recomputed in each, not stored.
    let w = x.sliding_window(0, 7);
    let e = (&w * 2.0).abs();
    let block = 5 * 4 * 8;
    for y in [w.sum_axis(2), &e.sum_axis(2) + &e.max_axis(2)] {
        let g = tessera::graph::TaskGraph::build(&[&y]).unwrap();
        assert!(
            g.tasks.iter().all(|t| t.nbytes <= 3 * block),
            "{:?}",
            g.tasks.iter().map(|t| t.nbytes).max()
        );
    }
    let aw = windows_ref(&a, 0, 7).mapv(|v| (2.0 * v).abs());
    let want = &aw.sum_axis(Axis(2)) + &aw.fold_axis(Axis(2), f64::MIN, |m, &v| m.max(v));
    assert_close(&(&e.sum_axis(2) + &e.max_axis(2)), &want, 1e-12);
    // Too long, empty and out-of-range windows are refused naming the op.
    for bad in [
        x.sliding_window(0, 24),
        x.sliding_window(0, 0),
        x.sliding_window(2, 2),
    ] {
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("sliding_window_view"), "{e}");
    }
}
