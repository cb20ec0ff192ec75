//! Zarr in and out: round trips of every dtype over uneven chunkings in both formats and
//! every codec, sharding, reading with other chunkings, writing into existing arrays
//! whose chunks differ, arrays zarr-python wrote read here and the reverse (when Python
//! with zarr is present; required under TESSERA_REQUIRE_INTEROP=1), and the errors bad
//! input must give. Streaming past the host limit is tested with `.npy` in storage.rs.

mod common;

use tessera::storage::zarr::{ZarrCodec, ZarrFormat, ZarrOptions};
use tessera::{ComputeOptions, DType};

fn dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-zarr-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Names in `d` that a failed or finished write must not leave.
fn leftovers(d: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect()
}

fn write(x: &tessera::Array, path: &std::path::Path, z: &ZarrOptions) -> tessera::Result<()> {
    x.to_zarr_with(path, z, &ComputeOptions::default())
        .map(|_| ())
}

#[test]
fn every_dtype_round_trips_through_both_formats_and_every_codec() {
    let d = dir("roundtrip");
    let codecs = [
        ZarrCodec::None,
        ZarrCodec::Zstd { level: 3 },
        ZarrCodec::Gzip { level: 5 },
        ZarrCodec::Blosc {
            cname: "lz4".into(),
            clevel: 5,
            shuffle: true,
        },
    ];
    let mut n = 0;
    for dtype in DType::ALL {
        for format in [ZarrFormat::V2, ZarrFormat::V3] {
            if dtype == DType::BF16 && format == ZarrFormat::V2 {
                continue;
            }
            for (shape, chunks) in common::uneven_chunkings() {
                let codec = codecs[n % codecs.len()].clone();
                n += 1;
                let v = common::values(dtype, &shape);
                let x = tessera::array::from_host(v.clone(), &chunks[..]).unwrap();
                let path = d.join(format!("{dtype}-{format:?}-{n}.zarr"));
                let z = ZarrOptions {
                    format,
                    codec: codec.clone(),
                    ..Default::default()
                };
                write(&x, &path, &z).unwrap();
                let marker = match format {
                    ZarrFormat::V2 => ".zarray",
                    ZarrFormat::V3 => "zarr.json",
                };
                assert!(path.join(marker).is_file(), "{}", path.display());
                let y = tessera::from_zarr(&path).unwrap();
                assert_eq!((y.dtype(), y.shape()), (dtype, &shape[..]));
                if !shape.contains(&0) {
                    assert_eq!(
                        y.chunks().unwrap().max_chunk(),
                        chunks,
                        "the store's chunks"
                    );
                }
                assert_eq!(
                    y.compute_host().unwrap(),
                    v,
                    "{dtype} {format:?} {codec:?} {shape:?}"
                );
                // Read back whole, block by block through another chunking.
                let whole: Vec<usize> = shape.iter().map(|&k| k.max(1)).collect();
                let y = tessera::from_zarr_with(&path, &whole[..]).unwrap();
                assert_eq!(y.compute_host().unwrap(), v, "{dtype} {format:?} whole");
            }
        }
    }
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn sharded_arrays_are_written_shard_by_shard_and_read_in_any_chunking() {
    let d = dir("shards");
    let v = common::data(&[50, 36], 3);
    let x = tessera::from_ndarray(v.clone(), &[7, 9][..]).unwrap();
    let path = d.join("s.zarr");
    let z = ZarrOptions {
        chunks: Some(vec![20, 12]),
        inner_chunks: Some(vec![5, 4]),
        ..Default::default()
    };
    write(&x, &path, &z).unwrap();
    let info = tessera::storage::zarr::info(&path).unwrap();
    assert_eq!(info.chunks, vec![20, 12]);
    assert_eq!(info.inner_chunks, Some(vec![5, 4]));
    assert!(
        info.codecs[0].starts_with("sharding_indexed[bytes, zstd]"),
        "{:?}",
        info.codecs
    );
    // Shards are the tasks: 3 x 3 of them, the edge ones cut at the array's end.
    let y = tessera::from_zarr(&path).unwrap();
    assert_eq!(y.chunks().unwrap().sizes(0), &[20, 20, 10]);
    assert_eq!(y.compute::<f64>().unwrap(), v);
    // Aligned requests read directly; others read whole shards then rechunk.
    let aligned = tessera::from_zarr_with(&path, &[40, 12][..]).unwrap();
    assert_eq!(aligned.chunks().unwrap().sizes(0), &[40, 10]);
    assert_eq!(
        aligned.num_tasks().unwrap(),
        6,
        "one read per block, no rechunk"
    );
    let odd = tessera::from_zarr_with(&path, &[13, 7][..]).unwrap();
    assert_eq!(odd.chunks().unwrap().sizes(1), &[7, 7, 7, 7, 7, 1]);
    assert_eq!(odd.compute::<f64>().unwrap(), v);
    let sum = (&odd * 2.0).sum().compute::<f64>().unwrap()[[]];
    assert!((sum - v.sum() * 2.0).abs() < 1e-9 * v.sum().abs(), "{sum}");
    // Sharding needs v3 and inner chunks that divide the shard.
    for (format, inner, needle) in [
        (ZarrFormat::V2, vec![5, 4], "no sharding"),
        (ZarrFormat::V3, vec![6, 4], "divide"),
    ] {
        let z = ZarrOptions {
            format,
            chunks: Some(vec![20, 12]),
            inner_chunks: Some(inner),
            ..Default::default()
        };
        let e = write(&x, &d.join("bad.zarr"), &z).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains("bad.zarr"), "{e}");
    }
    assert!(!d.join("bad.zarr").exists());
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn writing_into_an_existing_array_rechunks_to_its_chunks_and_keeps_its_codecs() {
    let d = dir("existing");
    let path = d.join("e.zarr");
    let first = common::data(&[30, 20], 1);
    let z = ZarrOptions {
        format: ZarrFormat::V2,
        codec: ZarrCodec::Gzip { level: 1 },
        chunks: Some(vec![8, 8]),
        ..Default::default()
    };
    write(&tessera::from_ndarray(first, 10).unwrap(), &path, &z).unwrap();
    let meta = std::fs::read_to_string(path.join(".zarray")).unwrap();
    // New values in blocks that cut across the store's chunks, with zeros in the top
    // rows: chunks that become all fill value must not keep their old contents.
    let mut second = common::data(&[30, 20], 2);
    second.slice_mut(ndarray::s![0..8, ..]).fill(0.0);
    let x = tessera::from_ndarray(second.clone(), &[7, 13][..]).unwrap();
    // Options other than overwrite do not apply to an existing array.
    write(&x, &path, &ZarrOptions::default()).unwrap();
    assert_eq!(std::fs::read_to_string(path.join(".zarray")).unwrap(), meta);
    let y = tessera::from_zarr(&path).unwrap();
    assert_eq!(y.chunks().unwrap().max_chunk(), vec![8, 8]);
    assert_eq!(y.compute::<f64>().unwrap(), second);
    assert!(
        !path.join("0.0").exists(),
        "an all-fill chunk kept its old file"
    );
    // A different shape or dtype is refused with the fix; overwrite replaces.
    let other = tessera::zeros(&[5, 5], 5).unwrap().astype(DType::F32);
    let e = write(&other, &path, &ZarrOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[30, 20] float64") && e.contains("[5, 5] float32") && e.contains("overwrite"),
        "{e}"
    );
    let z = ZarrOptions {
        overwrite: true,
        ..Default::default()
    };
    write(&other, &path, &z).unwrap();
    assert!(path.join("zarr.json").is_file() && !path.join(".zarray").exists());
    assert_eq!(tessera::from_zarr(&path).unwrap().shape(), &[5, 5]);
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_stores_and_bad_writes_are_clear_errors_that_leave_nothing() {
    let d = dir("errors");
    let e = tessera::from_zarr(d.join("nope.zarr"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.zarr") && e.contains("no such"), "{e}");
    // A group, and a directory with no metadata.
    let g = d.join("g.zarr");
    std::fs::create_dir(&g).unwrap();
    std::fs::write(
        g.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"group"}"#,
    )
    .unwrap();
    let e = tessera::from_zarr(&g).unwrap_err().to_string();
    assert!(e.contains("group") && e.contains("path/name"), "{e}");
    std::fs::create_dir(d.join("plain")).unwrap();
    let e = tessera::from_zarr(d.join("plain")).unwrap_err().to_string();
    assert!(e.contains("not a Zarr array"), "{e}");
    // A dtype Tessera has not, a codec nobody has, and metadata that is not JSON.
    let meta = |name: &str, dtype: &str, codec: &str| {
        let fill = if dtype.starts_with("complex") {
            "[0.0, 0.0]"
        } else {
            "0"
        };
        let p = d.join(name);
        std::fs::create_dir(&p).unwrap();
        std::fs::write(
            p.join("zarr.json"),
            format!(
                r#"{{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"{dtype}",
                "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[2]}}}},
                "chunk_key_encoding":{{"name":"default"}},"fill_value":{fill},
                "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}{codec}]}}"#
            ),
        )
        .unwrap();
        p
    };
    let e = tessera::from_zarr(meta("c32.zarr", "complex_float16", ""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("complex_float16") && e.contains("astype"), "{e}");
    let e = tessera::from_zarr(meta("odd.zarr", "float64", r#",{"name":"frobnicate"}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("odd.zarr") && e.contains("frobnicate"), "{e}");
    let p = d.join("junk.zarr");
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join(".zarray"), "{ not json").unwrap();
    let e = tessera::from_zarr(&p).unwrap_err().to_string();
    assert!(e.contains("junk.zarr") && e.contains("metadata"), "{e}");
    // A corrupt chunk is an error naming the block, when read.
    let c = d.join("c.zarr");
    tessera::arange(0.0, 8.0, 1.0, 4)
        .unwrap()
        .to_zarr(&c)
        .unwrap();
    std::fs::write(c.join("c/1"), b"garbage, not zstd").unwrap();
    let e = tessera::from_zarr(&c)
        .unwrap()
        .compute::<f64>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.zarr") && e.contains("[4]"), "{e}");
    // Writes: bf16 in v2, a file in the way, a missing directory.
    let b = tessera::zeros(&[4], 2).unwrap().astype(DType::BF16);
    let z2 = ZarrOptions {
        format: ZarrFormat::V2,
        ..Default::default()
    };
    let e = write(&b, &d.join("b.zarr"), &z2).unwrap_err().to_string();
    assert!(e.contains("bfloat16") && e.contains("v3"), "{e}");
    std::fs::write(d.join("file"), b"x").unwrap();
    let e = b.to_zarr(d.join("file")).unwrap_err().to_string();
    assert!(e.contains("is a file"), "{e}");
    let e = b.to_zarr(d.join("no/such/x.zarr")).unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    // A compute that fails midway leaves neither the array nor its staging directory,
    // and an existing array it was writing into is unchanged.
    let a = tessera::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [2.0, 1.0]]).into_dyn(), 2).unwrap();
    assert!(tessera::linalg::cholesky(&a)
        .to_zarr(d.join("chol.zarr"))
        .is_err());
    assert!(!d.join("chol.zarr").exists());
    let keep = d.join("keep.zarr");
    a.to_zarr(&keep).unwrap();
    assert!(tessera::linalg::cholesky(&a).to_zarr(&keep).is_err());
    assert_eq!(
        tessera::from_zarr(&keep).unwrap().compute::<f64>().unwrap(),
        ndarray::arr2(&[[1.0, 2.0], [2.0, 1.0]]).into_dyn()
    );
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn zarr_python_reads_what_tessera_writes_and_tessera_reads_what_it_writes() {
    let Some(py) = common::python(&["numpy", "zarr"]) else {
        return;
    };
    let d = dir("python");
    // zarr-python writes v2 (blosc, C and F order) and v3 (zstd, sharded, big-endian).
    let script = common::PY_VALUES.to_string()
        + "import zarr\n"
        + r#"
from zarr.codecs import BytesCodec, ZstdCodec
for k, a in arrs.items():
    z = zarr.create_array(os.path.join(d, 'v2-' + k), shape=a.shape, chunks=(4, 2), dtype=a.dtype, zarr_format=2)
    z[...] = a
    z = zarr.create_array(os.path.join(d, 'v2f-' + k), shape=a.shape, chunks=(4, 3), dtype=a.dtype,
                          zarr_format=2, order='F', compressors=None)
    z[...] = a
    z = zarr.create_array(os.path.join(d, 'v3-' + k), shape=a.shape, chunks=(4, 2), dtype=a.dtype)
    z[...] = a
    z = zarr.create_array(os.path.join(d, 'v3s-' + k), shape=a.shape, shards=(4, 4), chunks=(2, 2), dtype=a.dtype)
    z[...] = a
z = zarr.create_array(os.path.join(d, 'v3-be'), shape=(6, 5), chunks=(3, 5), dtype='float64',
                      serializer=BytesCodec(endian='big'), compressors=[ZstdCodec(level=1)])
z[...] = f / 2
z = zarr.create_array(os.path.join(d, 'v3-holes'), shape=(6, 5), chunks=(3, 5), dtype='float64', fill_value=2.5)
z[3:, :] = 1.0
"#;
    common::run_python(&py, &script, &[d.to_str().unwrap()]);
    for dtype in DType::ALL {
        if dtype == DType::BF16 {
            continue;
        }
        let want = common::values(dtype, &[6, 5]);
        for prefix in ["v2", "v2f", "v3", "v3s"] {
            let p = d.join(format!("{prefix}-{dtype}"));
            let got = tessera::from_zarr(&p).unwrap().compute_host().unwrap();
            assert_eq!(got, want, "{}", p.display());
            let got = tessera::from_zarr_with(&p, &[5, 3][..])
                .unwrap()
                .compute_host()
                .unwrap();
            assert_eq!(got, want, "{} in 5x3 blocks", p.display());
        }
        // Tessera writes each format; zarr-python checks against its own values.
        let x = tessera::array::from_host(want, &[4, 3][..]).unwrap();
        for (tag, format, inner) in [
            ("v2", ZarrFormat::V2, None),
            ("v3", ZarrFormat::V3, None),
            ("v3s", ZarrFormat::V3, Some(vec![2, 3])),
        ] {
            let z = ZarrOptions {
                format,
                inner_chunks: inner,
                codec: if format == ZarrFormat::V2 {
                    ZarrCodec::Blosc {
                        cname: "zstd".into(),
                        clevel: 3,
                        shuffle: true,
                    }
                } else {
                    ZarrCodec::Zstd { level: 3 }
                },
                ..Default::default()
            };
            write(&x, &d.join(format!("ts-{tag}-{dtype}")), &z).unwrap();
        }
    }
    let be = tessera::from_zarr(d.join("v3-be")).unwrap();
    assert_eq!(
        be.compute_host().unwrap(),
        common::values(DType::F64, &[6, 5])
    );
    let holes = tessera::from_zarr(d.join("v3-holes"))
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert!(
        holes.iter().take(15).all(|&v| v == 2.5),
        "fill value: {holes}"
    );
    assert!(holes.iter().skip(15).all(|&v| v == 1.0));
    let check = common::PY_VALUES.to_string()
        + "import zarr\n"
        + r#"
for k, a in arrs.items():
    for tag in ['v2', 'v3', 'v3s']:
        z = zarr.open_array(os.path.join(d, 'ts-' + tag + '-' + k), mode='r')
        b = z[...]
        assert z.metadata.zarr_format == (2 if tag == 'v2' else 3), (tag, k)
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b), (tag, k, b)
print('ok')
"#;
    let out = common::run_python(&py, &check, &[d.to_str().unwrap()]);
    assert_eq!(out.trim(), "ok");
    std::fs::remove_dir_all(&d).unwrap();
}
