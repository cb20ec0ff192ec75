//! Creation: fills, ranges, identity, in-memory arrays, `.npy` files and Zarr arrays. Fills and
//! ranges are generators, never stored: they fuse into whatever consumes them.

use super::{Array, Op};
use crate::chunks::Chunks;
use crate::dtype::{DType, Element, HostArray, Scalar};
use crate::error::{Error, Result};
use crate::kernel::Generator;
use crate::storage::ChunkSource;
use std::sync::Arc;

fn check_shape(op: &'static str, shape: &[usize]) -> Result<()> {
    if shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .is_none()
    {
        return Err(Error::arg(
            op,
            format!("shape {shape:?} has more elements than fit in memory addresses"),
        ));
    }
    Ok(())
}

/// An array filled with `value` (its dtype follows the value: `2.0` → f64, `2` → i64,
/// `Scalar::F32(2.0)` → f32).
///
/// ```
/// let a = tessera::full(&[2, 3], 7i64, 2).unwrap();
/// assert_eq!(a.dtype(), tessera::DType::I64);
/// assert_eq!(a.compute::<i64>().unwrap().sum(), 42);
/// ```
pub fn full(shape: &[usize], value: impl Into<Scalar>, chunks: impl Into<Chunks>) -> Result<Array> {
    check_shape("full", shape)?;
    let value: Scalar = value.into();
    let dtype = value.dtype();
    let value = value.cast(dtype);
    let grid = chunks.into().resolve("full", shape, dtype.size())?;
    Ok(Array::new(
        Op::Const(value),
        vec![],
        shape.to_vec(),
        dtype,
        grid,
    ))
}

impl Array {
    /// An array of `value` with this one's shape and chunks, in `dtype` (this one's when
    /// `None`), like `numpy.full_like`.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 5.0, 1.0, 2).unwrap();
    /// let f = x.full_like(7, None);
    /// assert_eq!((f.dtype(), f.chunks()), (x.dtype(), x.chunks()));
    /// ```
    pub fn full_like(&self, value: impl Into<Scalar>, dtype: Option<DType>) -> Array {
        let value: Scalar = value.into();
        self.then(|n| {
            let d = dtype.unwrap_or(n.dtype);
            full(
                &n.shape,
                value.cast(d),
                Chunks::Explicit(n.grid.all().to_vec()),
            )
        })
    }
}

/// An f64 array of zeros (use `.astype(..)` or [`full`] for other dtypes).
///
/// ```
/// let z = tessera::zeros(&[3], 2).unwrap();
/// assert_eq!(z.compute::<f64>().unwrap().sum(), 0.0);
/// ```
pub fn zeros(shape: &[usize], chunks: impl Into<Chunks>) -> Result<Array> {
    full(shape, 0.0, chunks)
}

/// An f64 array of ones.
///
/// ```
/// assert_eq!(tessera::ones(&[3, 2], 2).unwrap().sum().compute_scalar::<f64>().unwrap(), 6.0);
/// ```
pub fn ones(shape: &[usize], chunks: impl Into<Chunks>) -> Result<Array> {
    full(shape, 1.0, chunks)
}

/// Values `start, start + step, ...` below `stop` (f64), like `numpy.arange`.
///
/// ```
/// let a = tessera::arange(1.0, 50.0, 3.0, 5).unwrap();
/// assert_eq!(a.shape(), &[17]);
/// ```
pub fn arange(start: f64, stop: f64, step: f64, chunks: impl Into<Chunks>) -> Result<Array> {
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
        return Err(Error::arg("arange", format!("step must be finite and non-zero and bounds finite (got start {start}, stop {stop}, step {step})")));
    }
    let count = ((stop - start) / step).ceil().max(0.0);
    // Past 2^53 consecutive values are no longer distinct f64s (NumPy refuses such a
    // range too: "Maximum allowed size exceeded").
    if count > (1u64 << 53) as f64 {
        return Err(Error::arg(
            "arange",
            format!("{count:e} values from {start} to {stop} in steps of {step} is more than the 2^53 an f64 range can count; use a larger step or a smaller range"),
        ));
    }
    let n = count as usize;
    let grid = chunks.into().resolve("arange", &[n], 8)?;
    Ok(Array::new(
        Op::Gen(Generator::Range {
            start,
            step,
            last: None,
        }),
        vec![],
        vec![n],
        DType::F64,
        grid,
    ))
}

