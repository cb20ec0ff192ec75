//! Chunk grids: how an array's shape is cut into blocks, and how user chunk requests
//! (`[2000, 2000]`, `2000`, `"auto"`) become one.

use crate::error::{Error, Result};

/// Target bytes per chunk for `"auto"` chunks (dask's default `array.chunk-size`).
pub const AUTO_CHUNK_BYTES: usize = 128 << 20;

/// Most blocks along one axis. A grid keeps a list of chunk sizes per axis (not per
/// block), so this bounds what a grid holds (16 Mi entries, 256 MiB with their starts);
/// an axis cut finer than this is a request no task graph could hold anyway.
pub const MAX_BLOCKS_PER_AXIS: usize = 1 << 24;

/// A user's chunk request.
///
/// ```
/// use tessera::Chunks;
/// let grid = Chunks::from(4).resolve("zeros", &[10], 8).unwrap();
/// assert_eq!(grid.sizes(0), &[4, 4, 2]);
/// let grid = Chunks::from(&[5usize, 3][..]).resolve("zeros", &[10, 6], 8).unwrap();
/// assert_eq!(grid.num_blocks(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Chunks {
    /// The same chunk size along every axis.
    Uniform(usize),
    /// One chunk size per axis (the last chunk of an axis may be smaller).
    PerAxis(Vec<usize>),
    /// Explicit chunk sizes per axis.
    Explicit(Vec<Vec<usize>>),
    /// About `bytes` per chunk, balanced across axes (`"auto"` means 128 MiB).
    Auto {
        /// The target size of one chunk.
        bytes: usize,
    },
    /// A string that is not a known request; resolving it is an error.
    Unknown(String),
}

impl From<usize> for Chunks {
    fn from(n: usize) -> Self {
        Chunks::Uniform(n)
    }
}
impl From<&[usize]> for Chunks {
    fn from(v: &[usize]) -> Self {
        Chunks::PerAxis(v.to_vec())
    }
}
impl<const N: usize> From<&[usize; N]> for Chunks {
    fn from(v: &[usize; N]) -> Self {
        Chunks::PerAxis(v.to_vec())
    }
}
impl From<Vec<usize>> for Chunks {
    fn from(v: Vec<usize>) -> Self {
        Chunks::PerAxis(v)
    }
}
impl From<Vec<Vec<usize>>> for Chunks {
    fn from(v: Vec<Vec<usize>>) -> Self {
        Chunks::Explicit(v)
    }
}
impl From<&str> for Chunks {
    /// `"auto"` means about 128 MiB per chunk and a size (`"64 MiB"`, `"1GB"`) about that
    /// many bytes per chunk, as in dask; anything else is rejected when resolved.
    fn from(s: &str) -> Self {
        if s.trim() == "auto" {
            return Chunks::Auto {
                bytes: AUTO_CHUNK_BYTES,
            };
        }
        match parse_bytes(s) {
            Ok(b) if b > 0 => Chunks::Auto {
                bytes: usize::try_from(b).unwrap_or(usize::MAX),
            },
            _ => Chunks::Unknown(s.to_string()),
        }
    }
}

