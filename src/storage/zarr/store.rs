//! The Zarr reader and writer on zarrs (the `zarr` feature); see the parent module.

use super::{ZarrCodec, ZarrFormat, ZarrInfo, ZarrOptions};
use crate::chunks::ChunkGrid;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::storage::{c_runs, ChunkSink, ChunkSource, Role};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{Array as ZArray, ArrayBytes, ArrayMetadata, ArrayShardedExt};
use zarrs::filesystem::FilesystemStore;

fn err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Io {
        op: "zarr",
        reason: format!("{}: {reason}", path.display()),
    }
}

/// The shape of the array's first chunk (its shard, when sharded): every chunk's
/// shape, since the grid is regular.
fn first_chunk(a: &ZArray<FilesystemStore>, path: &Path) -> Result<Vec<usize>> {
    Ok(a.chunk_shape(&vec![0; a.dimensionality()])
        .map_err(|e| err(path, e))?
        .iter()
        .map(|n| n.get() as usize)
        .collect())
}

/// The Tessera dtype of a zarrs data type, or its name when there is none.
fn dtype_of(a: &ZArray<FilesystemStore>) -> std::result::Result<DType, String> {
    use zarrs::array::data_type as dt;
    let d = a.data_type();
    Ok(if d.is::<dt::Float64DataType>() {
        DType::F64
    } else if d.is::<dt::Float32DataType>() {
        DType::F32
    } else if d.is::<dt::Float16DataType>() {
        DType::F16
    } else if d.is::<dt::BFloat16DataType>() {
        DType::BF16
    } else if d.is::<dt::Int64DataType>() {
        DType::I64
    } else if d.is::<dt::Int32DataType>() {
        DType::I32
    } else if d.is::<dt::UInt32DataType>() {
        DType::U32
    } else if d.is::<dt::UInt64DataType>() {
        DType::U64
    } else if d.is::<dt::Int16DataType>() {
        DType::I16
    } else if d.is::<dt::UInt16DataType>() {
        DType::U16
    } else if d.is::<dt::Int8DataType>() {
        DType::I8
    } else if d.is::<dt::UInt8DataType>() {
        DType::U8
    } else if d.is::<dt::BoolDataType>() {
        DType::Bool
    } else if d.is::<dt::Complex64DataType>() {
        DType::C64
    } else if d.is::<dt::Complex128DataType>() {
        DType::C128
    } else {
        return Err(match a.metadata() {
            ArrayMetadata::V3(m) => m.data_type.name().to_string(),
            ArrayMetadata::V2(m) => m.dtype.to_string(),
        });
    })
}