/// `num` evenly spaced f64 values from `start` to `stop` (inclusive when `endpoint`).
///
/// ```
/// let a = tessera::linspace(0.0, 1.0, 5, true, 2).unwrap();
/// assert_eq!(a.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 0.25, 0.5, 0.75, 1.0]);
/// ```
pub fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    chunks: impl Into<Chunks>,
) -> Result<Array> {
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let step = if div > 0 {
        (stop - start) / div as f64
    } else {
        0.0
    };
    let last = (endpoint && num > 1).then(|| ((num - 1) as u64, stop));
    let grid = chunks.into().resolve("linspace", &[num], 8)?;
    Ok(Array::new(
        Op::Gen(Generator::Range { start, step, last }),
        vec![],
        vec![num],
        DType::F64,
        grid,
    ))
}

/// An `n × m` f64 matrix with ones on diagonal `k` (0 = main, > 0 above).
///
/// ```
/// let e = tessera::eye(3, None, 0, 2).unwrap();
/// assert_eq!(e.sum().compute_scalar::<f64>().unwrap(), 3.0);
/// ```
pub fn eye(n: usize, m: Option<usize>, k: i64, chunks: impl Into<Chunks>) -> Result<Array> {
    let m = m.unwrap_or(n);
    check_shape("eye", &[n, m])?;
    let grid = chunks.into().resolve("eye", &[n, m], 8)?;
    Ok(Array::new(
        Op::Gen(Generator::Eye {
            ncols: m.max(1) as u64,
            k,
        }),
        vec![],
        vec![n, m],
        DType::F64,
        grid,
    ))
}

/// Wraps an in-memory ndarray (any supported element type) as a chunked array.
///
/// ```
/// let a = ndarray::Array2::<f32>::ones((4, 6)).into_dyn();
/// let x = tessera::from_ndarray(a, &[2, 3]).unwrap();
/// assert_eq!(x.chunks().unwrap().num_blocks(), 4);
/// ```
pub fn from_ndarray<T: Element>(
    arr: ndarray::ArrayD<T>,
    chunks: impl Into<Chunks>,
) -> Result<Array> {
    from_host(T::into_host(arr), chunks)
}

/// Wraps a dtype-erased host array as a chunked array.
pub fn from_host(arr: HostArray, chunks: impl Into<Chunks>) -> Result<Array> {
    let arr = arr.into_standard();
    let shape = arr.shape().to_vec();
    let dtype = arr.dtype();
    let grid = chunks
        .into()
        .resolve("from_ndarray", &shape, dtype.size())?;
    Ok(Array::new(
        Op::Source(Arc::new(arr) as Arc<dyn ChunkSource>),
        vec![],
        shape,
        dtype,
        grid,
    ))
}

/// Bytes of one row (one column, for a Fortran file) of a `.npy` file: the unit of its
/// auto chunks.
fn band_bytes(file: &crate::storage::npy::NpyFile, shape: &[usize]) -> usize {
    let along = if file.header().fortran {
        shape.len() - 1
    } else {
        0
    };
    let rest: usize = (0..shape.len())
        .filter(|&k| k != along)
        .map(|k| shape[k])
        .product();
    rest * file.dtype().size()
}

/// Opens a NumPy `.npy` file as a chunked array: nothing is read until a compute, and
/// then each task reads its own block (C or Fortran order, either byte order; float64,
/// float32, float16, int64, int32, uint32 and bool). With `"auto"` chunks are bands of
/// whole rows (whole columns for a Fortran file) of about 128 MiB: each is one
/// contiguous read.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tessera-doc-npy-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("x.npy");
/// let x = tessera::arange(0.0, 12.0, 1.0, 5).unwrap();
/// x.to_npy(&path).unwrap();
/// let y = tessera::from_npy(&path, 4).unwrap();
/// assert_eq!(y.shape(), &[12]);
/// assert_eq!(y.sum().compute::<f64>().unwrap()[[]], 66.0);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn from_npy(path: impl AsRef<std::path::Path>, chunks: impl Into<Chunks>) -> Result<Array> {
    let file = crate::storage::npy::NpyFile::open(path.as_ref())?;
    let (shape, dtype) = (file.shape().to_vec(), file.dtype());
    // "auto" follows the file's layout: bands of whole rows (columns, for a Fortran
    // file) of about the requested bytes, each one contiguous run on disk. Square blocks
    // of a C-ordered file are many short runs: reading 3.2 GB in 2000² blocks took 6.9 s
    // here, in row bands of the same size 3.1 s.
    let chunks = match chunks.into() {
        Chunks::Auto { bytes } if shape.len() >= 2 && band_bytes(&file, &shape) <= bytes => {
            let along = if file.header().fortran {
                shape.len() - 1
            } else {
                0
            };
            let band = (bytes / band_bytes(&file, &shape).max(1)).clamp(1, shape[along].max(1));
            let mut per = shape.iter().map(|&n| n.max(1)).collect::<Vec<_>>();
            per[along] = band;
            Chunks::PerAxis(per)
        }
        other => other,
    };
    let grid = chunks.resolve("from_npy", &shape, dtype.size())?;
    Ok(Array::new(
        Op::Source(Arc::new(file) as Arc<dyn ChunkSource>),
        vec![],
        shape,
        dtype,
        grid,
    ))
}

