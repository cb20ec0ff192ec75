//! Zarr arrays, format 2 and 3, on the filesystem, through the `zarrs` crate: read any
//! block of a stored array ([`ZarrArray`]), write a new or existing array block by block
//! ([`ZarrWriter`]).
//!
//! Why zarrs: it implements the codecs (blosc, zstd, gzip, crc32c, transpose), sharding
//! and both metadata formats, and is tested against zarr-python; what is ours is how
//! blocks map onto store chunks. Every task writes exactly one store chunk (one shard,
//! for a sharded array): the caller rechunks the data to [`ZarrWriter::grid`] first, so
//! no store chunk is ever written by two tasks (a read-modify-write race).
//!
//! Why a staging directory: a failed write must not leave an array that looks complete,
//! nor a mix of old and new chunks. Every write goes into a hidden sibling directory
//! (unique per call). A new array is renamed onto its path by
//! [`crate::storage::ChunkSink::finish`]; a replace, or a write into an existing array
//! (which rewrites every chunk in that array's own chunking and codecs, and takes over
//! its metadata and any other file in it by hard link), swaps the staged directory with
//! the old one in one step (see `storage::staging`). So after an error, or a kill at any
//! instant, the path holds the old array or the new one, whole. A write into an
//! existing array holds a lock on it throughout: a second writer gets an error naming
//! the first instead of mixing their chunks.

#[cfg(feature = "zarr")]
mod store;
#[cfg(not(feature = "zarr"))]
#[path = "off.rs"]
mod store;

pub use store::{info, is_zarr_array, ZarrArray, ZarrWriter};

/// Whether this build reads and writes Zarr (the `zarr` feature, on by default).
pub const BUILT: bool = cfg!(feature = "zarr");

use crate::dtype::DType;

/// The Zarr format version to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZarrFormat {
    /// Zarr v2 (`.zarray`; read by zarr-python 2 and 3).
    V2,
    /// Zarr v3 (`zarr.json`; sharding, bfloat16).
    #[default]
    V3,
}

/// How a new array's chunks are compressed.
#[derive(Clone, Debug, PartialEq)]
pub enum ZarrCodec {
    /// Raw little-endian bytes.
    None,
    /// Zstandard at `level` (1..=22; 3 is zstd's default).
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// gzip at `level` (0..=9).
    Gzip {
        /// Compression level.
        level: u32,
    },
    /// Blosc with compressor `cname` (`lz4`, `lz4hc`, `blosclz`, `zstd`, `zlib`) at
    /// `clevel` (0..=9), byte-shuffled or not.
    Blosc {
        /// The inner compressor.
        cname: String,
        /// Compression level.
        clevel: u8,
        /// Byte shuffle before compressing.
        shuffle: bool,
    },
}

/// How [`crate::Array::to_zarr_with`] creates (or writes into) an array.
///
/// ```
/// use tessera::storage::zarr::{ZarrCodec, ZarrFormat, ZarrOptions};
/// let o = ZarrOptions {
///     format: ZarrFormat::V2,
///     codec: ZarrCodec::Gzip { level: 5 },
///     ..ZarrOptions::default()
/// };
/// assert!(!o.overwrite);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ZarrOptions {
    /// Format of a new array (v3 unless asked).
    pub format: ZarrFormat,
    /// Codec of a new array (zstd level 3 unless asked).
    pub codec: ZarrCodec,
    /// Chunk shape of a new array (its shard shape, when sharded); `None` takes the
    /// data's chunks (their largest size per axis when they are uneven).
    pub chunks: Option<Vec<usize>>,
    /// Zarr v3 only: shard each store chunk into inner chunks of this shape (each a
    /// divisor of the chunk shape), so readers can fetch small pieces while the engine
    /// writes whole shards.
    pub inner_chunks: Option<Vec<usize>>,
    /// Replace an existing array at the path (of any shape and dtype) instead of
    /// writing into it.
    pub overwrite: bool,
}

impl Default for ZarrOptions {
    fn default() -> Self {
        ZarrOptions {
            format: ZarrFormat::V3,
            codec: ZarrCodec::Zstd { level: 3 },
            chunks: None,
            inner_chunks: None,
            overwrite: false,
        }
    }
}

/// What `tessera info` says about a Zarr array.
#[derive(Clone, Debug, PartialEq)]
pub struct ZarrInfo {
    /// 2 or 3.
    pub format: u8,
    /// Element dtype (`None` with the stored type's name when Tessera has no such dtype).
    pub dtype: std::result::Result<DType, String>,
    /// Shape.
    pub shape: Vec<usize>,
    /// Chunk shape (shard shape when sharded).
    pub chunks: Vec<usize>,
    /// Inner chunk shape of a sharded array.
    pub inner_chunks: Option<Vec<usize>>,
    /// The codec chain, outermost last (`bytes`, `zstd`, ...).
    pub codecs: Vec<String>,
    /// Bytes the elements take uncompressed.
    pub bytes: u64,
    /// Bytes of the files under the array's directory.
    pub stored_bytes: u64,
}
