//! The user's own functions per block (`map_blocks`, `map_overlap`) against direct
//! ndarray computations on the whole array: block info, shape-changing outputs, several
//! inputs with broadcasting, every boundary, halos deeper than a chunk, uneven chunks,
//! 1-d to 3-d, the errors a wrong function gets, a source without inputs, untrimmed
//! halos with their own chunks and new axes, and that a slice runs only the blocks it
//! reads.

use ndarray::{ArrayD, IxDyn};
use tessera::array::{map_blocks, map_overlap, AxisChunks, Boundary, OutSpec, Overlap};
use tessera::{Chunks, DType, Error, HostArray, Scalar};

fn f64s(a: &HostArray) -> ArrayD<f64> {
    match a {
        HostArray::F64(a) => a.clone(),
        other => panic!("expected f64, got {}", other.dtype()),
    }
}

fn stored(a: &ArrayD<f64>, chunks: &[Vec<usize>]) -> tessera::Array {
    tessera::array::from_host(HostArray::F64(a.clone()), Chunks::Explicit(chunks.to_vec())).unwrap()
}

fn data(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let x = tessera::random::uniform(shape, shape, seed).unwrap();
    x.compute::<f64>().unwrap()
}

#[test]
fn block_info_names_each_block_and_its_region() {
    let x = stored(&data(&[7, 5], 1), &[vec![3, 4], vec![2, 2, 1]]);
    let y = map_blocks(
        &[&x],
        |b, info| {
            let a = f64s(b[0]);
            assert_eq!(a.shape(), info.chunk_shape().as_slice());
            assert_eq!(info.inputs[0].location, info.location);
            let tag = (info.block[0] * 10 + info.block[1]) as f64
                + 0.01 * info.location[0].start as f64
                + 0.0001 * info.location[1].start as f64;
            Ok(HostArray::F64(a.mapv(|_| tag)))
        },
        OutSpec::new(DType::F64).name("tag"),
    );
    let got = y.compute::<f64>().unwrap();
    for i in 0..7 {
        for j in 0..5 {
            let (bi, bj) = (usize::from(i >= 3), j / 2);
            let want = (bi * 10 + bj) as f64 + 0.01 * [0.0, 3.0][bi] + 0.0001 * (2 * bj) as f64;
            assert_eq!(got[[i, j]], want, "element ({i}, {j})");
        }
    }
}

#[test]
fn several_inputs_broadcast_and_differently_chunked_inputs_are_read_by_region() {
    let a = data(&[6, 8], 2);
    let b = data(&[8], 3);
    let x = stored(&a, &[vec![3, 3], vec![3, 3, 2]]);
    let y = stored(&b, &[vec![5, 3]]);
    let s = map_blocks(
        &[&x, &y],
        |bl, _| Ok(HostArray::F64(f64s(bl[0]) + f64s(bl[1]))),
        OutSpec::new(DType::F64),
    );
    assert_eq!(s.compute::<f64>().unwrap(), &a + &b);
    // A length-1 axis broadcasts: that input's block is the one row.
    let c = data(&[1, 8], 4);
    let z = stored(&c, &[vec![1], vec![8]]);
    let t = map_blocks(
        &[&x, &z],
        |bl, info| {
            assert_eq!(bl[1].shape()[0], 1);
            assert_eq!(info.inputs[1].location[0], 0..1);
            Ok(HostArray::F64(f64s(bl[0]) * f64s(bl[1])))
        },
        OutSpec::new(DType::F64),
    );
    assert_eq!(t.compute::<f64>().unwrap(), &a * &c);
}