impl Chunks {
    /// Turns the request into a grid for `shape` with elements of `itemsize` bytes.
    pub fn resolve(&self, op: &'static str, shape: &[usize], itemsize: usize) -> Result<ChunkGrid> {
        let bad = |reason: String| Error::InvalidChunks {
            op,
            shape: shape.to_vec(),
            reason,
        };
        // Lazy arrays may be far larger than memory (dask's are too), but their byte
        // count must be a number, as NumPy's "array is too big" requires.
        let elems = shape
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64));
        if elems
            .and_then(|e| e.checked_mul(itemsize.max(1) as u64))
            .is_none_or(|b| b > i64::MAX as u64)
        {
            return Err(Error::arg(
                op,
                format!("shape {shape:?} of {itemsize}-byte elements has more than 2^63 bytes; no array can be that large"),
            ));
        }
        let per_axis: Vec<usize> = match self {
            Chunks::Uniform(n) => vec![*n; shape.len()],
            Chunks::PerAxis(v) => {
                if v.len() != shape.len() {
                    return Err(bad(format!(
                        "{} chunk sizes given for {} axes; give one size per axis or a single size",
                        v.len(),
                        shape.len()
                    )));
                }
                v.clone()
            }
            Chunks::Explicit(v) => {
                if v.len() != shape.len() {
                    return Err(bad(format!(
                        "{} axes of chunks given for {} axes",
                        v.len(),
                        shape.len()
                    )));
                }
                for (ax, (c, &n)) in v.iter().zip(shape).enumerate() {
                    if c.len() > MAX_BLOCKS_PER_AXIS {
                        return Err(bad(format!(
                            "{} chunks on axis {ax}, more than the {MAX_BLOCKS_PER_AXIS} one axis may have",
                            c.len()
                        )));
                    }
                    if c.iter().sum::<usize>() != n {
                        return Err(bad(format!(
                            "chunks {c:?} of axis {ax} sum to {} but the axis has length {n}",
                            c.iter().sum::<usize>()
                        )));
                    }
                    if n > 0 && c.contains(&0) {
                        return Err(bad(format!("axis {ax} has an empty chunk in {c:?}")));
                    }
                }
                return Ok(ChunkGrid::new(v.clone()));
            }
            Chunks::Auto { bytes } => auto_chunks(shape, itemsize, *bytes),
            Chunks::Unknown(s) => {
                return Err(bad(format!(
                    "unknown chunk request {s:?}; use \"auto\", a size such as \"64 MiB\", one chunk length, or one per axis"
                )))
            }
        };
        for (ax, &c) in per_axis.iter().enumerate() {
            if c == 0 {
                return Err(bad(format!(
                    "chunk size 0 on axis {ax}; chunk sizes must be at least 1 (or use \"auto\")"
                )));
            }
            let blocks = shape[ax].div_ceil(c);
            if blocks > MAX_BLOCKS_PER_AXIS {
                let fit = shape[ax].div_ceil(MAX_BLOCKS_PER_AXIS);
                return Err(bad(format!(
                    "chunk size {c} cuts axis {ax} into {blocks} blocks, more than the {MAX_BLOCKS_PER_AXIS} one axis may have; use chunks of at least {fit} along it (or \"auto\")"
                )));
            }
        }
        Ok(ChunkGrid::regular(shape, &per_axis))
    }
}

fn auto_chunks(shape: &[usize], itemsize: usize, bytes: usize) -> Vec<usize> {
    let mut target = (bytes / itemsize.max(1)).max(1) as f64;
    let mut out = vec![0usize; shape.len()];
    // Axes shorter than the balanced edge take their whole length; the rest share what is left.
    let mut free: Vec<usize> = (0..shape.len()).collect();
    loop {
        if free.is_empty() {
            break;
        }
        let edge = target.powf(1.0 / free.len() as f64);
        let small: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&a| (shape[a] as f64) <= edge)
            .collect();
        if small.is_empty() {
            for &a in &free {
                out[a] = (edge.floor() as usize).clamp(1, shape[a].max(1));
            }
            break;
        }
        for &a in &small {
            out[a] = shape[a].max(1);
            target /= shape[a].max(1) as f64;
        }
        free.retain(|a| !small.contains(a));
    }
    out
}

/// Chunk sizes along every axis of an array.
///
/// ```
/// use tessera::ChunkGrid;
/// let g = ChunkGrid::regular(&[10, 4], &[3, 4]);
/// assert_eq!(g.blocks_per_axis(), vec![4, 1]);
/// assert_eq!(g.block_shape(&[3, 0]), vec![1, 4]);
/// assert_eq!(g.block_start(&[2, 0]), vec![6, 0]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkGrid {
    chunks: Vec<Vec<usize>>,
    starts: Vec<Vec<usize>>,
}

impl ChunkGrid {
    /// A grid from explicit chunk sizes per axis.
    pub fn new(chunks: Vec<Vec<usize>>) -> ChunkGrid {
        let starts = chunks
            .iter()
            .map(|c| {
                let mut s = Vec::with_capacity(c.len() + 1);
                let mut acc = 0;
                s.push(0);
                for &x in c {
                    acc += x;
                    s.push(acc);
                }
                s
            })
            .collect();
        ChunkGrid { chunks, starts }
    }

