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
