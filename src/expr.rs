//! The lazy expression DAG: an [`Array`] is a cheap handle to a [`Node`] (or to the
//! error that made it), and a node says what it computes ([`Op`]) from which inputs.
//!
//! Why its own module: the graph lowers these nodes and the user API builds them; with the
//! types here, `graph` depends on the expression alone and never on the API in `array`,
//! so data flows one way (expression → graph → scheduler → backend).

use crate::chunks::ChunkGrid;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::kernel::{BinaryOp, Generator, Reduction, ScanKind, UnaryOp};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A normalised selection on one input axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AxisSel {
    /// Elements `start + step * i` for `i < len`.
    Range {
        start: usize,
        step: isize,
        len: usize,
    },
    /// One element; the axis is dropped.
    At(usize),
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a node computes from its inputs.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Values that are a pure function of the global index.
    Gen(Generator),
    /// One value everywhere.
    Const(Scalar),
    /// A stored array read block by block: the user's in-memory array, or a file.
    Source(Arc<dyn crate::storage::ChunkSource>),
    /// Blocks a persisted array holds (in memory or spilled).
    Stored(Arc<crate::spill::Persisted>),
    Unary(UnaryOp),
    Binary(BinaryOp),
    Where,
    Cast,
    /// Output axis `j` is input axis `perm[j]`.
    Transpose(Vec<usize>),
    /// One selection per input axis.
    Slice(Vec<AxisSel>),
    Take {
        axis: usize,
        indices: Arc<Vec<usize>>,
    },
    Reduce {
        reduction: Reduction,
        axes: Vec<usize>,
        keepdims: bool,
        split_every: usize,
    },
    Rechunk,
    /// A new length-1 axis at this position.
    ExpandDims(usize),
    /// Length-1 input axes that are dropped.
    Squeeze(Vec<usize>),
    /// Every window of `window` elements along input axis `axis` (a view): output axis
    /// `axis` indexes window starts, a new last axis the place in the window.
    Window {
        axis: usize,
        window: usize,
    },
    /// The input broadcast to the node's shape.
    BroadcastTo,
    /// The inputs joined along an axis.
    Concat(usize),
    /// C-order reshape; `groups` pairs input axis ranges with output axis ranges whose
    /// lengths multiply to the same number.
    Reshape {
        groups: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    },
    /// Contraction `(batch…, M…, K…) · (batch…, K…, N…)`; `k_grid` holds the unified
    /// chunking of the contracted axes.
    Contract {
        batch: usize,
        m: usize,
        k_grid: Vec<Vec<usize>>,
    },
    /// One output of a decomposition planned once per input.
    Decomp(Decomp),
    /// A running sum or product along `axis`, block after block.
    Scan {
        kind: ScanKind,
        axis: usize,
    },
    /// Input 0 unchanged, or the error `op: reason` where any element of input 1 (a
    /// bool array of the same shape and chunks) is true: a data-dependent error raised
    /// when the data is there (NumPy's `nanargmin` of an all-NaN slice).
    Check {
        op: &'static str,
        reason: &'static str,
    },
    /// The user's function on each block of the inputs (`map_blocks`, `map_overlap`).
    MapBlocks(Arc<BlockMap>),
    /// Discrete Fourier transforms along `axis`, which is one chunk in input and output.
    Fft {
        kind: crate::kernel::FftKind,
        axis: usize,
        n: usize,
        scale: f64,
    },
}

/// How a user function's blocks are made: which blocks of which inputs, with what halo.
#[derive(Debug)]
pub(crate) struct BlockMap {
    /// The user-facing operation (`map_blocks`, `map_overlap`).
    pub op: &'static str,
    /// The function.
    pub f: crate::userfn::BlockFn,
    /// The grid looped over, in the inputs' broadcast shape (inputs align from the
    /// right, NumPy's rule); a dropped axis is one block (the function sees it whole).
    pub loop_grid: ChunkGrid,
    /// Loop axes the output does not have.
    pub drop_axis: Vec<usize>,
    /// Output axes the loop does not have (one block each).
    pub new_axis: Vec<usize>,
    /// `map_overlap`'s neighbours' values around each block.
    pub halo: Option<Halo>,
    /// GPU source the devices may run instead of `f` (`f` is the CPU form).
    pub kernel: Option<Arc<crate::userfn::UserKernel>>,
}

/// The halo of a `map_overlap`: `depth[k]` values on both sides along loop axis `k`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Halo {
    /// Values added on each side, per loop axis.
    pub depth: Vec<usize>,
    /// Whether the inputs are already padded by `depth` on every side (a boundary
    /// mode); without, a block at the array's edge gets no values past it (`none`).
    pub padded: bool,
    /// Whether the halo is cut off the function's result.
    pub trim: bool,
}