/// The `node_type` of the Zarr metadata in `path` (`array` for a v2 `.zarray`).
fn node_type(path: &Path) -> Option<String> {
    if path.join(".zarray").is_file() {
        return Some("array".into());
    }
    if path.join(".zgroup").is_file() {
        return Some("group".into());
    }
    let text = std::fs::read_to_string(path.join("zarr.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["node_type"].as_str().unwrap_or("array").to_string())
}

/// Whether `path` holds Zarr array metadata (either format).
pub fn is_zarr_array(path: &Path) -> bool {
    node_type(path).as_deref() == Some("array")
}

fn open_store(path: &Path) -> Result<Arc<FilesystemStore>> {
    FilesystemStore::new(path).map(Arc::new).map_err(|e| {
        err(
            path,
            format!("cannot open the directory as a Zarr store: {e}"),
        )
    })
}

fn open_array(path: &Path) -> Result<ZArray<FilesystemStore>> {
    if !path.exists() {
        return Err(err(path, "no such file or directory"));
    }
    // Unreadable metadata goes on to zarrs, whose error says what is wrong with it.
    match node_type(path).as_deref() {
        Some("group") => {
            return Err(err(
                path,
                "is a Zarr group, not an array; open the array inside it (path/name)",
            ))
        }
        None if !path.join("zarr.json").is_file() => {
            return Err(err(
                path,
                "is not a Zarr array (no zarr.json or .zarray in it)",
            ))
        }
        _ => {}
    }
    ZArray::open(open_store(path)?, "/").map_err(|e| {
        err(
            path,
            format!("cannot open the array: {e}; check its metadata and that its codecs are blosc, zstd, gzip, crc32c, transpose or sharding"),
        )
    })
}

/// The array's store grid as block sizes per axis, each chunk cut at the array's edge.
/// For a sharded array these are the shards: the unit a task reads or writes whole.
fn store_grid(a: &ZArray<FilesystemStore>, path: &Path) -> Result<ChunkGrid> {
    let shape = a.shape();
    let grid = a.chunk_grid_shape().to_vec();
    let mut sizes = Vec::with_capacity(shape.len());
    for k in 0..shape.len() {
        let mut axis = Vec::with_capacity(grid[k] as usize);
        let mut idx = vec![0u64; shape.len()];
        for i in 0..grid[k] {
            idx[k] = i;
            let sub = a
                .chunk_subset_bounded(&idx)
                .map_err(|e| err(path, format!("chunk {idx:?}: {e}")))?;
            axis.push(sub.shape()[k] as usize);
        }
        if shape[k] == 0 {
            // As ChunkGrid has it: an empty axis is one empty block.
            axis = vec![0];
        }
        sizes.push(axis);
    }
    Ok(ChunkGrid::new(sizes))
}

fn ranges(start: &[usize], shape: &[usize]) -> Vec<Range<u64>> {
    start
        .iter()
        .zip(shape)
        .map(|(&s, &n)| s as u64..(s + n) as u64)
        .collect()
}

/// A Zarr array on the filesystem, read block by block: each read decodes only the
/// store chunks the block touches (and, in a sharded array, only the inner chunks).
pub struct ZarrArray {
    path: PathBuf,
    array: ZArray<FilesystemStore>,
    dtype: DType,
    shape: Vec<usize>,
    grid: ChunkGrid,
}

impl std::fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrArray")
            .field("path", &self.path)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .finish()
    }
}

fn codec_names(meta: &ArrayMetadata) -> Vec<String> {
    let v = serde_json::to_value(meta).unwrap_or_default();
    fn v3(list: &serde_json::Value, out: &mut Vec<String>) {
        for c in list.as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("?");
            if name == "sharding_indexed" {
                let mut inner = vec![];
                v3(&c["configuration"]["codecs"], &mut inner);
                out.push(format!("sharding_indexed[{}]", inner.join(", ")));
            } else {
                out.push(name.to_string());
            }
        }
    }
    let mut out = vec![];
    match meta {
        ArrayMetadata::V3(_) => v3(&v["codecs"], &mut out),
        ArrayMetadata::V2(_) => {
            for f in v["filters"].as_array().into_iter().flatten() {
                out.push(f["id"].as_str().unwrap_or("?").to_string());
            }
            if let Some(id) = v["compressor"]["id"].as_str() {
                out.push(id.to_string());
            }
        }
    }
    out
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Describes the Zarr array at `path` (for `tessera info`).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tessera-doc-zinfo-{}", std::process::id()));
/// tessera::zeros(&[6, 4], 3).unwrap().astype(tessera::DType::F32).to_zarr(&dir).unwrap();
/// let info = tessera::storage::zarr::info(&dir).unwrap();
/// assert_eq!((info.format, info.shape.clone(), info.chunks.clone()), (3, vec![6, 4], vec![3, 3]));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn info(path: &Path) -> Result<ZarrInfo> {
    let a = open_array(path)?;
    let dtype = dtype_of(&a);
    let chunks = first_chunk(&a, path)?;
    let shape: Vec<usize> = a.shape().iter().map(|&n| n as usize).collect();
    let size = match &dtype {
        Ok(d) => d.size() as u64,
        Err(_) => a.data_type().fixed_size().unwrap_or(0) as u64,
    };
    Ok(ZarrInfo {
        format: match a.metadata() {
            ArrayMetadata::V2(_) => 2,
            ArrayMetadata::V3(_) => 3,
        },
        dtype,
        bytes: shape.iter().product::<usize>() as u64 * size,
        shape,
        chunks,
        inner_chunks: a
            .subchunk_shape()
            .map(|s| s.iter().map(|n| n.get() as usize).collect()),
        codecs: codec_names(a.metadata()),
        stored_bytes: dir_bytes(path),
    })
}

