//! Your own code per block: [`map_blocks`] and [`map_overlap`] (dask's names and
//! rules). The function is an opaque task: the engine knows its inputs' regions and its
//! output's size (from [`OutSpec`]), so memory projection and spilling hold, and never
//! what it computes.

use super::{Array, PadMode};
use crate::chunks::ChunkGrid;
use crate::dtype::{DType, HostArray, Scalar};
use crate::error::{Error, Result};
use crate::expr::{BlockMap, Halo, Op};
use crate::userfn::{BlockFn, BlockInfo, UserKernel};
use std::sync::Arc;

/// One output axis's chunking for [`OutSpec::chunks`].
#[derive(Debug, Clone, PartialEq)]
pub enum AxisChunks {
    /// Every block has this length along the axis (dask's `chunks=(4, 5)` form).
    Each(usize),
    /// The block lengths, one per block.
    Sizes(Vec<usize>),
}

/// Output chunks for `map_blocks`: `grid`'s own, but `sizes` along `axis` (a selection
/// or a per-chunk top-k keeps a data-decided part of each block there).
pub(crate) fn chunks_resized(grid: &ChunkGrid, axis: usize, sizes: &[usize]) -> Vec<AxisChunks> {
    (0..grid.ndim())
        .map(|k| {
            AxisChunks::Sizes(if k == axis {
                sizes.to_vec()
            } else {
                grid.sizes(k).to_vec()
            })
        })
        .collect()
}

/// What a user function's output is: its dtype, and where it differs from the loop over
/// the inputs' blocks, its chunks and the axes it drops or adds.
///
/// ```
/// use tessera::array::{AxisChunks, OutSpec};
/// let spec = OutSpec::new(tessera::DType::F64).drop_axis(&[1]).name("row-sums");
/// assert_eq!(spec.dtype, tessera::DType::F64);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OutSpec {
    /// The output's dtype: every block the function returns must have it.
    pub dtype: DType,
    /// The output's chunks per output axis (default: the loop's, one block on new axes).
    pub chunks: Option<Vec<AxisChunks>>,
    /// Loop axes the function removes (it sees them whole: their blocks are joined).
    pub drop_axis: Vec<usize>,
    /// Output axes the function adds (one block each).
    pub new_axis: Vec<usize>,
    /// The function's name in task names, errors and the MPI graph fingerprint.
    pub name: Option<String>,
}

impl OutSpec {
    /// Blocks of `dtype`, shaped like the loop's blocks.
    pub fn new(dtype: DType) -> OutSpec {
        OutSpec {
            dtype,
            chunks: None,
            drop_axis: vec![],
            new_axis: vec![],
            name: None,
        }
    }

    /// The output's chunks, one entry per output axis.
    pub fn chunks(mut self, chunks: Vec<AxisChunks>) -> OutSpec {
        self.chunks = Some(chunks);
        self
    }

    /// Loop axes the function removes.
    pub fn drop_axis(mut self, axes: &[usize]) -> OutSpec {
        self.drop_axis = axes.to_vec();
        self
    }

    /// Output axes the function adds.
    pub fn new_axis(mut self, axes: &[usize]) -> OutSpec {
        self.new_axis = axes.to_vec();
        self
    }

    /// The function's name.
    pub fn name(mut self, name: &str) -> OutSpec {
        self.name = Some(name.into());
        self
    }
}

/// What `map_overlap` puts past the array's edges (dask's `boundary=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Boundary {
    /// Nothing: blocks at an edge get no halo on that side (and keep what they get).
    None,
    /// The other end's values.
    Periodic,
    /// Mirrored, the edge value included (dask's `reflect`, NumPy's `symmetric`).
    Reflect,
    /// The edge value repeated.
    Nearest,
    /// A constant.
    Constant(Scalar),
}

/// `f` under `name`, else under its closure type's name: the same in every process of
/// one binary, so MPI ranks agree on it.
pub(super) fn named<F>(name: Option<&str>, f: F) -> BlockFn
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let name = name.map_or_else(|| std::any::type_name::<F>().to_string(), String::from);
    BlockFn::new(name, f)
}