#[test]
fn dropped_axes_are_seen_whole_and_new_axes_are_added() {
    let a = data(&[6, 9], 5);
    let x = stored(&a, &[vec![2, 4], vec![4, 4, 1]]);
    let rows = map_blocks(
        &[&x],
        |b, _| {
            let v = f64s(b[0]);
            assert_eq!(v.shape()[1], 9, "a dropped axis arrives whole");
            Ok(HostArray::F64(v.sum_axis(ndarray::Axis(1))))
        },
        OutSpec::new(DType::F64).drop_axis(&[1]),
    );
    assert_eq!(rows.shape(), &[6]);
    let want = a.sum_axis(ndarray::Axis(1));
    let got = rows.compute::<f64>().unwrap();
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() < 1e-12);
    }
    let lifted = map_blocks(
        &[&x],
        |b, _| Ok(HostArray::F64(f64s(b[0]).insert_axis(ndarray::Axis(0)))),
        OutSpec::new(DType::F64).new_axis(&[0]),
    );
    assert_eq!(lifted.shape(), &[1, 6, 9]);
    assert_eq!(
        lifted.compute::<f64>().unwrap(),
        a.clone().insert_axis(ndarray::Axis(0))
    );
    // chunks=: every block returns its first two rows.
    let heads = map_blocks(
        &[&x],
        |b, _| {
            Ok(HostArray::F64(
                f64s(b[0]).slice(ndarray::s![..2, ..]).to_owned().into_dyn(),
            ))
        },
        OutSpec::new(DType::F64)
            .chunks(vec![AxisChunks::Each(2), AxisChunks::Sizes(vec![4, 4, 1])]),
    );
    let got = heads.compute::<f64>().unwrap();
    assert_eq!(got.shape(), &[4, 9]);
    assert_eq!(
        got.slice(ndarray::s![2..4, ..]),
        a.slice(ndarray::s![2..4, ..])
    );
}

/// The value past the edges that `boundary` gives, as NumPy/dask define it.
fn at(x: &ArrayD<f64>, idx: &[isize], boundary: Boundary) -> Option<f64> {
    let mut ix = vec![0usize; idx.len()];
    for (k, &i) in idx.iter().enumerate() {
        let n = x.shape()[k] as isize;
        let j = if (0..n).contains(&i) {
            i
        } else {
            match boundary {
                Boundary::None => return None,
                Boundary::Periodic => i.rem_euclid(n),
                Boundary::Reflect if i < 0 => -i - 1,
                Boundary::Reflect => 2 * n - i - 1,
                Boundary::Nearest => i.clamp(0, n - 1),
                Boundary::Constant(v) => return Some(v.as_f64()),
            }
        };
        ix[k] = j as usize;
    }
    Some(x[IxDyn(&ix)])
}

/// Each element's sum over the window of `depth` on every side, of the values `at`
/// gives (none past what there is).
fn windowed(shape: &[usize], depth: &[usize], at: impl Fn(&[isize]) -> Option<f64>) -> ArrayD<f64> {
    let mut out = ArrayD::<f64>::zeros(shape);
    let span: Vec<usize> = depth.iter().map(|&d| 2 * d + 1).collect();
    for (idx, o) in out.indexed_iter_mut() {
        for off in offsets(&span) {
            let p: Vec<isize> = (0..depth.len())
                .map(|k| idx[k] as isize + off[k] as isize - depth[k] as isize)
                .collect();
            *o += at(&p).unwrap_or(0.0);
        }
    }
    out
}

/// The whole array's window sums, past the edges as `boundary` says.
fn window_sum(x: &ArrayD<f64>, depth: &[usize], boundary: Boundary) -> ArrayD<f64> {
    windowed(x.shape(), depth, |p| at(x, p, boundary))
}

fn offsets(span: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for &n in span {
        all = all
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                (0..n).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    all
}

/// The same window sum inside one extended block (what the user's function computes).
fn block_window_sum(a: &ArrayD<f64>, depth: Vec<usize>) -> ArrayD<f64> {
    windowed(a.shape(), &depth, |p| at(a, p, Boundary::None))
}

fn overlap_case(shape: &[usize], chunks: &[Vec<usize>], depth: &[usize], boundary: Boundary) {
    let a = data(shape, 7);
    let x = stored(&a, chunks);
    let d = depth.to_vec();
    let y = map_overlap(
        &[&x],
        move |b, _| Ok(HostArray::F64(block_window_sum(&f64s(b[0]), d.clone()))),
        Overlap::new(depth, boundary),
        OutSpec::new(DType::F64).name("window-sum"),
    );
    let got = y.compute::<f64>().unwrap();
    let want = window_sum(&a, depth, boundary);
    assert_eq!(got.shape(), want.shape());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            (g - w).abs() < 1e-9,
            "{shape:?} {chunks:?} depth {depth:?} {boundary:?}: element {i}: {g} vs {w}"
        );
    }
}

