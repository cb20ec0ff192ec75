//! Axis reordering, slicing with steps, integer indexing, `take` and `rechunk`.
//! Transposes and slices are affine views: they fuse into their consumers and never copy
//! on their own.

use super::{Array, Op};
use crate::chunks::{ChunkGrid, Chunks};
use crate::error::{Error, Result};
use std::ops::{Range, RangeFrom, RangeFull, RangeTo};
use std::sync::Arc;

/// One axis of a slice expression, with NumPy semantics (negative values count from the
/// end; a negative step walks backwards).
///
/// ```
/// use tessera::Index;
/// // x[:100, 500:100:-2]
/// let sel = [Index::from(..100), Index::slice(Some(500), Some(100), -2)];
/// # let _ = sel;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Index {
    /// `start:stop:step` (any part may be omitted).
    Slice {
        /// First position (`None`: the start in the step's direction).
        start: Option<isize>,
        /// End, exclusive (`None`: the end in the step's direction).
        stop: Option<isize>,
        /// Stride; negative walks backwards, never 0.
        step: isize,
    },
    /// A single position: the axis is dropped.
    At(isize),
}

impl Index {
    /// `start:stop:step`.
    pub fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> Index {
        Index::Slice { start, stop, step }
    }
    /// `:` (the whole axis).
    pub fn all() -> Index {
        Index::slice(None, None, 1)
    }
}

impl From<Range<isize>> for Index {
    fn from(r: Range<isize>) -> Self {
        Index::slice(Some(r.start), Some(r.end), 1)
    }
}
impl From<RangeTo<isize>> for Index {
    fn from(r: RangeTo<isize>) -> Self {
        Index::slice(None, Some(r.end), 1)
    }
}
impl From<RangeFrom<isize>> for Index {
    fn from(r: RangeFrom<isize>) -> Self {
        Index::slice(Some(r.start), None, 1)
    }
}
impl From<RangeFull> for Index {
    fn from(_: RangeFull) -> Self {
        Index::all()
    }
}
impl From<isize> for Index {
    fn from(i: isize) -> Self {
        Index::At(i)
    }
}

pub(crate) use crate::expr::AxisSel;

fn normalize(op: &'static str, axis: usize, shape: &[usize], ix: Index) -> Result<AxisSel> {
    let n = shape[axis] as isize;
    let bad = |reason: String| Error::BadIndex {
        op,
        axis,
        shape: shape.to_vec(),
        reason,
    };
    match ix {
        Index::At(i) => {
            let j = if i < 0 { i + n } else { i };
            if j < 0 || j >= n {
                return Err(bad(format!("index {i} is out of bounds for length {n}")));
            }
            Ok(AxisSel::At(j as usize))
        }
        Index::Slice { start, stop, step } => {
            if step == 0 {
                return Err(bad("slice step cannot be zero".into()));
            }
            let fix = |v: isize, lo: isize, hi: isize| {
                let v = if v < 0 { v + n } else { v };
                v.clamp(lo, hi)
            };
            let (s, e) = if step > 0 {
                (
                    start.map_or(0, |v| fix(v, 0, n)),
                    stop.map_or(n, |v| fix(v, 0, n)),
                )
            } else {
                (
                    start.map_or(n - 1, |v| fix(v, -1, n - 1)),
                    stop.map_or(-1, |v| fix(v, -1, n - 1)),
                )
            };
            let len = if step > 0 {
                if e > s {
                    (e - s + step - 1) / step
                } else {
                    0
                }
            } else if s > e {
                (s - e + (-step) - 1) / (-step)
            } else {
                0
            };
            Ok(AxisSel::Range {
                start: if len == 0 { 0 } else { s as usize },
                step,
                len: len as usize,
            })
        }
    }
}

/// Output chunks of a strided selection: one chunk per input chunk it touches.
fn sliced_chunks(bounds: &[usize], start: usize, step: isize, len: usize) -> Vec<usize> {
    if len == 0 {
        return vec![0];
    }
    let mut out: Vec<usize> = Vec::new();
    let mut cur_block = usize::MAX;
    for i in 0..len {
        let pos = (start as isize + step * i as isize) as usize;
        let b = match bounds.binary_search(&pos) {
            Ok(b) => b,
            Err(b) => b - 1,
        };
        if b == cur_block {
            *out.last_mut().unwrap() += 1;
        } else {
            out.push(1);
            cur_block = b;
        }
    }
    out
}