/// The loop over blocks: the inputs' broadcast shape, each axis chunked like the first
/// input that spans it (others are read by region, whatever their own chunks).
pub(super) fn loop_grid_of(op: &'static str, inputs: &[&Array]) -> Result<ChunkGrid> {
    let nodes = inputs
        .iter()
        .map(|a| a.node())
        .collect::<Result<Vec<_>>>()?;
    let Some(ld) = nodes.iter().map(|n| n.shape.len()).max() else {
        return Err(Error::arg(op, "no input arrays; pass at least one"));
    };
    let mut shape = vec![1usize; ld];
    for n in &nodes {
        let lead = ld - n.shape.len();
        for (k, &len) in n.shape.iter().enumerate() {
            let j = k + lead;
            if len != 1 && shape[j] != 1 && len != shape[j] {
                return Err(Error::ShapeMismatch {
                    op,
                    left: nodes[0].shape.clone(),
                    right: n.shape.clone(),
                    hint: "the inputs must broadcast together (NumPy's rule, aligned from the last axis)".into(),
                });
            }
            // Not `max`: a length-0 axis broadcasts against length 1 to 0.
            if len != 1 {
                shape[j] = len;
            }
        }
    }
    let chunks = (0..ld)
        .map(|j| {
            nodes
                .iter()
                .find_map(|n| {
                    let k = j.checked_sub(ld - n.shape.len())?;
                    (n.shape[k] == shape[j]).then(|| n.grid.sizes(k).to_vec())
                })
                .unwrap_or_else(|| vec![shape[j]])
        })
        .collect();
    Ok(ChunkGrid::new(chunks))
}

fn axes_ok(op: &'static str, what: &str, axes: &[usize], ndim: usize) -> Result<()> {
    let mut seen = axes.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != axes.len() || axes.iter().any(|&a| a >= ndim) {
        return Err(Error::arg(
            op,
            format!("{what}={axes:?} must be distinct axes below {ndim}"),
        ));
    }
    Ok(())
}

/// The output grid of a user function over `lg`.
fn out_grid(op: &'static str, lg: &ChunkGrid, out: &OutSpec) -> Result<ChunkGrid> {
    axes_ok(op, "drop_axis", &out.drop_axis, lg.ndim())?;
    let kept: Vec<&Vec<usize>> = (0..lg.ndim())
        .filter(|j| !out.drop_axis.contains(j))
        .map(|j| &lg.all()[j])
        .collect();
    let od = kept.len() + out.new_axis.len();
    axes_ok(op, "new_axis", &out.new_axis, od)?;
    let mut kept = kept.into_iter();
    let default: Vec<Vec<usize>> = (0..od)
        .map(|k| {
            if out.new_axis.contains(&k) {
                vec![1]
            } else {
                kept.next().cloned().unwrap_or_default()
            }
        })
        .collect();
    let Some(chunks) = &out.chunks else {
        return Ok(ChunkGrid::new(default));
    };
    if chunks.len() != od {
        return Err(Error::arg(
            op,
            format!(
                "chunks= has {} axes but the output has {od}; give one per output axis",
                chunks.len()
            ),
        ));
    }
    let mut grid = Vec::with_capacity(od);
    for (k, (c, d)) in chunks.iter().zip(&default).enumerate() {
        let sizes = match c {
            AxisChunks::Each(n) => vec![*n; d.len()],
            AxisChunks::Sizes(s) => s.clone(),
        };
        if sizes.len() != d.len() {
            return Err(Error::arg(
                op,
                format!("chunks= gives axis {k} {} blocks but the loop over the inputs has {} there; one output block per input block", sizes.len(), d.len()),
            ));
        }
        grid.push(sizes);
    }
    Ok(ChunkGrid::new(grid))
}

/// The user function `f` on each block of `inputs`, dask's `map_blocks`: a lazy array
/// whose block `b` is `f(the inputs' blocks at b, info)`.
///
/// Inputs broadcast together, aligned from the last axis; an input of length 1 on an
/// axis gets that one value's block. Blocks line up with the first input that spans
/// each axis; another input chunked differently is read by region (no rechunk). The
/// function must return a block of `out.dtype` and the output's block shape (from the
/// loop, or `out.chunks`); anything else is an error naming the block. It runs on the
/// CPU (host code), in parallel over blocks.
///
/// ```
/// use tessera::array::{map_blocks, OutSpec};
/// use tessera::{DType, HostArray};
/// let x = tessera::arange(0.0, 6.0, 1.0, 2).unwrap();
/// let y = map_blocks(&[&x], |b, info| {
///     let HostArray::F64(a) = b[0] else { unreachable!() };
///     Ok(HostArray::F64(a + info.block[0] as f64 * 100.0))
/// }, OutSpec::new(DType::F64));
/// assert_eq!(y.compute::<f64>().unwrap().as_slice().unwrap(), &[0.0, 1.0, 102.0, 103.0, 204.0, 205.0]);
/// ```
pub fn map_blocks<F>(inputs: &[&Array], f: F, out: OutSpec) -> Array
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let f = named(out.name.as_deref(), f);
    map_blocks_fn(inputs, f, out)
}