const BOUNDARIES: [Boundary; 5] = [
    Boundary::None,
    Boundary::Periodic,
    Boundary::Reflect,
    Boundary::Nearest,
    Boundary::Constant(Scalar::F64(-2.5)),
];

#[test]
fn map_overlap_1d_every_boundary_with_a_halo_deeper_than_a_chunk() {
    for b in BOUNDARIES {
        overlap_case(&[11], &[vec![2, 3, 2, 4]], &[1], b);
        // Depth 3 spans two neighbouring chunks of 2.
        overlap_case(&[11], &[vec![2, 3, 2, 4]], &[3], b);
    }
}

#[test]
fn map_overlap_2d_and_3d_uneven_chunks() {
    for b in BOUNDARIES {
        overlap_case(&[9, 7], &[vec![4, 5], vec![3, 3, 1]], &[2, 1], b);
        overlap_case(
            &[5, 4, 6],
            &[vec![2, 3], vec![4], vec![1, 3, 2]],
            &[1, 0, 2],
            b,
        );
    }
}

#[test]
fn periodic_laplacian_matches_np_roll() {
    let a = data(&[12, 10], 9);
    let x = stored(&a, &[vec![5, 5, 2], vec![4, 6]]);
    let lap = |v: &ArrayD<f64>| -> ArrayD<f64> {
        let (n, m) = (v.shape()[0], v.shape()[1]);
        let mut o = ArrayD::<f64>::zeros(v.shape());
        for i in 1..n - 1 {
            for j in 1..m - 1 {
                o[[i, j]] =
                    v[[i - 1, j]] + v[[i + 1, j]] + v[[i, j - 1]] + v[[i, j + 1]] - 4.0 * v[[i, j]];
            }
        }
        o
    };
    let y = map_overlap(
        &[&x],
        move |b, _| Ok(HostArray::F64(lap(&f64s(b[0])))),
        Overlap::new(&[1, 1], Boundary::Periodic),
        OutSpec::new(DType::F64),
    );
    let got = y.compute::<f64>().unwrap();
    let (n, m) = (12, 10);
    for i in 0..n {
        for j in 0..m {
            let want = a[[(i + n - 1) % n, j]]
                + a[[(i + 1) % n, j]]
                + a[[i, (j + m - 1) % m]]
                + a[[i, (j + 1) % m]]
                - 4.0 * a[[i, j]];
            assert!((got[[i, j]] - want).abs() < 1e-12, "({i}, {j})");
        }
    }
}

#[test]
fn halos_are_read_from_the_neighbours_never_from_a_padded_copy() {
    let x = tessera::random::uniform(&[40, 30], &[10, 10], 11).unwrap();
    let whole = x.compute::<f64>().unwrap();
    let y = map_overlap(
        &[&x],
        |b, _| Ok(HostArray::F64(block_window_sum(&f64s(b[0]), vec![2, 2]))),
        Overlap::new(&[2, 2], Boundary::Reflect),
        OutSpec::new(DType::F64),
    );
    let got = y.compute::<f64>().unwrap();
    let want = window_sum(&whole, &[2, 2], Boundary::Reflect);
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() < 1e-9);
    }
    // One task per output block, reading its extended region (14 x 14): no task holds
    // more than that, and an interior block's region is one copy out of its nine
    // neighbours' blocks.
    let g = tessera::graph::TaskGraph::build(&[&y]).unwrap();
    let user: Vec<_> = g
        .tasks
        .iter()
        .filter(|t| t.op.name().starts_with("map_overlap"))
        .collect();
    assert_eq!(user.len(), 12);
    assert_eq!(g.tasks.iter().map(|t| t.nbytes).max(), Some(14 * 14 * 8));
    let interior = user.iter().find(|t| t.block == [1, 1]).unwrap();
    let region = &g.tasks[interior.inputs[0]];
    assert_eq!(
        (region.op.name().as_str(), region.inputs.len()),
        ("assemble", 9)
    );
}