impl ZarrArray {
    /// Opens the array at `path` (its metadata only).
    pub fn open(path: &Path) -> Result<ZarrArray> {
        let array = open_array(path)?;
        let dtype = dtype_of(&array).map_err(|name| {
            err(
                path,
                format!(
                    "holds {name} elements; Tessera reads float64, float32, float16, \
                     bfloat16, int64/32/16/8, uint64/32/16/8 and bool (convert the store, e.g. \
                     with zarr-python's astype)"
                ),
            )
        })?;
        let grid = store_grid(&array, path)?;
        Ok(ZarrArray {
            path: path.to_path_buf(),
            dtype,
            shape: array.shape().iter().map(|&n| n as usize).collect(),
            grid,
            array,
        })
    }

    /// The store's chunks (shards, when sharded), cut at the array's edges.
    pub fn grid(&self) -> &ChunkGrid {
        &self.grid
    }

    /// The smallest blocks a read decodes whole: the inner chunks of a sharded array
    /// (zarrs reads only the inner chunks a block touches), else the store's chunks.
    pub fn read_unit(&self) -> ChunkGrid {
        match self.array.effective_subchunk_shape() {
            Some(inner) => {
                let inner: Vec<usize> = inner.iter().map(|n| n.get() as usize).collect();
                ChunkGrid::regular(&self.shape, &inner)
            }
            None => self.grid.clone(),
        }
    }

    /// Where the array is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ChunkSource for ZarrArray {
    fn dtype(&self) -> DType {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn read(&self, start: &[usize], shape: &[usize]) -> Result<HostArray> {
        let sub = ranges(start, shape);
        let fail = |e: zarrs::array::ArrayError| {
            err(
                &self.path,
                format!("reading the block at {start:?} of {shape:?}: {e}"),
            )
        };
        macro_rules! typed {
            ($t:ty, $v:ident) => {{
                let v: Vec<$t> = self.array.retrieve_array_subset(&sub).map_err(fail)?;
                HostArray::$v(
                    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v)
                        .map_err(|e| err(&self.path, e))?,
                )
            }};
        }
        Ok(match self.dtype {
            DType::F64 => typed!(f64, F64),
            DType::F32 => typed!(f32, F32),
            DType::F16 => typed!(half::f16, F16),
            DType::BF16 => typed!(half::bf16, BF16),
            DType::I64 => typed!(i64, I64),
            DType::I32 => typed!(i32, I32),
            DType::U32 => typed!(u32, U32),
            DType::U64 => typed!(u64, U64),
            DType::I16 => typed!(i16, I16),
            DType::U16 => typed!(u16, U16),
            DType::I8 => typed!(i8, I8),
            DType::U8 => typed!(u8, U8),
            DType::Bool => typed!(bool, Bool),
            DType::C64 => typed!(num_complex::Complex32, C64),
            DType::C128 => typed!(num_complex::Complex64, C128),
        })
    }

    fn label(&self) -> &'static str {
        "from-zarr"
    }
}

fn v2_dtype(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F64 => "<f8",
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::I64 => "<i8",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::Bool => "|b1",
        DType::C64 => "<c8",
        DType::C128 => "<c16",
        DType::BF16 => return None,
    })
}

fn fill(d: DType) -> serde_json::Value {
    match d {
        DType::Bool => serde_json::json!(false),
        d if d.is_float() => serde_json::json!(0.0),
        // Zarr writes a complex fill value as [real, imaginary].
        d if d.is_complex() => serde_json::json!([0.0, 0.0]),
        _ => serde_json::json!(0),
    }
}