/// [`map_blocks`] with a function already named (the Python layer's door).
pub fn map_blocks_fn(inputs: &[&Array], f: BlockFn, out: OutSpec) -> Array {
    map_blocks_with(inputs, f, out, None)
}

/// The function a kernel task runs on the CPU: the one given, else one that errors
/// saying how to run the kernel (named like the output, else after the entry point).
fn cpu_form(cpu: Option<BlockFn>, out: &OutSpec, kernel: &UserKernel) -> BlockFn {
    cpu.unwrap_or_else(|| no_cpu_form(out.name.as_deref().unwrap_or(&kernel.entry)))
}

/// The CPU form of a kernel-only function: an error that says how to run it.
fn no_cpu_form(name: &str) -> BlockFn {
    BlockFn::new(name, |_, _| {
        Err(Error::arg(
            "map_blocks_kernel",
            "this kernel has no CPU form and ran where no device takes it (the CPU, or a device without its language); compute on a wgpu device or give a CPU form",
        ))
    })
}

/// A user GPU kernel on each block, dask's `map_blocks` with device code: `kernel` runs
/// on a wgpu device (see [`UserKernel`] for its bindings), `cpu` wherever no device
/// takes it (the CPU form; without one that is an error saying so). One output block
/// per loop block, no dropped or new axes.
///
/// ```
/// use tessera::array::{map_blocks_kernel, OutSpec};
/// use tessera::userfn::{BlockFn, UserKernel};
/// let k = UserKernel::wgsl("/* WGSL */", "main");
/// let cpu = BlockFn::new("double", |b, _| Ok(b[0].clone()));
/// let x = tessera::ones(&[4], 2).unwrap().astype(tessera::DType::F32);
/// let y = map_blocks_kernel(&[&x], k, Some(cpu), OutSpec::new(tessera::DType::F32));
/// assert_eq!(y.compute::<f32>().unwrap().sum(), 4.0); // the CPU form, on the CPU
/// ```
pub fn map_blocks_kernel(
    inputs: &[&Array],
    kernel: UserKernel,
    cpu: Option<BlockFn>,
    out: OutSpec,
) -> Array {
    if !out.drop_axis.is_empty() || !out.new_axis.is_empty() {
        return Array::err(Error::arg(
            "map_blocks_kernel",
            "drop_axis= and new_axis= are not for kernels (a kernel's output block has the loop's axes); reshape after",
        ));
    }
    let f = cpu_form(cpu, &out, &kernel);
    map_blocks_with(inputs, f, out, Some(Arc::new(kernel)))
}

/// A user GPU kernel on each block with a halo, dask's `map_overlap` with device code:
/// the kernel reads each input's extended block and writes the trimmed one itself
/// (`dims` tells it the halo before the block on each axis); the CPU form `cpu`, where
/// it runs, returns the extended block like a [`map_overlap`] function.
pub fn map_overlap_kernel(
    inputs: &[&Array],
    kernel: UserKernel,
    cpu: Option<BlockFn>,
    ov: Overlap,
    out: OutSpec,
) -> Array {
    let f = cpu_form(cpu, &out, &kernel);
    map_overlap_with(inputs, f, ov, out, Some(Arc::new(kernel)))
}