/// Outputs of the blocked decompositions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Decomp {
    /// Q of TSQR (tall-and-skinny, row chunks only).
    TsqrQ,
    /// R of TSQR.
    TsqrR,
    /// U, S or Vt (0, 1, 2) of the SVD of a single-block matrix.
    SmallSvd(usize),
    /// Lower Cholesky factor (square chunks).
    Cholesky,
    /// Solution of a triangular system: input 0 the matrix, input 1 the right side.
    TriSolve { lower: bool },
    /// Input 0 unchanged once the singular values in input 1 (of a `rows × cols`
    /// matrix) show full rank; `op` names the user's operation in the error.
    FullRank {
        op: &'static str,
        rows: usize,
        cols: usize,
    },
    /// Part `part` of `fun` applied to every matrix of input 0 (`(..., rows, cols)`, the
    /// matrix axes one chunk; input 1 the right sides of a solve, chunked alike).
    Stack {
        fun: crate::kernel::StackFn,
        part: usize,
    },
}

impl Op {
    pub(crate) fn is_elementwise(&self) -> bool {
        matches!(self, Op::Unary(_) | Op::Binary(_) | Op::Where | Op::Cast)
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Op::Gen(Generator::Random { .. }) => "random".into(),
            Op::Gen(Generator::Range { .. }) => "arange".into(),
            Op::Gen(Generator::Eye { .. }) => "eye".into(),
            Op::Const(_) => "full".into(),
            Op::Source(s) => s.label().into(),
            Op::Stored(_) => "persisted".into(),
            Op::Unary(u) => format!("{u:?}").to_lowercase(),
            Op::Binary(b) => b.name().into(),
            Op::Where => "where".into(),
            Op::Cast => "astype".into(),
            Op::Transpose(_) => "transpose".into(),
            Op::Slice(_) => "getitem".into(),
            Op::Take { .. } => "take".into(),
            Op::Reduce { reduction, .. } => reduction.name().into(),
            Op::Rechunk => "rechunk".into(),
            Op::ExpandDims(_) => "expand_dims".into(),
            Op::Squeeze(_) => "squeeze".into(),
            Op::Window { .. } => "sliding_window_view".into(),
            Op::BroadcastTo => "broadcast_to".into(),
            Op::Concat(_) => "concatenate".into(),
            Op::Reshape { .. } => "reshape".into(),
            Op::Contract { .. } => "matmul".into(),
            Op::Scan { kind, .. } => kind.name().into(),
            Op::Check { op, .. } => format!("check-{op}"),
            Op::MapBlocks(m) => format!("{} {}", m.op, m.f.name()),
            Op::Fft { kind, .. } => kind.name().into(),
            Op::Decomp(d) => match d {
                Decomp::TsqrQ => "qr-q".into(),
                Decomp::TsqrR => "qr-r".into(),
                Decomp::SmallSvd(_) => "svd".into(),
                Decomp::Cholesky => "cholesky".into(),
                Decomp::TriSolve { .. } => "solve_triangular".into(),
                Decomp::FullRank { op, .. } => (*op).into(),
                Decomp::Stack { fun, .. } => fun.name().into(),
            },
        }
    }
}

/// One node of the lazy expression DAG.
#[derive(Debug)]
pub(crate) struct Node {
    pub id: u64,
    pub op: Op,
    pub inputs: Vec<Array>,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub grid: ChunkGrid,
}

/// A lazy, chunked n-dimensional array: a cheap handle to an expression node.
///
/// ```
/// let x = tessera::random::uniform(&[100, 100], &[30, 40], 7).unwrap();
/// let y = (&x + &x.t()).sum_axis(0).mean();
/// println!("{y}"); // shape, dtype, chunks and task count; nothing computed yet
/// let v: f64 = y.compute_scalar().unwrap();
/// assert!(v > 0.0);
/// ```
#[derive(Clone, Debug)]
pub struct Array(pub(crate) Arc<std::result::Result<Node, Error>>);

impl Array {
    pub(crate) fn new(
        op: Op,
        inputs: Vec<Array>,
        shape: Vec<usize>,
        dtype: DType,
        grid: ChunkGrid,
    ) -> Array {
        debug_assert_eq!(grid.ndim(), shape.len());
        Array(Arc::new(Ok(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            op,
            inputs,
            shape,
            dtype,
            grid,
        })))
    }

    pub(crate) fn err(e: Error) -> Array {
        Array(Arc::new(Err(e)))
    }

    pub(crate) fn node(&self) -> Result<&Node> {
        self.0.as_ref().as_ref().map_err(|e| e.clone())
    }

    /// Runs `f` on the node, or passes this array's error on.
    pub(crate) fn then(&self, f: impl FnOnce(&Node) -> Result<Array>) -> Array {
        match self.node().and_then(f) {
            Ok(a) => a,
            Err(e) => Array::err(e),
        }
    }
}