impl Array {
    /// Reorders axes: output axis `j` is input axis `perm[j]`.
    ///
    /// ```
    /// let x = tessera::zeros(&[2, 3, 4], 2).unwrap();
    /// assert_eq!(x.permute_axes(&[2, 0, 1]).shape(), &[4, 2, 3]);
    /// ```
    pub fn permute_axes(&self, perm: &[usize]) -> Array {
        self.then(|n| {
            let d = n.shape.len();
            let mut seen = vec![false; d];
            if perm.len() != d
                || perm
                    .iter()
                    .any(|&p| p >= d || std::mem::replace(&mut seen[p], true))
            {
                return Err(Error::arg(
                    "transpose",
                    format!(
                        "axes {perm:?} are not a permutation of 0..{d} for shape {:?}",
                        n.shape
                    ),
                ));
            }
            let shape = perm.iter().map(|&p| n.shape[p]).collect();
            let grid = ChunkGrid::new(perm.iter().map(|&p| n.grid.sizes(p).to_vec()).collect());
            Ok(Array::new(
                Op::Transpose(perm.to_vec()),
                vec![self.clone()],
                shape,
                n.dtype,
                grid,
            ))
        })
    }

    /// Reverses the axes (NumPy's `.T`).
    ///
    /// ```
    /// assert_eq!(tessera::zeros(&[2, 5], 2).unwrap().t().shape(), &[5, 2]);
    /// ```
    pub fn t(&self) -> Array {
        let d = self.ndim();
        self.permute_axes(&(0..d).rev().collect::<Vec<_>>())
    }

    /// Same as [`Array::t`].
    pub fn transpose(&self) -> Array {
        self.t()
    }

    /// Swaps two axes (negative axes count from the end).
    ///
    /// ```
    /// assert_eq!(tessera::zeros(&[2, 3, 4], 2).unwrap().swapaxes(0, -1).shape(), &[4, 3, 2]);
    /// ```
    pub fn swapaxes(&self, a: isize, b: isize) -> Array {
        self.then(|n| {
            let a = norm_axis("swapaxes", a, &n.shape)?;
            let b = norm_axis("swapaxes", b, &n.shape)?;
            let mut perm: Vec<usize> = (0..n.shape.len()).collect();
            perm.swap(a, b);
            Ok(self.permute_axes(&perm))
        })
    }

    /// NumPy basic indexing: one [`Index`] per leading axis (missing trailing axes are
    /// taken whole). Integer indices drop their axis.
    ///
    /// ```
    /// use tessera::Index;
    /// let x = tessera::arange(0.0, 20.0, 1.0, 4).unwrap();
    /// let y = x.slice(&[Index::slice(Some(15), Some(2), -4)]);
    /// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[15.0, 11.0, 7.0, 3.0]);
    /// ```
    pub fn slice(&self, index: &[Index]) -> Array {
        self.then(|n| {
            if index.len() > n.shape.len() {
                return Err(Error::arg(
                    "getitem",
                    format!(
                        "{} indices given for an array of shape {:?}",
                        index.len(),
                        n.shape
                    ),
                ));
            }
            let mut sels = Vec::with_capacity(n.shape.len());
            let mut shape = Vec::new();
            let mut chunks = Vec::new();
            for ax in 0..n.shape.len() {
                let ix = index.get(ax).copied().unwrap_or(Index::all());
                let sel = normalize("getitem", ax, &n.shape, ix)?;
                if let AxisSel::Range { start, step, len } = sel {
                    shape.push(len);
                    chunks.push(sliced_chunks(n.grid.boundaries(ax), start, step, len));
                }
                sels.push(sel);
            }
            Ok(Array::new(
                Op::Slice(sels),
                vec![self.clone()],
                shape,
                n.dtype,
                ChunkGrid::new(chunks),
            ))
        })
    }

