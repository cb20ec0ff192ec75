//! The user's own code per block: a named function of host blocks, and what it is told
//! about the block it computes.
//!
//! Why its own room, at the bottom: the expression holds a [`BlockFn`], the graph puts
//! it in a task and the CPU backend calls it; none of them knows what it computes, only
//! its name (which identifies it across MPI ranks), its inputs' regions and its output's
//! size, so memory projection and spilling hold as for the built-in ops.

use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result, UserPayload};
use std::ops::Range;
use std::sync::Arc;

/// The body of a user function: the input blocks (each a C-contiguous host array of the
/// region [`BlockInfo::inputs`] describes) to the output block.
pub type BlockFnBody = dyn Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync;

/// A user function and the name it goes by in task names, errors and the MPI graph
/// fingerprint.
///
/// ```
/// use tessera::userfn::BlockFn;
/// let f = BlockFn::new("double", |x, _| Ok(x[0].clone()));
/// assert_eq!(f.name(), "double");
/// ```
#[derive(Clone)]
pub struct BlockFn {
    name: Arc<str>,
    body: Arc<BlockFnBody>,
    /// The engine's own function (`take_along_axis`'s gather): its errors keep their
    /// kind (an out-of-range index is `Error::BadIndex`), as any built-in op's do.
    engine: bool,
}

impl std::fmt::Debug for BlockFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockFn({})", self.name)
    }
}

impl BlockFn {
    /// `body` under `name`.
    pub fn new<F>(name: impl Into<String>, body: F) -> BlockFn
    where
        F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    {
        BlockFn {
            name: name.into().into(),
            body: Arc::new(body),
            engine: false,
        }
    }

    /// An engine operation written as a block function: like [`BlockFn::new`], but its
    /// errors are the operation's own, not a user function's.
    pub(crate) fn engine<F>(name: impl Into<String>, body: F) -> BlockFn
    where
        F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    {
        BlockFn {
            engine: true,
            ..BlockFn::new(name, body)
        }
    }

    /// A function of the same name and kind with another body (an adapter around this
    /// one, as `blockwise` lays arguments out).
    pub(crate) fn with_body<F>(&self, body: F) -> BlockFn
    where
        F: Fn(&[&HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync + 'static,
    {
        BlockFn {
            name: self.name.clone(),
            body: Arc::new(body),
            engine: self.engine,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the function on one block: its error comes back naming `op`, the function
    /// and the block; a panic inside it is caught and reported the same way.
    pub fn call(
        &self,
        op: &'static str,
        inputs: &[&HostArray],
        info: &BlockInfo,
    ) -> Result<HostArray> {
        let fail = |reason: String, payload: Option<UserPayload>| Error::UserFunction {
            op,
            name: self.name.to_string(),
            block: info.block.clone(),
            reason,
            payload,
        };
        let run =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.body)(inputs, info)));
        match run {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) if self.engine => Err(e),
            // Already ours (a nested compute's error, say): keep its kind.
            Ok(Err(Error::UserFunction {
                reason, payload, ..
            })) => Err(fail(reason, payload)),
            Ok(Err(e)) => Err(fail(e.to_string(), None)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(fail(format!("panicked: {what}"), None))
            }
        }
    }
}

/// Where one input's block comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct InputInfo {
    /// The input array's shape.
    pub shape: Vec<usize>,
    /// Its dtype (the block's).
    pub dtype: DType,
    /// The block's index along the input's axes in the loop over blocks (0 where the
    /// input broadcasts).
    pub block: Vec<usize>,
    /// Blocks per input axis in that loop.
    pub num_blocks: Vec<usize>,
    /// The region of the input the block holds, per axis (halo included).
    pub location: Vec<Range<usize>>,
}

/// What a user function is told about the block it computes (dask's `block_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockInfo {
    /// The output block's index in the output's block grid.
    pub block: Vec<usize>,
    /// Blocks of the output per axis.
    pub num_blocks: Vec<usize>,
    /// The region of the output the block is, per axis.
    pub location: Vec<Range<usize>>,
    /// The output array's shape.
    pub shape: Vec<usize>,
    /// The output's dtype.
    pub dtype: DType,
    /// Each input's block, in argument order.
    pub inputs: Vec<InputInfo>,
}

impl BlockInfo {
    /// The output block's shape.
    pub fn chunk_shape(&self) -> Vec<usize> {
        self.location.iter().map(|r| r.len()).collect()
    }
}

/// GPU source for a user function (`map_blocks_kernel`): run on a device whose
/// language it is written in, compiled and cached like the built-in kernels.
///
/// The WGSL contract: group 0 holds `@binding(0) var<storage, read> dims: array<i32>`
/// (`[total, ndim, out_shape…, halo_before…, in0_shape…, in1_shape…]`, shapes left-padded
/// with 1s to the output's rank), `@binding(1) var<storage, read_write> out:
/// array<T>` (the output block, C order) and `@binding(2 + k) var<storage, read> ink:
/// array<T>` (input `k`'s block, its halo included); the entry point runs with
/// `@workgroup_size(256)` over `ceil(total / 256)` workgroups (a 2-d grid past the
/// device's limit: element `gid.x + gid.y * 256 * nwg.x`). Element types are the
/// blocks' dtypes (`f32`, `i32`, `u32`; `f64` where the adapter has it).
///
/// The CUDA C contract: `extern "C" __global__ void ENTRY(const int* dims, T* out,
/// const T* in0, const T* in1, …)` with the same `dims`, launched with 256 threads per
/// block on a 1-d grid of at most 524,280 blocks: loop grid-stride (`for (long i =
/// blockIdx.x * 256L + threadIdx.x; i < dims[0]; i += 256L * gridDim.x)`). NVRTC
/// compiles it for the device's architecture, once per source and entry point.
///
/// ```
/// let k = tessera::userfn::UserKernel::wgsl("/* … */", "main");
/// assert_eq!(k.entry, "main");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserKernel {
    /// WGSL source, run by wgpu devices.
    pub wgsl: Option<String>,
    /// CUDA C source, run by CUDA devices.
    pub cuda: Option<String>,
    /// The entry point.
    pub entry: String,
}

impl UserKernel {
    /// A WGSL kernel.
    pub fn wgsl(source: &str, entry: &str) -> UserKernel {
        UserKernel {
            wgsl: Some(source.into()),
            cuda: None,
            entry: entry.into(),
        }
    }

    /// A CUDA C kernel.
    pub fn cuda(source: &str, entry: &str) -> UserKernel {
        UserKernel {
            wgsl: None,
            cuda: Some(source.into()),
            entry: entry.into(),
        }
    }

    /// This kernel with a CUDA C form too (both spell the same computation; one entry
    /// point name).
    pub fn with_cuda(mut self, source: &str) -> UserKernel {
        self.cuda = Some(source.into());
        self
    }
}
