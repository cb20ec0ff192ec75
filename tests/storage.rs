//! `.npy` in and out: round trips of every dtype over uneven chunkings, files NumPy wrote
//! read back and files Tessera wrote read by NumPy (when Python with NumPy is present:
//! `TESSERA_PYTHON`, else `python3`; required under TESSERA_REQUIRE_INTEROP=1), writes
//! larger than the memory limit, and the errors bad input must give.

mod common;

use ndarray::{ArrayD, IxDyn};
use tessera::{ComputeOptions, DType};

fn dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-storage-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_dtype_round_trips_through_npy_over_uneven_chunks() {
    let d = dir("roundtrip");
    for dtype in DType::ALL {
        if dtype == DType::BF16 {
            continue;
        }
        for (shape, chunks) in common::uneven_chunkings() {
            let v = common::values(dtype, &shape);
            let x = tessera::array::from_host(v.clone(), &chunks[..]).unwrap();
            let path = d.join(format!("{dtype}-{}.npy", shape.len()));
            x.to_npy(&path).unwrap();
            // Read back with other chunkings, each block read on its own.
            for read_chunks in [chunks.clone(), shape.iter().map(|&n| n.max(1)).collect()] {
                let y = tessera::from_npy(&path, &read_chunks[..]).unwrap();
                assert_eq!(y.dtype(), dtype);
                assert_eq!(y.shape(), &shape[..]);
                let back = y.compute_host().unwrap();
                assert_eq!(back, v, "{dtype} {shape:?} read in {read_chunks:?}");
            }
        }
    }
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Writes an .npy file by hand (an independent writer): `descr`, Fortran order or not,
/// and the data bytes as given.
fn handmade(path: &std::path::Path, descr: &str, fortran: bool, shape: &str, data: &[u8]) {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    let len = (10 + dict.len() + 1).div_ceil(64) * 64 - 10;
    header.extend((len as u16).to_le_bytes());
    header.extend(dict.bytes());
    header.resize(10 + len - 1, b' ');
    header.push(b'\n');
    header.extend_from_slice(data);
    std::fs::write(path, header).unwrap();
}

#[test]
fn fortran_order_and_big_endian_files_read_right() {
    let d = dir("layouts");
    // A 3x4 f64 matrix m[i][j] = 10i + j stored column by column.
    let mut f = vec![];
    for j in 0..4 {
        for i in 0..3 {
            f.extend((10.0 * i as f64 + j as f64).to_le_bytes());
        }
    }
    let p = d.join("f.npy");
    handmade(&p, "<f8", true, "(3, 4)", &f);
    // Auto chunks follow the layout: whole columns of a Fortran file, whole rows of a C one.
    let auto = tessera::from_npy(&p, tessera::Chunks::Auto { bytes: 48 }).unwrap();
    assert_eq!(auto.chunks().unwrap().max_chunk(), vec![3, 2]);
    let want = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |ix| 10.0 * ix[0] as f64 + ix[1] as f64);
    for chunks in [[3usize, 4], [2, 3], [1, 1]] {
        let x = tessera::from_npy(&p, &chunks[..]).unwrap();
        assert_eq!(x.compute::<f64>().unwrap(), want, "chunks {chunks:?}");
    }
    // The same values big-endian, C order.
    let mut b = vec![];
    for i in 0..3 {
        for j in 0..4 {
            b.extend((10.0 * i as f64 + j as f64).to_be_bytes());
        }
    }
    let p = d.join("be.npy");
    handmade(&p, ">f8", false, "(3, 4)", &b);
    let auto = tessera::from_npy(&p, tessera::Chunks::Auto { bytes: 64 }).unwrap();
    assert_eq!(auto.chunks().unwrap().max_chunk(), vec![2, 4]);
    assert_eq!(
        tessera::from_npy(&p, 2).unwrap().compute::<f64>().unwrap(),
        want
    );
    // Big-endian complex: each part swapped on its own, not the 16 bytes as one.
    let mut c = vec![];
    for k in 0..3 {
        c.extend((k as f64).to_be_bytes());
        c.extend((-0.5 * k as f64).to_be_bytes());
    }
    let p = d.join("bec.npy");
    handmade(&p, ">c16", false, "(3,)", &c);
    let z = tessera::from_npy(&p, 2)
        .unwrap()
        .compute::<tessera::Complex64>()
        .unwrap();
    let wantc: Vec<_> = (0..3)
        .map(|k| tessera::Complex64::new(k as f64, -0.5 * k as f64))
        .collect();
    assert_eq!(z.as_slice().unwrap(), &wantc[..]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_files_and_bad_writes_are_clear_errors_that_leave_nothing() {
    let d = dir("errors");
    let missing = d.join("nope.npy");
    let e = tessera::from_npy(&missing, 4).unwrap_err().to_string();
    assert!(e.contains("nope.npy") && e.contains("cannot open"), "{e}");
    let p = d.join("junk.npy");
    std::fs::write(&p, b"not an npy file at all").unwrap();
    let e = tessera::from_npy(&p, 4).unwrap_err().to_string();
    assert!(e.contains("junk.npy") && e.contains("magic"), "{e}");
    let p = d.join("longdouble.npy");
    handmade(&p, "<f16", false, "(2,)", &[0u8; 32]);
    let e = tessera::from_npy(&p, 4).unwrap_err().to_string();
    assert!(e.contains("f16") && e.contains("astype"), "{e}");
    let p = d.join("short.npy");
    handmade(&p, "<f8", false, "(100,)", &[0u8; 80]);
    let e = tessera::from_npy(&p, 4).unwrap_err().to_string();
    assert!(e.contains("short.npy") && e.contains("800 bytes"), "{e}");
    // bf16 has no .npy form.
    let b = tessera::zeros(&[4], 2).unwrap().astype(DType::BF16);
    let e = b.to_npy(d.join("b.npy")).unwrap_err().to_string();
    assert!(e.contains("bfloat16") && e.contains("float32"), "{e}");
    // A directory that does not exist.
    let e = tessera::zeros(&[4], 2)
        .unwrap()
        .to_npy(d.join("no/such/dir/x.npy"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot create"), "{e}");
    // A compute that fails midway (cholesky of a matrix that is not positive definite)
    // leaves neither the file nor a temporary one.
    let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [2.0, 1.0]]).into_dyn(), 2).unwrap();
    let out = d.join("chol.npy");
    assert!(tessera::linalg::cholesky(&a).to_npy(&out).is_err());
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("chol") || n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_result_larger_than_the_host_limit_streams_to_npy_and_zarr() {
    let d = dir("stream");
    // 1200x1000 f64 = 9.6 MB through a 4 MiB host limit, in 100x1000 blocks.
    let x = tessera::random::uniform(&[1200, 1000], &[100, 1000][..], 5).unwrap();
    let y = &x * 2.0 + 1.0;
    let opts = ComputeOptions {
        host_memory_limit: Some(4 << 20),
        spill_dir: Some(d.join("spill")),
        ..Default::default()
    };
    // An ordinary compute refuses: the result alone is larger than the limit.
    assert!(y.compute_with::<f64>(&opts).is_err());
    let want = y.compute::<f64>().unwrap();
    let (npy, zarr) = (d.join("big.npy"), d.join("big.zarr"));
    for stats in [
        y.to_npy_with(&npy, &opts),
        y.to_zarr_with(&zarr, &Default::default(), &opts),
    ] {
        let peak = stats.unwrap().host.peak;
        assert!(peak <= 4 << 20, "host peak {peak} over the limit");
    }
    // Read back in other blocks: the files hold the result.
    let back = tessera::from_npy(&npy, &[300, 250][..]).unwrap();
    assert_eq!(back.compute::<f64>().unwrap(), want, ".npy");
    let back = tessera::from_zarr_with(&zarr, &[300, 250][..]).unwrap();
    assert_eq!(back.compute::<f64>().unwrap(), want, "Zarr");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn numpy_reads_what_tessera_writes_and_tessera_reads_what_numpy_writes() {
    let Some(py) = common::python(&["numpy"]) else {
        return;
    };
    let d = dir("numpy");
    // NumPy writes: every dtype, C and Fortran order, one big-endian; values
    // i*7 - 40 as in `values` above.
    let script = common::PY_VALUES.to_string()
        + r#"
for k, a in arrs.items():
    np.save(os.path.join(d, 'np-' + k + '.npy'), a)
    np.save(os.path.join(d, 'npf-' + k + '.npy'), np.asfortranarray(a))
np.save(os.path.join(d, 'np-be.npy'), (f / 2).astype('>f8'))
"#;
    common::run_python(&py, &script, &[d.to_str().unwrap()]);
    for dtype in DType::ALL {
        if dtype == DType::BF16 {
            continue;
        }
        let want = common::values(dtype, &[6, 5]);
        for prefix in ["np", "npf"] {
            let p = d.join(format!("{prefix}-{dtype}.npy"));
            let got = tessera::from_npy(&p, &[4, 2][..])
                .unwrap()
                .compute_host()
                .unwrap();
            assert_eq!(got, want, "{}", p.display());
        }
        // Tessera writes, NumPy checks against its own values.
        let p = d.join(format!("ts-{dtype}.npy"));
        tessera::array::from_host(want, &[4, 3][..])
            .unwrap()
            .to_npy(&p)
            .unwrap();
    }
    let be = tessera::from_npy(d.join("np-be.npy"), 4)
        .unwrap()
        .compute_host()
        .unwrap();
    assert_eq!(be, common::values(DType::F64, &[6, 5]));
    let check = common::PY_VALUES.to_string()
        + r#"
for k, a in arrs.items():
    b = np.load(os.path.join(d, 'ts-' + k + '.npy'))
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b), k
print('ok')
"#;
    let out = common::run_python(&py, &check, &[d.to_str().unwrap()]);
    assert_eq!(out.trim(), "ok", "NumPy rejected a file");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_store_from_a_device_writes_the_same_file() {
    let d = dir("device");
    let x = tessera::random::uniform_range(&[300, 200], &[128, 64][..], 9, -1.0, 1.0, DType::F32)
        .unwrap();
    let y = (&x * 3.0).abs().sqrt() + 1.0;
    let cpu = d.join("cpu.npy");
    y.to_npy_with(&cpu, &common::opts(tessera::Device::Cpu))
        .unwrap();
    for dev in common::accelerators() {
        let p = d.join(format!("{dev}.npy").replace(':', "-"));
        // Under a device limit of three blocks' worth, the 8 output blocks (and their
        // inputs) fit only because each is written and released as it is made.
        let opts = tessera::ComputeOptions {
            device_memory_limit: Some(3 * 128 * 64 * 4 * 2),
            ..common::opts(dev)
        };
        let st = y.to_npy_with(&p, &opts).unwrap();
        assert!(st.device_tasks > 0, "{dev}: nothing ran on the device");
        assert_eq!(
            st.device.spilled_bytes, 0,
            "{dev}: output blocks were held on the device until the end"
        );
        let (a, b) = (std::fs::read(&cpu).unwrap(), std::fs::read(&p).unwrap());
        // Same header; values within f32 sqrt's rounding (both are correctly rounded).
        assert_eq!(a.len(), b.len());
        let va = tessera::from_npy(&cpu, 100)
            .unwrap()
            .compute::<f32>()
            .unwrap();
        let vb = tessera::from_npy(&p, 100)
            .unwrap()
            .compute::<f32>()
            .unwrap();
        assert_eq!(va, vb, "{dev}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