#[test]
fn trim_false_returns_the_extended_blocks() {
    let a = data(&[10], 12);
    let x = stored(&a, &[vec![4, 4, 2]]);
    let y = map_overlap(
        &[&x],
        |b, _| Ok(b[0].clone()),
        Overlap {
            depth: vec![1],
            boundary: Boundary::None,
            trim: false,
        },
        OutSpec::new(DType::F64),
    );
    assert_eq!(y.chunks().unwrap().sizes(0), &[5, 6, 3]);
    let got = y.compute::<f64>().unwrap();
    let want: Vec<f64> = [0..5, 3..9, 7..10]
        .into_iter()
        .flat_map(|r| r.map(|i| a[[i]]))
        .collect();
    assert_eq!(got.as_slice().unwrap(), want.as_slice());
}

#[test]
fn a_wrong_function_is_an_error_naming_the_block() {
    let x = tessera::ones(&[6, 4], &[3, 4]).unwrap();
    let wrong_shape = map_blocks(
        &[&x],
        |_, _| Ok(HostArray::F64(ArrayD::zeros(IxDyn(&[2, 2])))),
        OutSpec::new(DType::F64).name("shrinks"),
    );
    let e = wrong_shape.compute::<f64>().unwrap_err();
    assert!(
        matches!(&e, Error::UserFunction { name, .. } if name == "shrinks"),
        "{e}"
    );
    assert!(
        e.to_string().contains("[2, 2]") && e.to_string().contains("chunks="),
        "{e}"
    );
    let wrong_dtype = map_blocks(
        &[&x],
        |b, _| Ok(b[0].clone()),
        OutSpec::new(DType::F32).name("keeps-f64"),
    );
    let e = wrong_dtype.compute::<f32>().unwrap_err();
    assert!(
        e.to_string().contains("float64") || e.to_string().contains("f64"),
        "{e}"
    );
    let fails = map_blocks(
        &[&x],
        |_, info| {
            if info.block[0] == 1 {
                Err(Error::arg("mine", "no second block"))
            } else {
                Ok(HostArray::F64(ArrayD::zeros(IxDyn(&info.chunk_shape()))))
            }
        },
        OutSpec::new(DType::F64).name("fails"),
    );
    let e = fails.compute::<f64>().unwrap_err();
    assert!(
        matches!(&e, Error::UserFunction { block, .. } if block == &vec![1, 0]),
        "{e}"
    );
    assert!(e.to_string().contains("no second block"), "{e}");
    let panics = map_blocks(
        &[&x],
        |_, _| -> tessera::Result<HostArray> { panic!("boom") },
        OutSpec::new(DType::F64).name("panics"),
    );
    let e = panics.compute::<f64>().unwrap_err();
    assert!(e.to_string().contains("boom"), "{e}");
    // Bad arguments are refused before anything runs.
    assert!(map_blocks(
        &[&x],
        |b, _| Ok(b[0].clone()),
        OutSpec::new(DType::F64).drop_axis(&[2])
    )
    .check()
    .is_err());
    assert!(map_overlap(
        &[&x],
        |b, _| Ok(b[0].clone()),
        Overlap::new(&[7, 0], Boundary::Periodic),
        OutSpec::new(DType::F64)
    )
    .check()
    .is_err());
}

fn keep_sum(a: &ArrayD<f64>, axes: &[usize]) -> ArrayD<f64> {
    let mut r = a.clone();
    for &k in axes {
        r = r.sum_axis(ndarray::Axis(k)).insert_axis(ndarray::Axis(k));
    }
    r
}