/// An array whose blocks `f` makes from nothing but their place: a leaf for data that
/// lives elsewhere (a lazily indexed file, another library's array), read block by block
/// at compute time and never whole. `f` gets no input blocks and the output's
/// [`BlockInfo`] (its block, location and shape), and must return a block of that shape
/// and `dtype`. Under memory pressure a block is dropped rather than spilled and `f` is
/// called for it again, so `f` must return the same block each time (a read).
///
/// ```
/// use tessera::array::from_blocks_fn;
/// use tessera::chunks::ChunkGrid;
/// use tessera::userfn::BlockFn;
/// use tessera::HostArray;
/// let grid = ChunkGrid::regular(&[6], &[4]);
/// let f = BlockFn::new("ramp", |_, info| {
///     let v: Vec<f64> = info.location[0].clone().map(|i| i as f64).collect();
///     Ok(HostArray::from(ndarray::Array1::from(v).into_dyn()))
/// });
/// let x = from_blocks_fn(grid, tessera::DType::F64, f);
/// assert_eq!(x.compute::<f64>().unwrap().sum(), 15.0);
/// ```
pub fn from_blocks_fn(grid: ChunkGrid, dtype: DType, f: BlockFn) -> Array {
    let shape = grid.all().iter().map(|c| c.iter().sum()).collect();
    Array::new(
        Op::MapBlocks(Arc::new(BlockMap {
            op: "from_array",
            f,
            loop_grid: grid.clone(),
            drop_axis: vec![],
            new_axis: vec![],
            halo: None,
            kernel: None,
        })),
        vec![],
        shape,
        dtype,
        grid,
    )
}

fn map_blocks_with(
    inputs: &[&Array],
    f: BlockFn,
    out: OutSpec,
    kernel: Option<Arc<UserKernel>>,
) -> Array {
    const OP: &str = "map_blocks";
    let go = || -> Result<Array> {
        let lg = loop_grid_of(OP, inputs)?;
        // A dropped axis is seen whole.
        let mut all = lg.all().to_vec();
        for &j in &out.drop_axis {
            if let Some(c) = all.get_mut(j) {
                *c = vec![c.iter().sum()];
            }
        }
        let lg = ChunkGrid::new(all);
        let grid = out_grid(OP, &lg, &out)?;
        let shape = grid.all().iter().map(|c| c.iter().sum()).collect();
        Ok(Array::new(
            Op::MapBlocks(Arc::new(BlockMap {
                op: OP,
                f,
                loop_grid: lg,
                drop_axis: out.drop_axis.clone(),
                new_axis: out.new_axis.clone(),
                halo: None,
                kernel,
            })),
            inputs.iter().map(|&a| a.clone()).collect(),
            shape,
            out.dtype,
            grid,
        ))
    };
    go().unwrap_or_else(Array::err)
}

/// How [`map_overlap`] extends and cuts blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// Values of the neighbours on each side, per axis.
    pub depth: Vec<usize>,
    /// What lies past the array's edges.
    pub boundary: Boundary,
    /// Whether the halo is cut off the function's result (dask's `trim=True`).
    pub trim: bool,
}

impl Overlap {
    /// `depth` on each axis, the boundary given, trimmed.
    pub fn new(depth: &[usize], boundary: Boundary) -> Overlap {
        Overlap {
            depth: depth.to_vec(),
            boundary,
            trim: true,
        }
    }
}

/// The user function `f` on each block with `ov.depth` of its neighbours' values on
/// each side, dask's `map_overlap`: stencils, filters, rolling windows.
///
/// The halo is read from the neighbours' regions (generated data is generated, stored
/// data sliced; a depth deeper than a chunk spans several), never from a padded copy
/// of the array. Past the edges the boundary decides (`Boundary::None` gives edge
/// blocks a shorter halo there). With `trim`, `f` returns a block of its input's shape
/// and the halo is cut off; without, the output's blocks are the extended ones.
/// Inputs (one or more) have one shape.
///
/// ```
/// use tessera::array::{map_overlap, Boundary, Overlap, OutSpec};
/// use tessera::{DType, HostArray};
/// let x = tessera::arange(0.0, 8.0, 1.0, 3).unwrap();
/// // A centred 3-point sum with the neighbours' values across block edges.
/// let s = map_overlap(&[&x], |b, _| {
///     let HostArray::F64(a) = b[0] else { unreachable!() };
///     let mut out = a.clone();
///     for i in 1..a.len() - 1 {
///         out[i] = a[i - 1] + a[i] + a[i + 1];
///     }
///     Ok(HostArray::F64(out))
/// }, Overlap::new(&[1], Boundary::Periodic), OutSpec::new(DType::F64));
/// let v = s.compute::<f64>().unwrap();
/// assert_eq!(v.as_slice().unwrap(), &[8.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 13.0]);
/// ```
pub fn map_overlap<F>(inputs: &[&Array], f: F, ov: Overlap, out: OutSpec) -> Array
where
    F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
{
    let f = named(out.name.as_deref(), f);
    map_overlap_fn(inputs, f, ov, out)
}

