//! The user API: lazy chunked arrays. Building an [`Array`] does no work; `compute()`
//! lowers the expression DAG to a task graph and runs it.
//!
//! Every lazy op returns an `Array`, even on bad input: the error travels inside the
//! array (like a NaN) and comes out of `check()` or `compute()` as a value. Creation
//! functions return `Result` directly.

mod blockwise;
mod check;
mod complex;
mod gather;
pub use complex::complex;
mod creation;
pub use blockwise::{blockwise, blockwise_fn, indices, BlockwiseSpec};
mod custom;
mod gufunc;
pub use gufunc::{apply_gufunc, apply_gufunc_fn, GufuncSpec};
mod user_reduce;
pub use custom::{
    from_blocks_fn, map_blocks, map_blocks_fn, map_blocks_kernel, map_overlap, map_overlap_fn,
    map_overlap_kernel, AxisChunks, Boundary, OutSpec, Overlap,
};
pub use user_reduce::{cumreduction, cumreduction_fn, reduction, reduction_fn, ReductionSpec};
mod elementwise;
mod fft;
pub use elementwise::{binary_op, Operand};
pub use fft::{fftfreq, rfftfreq, FftNorm, PENCIL_BYTES};
pub mod linalg;
mod manipulation;
mod matrix_ops;
pub use manipulation::{concatenate, stack};
pub(crate) mod indexing;
mod nanreduce;
pub mod random;
mod reduction;
pub use nanreduce::{nan_reduction, NanReduction};
mod rearrange;
pub use rearrange::PadMode;
mod histogram;
mod scan;
pub use histogram::{histogramdd, Bins};
mod cov;
mod quantile;
mod rank_select;
pub use quantile::QuantileMethod;
mod search;
mod select;
mod topk;
mod unique;
mod unique_counted;
pub use unique::Unique;
mod sort;
mod stacked;
pub use search::Side;
mod ufuncs;
mod windows;
pub use reduction::SPLIT_EVERY;
pub use ufuncs::{binary_fn, unary_fn};

pub use creation::{
    arange, eye, from_host, from_ndarray, from_npy, from_zarr, from_zarr_with, full, linspace,
    ones, zeros,
};
pub use elementwise::where_;
pub use indexing::{plan_rechunk, rechunk_task_bytes, Index};

pub use crate::expr::Array;
pub(crate) use crate::expr::{Decomp, Node, Op};

use crate::chunks::ChunkGrid;
use crate::dtype::{DType, Element, HostArray};
use crate::error::{Error, Result};
use crate::scheduler::{self, ComputeOptions};