#[test]
fn a_user_reduction_runs_its_tree_and_matches_the_direct_sum() {
    use tessera::array::{reduction, ReductionSpec};
    let a = data(&[13, 11], 21);
    let x = stored(&a, &[vec![2, 3, 3, 2, 3], vec![4, 4, 3]]);
    for (axes, keepdims, split_every) in [
        (vec![0], false, 2),
        (vec![1], true, 4),
        (vec![0, 1], false, 3),
        (vec![0, 1], true, 16),
    ] {
        let ax = axes.clone();
        let chunk = move |b: &[&HostArray], _: &tessera::userfn::BlockInfo| {
            Ok(HostArray::F64(keep_sum(&f64s(b[0]).mapv(|v| v * v), &ax)))
        };
        let ax = axes.clone();
        let combine = move |b: &[&HostArray], _: &tessera::userfn::BlockInfo| {
            Ok(HostArray::F64(keep_sum(&f64s(b[0]), &ax)))
        };
        let ax = axes.clone();
        let aggregate = move |b: &[&HostArray], _: &tessera::userfn::BlockInfo| {
            Ok(HostArray::F64(keep_sum(&f64s(b[0]), &ax).mapv(f64::sqrt)))
        };
        let mut spec = ReductionSpec::new(&axes, DType::F64);
        spec.keepdims = keepdims;
        spec.split_every = split_every;
        spec.name = "norm".into();
        let r = reduction(&x, chunk, combine, aggregate, spec);
        let mut want = keep_sum(&a.mapv(|v| v * v), &axes).mapv(f64::sqrt);
        if !keepdims {
            for &k in axes.iter().rev() {
                want = want.index_axis_move(ndarray::Axis(k), 0);
            }
        }
        let got = r.compute::<f64>().unwrap();
        assert_eq!(got.shape(), want.shape(), "{axes:?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(
                (g - w).abs() < 1e-12 * w.abs().max(1.0),
                "{axes:?}: {g} vs {w}"
            );
        }
        // More than one level of combines where blocks outnumber the fan-in.
        let g = tessera::graph::TaskGraph::build(&[&r]).unwrap();
        let combines = g
            .tasks
            .iter()
            .filter(|t| t.op.name().contains("norm-combine"))
            .count();
        assert!(combines >= 1, "{axes:?}");
    }
}

/// xarray's `ffill` as a scan: NaNs take the last value before them along the axis.
#[test]
fn ffill_as_a_user_scan_matches_a_direct_forward_fill() {
    use tessera::array::cumreduction;
    let mut a = data(&[17, 5], 22);
    for (i, v) in a.iter_mut().enumerate() {
        if (i * 7919) % 5 < 3 {
            *v = f64::NAN;
        }
    }
    let x = stored(&a, &[vec![3, 1, 5, 2, 6], vec![2, 3]]);
    let ffill_block = |b: &[&HostArray], _: &tessera::userfn::BlockInfo| {
        let mut v = f64s(b[0]);
        v.accumulate_axis_inplace(ndarray::Axis(0), |&p, c| {
            if c.is_nan() {
                *c = p
            }
        });
        Ok(HostArray::F64(v))
    };
    let fill_from_carry = |b: &[&HostArray], _: &tessera::userfn::BlockInfo| {
        let (carry, mut v) = (f64s(b[0]), f64s(b[1]));
        for mut col in v.axis_iter_mut(ndarray::Axis(0)) {
            col.zip_mut_with(&carry.index_axis(ndarray::Axis(0), 0), |c, &p| {
                if c.is_nan() {
                    *c = p
                }
            });
        }
        Ok(HostArray::F64(v))
    };
    let y = cumreduction(&x, ffill_block, fill_from_carry, 0, DType::F64, "ffill");
    let got = y.compute::<f64>().unwrap();
    let mut want = a.clone();
    want.accumulate_axis_inplace(ndarray::Axis(0), |&p, c| {
        if c.is_nan() {
            *c = p
        }
    });
    for (g, w) in got.iter().zip(want.iter()) {
        assert!(g.to_bits() == w.to_bits(), "{g} vs {w}");
    }
}

fn batched_matmul(a: &ArrayD<f64>, b: &ArrayD<f64>) -> ArrayD<f64> {
    // (..., m, n) @ (..., n, p) with the leading axes broadcast (NumPy's matmul).
    let (ad, bd) = (a.ndim(), b.ndim());
    let lead = (ad - 2).max(bd - 2);
    let lshape: Vec<usize> = (0..lead)
        .map(|k| {
            let ak = (k + ad - 2)
                .checked_sub(lead)
                .map(|i| a.shape()[i])
                .unwrap_or(1);
            let bk = (k + bd - 2)
                .checked_sub(lead)
                .map(|i| b.shape()[i])
                .unwrap_or(1);
            ak.max(bk)
        })
        .collect();
    let (m, n, p) = (a.shape()[ad - 2], a.shape()[ad - 1], b.shape()[bd - 1]);
    let mut oshape = lshape.clone();
    oshape.extend([m, p]);
    let mut out = ArrayD::<f64>::zeros(IxDyn(&oshape));
    for (idx, o) in out.indexed_iter_mut() {
        let at = |x: &ArrayD<f64>, r: usize, c: usize| {
            let xd = x.ndim();
            let mut ix: Vec<usize> = (0..xd - 2)
                .map(|i| {
                    let k = i + lead - (xd - 2);
                    if x.shape()[i] == 1 {
                        0
                    } else {
                        idx[k]
                    }
                })
                .collect();
            ix.extend([r, c]);
            x[IxDyn(&ix)]
        };
        let (i, j) = (idx[lead], idx[lead + 1]);
        *o = (0..n).map(|k| at(a, i, k) * at(b, k, j)).sum();
    }
    out
}