/// [`map_overlap`] with a function already named (the Python layer's door).
pub fn map_overlap_fn(inputs: &[&Array], f: BlockFn, ov: Overlap, out: OutSpec) -> Array {
    map_overlap_with(inputs, f, ov, out, None)
}

fn map_overlap_with(
    inputs: &[&Array],
    f: BlockFn,
    ov: Overlap,
    out: OutSpec,
    kernel: Option<Arc<UserKernel>>,
) -> Array {
    const OP: &str = "map_overlap";
    let go = || -> Result<Array> {
        let nodes = inputs
            .iter()
            .map(|a| a.node())
            .collect::<Result<Vec<_>>>()?;
        let Some(first) = nodes.first() else {
            return Err(Error::arg(OP, "no input arrays; pass at least one"));
        };
        if let Some(n) = nodes.iter().find(|n| n.shape != first.shape) {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: first.shape.clone(),
                right: n.shape.clone(),
                hint: "map_overlap's inputs have one shape; broadcast_to them first".into(),
            });
        }
        let d = first.shape.len();
        if ov.depth.len() != d {
            return Err(Error::arg(
                OP,
                format!("depth has {} entries for an array of shape {:?}; give one per axis (0 for none)", ov.depth.len(), first.shape),
            ));
        }
        let reshaped = out.chunks.is_some() || !out.new_axis.is_empty();
        if !out.drop_axis.is_empty() || (ov.trim && reshaped) {
            return Err(Error::arg(
                OP,
                "chunks= and new_axis= need trim=false (a trimmed halo is cut by shape), and drop_axis= is map_blocks'",
            ));
        }
        let mode = match ov.boundary {
            Boundary::None => None,
            Boundary::Periodic => Some(PadMode::Wrap),
            Boundary::Reflect => Some(PadMode::Symmetric),
            Boundary::Nearest => Some(PadMode::Edge),
            Boundary::Constant(v) => Some(PadMode::Constant(v)),
        };
        if matches!(ov.boundary, Boundary::Periodic | Boundary::Reflect) {
            for (k, (&dk, &n)) in ov.depth.iter().zip(&first.shape).enumerate() {
                if dk > n {
                    return Err(Error::arg(
                        OP,
                        format!("depth {dk} on axis {k} is more than its length {n}; the {:?} boundary takes up to the length", ov.boundary),
                    ));
                }
            }
        }
        // The inputs past the edges, lazily: a region of this is read per block.
        let widths: Vec<(usize, usize)> = ov.depth.iter().map(|&k| (k, k)).collect();
        let args: Vec<Array> = match mode {
            Some(mode) => inputs.iter().map(|a| a.pad(&widths, mode)).collect(),
            None => inputs.iter().map(|&a| a.clone()).collect(),
        };
        let lg = first.grid.clone();
        let grid = if ov.trim {
            lg.clone()
        } else if reshaped {
            // The function says what each extended block becomes (windows of it,
            // with a new axis): one output block per loop block.
            out_grid(OP, &lg, &out)?
        } else {
            // The extended blocks: each gains its halo (cut at the edges without a
            // boundary).
            ChunkGrid::new(
                (0..d)
                    .map(|k| {
                        let (b, dk, n) = (lg.boundaries(k), ov.depth[k], first.shape[k]);
                        lg.sizes(k)
                            .iter()
                            .enumerate()
                            .map(|(i, &len)| match mode {
                                Some(_) => len + 2 * dk,
                                None => (b[i] + len + dk).min(n) - b[i].saturating_sub(dk),
                            })
                            .collect()
                    })
                    .collect(),
            )
        };
        let shape = grid.all().iter().map(|c| c.iter().sum()).collect();
        Ok(Array::new(
            Op::MapBlocks(Arc::new(BlockMap {
                op: OP,
                f,
                loop_grid: lg,
                drop_axis: vec![],
                new_axis: out.new_axis.clone(),
                halo: Some(Halo {
                    depth: ov.depth.clone(),
                    padded: mode.is_some(),
                    trim: ov.trim,
                }),
                kernel,
            })),
            args,
            shape,
            out.dtype,
            grid,
        ))
    };
    go().unwrap_or_else(Array::err)
}