impl Array {
    /// `Ok` when the array (and everything it was built from) is valid; otherwise the
    /// first error, naming the op and shapes.
    ///
    /// ```
    /// let a = tessera::ones(&[2, 3], 2).unwrap();
    /// assert!(a.check().is_ok());
    /// assert!(a.sum_axis(5).check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        self.node().map(|_| ())
    }

    /// The shape (empty for an array that carries an error).
    pub fn shape(&self) -> &[usize] {
        self.node().map(|n| &n.shape[..]).unwrap_or(&[])
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }

    /// The element dtype (f64 for an array that carries an error).
    pub fn dtype(&self) -> DType {
        self.node().map(|n| n.dtype).unwrap_or(DType::F64)
    }

    /// The chunk grid.
    pub fn chunks(&self) -> Option<&ChunkGrid> {
        self.node().ok().map(|n| &n.grid)
    }

    /// Bytes the computed array occupies.
    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype().size()
    }

    /// Computes the array with the default options.
    ///
    /// ```
    /// let a = tessera::arange(0.0, 5.0, 1.0, 2).unwrap();
    /// let v = a.compute::<f64>().unwrap();
    /// assert_eq!(v.as_slice().unwrap(), &[0.0, 1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn compute<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        self.compute_with::<T>(&ComputeOptions::default())
    }

    /// Computes the array with explicit options (scheduler, progress bar, memory limit).
    pub fn compute_with<T: Element>(&self, opts: &ComputeOptions) -> Result<ndarray::ArrayD<T>> {
        let h = self.compute_host_with(opts)?;
        let actual = h.dtype();
        T::from_host(h).ok_or(Error::DTypeMismatch {
            op: "compute",
            actual,
            requested: T::DTYPE,
        })
    }

    /// Computes the array into a dtype-erased host array.
    pub fn compute_host(&self) -> Result<HostArray> {
        self.compute_host_with(&ComputeOptions::default())
    }

    /// [`Array::compute_host`] with explicit options.
    pub fn compute_host_with(&self, opts: &ComputeOptions) -> Result<HostArray> {
        let mut out = compute_all_with(&[self], opts)?;
        Ok(out.pop().expect("one output per array"))
    }

    /// Computes a 0-d array (e.g. a full reduction) into a Rust scalar.
    ///
    /// ```
    /// let s: f64 = tessera::ones(&[4, 4], 2).unwrap().sum().compute_scalar().unwrap();
    /// assert_eq!(s, 16.0);
    /// ```
    pub fn compute_scalar<T: Element>(&self) -> Result<T> {
        let a = self.compute::<T>()?;
        if a.len() != 1 {
            return Err(Error::arg(
                "compute_scalar",
                format!(
                    "the array has shape {:?}, not a single element; reduce it first (e.g. .sum())",
                    a.shape()
                ),
            ));
        }
        Ok(*a.iter().next().expect("one element"))
    }

    /// The task graph in Graphviz DOT: circles for tasks, boxes for chunks.
    pub fn to_dot(&self) -> Result<String> {
        let g = crate::graph::TaskGraph::build(&[self])?;
        Ok(g.to_dot())
    }

    /// Renders the task graph with Graphviz `dot` into `path` (format from the extension).
    pub fn visualize(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::graph::render_dot(&self.to_dot()?, path.as_ref())
    }

    /// Computes the array once and returns an array whose chunks the store holds — in
    /// host memory while they fit under the limit, the rest spilled to disk — so later
    /// computes start from them instead of recomputing (dask's `persist`). The spill
    /// files are removed when the last handle to the returned array is dropped.
    ///
    /// ```
    /// let x = tessera::random::uniform(&[200, 200], 50, 7).unwrap();
    /// let p = x.persist().unwrap();
    /// let a: f64 = (&p + &p.t()).sum().compute_scalar().unwrap();
    /// let b: f64 = (&x + &x.t()).sum().compute_scalar().unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn persist(&self) -> Result<Array> {
        self.persist_with(&ComputeOptions::default())
    }

    /// [`Array::persist`] with explicit options (limits, spill directory, device).
    pub fn persist_with(&self, opts: &ComputeOptions) -> Result<Array> {
        Ok(self.persist_stats(opts)?.0)
    }

    /// [`Array::persist_with`], also returning what the compute did.
    pub fn persist_stats(&self, opts: &ComputeOptions) -> Result<(Array, scheduler::Stats)> {
        self.persist_ranked(opts, None)
    }

    /// Persists over the ranks `transport` connects (each keeps its own blocks), or in
    /// this process alone without one.
    pub(crate) fn persist_ranked(
        &self,
        opts: &ComputeOptions,
        transport: Option<&dyn scheduler::Transport>,
    ) -> Result<(Array, scheduler::Stats)> {
        let n = self.node()?;
        if let Op::Stored(_) = n.op {
            return Ok((self.clone(), scheduler::Stats::default()));
        }
        admit(&[self], opts, false)?;
        let g = graph_for(&[self], opts)?;
        let (mut p, stats) = scheduler::execute_persist(&g, opts, transport)?;
        let p = p.pop().expect("one persisted array per output");
        let a = Array::new(
            Op::Stored(p),
            vec![],
            n.shape.clone(),
            n.dtype,
            n.grid.clone(),
        );
        Ok((a, stats))
    }

    /// Writes the array to a NumPy `.npy` file at `path` (C order), block by block: each
    /// block is written by the task that made it and released at once, so a result
    /// larger than memory is never whole (under a host limit, with spilling, it streams
    /// to disk). The file appears at `path` only once complete; after an error nothing
    /// is left. bfloat16 has no `.npy` form (write `astype(float32)`).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("tessera-doc-to-npy-{}.npy", std::process::id()));
    /// let x = tessera::random::uniform(&[300, 200], 64, 7).unwrap();
    /// x.to_npy(&path).unwrap();
    /// let back = tessera::from_npy(&path, 100).unwrap();
    /// assert_eq!(back.compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn to_npy(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        self.to_npy_with(path, &ComputeOptions::default())
            .map(|_| ())
    }

    /// [`Array::to_npy`] with explicit options, returning what the compute did.
    pub fn to_npy_with(
        &self,
        path: impl AsRef<std::path::Path>,
        opts: &ComputeOptions,
    ) -> Result<scheduler::Stats> {
        let n = self.node()?;
        scheduler::refuse_graph(n.grid.block_count(), opts.host_limit())?;
        let sink = crate::storage::npy::NpyWriter::create(path.as_ref(), n.dtype, &n.shape)?;
        let g = graph_for(&[self], opts)?;
        scheduler::execute_store(&g, opts, vec![std::sync::Arc::new(sink)])
    }

    /// Writes the array as a Zarr array at `path` (a directory): a new v3 array with
    /// zstd-compressed chunks shaped as this array's, or — when `path` already holds an
    /// array of this shape and dtype — into that array, keeping its chunks and codecs.
    /// Each chunk is written by the task that made it and released at once, so a result
    /// larger than memory is never whole. Where this array's blocks do not line up with
    /// the store's chunks it is rechunked to them first (logged), so no store chunk is
    /// written twice. The array appears (or changes) only once complete; after an error
    /// nothing was changed. Options: [`Array::to_zarr_with`].
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("tessera-doc-to-zarr-{}", std::process::id()));
    /// let x = tessera::random::uniform(&[300, 200], 64, 7).unwrap();
    /// x.to_zarr(&dir).unwrap();
    /// let back = tessera::from_zarr(&dir).unwrap();
    /// assert_eq!(back.compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn to_zarr(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        self.to_zarr_with(
            path,
            &crate::storage::zarr::ZarrOptions::default(),
            &ComputeOptions::default(),
        )
        .map(|_| ())
    }

    /// [`Array::to_zarr`] with a format, codec, chunk shape, sharding or overwrite
    /// ([`crate::storage::zarr::ZarrOptions`]) and compute options; returns what the
    /// compute did.
    ///
    /// ```
    /// use tessera::storage::zarr::{ZarrCodec, ZarrFormat, ZarrOptions};
    /// let dir = std::env::temp_dir().join(format!("tessera-doc-to-zarr-v2-{}", std::process::id()));
    /// let z = ZarrOptions { format: ZarrFormat::V2, codec: ZarrCodec::Gzip { level: 5 }, ..Default::default() };
    /// tessera::ones(&[10, 10], 4).unwrap().astype(tessera::DType::I32)
    ///     .to_zarr_with(&dir, &z, &tessera::ComputeOptions::default()).unwrap();
    /// assert!(dir.join(".zarray").is_file());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn to_zarr_with(
        &self,
        path: impl AsRef<std::path::Path>,
        zarr: &crate::storage::zarr::ZarrOptions,
        opts: &ComputeOptions,
    ) -> Result<scheduler::Stats> {
        let n = self.node()?;
        let sink = crate::storage::zarr::ZarrWriter::create(
            path.as_ref(),
            n.dtype,
            &n.shape,
            &n.grid,
            zarr,
        )?;
        let x = self.aligned_to(sink.grid(), path.as_ref())?;
        scheduler::refuse_graph(sink.grid().block_count(), opts.host_limit())?;
        let g = graph_for(&[&x], opts)?;
        scheduler::execute_store(&g, opts, vec![std::sync::Arc::new(sink)])
    }

    /// This array in the blocks of a store's `grid` (rechunked, logged, where they
    /// differ), so each store chunk is written by one task.
    pub(crate) fn aligned_to(
        &self,
        grid: &crate::chunks::ChunkGrid,
        path: &std::path::Path,
    ) -> Result<Array> {
        let n = self.node()?;
        if *grid == n.grid {
            return Ok(self.clone());
        }
        tracing::info!(
            "to_zarr: rechunking {:?} to the store's chunks {:?} of {}",
            n.grid.max_chunk(),
            grid.max_chunk(),
            path.display()
        );
        Ok(self.rechunk(crate::chunks::Chunks::Explicit(grid.all().to_vec())))
    }

    /// The store behind a persisted array (`None` for any other array).
    pub fn persisted(&self) -> Option<&scheduler::Persisted> {
        match &self.node().ok()?.op {
            Op::Stored(p) => Some(p),
            _ => None,
        }
    }

    /// Number of tasks `compute()` would run.
    pub fn num_tasks(&self) -> Result<usize> {
        Ok(crate::graph::TaskGraph::build(&[self])?.tasks.len())
    }
}