#[test]
fn apply_gufunc_loops_over_broadcast_dimensions() {
    use tessera::array::{apply_gufunc, GufuncSpec};
    let a = data(&[3, 4, 5], 31);
    let b = data(&[5, 2], 32);
    let x = stored(&a, &[vec![2, 1], vec![3, 1], vec![2, 3]]);
    let y = stored(&b, &[vec![4, 1], vec![1, 1]]);
    let mm = apply_gufunc(
        "(m,n),(n,p)->(m,p)",
        &[&x, &y],
        |blocks, _| {
            Ok(HostArray::F64(batched_matmul(
                &f64s(blocks[0]),
                &f64s(blocks[1]),
            )))
        },
        GufuncSpec::new(DType::F64),
    );
    assert_eq!(mm.shape(), &[3, 4, 2]);
    let got = mm.compute::<f64>().unwrap();
    let want = batched_matmul(&a, &b);
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
    // Core dimensions in another order than first seen: trace(A @ B) for A (n, m), B (m, n).
    let c = data(&[2, 3, 4], 33);
    let d = data(&[2, 4, 3], 34);
    let (xc, xd) = (
        stored(&c, &[vec![1, 1], vec![3], vec![4]]),
        stored(&d, &[vec![1, 1], vec![2, 2], vec![3]]),
    );
    let tr = apply_gufunc(
        "(n,m),(m,n)->()",
        &[&xc, &xd],
        |blocks, _| {
            let p = batched_matmul(&f64s(blocks[0]), &f64s(blocks[1]));
            let t: Vec<f64> = p
                .outer_iter()
                .map(|q| (0..q.shape()[0]).map(|i| q[[i, i]]).sum())
                .collect();
            Ok(HostArray::F64(
                ArrayD::from_shape_vec(IxDyn(&[t.len()]), t).unwrap(),
            ))
        },
        GufuncSpec::new(DType::F64),
    );
    let got = tr.compute::<f64>().unwrap();
    let p = batched_matmul(&c, &d);
    for (k, g) in got.iter().enumerate() {
        let w: f64 = (0..3).map(|i| p[[k, i, i]]).sum();
        assert!((g - w).abs() < 1e-12);
    }
    // New output dimensions, and the output's core order differing from the inputs'.
    let e = data(&[6, 3], 35);
    let xe = stored(&e, &[vec![4, 2], vec![2, 1]]);
    let stats = apply_gufunc(
        "(i)->(k,i)",
        &[&xe],
        |blocks, _| {
            let v = f64s(blocks[0]);
            let twice = v.mapv(|t| 2.0 * t);
            let parts = [v.view(), twice.view()];
            Ok(HostArray::F64(
                ndarray::stack(ndarray::Axis(1), &parts).unwrap(),
            ))
        },
        GufuncSpec::new(DType::F64).size("k", 2),
    );
    assert_eq!(stats.shape(), &[6, 2, 3]);
    let got = stats.compute::<f64>().unwrap();
    for r in 0..6 {
        for i in 0..3 {
            assert_eq!(got[[r, 0, i]], e[[r, i]]);
            assert_eq!(got[[r, 1, i]], 2.0 * e[[r, i]]);
        }
    }
    assert!(apply_gufunc(
        "(i)->()",
        &[&xe, &xe],
        |b, _| Ok(b[0].clone()),
        GufuncSpec::new(DType::F64)
    )
    .check()
    .is_err());
    assert!(apply_gufunc(
        "(i)->(j)",
        &[&xe],
        |b, _| Ok(b[0].clone()),
        GufuncSpec::new(DType::F64)
    )
    .check()
    .is_err());
}