/// The metadata of a new array, as zarr-python writes it.
fn new_metadata(
    path: &Path,
    dtype: DType,
    shape: &[usize],
    chunks: &[usize],
    o: &ZarrOptions,
) -> Result<ArrayMetadata> {
    use serde_json::json;
    if let ZarrCodec::Blosc { cname, clevel, .. } = &o.codec {
        if !["lz4", "lz4hc", "blosclz", "zstd", "zlib"].contains(&cname.as_str()) || *clevel > 9 {
            return Err(err(
                path,
                format!("blosc {cname:?} at level {clevel}: use lz4, lz4hc, blosclz, zstd or zlib at 0..=9"),
            ));
        }
    }
    let value = match o.format {
        ZarrFormat::V2 => {
            if o.inner_chunks.is_some() {
                return Err(err(
                    path,
                    "Zarr v2 has no sharding; use ZarrFormat::V3 or drop inner_chunks",
                ));
            }
            let dt = v2_dtype(dtype).ok_or_else(|| {
                err(
                    path,
                    "Zarr v2 has no bfloat16; write format v3 or astype(float32)",
                )
            })?;
            let compressor = match &o.codec {
                ZarrCodec::None => serde_json::Value::Null,
                ZarrCodec::Zstd { level } => json!({"id": "zstd", "level": level}),
                ZarrCodec::Gzip { level } => json!({"id": "gzip", "level": level}),
                ZarrCodec::Blosc {
                    cname,
                    clevel,
                    shuffle,
                } => json!({"id": "blosc", "cname": cname, "clevel": clevel,
                            "shuffle": u8::from(*shuffle), "blocksize": 0}),
            };
            json!({
                "zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": dt,
                "compressor": compressor, "fill_value": fill(dtype), "order": "C",
                "filters": null, "dimension_separator": ".",
            })
        }
        ZarrFormat::V3 => {
            // An endian for one-byte types too: zarrs writes a codec with no
            // configuration as a bare name, which zarr-python 3.1 refuses.
            let mut codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
            match &o.codec {
                ZarrCodec::None => {}
                ZarrCodec::Zstd { level } => codecs.push(
                    json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}),
                ),
                ZarrCodec::Gzip { level } => {
                    codecs.push(json!({"name": "gzip", "configuration": {"level": level}}))
                }
                ZarrCodec::Blosc {
                    cname,
                    clevel,
                    shuffle,
                } => codecs.push(json!({"name": "blosc", "configuration": {
                    "cname": cname, "clevel": clevel,
                    "shuffle": if *shuffle { "shuffle" } else { "noshuffle" },
                    "typesize": dtype.size(), "blocksize": 0}})),
            }
            if let Some(inner) = &o.inner_chunks {
                if inner.len() != shape.len()
                    || inner
                        .iter()
                        .zip(chunks)
                        .any(|(&i, &c)| i == 0 || c % i != 0)
                {
                    return Err(err(
                        path,
                        format!(
                            "inner chunks {inner:?} must divide the shard shape {chunks:?} axis by axis"
                        ),
                    ));
                }
                codecs = vec![json!({"name": "sharding_indexed", "configuration": {
                    "chunk_shape": inner, "codecs": codecs,
                    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                     {"name": "crc32c"}],
                    "index_location": "end"}})];
            }
            json!({
                "zarr_format": 3, "node_type": "array", "shape": shape,
                "data_type": dtype.to_string(),
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill(dtype), "codecs": codecs, "attributes": {},
            })
        }
    };
    serde_json::from_value(value).map_err(|e| err(path, format!("building the metadata: {e}")))
}

/// The chunk shape a new array gets for data chunked as `grid`: `want` if given, else
/// the largest chunk per axis (1 along an empty axis).
fn chunk_shape_for(grid: &ChunkGrid, shape: &[usize], want: Option<&[usize]>) -> Vec<usize> {
    match want {
        Some(w) => w.to_vec(),
        None => (0..shape.len())
            .map(|k| grid.sizes(k).iter().copied().max().unwrap_or(1).max(1))
            .collect(),
    }
}

/// What `finish` does with the staged chunks.
#[derive(Debug, PartialEq)]
enum Into_ {
    /// Rename the staged array onto the path (which is absent or an empty directory).
    New,
    /// Move the old array aside, rename the staged one in, delete the old one.
    Replace,
    /// Rewrite every chunk, in the existing array's chunking and codecs, into a copy of
    /// it that is swapped in.
    Existing,
}