/// Opens a Zarr array (format 2 or 3, on the filesystem) as a chunked array with the
/// store's chunks — its shards, when it is sharded — so each task decodes exactly one
/// stored object. Nothing is read until a compute. Codecs: blosc, zstd, gzip, crc32c,
/// transpose, sharding; dtypes: float64, float32, float16, bfloat16, int64, int32,
/// uint32, bool. Chunks a writer never stored read as the fill value.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tessera-doc-from-zarr-{}", std::process::id()));
/// tessera::arange(0.0, 12.0, 1.0, 5).unwrap().to_zarr(&dir).unwrap();
/// let y = tessera::from_zarr(&dir).unwrap();
/// assert_eq!(y.chunks().unwrap().sizes(0), &[5, 5, 2]);
/// assert_eq!(y.sum().compute::<f64>().unwrap()[[]], 66.0);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn from_zarr(path: impl AsRef<std::path::Path>) -> Result<Array> {
    let z = crate::storage::zarr::ZarrArray::open(path.as_ref())?;
    let grid = z.grid().clone();
    Ok(zarr_source(z, grid))
}

fn zarr_source(z: crate::storage::zarr::ZarrArray, grid: crate::chunks::ChunkGrid) -> Array {
    let (shape, dtype) = (z.shape().to_vec(), z.dtype());
    Array::new(
        Op::Source(Arc::new(z) as Arc<dyn ChunkSource>),
        vec![],
        shape,
        dtype,
        grid,
    )
}

/// [`from_zarr`] with a requested chunking. Where the requested blocks are unions of
/// store chunks (of inner chunks, in a sharded array) they are read directly; otherwise
/// the array is read in unions of store chunks of about the requested size and
/// rechunked, so no stored chunk is decoded twice. `"auto"` reads unions of store chunks
/// of about 128 MiB.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tessera-doc-from-zarr-with-{}", std::process::id()));
/// tessera::arange(0.0, 12.0, 1.0, 4).unwrap().to_zarr(&dir).unwrap();
/// let y = tessera::from_zarr_with(&dir, 6).unwrap();
/// assert_eq!(y.chunks().unwrap().sizes(0), &[6, 6]);
/// assert_eq!(y.compute::<f64>().unwrap()[[7]], 7.0);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn from_zarr_with(
    path: impl AsRef<std::path::Path>,
    chunks: impl Into<Chunks>,
) -> Result<Array> {
    let z = crate::storage::zarr::ZarrArray::open(path.as_ref())?;
    let chunks = chunks.into();
    let (shape, dtype) = (z.shape().to_vec(), z.dtype());
    let want = chunks.resolve("from_zarr", &shape, dtype.size())?;
    let store = z.read_unit();
    if aligned(&want, &store) {
        return Ok(zarr_source(z, want));
    }
    // Unions of whole store chunks, about as long as the requested blocks per axis.
    let read = crate::chunks::ChunkGrid::new(
        (0..shape.len())
            .map(|k| {
                let s = store.sizes(k);
                let per = s.first().copied().unwrap_or(1).max(1);
                let r = want.sizes(k).iter().copied().max().unwrap_or(1);
                let m = ((r + per / 2) / per).max(1);
                s.chunks(m).map(|g| g.iter().sum()).collect()
            })
            .collect(),
    );
    let x = zarr_source(z, read);
    Ok(match chunks {
        Chunks::Auto { .. } => x,
        _ => x.rechunk(Chunks::Explicit(want.all().to_vec())),
    })
}

/// Whether every block boundary of `want` is a block boundary of `store`.
fn aligned(want: &crate::chunks::ChunkGrid, store: &crate::chunks::ChunkGrid) -> bool {
    (0..want.ndim()).all(|k| {
        want.boundaries(k)
            .iter()
            .all(|b| store.boundaries(k).binary_search(b).is_ok())
    })
}