    /// Regular chunks of `size[ax]` along each axis, the last one possibly smaller.
    /// A zero-length axis has one empty chunk.
    pub fn regular(shape: &[usize], size: &[usize]) -> ChunkGrid {
        let chunks = shape
            .iter()
            .zip(size)
            .map(|(&n, &c)| {
                if n == 0 {
                    return vec![0];
                }
                let c = c.max(1).min(n);
                let mut v = vec![c; n / c];
                if n % c != 0 {
                    v.push(n % c);
                }
                v
            })
            .collect();
        ChunkGrid::new(chunks)
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.chunks.len()
    }

    /// Chunk sizes along `axis`.
    pub fn sizes(&self, axis: usize) -> &[usize] {
        &self.chunks[axis]
    }

    /// All chunk sizes.
    pub fn all(&self) -> &[Vec<usize>] {
        &self.chunks
    }

    /// Block boundaries along `axis` (`0, c0, c0+c1, ..., len`).
    pub fn boundaries(&self, axis: usize) -> &[usize] {
        &self.starts[axis]
    }

    /// Blocks along each axis.
    pub fn blocks_per_axis(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.len()).collect()
    }

    /// Total number of blocks.
    pub fn num_blocks(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).product()
    }

    /// Total number of blocks, counted without overflow (for size checks made before
    /// anything is built).
    ///
    /// ```
    /// let g = tessera::ChunkGrid::regular(&[10, 4], &[3, 4]);
    /// assert_eq!(g.block_count(), 4);
    /// ```
    pub fn block_count(&self) -> u128 {
        self.chunks.iter().map(|c| c.len() as u128).product()
    }

    /// Shape of block `idx`.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.chunks[a][i])
            .collect()
    }

    /// Global start of block `idx`.
    pub fn block_start(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.starts[a][i])
            .collect()
    }

    /// The block index along `axis` that holds element `i`.
    pub fn block_of(&self, axis: usize, i: usize) -> usize {
        let s = &self.starts[axis];
        match s.binary_search(&i) {
            Ok(b) => b.min(self.chunks[axis].len() - 1),
            Err(b) => b - 1,
        }
    }

    /// The largest chunk shape (what `Display` shows as "chunks").
    pub fn max_chunk(&self) -> Vec<usize> {
        self.chunks
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect()
    }

    /// All block indices in C order.
    pub fn block_indices(&self) -> Vec<Vec<usize>> {
        multi_indices(&self.blocks_per_axis())
    }

    /// Linear (C-order) number of block `idx`.
    pub fn linear(&self, idx: &[usize]) -> usize {
        let mut l = 0;
        for (a, &i) in idx.iter().enumerate() {
            l = l * self.chunks[a].len() + i;
        }
        l
    }
}

/// Every multi-index of `shape` in C order.
pub(crate) fn multi_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        out.push(idx.clone());
        let mut a = shape.len();
        loop {
            if a == 0 {
                return out;
            }
            a -= 1;
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
}

/// C-order strides (in elements) of `shape`.
pub(crate) fn c_strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![0i64; shape.len()];
    let mut acc = 1i64;
    for a in (0..shape.len()).rev() {
        s[a] = acc;
        acc *= shape[a].max(1) as i64;
    }
    s
}

/// Parses a size such as `4GiB`, `512 MiB`, `2.5GB`, `1e9` or `100000` (bytes): chunk
/// requests (`"128 MiB"`) and memory limits use it.
///
/// ```
/// use tessera::chunks::parse_bytes;
/// assert_eq!(parse_bytes("4GiB").unwrap(), 4 << 30);
/// assert_eq!(parse_bytes("1.5 kB").unwrap(), 1500);
/// assert!(parse_bytes("4 parsecs").unwrap_err().to_string().contains("GiB"));
/// ```
pub fn parse_bytes(text: &str) -> Result<u64> {
    let s = text.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => (1u64 << 20) as f64,
        "gib" => (1u64 << 30) as f64,
        "tib" => (1u64 << 40) as f64,
        _ => f64::NAN,
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && scale.is_finite() && (v * scale) < u64::MAX as f64 => {
            Ok((v * scale).round() as u64)
        }
        _ => Err(Error::arg(
            "size",
            format!("{text:?} is not a size; write e.g. 4GiB, 512MiB, 2GB or a number of bytes"),
        )),
    }
}