    /// Fancy indexing along one axis: any order, repeats allowed, negative counts from
    /// the end.
    ///
    /// ```
    /// let x = tessera::arange(0.0, 20.0, 1.0, 4).unwrap();
    /// let y = x.take(0, &[10, 1, 5, 1]);
    /// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[10.0, 1.0, 5.0, 1.0]);
    /// ```
    pub fn take(&self, axis: isize, indices: &[isize]) -> Array {
        self.then(|n| {
            let ax = norm_axis("take", axis, &n.shape)?;
            let len = n.shape[ax] as isize;
            let idx = indices
                .iter()
                .map(|&i| {
                    let j = if i < 0 { i + len } else { i };
                    if j < 0 || j >= len {
                        Err(Error::BadIndex {
                            op: "take",
                            axis: ax,
                            shape: n.shape.clone(),
                            reason: format!("index {i} is out of bounds for length {len}"),
                        })
                    } else {
                        Ok(j as usize)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let per = n.grid.sizes(ax).iter().copied().max().unwrap_or(1).max(1);
            let mut chunks = n.grid.all().to_vec();
            chunks[ax] = if idx.is_empty() {
                vec![0]
            } else {
                idx.chunks(per).map(|c| c.len()).collect()
            };
            let mut shape = n.shape.clone();
            shape[ax] = idx.len();
            Ok(Array::new(
                Op::Take {
                    axis: ax,
                    indices: Arc::new(idx),
                },
                vec![self.clone()],
                shape,
                n.dtype,
                ChunkGrid::new(chunks),
            ))
        })
    }

    /// Changes the chunking; values are unchanged. When one copy step would need more
    /// than 128 MiB per task (dask's block-size limit), the change goes through
    /// intermediate chunkings (see [`plan_rechunk`]).
    ///
    /// ```
    /// let x = tessera::random::uniform(&[100, 100], 30, 1).unwrap();
    /// let y = x.rechunk(&[50, 25]);
    /// assert_eq!(y.chunks().unwrap().max_chunk(), vec![50, 25]);
    /// assert_eq!(x.compute::<f64>().unwrap(), y.compute::<f64>().unwrap());
    /// ```
    pub fn rechunk(&self, chunks: impl Into<Chunks>) -> Array {
        let chunks = chunks.into();
        self.then(|n| {
            let grid = chunks.resolve("rechunk", &n.shape, n.dtype.size())?;
            if grid == n.grid {
                return Ok(self.clone());
            }
            let mut out = self.clone();
            for stage in plan_rechunk(
                &n.grid,
                &grid,
                n.dtype.size(),
                crate::chunks::AUTO_CHUNK_BYTES,
            ) {
                out = Array::new(Op::Rechunk, vec![out], n.shape.clone(), n.dtype, stage);
            }
            Ok(out)
        })
    }
}

/// Bytes one task of a single-step rechunk `from → to` may touch: the input blocks that
/// overlap its output block plus the output block, maximised per axis.
pub fn rechunk_task_bytes(from: &ChunkGrid, to: &ChunkGrid, itemsize: usize) -> u128 {
    let mut input = itemsize as u128;
    let mut output = itemsize as u128;
    for k in 0..from.ndim() {
        let fb = from.boundaries(k);
        let mut span_max = 0usize;
        for w in to.boundaries(k).windows(2) {
            let (lo, hi) = (w[0], w[1]);
            if hi == lo {
                continue;
            }
            let a = match fb.binary_search(&lo) {
                Ok(i) => i,
                Err(i) => i - 1,
            };
            let b = match fb.binary_search(&hi) {
                Ok(i) => i,
                Err(i) => i,
            };
            span_max = span_max.max(fb[b.min(fb.len() - 1)] - fb[a]);
        }
        input *= span_max.max(1) as u128;
        output *= to.sizes(k).iter().copied().max().unwrap_or(0).max(1) as u128;
    }
    input + output
}

/// Stages of a rechunk that keep every task under `limit` bytes: a direct step when it
/// fits; else split-then-merge through the grid of both ends' edges when that has few
/// blocks (merging many large blocks: `(1024, 1024) → (512, 8192)` of complex128 goes
/// through `(512, 1024)`); otherwise through an intermediate chunking whose chunk edges
/// are the geometric means of the two ends, recursively (so `(1, n) → (n, 1)` goes
/// through about `(√n, √n)`).
///
/// ```
/// use tessera::ChunkGrid;
/// let from = ChunkGrid::regular(&[10_000, 10_000], &[1, 10_000]);
/// let to = ChunkGrid::regular(&[10_000, 10_000], &[10_000, 1]);
/// let stages = tessera::array::plan_rechunk(&from, &to, 8, 128 << 20);
/// assert!(stages.len() > 1);
/// assert_eq!(stages.last(), Some(&to));
/// let from = ChunkGrid::regular(&[8192, 8192], &[1024, 1024]);
/// let to = ChunkGrid::regular(&[8192, 8192], &[512, 8192]);
/// let stages = tessera::array::plan_rechunk(&from, &to, 16, 128 << 20);
/// assert_eq!(stages, vec![ChunkGrid::regular(&[8192, 8192], &[512, 1024]), to]);
/// ```
pub fn plan_rechunk(
    from: &ChunkGrid,
    to: &ChunkGrid,
    itemsize: usize,
    limit: usize,
) -> Vec<ChunkGrid> {
    fn go(
        from: &ChunkGrid,
        to: &ChunkGrid,
        itemsize: usize,
        limit: usize,
        depth: usize,
        out: &mut Vec<ChunkGrid>,
    ) {
        if depth == 0 || rechunk_task_bytes(from, to, itemsize) <= limit as u128 {
            out.push(to.clone());
            return;
        }
        // Split, then merge: through the grid whose edges are both grids' edges, every
        // task of the first step cuts one input block and every task of the second
        // assembles exactly its output, in two passes. Taken when it holds few more
        // blocks than the two ends (a transpose of thin chunks would shatter it).
        let refined = ChunkGrid::new(
            (0..from.ndim())
                .map(|k| {
                    let mut edges: Vec<usize> = from.boundaries(k).to_vec();
                    edges.extend_from_slice(to.boundaries(k));
                    edges.sort_unstable();
                    edges.dedup();
                    let sizes: Vec<usize> = edges.windows(2).map(|w| w[1] - w[0]).collect();
                    if sizes.is_empty() {
                        from.sizes(k).to_vec()
                    } else {
                        sizes
                    }
                })
                .collect(),
        );
        let most = 4 * from.num_blocks().max(to.num_blocks());
        if &refined != from
            && &refined != to
            && refined.num_blocks() <= most
            && rechunk_task_bytes(from, &refined, itemsize) <= limit as u128
            && rechunk_task_bytes(&refined, to, itemsize) <= limit as u128
        {
            out.push(refined);
            out.push(to.clone());
            return;
        }
        let shape: Vec<usize> = (0..from.ndim())
            .map(|k| *from.boundaries(k).last().unwrap_or(&0))
            .collect();
        let mid_sizes: Vec<usize> = (0..from.ndim())
            .map(|k| {
                let a = from.sizes(k).iter().copied().max().unwrap_or(1).max(1) as f64;
                let b = to.sizes(k).iter().copied().max().unwrap_or(1).max(1) as f64;
                (a * b).sqrt().round().max(1.0) as usize
            })
            .collect();
        let mid = ChunkGrid::regular(&shape, &mid_sizes);
        if &mid == from || &mid == to {
            out.push(to.clone());
            return;
        }
        go(from, &mid, itemsize, limit, depth - 1, out);
        go(&mid, to, itemsize, limit, depth - 1, out);
    }
    let mut out = vec![];
    go(from, to, itemsize, limit, 6, &mut out);
    out
}

/// Normalises a possibly negative axis.
pub(crate) fn norm_axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    let d = shape.len() as isize;
    let a = if axis < 0 { axis + d } else { axis };
    if a < 0 || a >= d {
        return Err(Error::AxisOutOfRange {
            op,
            axis,
            ndim: shape.len(),
            shape: shape.to_vec(),
        });
    }
    Ok(a as usize)
}

/// The chunks of `n` with each of `whole` in one chunk, the other axes' chunks halved
/// (largest first) until a block holds at most the larger of the biggest old block and
/// [`super::PENCIL_BYTES`] (a pencil for an FFT axis, whole matrices for a stack).
pub(crate) fn pencil(n: &crate::expr::Node, whole: &[usize], itemsize: usize) -> Vec<Vec<usize>> {
    let mut chunks = n.grid.all().to_vec();
    if whole.iter().all(|&a| chunks[a].len() <= 1) {
        return chunks;
    }
    let max = |c: &Vec<usize>| c.iter().copied().max().unwrap_or(0).max(1);
    let old: usize = chunks.iter().map(max).product();
    let budget = old.max(super::PENCIL_BYTES / itemsize.max(1));
    for &a in whole {
        chunks[a] = vec![n.shape[a]];
    }
    loop {
        let block: usize = chunks.iter().map(max).product();
        let widest = (0..chunks.len())
            .filter(|&a| !whole.contains(&a) && max(&chunks[a]) > 1)
            .max_by_key(|&a| max(&chunks[a]));
        match widest {
            Some(a) if block > budget => {
                let c = max(&chunks[a]).div_ceil(2);
                chunks[a] = ChunkGrid::regular(&[n.shape[a]], &[c]).all()[0].clone();
            }
            _ => return chunks,
        }
    }
}