#[test]
fn blockwise_contracts_loops_and_adds_indices() {
    use tessera::array::{blockwise, indices, AxisChunks, BlockwiseSpec};
    let a = data(&[5, 7], 41);
    let b = data(&[7, 4], 42);
    let x = stored(&a, &[vec![2, 3], vec![3, 3, 1]]);
    let y = stored(&b, &[vec![2, 5], vec![3, 1]]);
    let mm = |bl: &[&HostArray], _: &tessera::userfn::BlockInfo| {
        let (p, q) = (f64s(bl[0]), f64s(bl[1]));
        let p = p.into_dimensionality::<ndarray::Ix2>().unwrap();
        let q = q.into_dimensionality::<ndarray::Ix2>().unwrap();
        Ok(HostArray::F64(p.dot(&q).into_dyn()))
    };
    let p = blockwise(
        &indices("ik"),
        &[(&x, indices("ij")), (&y, indices("jk"))],
        mm,
        BlockwiseSpec::new(DType::F64),
    );
    assert_eq!(p.shape(), &[5, 4]);
    let want = a
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .dot(&b.view().into_dimensionality::<ndarray::Ix2>().unwrap());
    let got = p.compute::<f64>().unwrap();
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() < 1e-12);
    }
    // The output's order differs from the arguments': "ki" is the transposed product,
    // the function returning its block in (k, i) order.
    let mmt = move |bl: &[&HostArray], info: &tessera::userfn::BlockInfo| {
        let HostArray::F64(r) = mm(bl, info)? else {
            unreachable!()
        };
        Ok(HostArray::F64(
            r.reversed_axes().as_standard_layout().into_owned(),
        ))
    };
    let pt = blockwise(
        &indices("ki"),
        &[(&x, indices("ij")), (&y, indices("jk"))],
        mmt,
        BlockwiseSpec::new(DType::F64),
    );
    let got = pt.compute::<f64>().unwrap();
    for i in 0..5 {
        for k in 0..4 {
            assert!((got[[k, i]] - want[[i, k]]).abs() < 1e-12);
        }
    }
    // A new index, and resized blocks: each row block's mean and max along j.
    let stats = blockwise(
        &indices("is"),
        &[(&x, indices("ij"))],
        |bl, _| {
            let v = f64s(bl[0]);
            let mean = v.mean_axis(ndarray::Axis(1)).unwrap();
            let max = v.map_axis(ndarray::Axis(1), |r| r.fold(f64::MIN, |m, &t| m.max(t)));
            Ok(HostArray::F64(
                ndarray::stack(ndarray::Axis(1), &[mean.view(), max.view()]).unwrap(),
            ))
        },
        BlockwiseSpec::new(DType::F64).new_axis("s", 2),
    );
    assert_eq!(stats.shape(), &[5, 2]);
    let got = stats.compute::<f64>().unwrap();
    for i in 0..5 {
        let row = a.index_axis(ndarray::Axis(0), i);
        assert!((got[[i, 0]] - row.mean().unwrap()).abs() < 1e-12);
        assert_eq!(got[[i, 1]], row.fold(f64::MIN, |m, &t| m.max(t)));
    }
    let halves = blockwise(
        &indices("ij"),
        &[(&x, indices("ij"))],
        |bl, _| {
            let v = f64s(bl[0]);
            Ok(HostArray::F64(
                v.slice(ndarray::s![..1, ..]).to_owned().into_dyn(),
            ))
        },
        BlockwiseSpec::new(DType::F64).adjust("i", AxisChunks::Each(1)),
    );
    assert_eq!(halves.shape(), &[2, 7]);
    let got = halves.compute::<f64>().unwrap();
    assert_eq!(
        got.index_axis(ndarray::Axis(0), 1),
        a.index_axis(ndarray::Axis(0), 2)
    );
    // Lengths of one index must agree.
    let z = stored(&data(&[6, 4], 43), &[vec![6], vec![4]]);
    assert!(blockwise(
        &indices("ik"),
        &[(&x, indices("ij")), (&z, indices("jk"))],
        |b, _| Ok(b[0].clone()),
        BlockwiseSpec::new(DType::F64)
    )
    .check()
    .is_err());
}