/// Computes several arrays in one graph, sharing common work.
///
/// ```
/// let x = tessera::random::uniform(&[50, 40], 10, 1).unwrap();
/// let out = tessera::compute_all(&[&x.sum(), &x.max()]).unwrap();
/// assert_eq!(out.len(), 2);
/// ```
pub fn compute_all(arrays: &[&Array]) -> Result<Vec<HostArray>> {
    compute_all_with(arrays, &ComputeOptions::default())
}

/// [`compute_all`] with explicit options.
pub fn compute_all_with(arrays: &[&Array], opts: &ComputeOptions) -> Result<Vec<HostArray>> {
    admit(arrays, opts, true)?;
    let graph = graph_for(arrays, opts)?;
    scheduler::execute(&graph, opts).map(|r| r.outputs)
}

/// Computes `arrays` over the ranks `transport` connects (rank 0 gets the outputs), or
/// in this process alone without one.
pub(crate) fn compute_ranked(
    arrays: &[&Array],
    opts: &ComputeOptions,
    transport: Option<&dyn scheduler::Transport>,
) -> Result<scheduler::Executed> {
    admit(arrays, opts, true)?;
    let graph = graph_for(arrays, opts)?;
    match transport {
        Some(t) => scheduler::execute_ranked(&graph, opts, t),
        None => scheduler::execute(&graph, opts),
    }
}