/// A Zarr array being written block by block, one store chunk per block; see the
/// module's notes on staging.
pub struct ZarrWriter {
    path: PathBuf,
    staging: PathBuf,
    array: ZArray<FilesystemStore>,
    dtype: DType,
    shape: Vec<usize>,
    grid: ChunkGrid,
    /// The full (unclipped) store chunk shape, for padding edge blocks.
    chunk: Vec<usize>,
    into: Into_,
    role: Role,
    /// Held on an existing target from `create` to drop (see `storage::TargetLock`).
    _lock: Option<crate::storage::TargetLock>,
}

impl std::fmt::Debug for ZarrWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrWriter")
            .field("path", &self.path)
            .field("staging", &self.staging)
            .field("into", &self.into)
            .finish()
    }
}

impl ZarrWriter {
    /// Prepares to write a `dtype` array of `shape`, chunked as `data` is, at `path`:
    /// a new array with `o`'s format, codec and chunks, or — when `path` already holds
    /// an array and `o.overwrite` is false — into that array, whose shape and dtype must
    /// match and whose own chunks and codecs are kept.
    pub fn create(
        path: &Path,
        dtype: DType,
        shape: &[usize],
        data: &ChunkGrid,
        o: &ZarrOptions,
    ) -> Result<ZarrWriter> {
        // A replace killed half-way may have left the old array aside: it comes back
        // before anything looks at the path, and dead writers' staging goes.
        crate::storage::recover(path).map_err(|e| {
            err(
                path,
                format!(
                    "cannot restore or remove what an earlier, killed write left beside it: {e}"
                ),
            )
        })?;
        let existing = is_zarr_array(path);
        let lock = if existing {
            crate::storage::TargetLock::acquire(path).map_err(|e| err(path, e))?
        } else {
            None
        };
        let into = if existing && !o.overwrite {
            Into_::Existing
        } else if existing {
            Into_::Replace
        } else if path.is_dir() {
            let empty = std::fs::read_dir(path)
                .map_err(|e| err(path, e))?
                .next()
                .is_none();
            if !empty {
                return Err(err(
                    path,
                    "is a directory that is not empty and holds no Zarr array; choose another path or remove it",
                ));
            }
            Into_::New
        } else if path.exists() {
            return Err(err(path, "is a file; a Zarr array is a directory"));
        } else {
            Into_::New
        };
        let metadata = if into == Into_::Existing {
            let old = open_array(path)?;
            let old_dtype = dtype_of(&old).unwrap_or(DType::F64);
            let old_shape: Vec<usize> = old.shape().iter().map(|&n| n as usize).collect();
            if old_shape != shape || dtype_of(&old).is_err() || old_dtype != dtype {
                let what = dtype_of(&old).map(|d| d.to_string()).unwrap_or_else(|n| n);
                return Err(err(
                    path,
                    format!(
                        "holds a {old_shape:?} {what} array; this one is {shape:?} {dtype}: \
                         write with overwrite to replace it, or astype/reshape to match"
                    ),
                ));
            }
            old.metadata().clone()
        } else {
            let chunks = chunk_shape_for(data, shape, o.chunks.as_deref());
            if chunks.len() != shape.len() || chunks.contains(&0) {
                return Err(err(
                    path,
                    format!(
                        "chunks {chunks:?} for a {shape:?} array: give one positive size per axis"
                    ),
                ));
            }
            new_metadata(path, dtype, shape, &chunks, o)?
        };
        if path.file_name().is_none() {
            return Err(err(path, "the path names no directory"));
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(err(
                path,
                format!("the directory {} does not exist", parent.display()),
            ));
        }
        let staging = crate::storage::unique(path, crate::storage::StagingKind::Partial);
        std::fs::create_dir(&staging).map_err(|e| {
            err(
                path,
                format!(
                    "cannot create {}: {e}; check that it is writable",
                    staging.display()
                ),
            )
        })?;
        let cleanup = |e: Error| {
            let _ = std::fs::remove_dir_all(&staging);
            e
        };
        // Chunks are written around the page cache where the filesystem allows it: on
        // this project's VM a buffered write is bound by the CPU copying into the page
        // cache (see scheduler/diskio.rs); writing 20000² f64 with zstd took 1.32 s
        // buffered and 1.01 s direct (8000², one run each, same build).
        let mut fs_opts = zarrs::filesystem::FilesystemStoreOptions::default();
        fs_opts.direct_io(crate::storage::direct_io_works(&staging));
        let array = FilesystemStore::new_with_options(&staging, fs_opts)
            .map(Arc::new)
            .map_err(|e| err(path, format!("cannot open the staging directory: {e}")))
            .and_then(|s| {
                ZArray::new_with_metadata(s, "/", metadata)
                    .map(|a| {
                        a.with_metadata_options(
                            zarrs::array::ArrayMetadataOptions::default()
                                .with_include_zarrs_metadata(false),
                        )
                    })
                    .map_err(|e| err(path, format!("the array's metadata: {e}")))
            })
            .map_err(cleanup)?;
        if into != Into_::Existing {
            array
                .store_metadata()
                .map_err(|e| cleanup(err(path, format!("writing the metadata: {e}"))))?;
        }
        let grid = store_grid(&array, path).map_err(cleanup)?;
        let chunk = first_chunk(&array, path).map_err(cleanup)?;
        Ok(ZarrWriter {
            path: path.to_path_buf(),
            staging,
            array,
            dtype,
            shape: shape.to_vec(),
            grid,
            chunk,
            into,
            role: Role::Owner,
            _lock: lock,
        })
    }

