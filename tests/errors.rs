//! Bad input gives a clear error value naming the op and shapes — never a panic.

use tessera::{DType, Error, Index};

fn err(a: &tessera::Array) -> Error {
    a.check().expect_err("expected an error")
}

#[test]
fn broadcasting_mismatch_names_op_and_shapes() {
    let a = tessera::zeros(&[3, 4], 2).unwrap();
    let b = tessera::zeros(&[5], 2).unwrap();
    let e = err(&(&a + &b));
    assert!(matches!(e, Error::ShapeMismatch { op: "add", .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("[3, 4]") && msg.contains("[5]"), "{msg}");
    // The error travels through later ops and out of compute.
    let c = (&a + &b).sum().exp();
    assert_eq!(c.compute::<f64>().unwrap_err(), e);
    assert!(format!("{c}").contains("error"));
    assert!(matches!(
        err(&tessera::where_(&a.gt(0.0), &a, &b)),
        Error::ShapeMismatch { op: "where", .. }
    ));
}

#[test]
fn axis_out_of_range() {
    let a = tessera::zeros(&[3, 4], 2).unwrap();
    for e in [
        err(&a.sum_axis(2)),
        err(&a.mean_axis(-3)),
        err(&a.swapaxes(0, 5)),
        err(&a.take(2, &[0])),
    ] {
        assert!(matches!(e, Error::AxisOutOfRange { .. }), "{e}");
        assert!(e.to_string().contains("[3, 4]"));
    }
    assert!(matches!(
        err(&a.sum_axes(&[0, 0], false)),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        err(&a.reduce(tessera::kernel::Reduction::ArgMin, Some(&[0, 1]), false, 4)),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        err(&a.reduce(tessera::kernel::Reduction::Sum, None, false, 1)),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        err(&a.permute_axes(&[0, 0])),
        Error::InvalidArgument { .. }
    ));
}

#[test]
fn bad_slices_and_indices() {
    let a = tessera::zeros(&[3, 4], 2).unwrap();
    let e = err(&a.slice(&[Index::slice(None, None, 0)]));
    assert!(
        matches!(
            e,
            Error::BadIndex {
                op: "getitem",
                axis: 0,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("step"));
    assert!(matches!(
        err(&a.slice(&[Index::At(3)])),
        Error::BadIndex { .. }
    ));
    assert!(matches!(
        err(&a.slice(&[Index::At(-4)])),
        Error::BadIndex { .. }
    ));
    assert!(matches!(
        err(&a.slice(&[Index::all(), Index::all(), Index::all()])),
        Error::InvalidArgument { .. }
    ));
    let e = err(&a.take(1, &[0, 4]));
    assert!(e.to_string().contains("index 4 is out of bounds"), "{e}");
}

#[test]
fn bad_chunks() {
    let e = tessera::zeros(&[10, 10], 0).unwrap_err();
    assert!(matches!(e, Error::InvalidChunks { op: "full", .. }), "{e}");
    assert!(e.to_string().contains("at least 1"));
    assert!(matches!(
        tessera::zeros(&[10, 10], &[5usize][..]).unwrap_err(),
        Error::InvalidChunks { .. }
    ));
    assert!(matches!(
        tessera::zeros(&[10], "big").unwrap_err(),
        Error::InvalidChunks { .. }
    ));
    let explicit = tessera::Chunks::Explicit(vec![vec![3, 3]]);
    assert!(matches!(
        tessera::zeros(&[10], explicit).unwrap_err(),
        Error::InvalidChunks { .. }
    ));
    let a = tessera::zeros(&[10], 5).unwrap();
    assert!(matches!(
        err(&a.rechunk(0)),
        Error::InvalidChunks { op: "rechunk", .. }
    ));
}

#[test]
fn unsupported_dtypes() {
    let b = tessera::zeros(&[4], 2).unwrap().gt(0.0);
    for e in [err(&(&b + &b)), err(&(-&b)), err(&(&b * &b))] {
        assert!(
            matches!(
                e,
                Error::UnsupportedDType {
                    dtype: DType::Bool,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("astype"));
    }
    let e = tessera::random::uniform_range(&[4], 2, 0, 0.0, 1.0, DType::I32).unwrap_err();
    assert!(matches!(e, Error::UnsupportedDType { op: "uniform", .. }));
    let e = tessera::zeros(&[4], 2)
        .unwrap()
        .compute::<f32>()
        .unwrap_err();
    assert!(matches!(e, Error::DTypeMismatch { .. }), "{e}");
}

#[test]
fn bad_arguments() {
    assert!(matches!(
        tessera::arange(0.0, 1.0, 0.0, 2).unwrap_err(),
        Error::InvalidArgument { op: "arange", .. }
    ));
    assert!(matches!(
        tessera::random::uniform_range(&[2], 1, 0, 1.0, 0.0, DType::F64).unwrap_err(),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        tessera::random::normal_with(&[2], 1, 0, 0.0, -1.0, DType::F64).unwrap_err(),
        Error::InvalidArgument { .. }
    ));
    let e = tessera::zeros(&[0], 1).unwrap().min().check().unwrap_err();
    assert!(e.to_string().contains("zero-size"), "{e}");
    let e = tessera::zeros(&[3], 1)
        .unwrap()
        .compute_scalar::<f64>()
        .unwrap_err();
    assert!(e.to_string().contains("reduce it first"));
    for (dev, name) in [
        (tessera::Device::Cuda(0), "cuda:0"),
        (tessera::Device::Wgpu(99), "adapter 99"),
    ] {
        let opts = tessera::ComputeOptions {
            device: dev,
            ..Default::default()
        };
        let e = tessera::zeros(&[3], 1)
            .unwrap()
            .compute_with::<f64>(&opts)
            .unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[test]
fn memory_limit_is_an_error_not_a_kill() {
    let x = tessera::ones(&[1000, 1000], 1000).unwrap();
    let opts = tessera::ComputeOptions {
        host_memory_limit: Some(1 << 20),
        ..Default::default()
    };
    let e = (&x * 2.0).compute_with::<f64>(&opts).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfMemory {
                needed: 8_000_000,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn visualize_without_graphviz_is_a_clear_error_or_works() {
    let x = tessera::ones(&[4, 4], 2).unwrap().sum();
    let dot = x.to_dot().unwrap();
    assert!(dot.contains("shape=circle") && dot.contains("shape=box"));
    let path = std::env::temp_dir().join(format!("tessera-vis-{}.svg", std::process::id()));
    match x.visualize(&path) {
        Ok(()) => {
            assert!(std::fs::metadata(&path).unwrap().len() > 0);
            let _ = std::fs::remove_file(&path);
        }
        Err(e) => assert!(e.to_string().contains("graphviz"), "{e}"),
    }
}

#[test]
fn shapes_and_grids_too_large_to_hold_are_errors_up_front() {
    // 1e30 values: NumPy says "Maximum allowed size exceeded"; this used to panic with
    // "capacity overflow" building the chunk list.
    let e = tessera::arange(0.0, 1e30, 1.0, 5).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "arange", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("2^53"), "{e}");
    // 2^80 elements (this used to abort allocating 8 TiB for the chunk list).
    let e = tessera::random::uniform(&[1 << 40, 1 << 40], &[1, 1], 0).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "uniform", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("2^63 bytes"), "{e}");
    // An array that may exist lazily, cut into 2^40 blocks along one axis.
    let e = tessera::random::uniform(&[1 << 40], 1, 0).unwrap_err();
    assert!(
        matches!(e, Error::InvalidChunks { op: "uniform", .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("1099511627776 blocks") && msg.contains("chunks of at least 65536"),
        "{msg}"
    );
    // More than 2^63 bytes.
    let e = tessera::zeros(&[1 << 40, 1 << 40], "auto").unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    let e = tessera::linspace(0.0, 1.0, 1 << 62, true, "auto").unwrap_err();
    assert!(e.to_string().contains("2^63 bytes"), "{e}");
    // Rechunking into too many blocks, explicitly or by size.
    let x = tessera::zeros(&[1 << 30], 1 << 20).unwrap();
    let e = err(&x.rechunk(1));
    assert!(
        matches!(e, Error::InvalidChunks { op: "rechunk", .. }),
        "{e}"
    );
}

#[test]
fn a_huge_lazy_array_prints_without_building_its_graph() {
    // (1e8, 1e8) in "auto" chunks is 24415^2 blocks; dask's repr of it is instant and
    // so is this one (it used to lower the whole graph, allocating 14 GB).
    let x = tessera::random::uniform(&[100_000_000, 100_000_000], "auto", 0).unwrap();
    let y = (&x + 1.0).sum_axis(0);
    let s = y.to_string();
    assert!(
        s.contains("shape=[100000000]") && s.contains("not counted"),
        "{s}"
    );
    assert!(s.contains("layers"), "{s}");
    // A small one still counts its tasks.
    let small = tessera::ones(&[4, 4], 2).unwrap().sum();
    let t = small.num_tasks().unwrap();
    assert!(
        small.to_string().contains(&format!("tasks={t}>")),
        "{small}"
    );
}

#[test]
fn a_compute_that_cannot_fit_is_out_of_memory_before_building_anything() {
    use tessera::error::Tier;
    let opts = tessera::ComputeOptions {
        host_memory_limit: Some(1 << 30),
        ..Default::default()
    };
    let x = tessera::random::uniform(&[1_000_000, 1_000_000], "auto", 0).unwrap();
    // The result alone (8 TB) exceeds the host limit.
    let e = x.compute_with::<f64>(&opts).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfMemory {
                tier: Tier::Host,
                needed: 8_000_000_000_000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("persist()"), "{e}");
    // Persisting it would spill 8 TB: more than a small disk limit, or than the disk
    // has free (it used to write until the disk was full).
    let e = x
        .persist_with(&tessera::ComputeOptions {
            disk_limit: Some(1 << 40),
            ..opts.clone()
        })
        .unwrap_err();
    assert!(
        matches!(e, Error::OutOfMemory { tier: Tier::Disk, limit, .. } if limit == 1 << 40),
        "{e}"
    );
    let free = tessera::scheduler::free_disk_bytes(&std::env::temp_dir()).unwrap();
    if free < 7_000_000_000_000 {
        let e = x.persist_with(&opts).unwrap_err();
        assert!(
            matches!(e, Error::OutOfMemory { tier: Tier::Disk, limit, .. } if limit <= free + (1 << 30)),
            "{e}"
        );
        assert!(e.to_string().contains("free space"), "{e}");
    }
    // A million one-element blocks: an 8 MiB result, but the tasks alone exceed 16 MiB.
    let many = tessera::zeros(&[1 << 20], 1).unwrap();
    let e = (&many + 1.0)
        .compute_with::<f64>(&tessera::ComputeOptions {
            host_memory_limit: Some(16 << 20),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfMemory {
                tier: Tier::Host,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("task graph (1048576 tasks at least"),
        "{e}"
    );
}

#[test]
fn axis_messages_say_which_axis_and_which_rank() {
    let a = tessera::zeros(&[3, 4], 2).unwrap();
    let e = err(&a.sum_axes(&[0, -2], false)).to_string();
    assert!(
        e.contains("axis 0 appears more than once in axes [0, -2]") && !e.contains("Some"),
        "{e}"
    );
    let s = tessera::zeros(&[], 1).unwrap();
    let e = err(&s.take(0, &[0])).to_string();
    assert!(e.contains("0-d array") && !e.contains("0..0"), "{e}");
    let e = err(&a.expand_dims(5)).to_string();
    assert!(
        e.contains("the result's 3 dimensions") && e.contains("[3, 4]") && e.contains("-3..3"),
        "{e}"
    );
    let e = err(&a.sum_axis(2)).to_string();
    assert!(
        e.contains("an array of 2 dimensions (shape [3, 4]); use an axis in -2..2"),
        "{e}"
    );
}