/// The graph of `arrays` lowered for the device `opts` runs on.
pub(crate) fn graph_for(
    arrays: &[&Array],
    opts: &ComputeOptions,
) -> Result<crate::graph::TaskGraph> {
    let devices: Vec<_> = opts
        .targets()
        .into_iter()
        .map(crate::backend::resolve)
        .collect();
    crate::graph::TaskGraph::build_with(arrays, crate::graph::Lowering::for_devices(&devices))
}

/// Refuses, before the graph is even built, what cannot fit in host memory: the
/// assembled results (`assemble`), or the graph's tasks (at least one per result block).
fn admit(arrays: &[&Array], opts: &ComputeOptions, assemble: bool) -> Result<()> {
    let limit = opts.host_limit();
    let mut blocks = 0u128;
    let mut result = 0u64;
    for a in arrays {
        let n = a.node()?;
        blocks += n.grid.block_count();
        result = result.saturating_add((a.size() as u64).saturating_mul(n.dtype.size() as u64));
    }
    if assemble {
        scheduler::refuse_result(result, limit)?;
    } else {
        scheduler::refuse_persist(result, opts)?;
    }
    scheduler::refuse_graph(blocks, limit)
}

fn human_bytes(b: usize) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", units[u])
    }
}

/// Expression DAGs whose nodes hold more blocks than this are not lowered just to print
/// their task count (lowering costs about a microsecond and a few hundred bytes a task).
const REPR_MAX_BLOCKS: u128 = 200_000;

impl Array {
    /// Nodes of the expression DAG and the blocks they hold in all, found without
    /// building anything.
    fn layers_and_blocks(&self) -> (usize, u128) {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self.clone()];
        let mut blocks = 0u128;
        while let Some(a) = stack.pop() {
            let Ok(n) = a.node() else { continue };
            if !seen.insert(n.id) {
                continue;
            }
            blocks += n.grid.block_count();
            stack.extend(n.inputs.iter().cloned());
        }
        (seen.len(), blocks)
    }
}

impl std::fmt::Display for Array {
    /// The dask repr, in text: shape, dtype, chunk shape, number of chunks, bytes, tasks
    /// (for graphs too large to lower in a repr, the layers and blocks instead, as dask's
    /// "N chunks in M graph layers").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.node() {
            Err(e) => write!(f, "tessera.Array<error: {e}>"),
            Ok(n) => {
                let (layers, blocks) = self.layers_and_blocks();
                let tasks = if blocks <= REPR_MAX_BLOCKS {
                    crate::graph::TaskGraph::build(&[self])
                        .map(|g| g.tasks.len().to_string())
                        .unwrap_or_else(|e| format!("? ({e})"))
                } else {
                    format!("not counted ({blocks} blocks in {layers} layers)")
                };
                write!(
                    f,
                    "tessera.Array<{}, shape={:?}, dtype={}, chunksize={:?}, chunks={}, bytes={}, tasks={}>",
                    n.op.name(),
                    n.shape,
                    n.dtype,
                    n.grid.max_chunk(),
                    n.grid.num_blocks(),
                    human_bytes(self.nbytes()),
                    tasks
                )
            }
        }
    }
}