    /// Writes chunks into the staging directory another process [`ZarrWriter::create`]d
    /// for `path` (`staging`, its [`ZarrWriter::staging`]; `existing`, its
    /// [`ZarrWriter::into_existing`]): how MPI ranks write one array together, each its
    /// own chunks. It never renames or removes the staging directory.
    pub fn join(
        path: &Path,
        staging: &Path,
        existing: bool,
        dtype: DType,
        shape: &[usize],
    ) -> Result<ZarrWriter> {
        let unseen = |e: String| {
            err(
                path,
                format!(
                    "cannot open the array another process is writing in {}: {e}; every process must see the same filesystem there",
                    staging.display()
                ),
            )
        };
        let mut fs_opts = zarrs::filesystem::FilesystemStoreOptions::default();
        fs_opts.direct_io(crate::storage::direct_io_works(staging));
        let store = FilesystemStore::new_with_options(staging, fs_opts)
            .map(Arc::new)
            .map_err(|e| unseen(e.to_string()))?;
        let array = if existing {
            let metadata = open_array(path)?.metadata().clone();
            ZArray::new_with_metadata(store, "/", metadata).map_err(|e| unseen(e.to_string()))?
        } else {
            ZArray::open(store, "/").map_err(|e| unseen(e.to_string()))?
        };
        let got: Vec<usize> = array.shape().iter().map(|&n| n as usize).collect();
        if got != shape || dtype_of(&array).ok() != Some(dtype) {
            return Err(unseen(format!(
                "it holds a {got:?} array, this one is {shape:?} {dtype}"
            )));
        }
        let grid = store_grid(&array, path)?;
        let chunk = first_chunk(&array, path)?;
        Ok(ZarrWriter {
            path: path.to_path_buf(),
            staging: staging.to_path_buf(),
            array,
            dtype,
            shape: shape.to_vec(),
            grid,
            chunk,
            into: if existing {
                Into_::Existing
            } else {
                Into_::New
            },
            role: Role::Joined,
            _lock: None,
        })
    }

    /// The directory the chunks go into until [`ChunkSink::finish`].
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The blocks this writer takes: one per store chunk (shard). Data chunked any
    /// other way must be rechunked to this grid first.
    pub fn grid(&self) -> &ChunkGrid {
        &self.grid
    }

    /// Whether the writes go into an array that was already there.
    pub fn into_existing(&self) -> bool {
        self.into == Into_::Existing
    }