#[test]
fn a_slice_of_a_user_function_runs_only_the_blocks_it_reads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let x = stored(&data(&[10, 8], 4), &[vec![4, 4, 2], vec![3, 3, 2]]);
    let y = map_blocks(
        &[&x],
        move |b, _| {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(HostArray::F64(f64s(b[0]) * 2.0))
        },
        OutSpec::new(DType::F64).name("double"),
    );
    let corner = y.slice(&[
        tessera::Index::slice(Some(0), Some(4), 1),
        tessera::Index::slice(Some(0), Some(3), 1),
    ]);
    let got = corner.compute::<f64>().unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one block read, not all nine"
    );
    let want = data(&[10, 8], 4)
        .slice(ndarray::s![0..4, 0..3])
        .mapv(|v| v * 2.0)
        .into_dyn();
    assert_eq!(got, want);
}

#[test]
fn a_source_without_inputs_reads_each_block_by_its_place() {
    use tessera::array::from_blocks_fn;
    use tessera::chunks::ChunkGrid;
    use tessera::userfn::BlockFn;
    let a = data(&[9, 7], 5);
    let whole = a.clone();
    let f = BlockFn::new("read", move |inputs, info| {
        assert!(inputs.is_empty());
        let (r, c) = (info.location[0].clone(), info.location[1].clone());
        Ok(HostArray::F64(
            whole.slice(ndarray::s![r, c]).to_owned().into_dyn(),
        ))
    });
    let x = from_blocks_fn(ChunkGrid::regular(&[9, 7], &[4, 3]), DType::F64, f);
    assert_eq!(x.chunks().unwrap().all(), &[vec![4, 4, 1], vec![3, 3, 1]]);
    assert_eq!(x.compute::<f64>().unwrap(), a);
    let total = (&x + &x).sum().compute::<f64>().unwrap();
    let total = total.iter().next().copied().unwrap();
    // Summed per block, then combined: the order differs from ndarray's.
    assert!((total - 2.0 * a.sum()).abs() < 1e-9 * a.sum().abs());
}

#[test]
fn untrimmed_overlap_may_give_its_own_chunks_and_a_new_axis() {
    // Windows of 3 along axis 0, the windows that start in each block: a new last axis.
    let a = data(&[10, 2], 6);
    let x = stored(&a, &[vec![4, 3, 3], vec![2]]);
    let starts = [0usize, 4, 7];
    let y = tessera::array::map_overlap(
        &[&x],
        move |b, info| {
            let e = f64s(b[0]);
            let i = info.block[0];
            let off = starts[i] - info.inputs[0].location[0].start;
            let n = info.location[0].len();
            let mut out = ArrayD::zeros(IxDyn(&[n, 2, 3]));
            for p in 0..n {
                for j in 0..2 {
                    for k in 0..3 {
                        out[[p, j, k]] = e[[off + p + k, j]];
                    }
                }
            }
            Ok(HostArray::F64(out))
        },
        Overlap {
            depth: vec![2, 0],
            boundary: Boundary::None,
            trim: false,
        },
        OutSpec::new(DType::F64)
            .chunks(vec![
                AxisChunks::Sizes(vec![4, 3, 1]),
                AxisChunks::Each(2),
                AxisChunks::Each(3),
            ])
            .new_axis(&[2]),
    );
    let got = y.compute::<f64>().unwrap();
    assert_eq!(got.shape(), &[8, 2, 3]);
    for p in 0..8 {
        for j in 0..2 {
            for k in 0..3 {
                assert_eq!(got[[p, j, k]], a[[p + k, j]]);
            }
        }
    }
    // A trimmed halo is cut by shape: new axes are refused with the reason.
    let bad = tessera::array::map_overlap(
        &[&x],
        |b, _| Ok(b[0].clone()),
        Overlap::new(&[1, 0], Boundary::None),
        OutSpec::new(DType::F64).new_axis(&[2]),
    );
    assert!(matches!(
        bad.compute::<f64>(),
        Err(Error::InvalidArgument { .. })
    ));
}