    /// Into an existing array, the staging becomes a whole copy of the new array: every
    /// file of the old one that is not one of its chunks (metadata, attributes, a user's
    /// own files) is hard-linked in (copied where links are refused). Every chunk was
    /// written (a chunk zarrs left out is all fill value, so its old file must not come
    /// back).
    fn take_over_old_files(&self) -> std::io::Result<()> {
        let chunks: std::collections::HashSet<String> = self
            .grid
            .block_indices()
            .into_iter()
            .map(|b| {
                let idx: Vec<u64> = b.iter().map(|&i| i as u64).collect();
                self.array
                    .chunk_key(&idx)
                    .as_str()
                    .trim_start_matches('/')
                    .to_string()
            })
            .collect();
        let mut dirs = vec![PathBuf::new()];
        while let Some(rel) = dirs.pop() {
            for e in std::fs::read_dir(self.path.join(&rel))? {
                let e = e?;
                let rel = rel.join(e.file_name());
                if e.file_type()?.is_dir() {
                    dirs.push(rel);
                    continue;
                }
                let key = rel
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/");
                let to = self.staging.join(&rel);
                if chunks.contains(&key) || to.exists() {
                    continue;
                }
                if let Some(dir) = to.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let from = self.path.join(&rel);
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to)?;
                }
            }
        }
        crate::storage::failpoint("zarr-after-take-over")
    }

    fn finish_whole_inner(&self) -> std::io::Result<()> {
        match self.into {
            Into_::New => {
                crate::storage::failpoint("zarr-before-rename")?;
                if self.path.is_dir() {
                    std::fs::remove_dir(&self.path)?;
                }
                std::fs::rename(&self.staging, &self.path)
            }
            Into_::Replace => crate::storage::replace_dir(&self.staging, &self.path),
            Into_::Existing => {
                self.take_over_old_files()?;
                crate::storage::replace_dir(&self.staging, &self.path)
            }
        }
    }
}

impl ChunkSink for ZarrWriter {
    fn dtype(&self) -> DType {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn write(&self, start: &[usize], block: &HostArray) -> Result<()> {
        let nd = self.shape.len();
        if block.is_empty() {
            // An empty array has no chunks to store.
            return Ok(());
        }
        let mut idx = Vec::with_capacity(nd);
        for k in 0..nd {
            let b = self.grid.boundaries(k);
            let i = b.partition_point(|&x| x < start[k]);
            if b.get(i) != Some(&start[k]) || self.grid.sizes(k).get(i) != Some(&block.shape()[k]) {
                return Err(err(
                    &self.path,
                    format!(
                        "a block of {:?} at {start:?} is not one store chunk; rechunk to the store's chunks first",
                        block.shape()
                    ),
                ));
            }
            idx.push(i as u64);
        }
        if block.dtype() != self.dtype {
            return Err(err(
                &self.path,
                format!("a {} block for a {} array", block.dtype(), self.dtype),
            ));
        }
        let bytes = block.element_bytes();
        let w = self.dtype.size();
        // Store chunks at the array's edge are stored whole, padded with the fill value
        // (zero bytes for every dtype here).
        let full: std::borrow::Cow<[u8]> = if block.shape() == self.chunk.as_slice() {
            bytes
        } else {
            let n: usize = self.chunk.iter().product();
            let mut padded = vec![0u8; n * w];
            for (off, at, len) in c_runs(&self.chunk, &vec![0; nd], block.shape()) {
                let off = off as usize * w;
                padded[off..off + len * w].copy_from_slice(&bytes[at * w..(at + len) * w]);
            }
            padded.into()
        };
        self.array
            .store_chunk(&idx, ArrayBytes::new_flen(full))
            .map_err(|e| err(&self.path, format!("writing chunk {idx:?}: {e}")))?;
        Ok(())
    }

    fn finish_whole(&self) -> Result<()> {
        if self.role == Role::Joined {
            return Ok(());
        }
        self.finish_whole_inner().map_err(|e| {
            self.abort();
            err(&self.path, format!("finishing: {e}"))
        })
    }

    fn abort(&self) {
        if self.role == Role::Owner {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

impl Drop for ZarrWriter {
    /// Whatever was not finished goes (after `finish` the staging directory is gone).
    fn drop(&mut self) {
        self.abort();
    }
}
