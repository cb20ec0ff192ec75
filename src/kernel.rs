//! The IR between the graph and the backends: what ONE task does to its input chunks.
//!
//! [`ChunkOp`] is the contract every backend implements. Elementwise work is a
//! [`FusedExpr`]: a small SSA program whose leaves read input chunks or generators
//! through affine views (offset + one stride per output axis), so transposes, steps,
//! broadcasting and generated data (random, fills, ranges) fuse into one kernel.

use crate::dtype::{DType, HostArray, Scalar};
use std::sync::Arc;

/// Elementwise functions of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
    /// `e^x`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Hyperbolic tangent.
    Tanh,
    /// Round down.
    Floor,
    /// Round up.
    Ceil,
    /// Logical not (non-zero is true).
    Not,
    /// Tangent.
    Tan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Inverse sine.
    Asin,
    /// Inverse cosine.
    Acos,
    /// Inverse tangent.
    Atan,
    /// Inverse hyperbolic sine.
    Asinh,
    /// Inverse hyperbolic cosine.
    Acosh,
    /// Inverse hyperbolic tangent.
    Atanh,
    /// `e^x - 1`, accurate near 0.
    Expm1,
    /// `ln(1 + x)`, accurate near 0.
    Log1p,
    /// Base-2 logarithm.
    Log2,
    /// Base-10 logarithm.
    Log10,
    /// Round toward zero.
    Trunc,
    /// Round to the nearest integer, ties to even (NumPy's `rint` and `round`).
    Round,
    /// Whether a float is NaN (bool result).
    IsNan,
    /// Whether a float is +inf or -inf (bool result).
    IsInf,
    /// Whether a float is neither NaN nor infinite (bool result).
    IsFinite,
    /// Whether the sign bit is set (bool result; true for -0.0 and negative NaNs).
    SignBit,
    /// Bitwise not of an integer (`~x`).
    BitNot,
    /// -1, 0 or 1 by the sign (zeros and NaN are returned as they are), like `numpy.sign`.
    Sign,
    /// Cube root (real, negative for negative inputs).
    Cbrt,
    /// `2^x`.
    Exp2,
    /// The real part of a complex number (real result).
    Real,
    /// The imaginary part of a complex number (real result).
    Imag,
    /// The complex conjugate.
    Conj,
    /// The angle of a complex number in `(-π, π]` (real result).
    Angle,
}

impl UnaryOp {
    /// Whether the op tests its operand and returns bool (the operand keeps its dtype).
    pub fn is_predicate(self) -> bool {
        matches!(
            self,
            UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite | UnaryOp::SignBit
        )
    }
}

/// Elementwise functions of two arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (true division).
    Div,
    /// `a ** b`.
    Pow,
    /// Larger of the two (NaN propagates).
    Maximum,
    /// Smaller of the two (NaN propagates).
    Minimum,
    /// `a == b`.
    Eq,
    /// `a != b` (true when either is NaN).
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// Logical and.
    And,
    /// Logical or.
    Or,
    /// `atan2(a, b)`: the angle of the point (b, a), quadrant-aware.
    Atan2,
    /// `sqrt(a² + b²)` without undue overflow or underflow.
    Hypot,
    /// The magnitude of `a` with the sign bit of `b`.
    Copysign,
    /// `floor(a / b)` as NumPy's `floor_divide` computes it (integers: 0 for a zero
    /// divisor, wrapping for `MIN // -1`).
    FloorDiv,
    /// `a - floor(a / b) * b`, the sign of the divisor, as NumPy's `remainder` and
    /// Python's `%` (integers: 0 for a zero divisor).
    Rem,
    /// `a - trunc(a / b) * b`, the sign of the dividend, as C's and NumPy's `fmod`.
    Fmod,
    /// Bitwise and of integers.
    BitAnd,
    /// Bitwise or of integers.
    BitOr,
    /// Bitwise exclusive or of integers.
    BitXor,
    /// `a << b` (0 once `b` reaches the width or is negative, as NumPy).
    Shl,
    /// `a >> b`, arithmetic for signed integers (saturating once `b` reaches the width).
    Shr,
    /// `log(e^a + e^b)` without overflow.
    LogAddExp,
    /// The next representable float after `a` toward `b`.
    NextAfter,
    /// Larger of the two, ignoring a NaN (`numpy.fmax`).
    Fmax,
    /// Smaller of the two, ignoring a NaN (`numpy.fmin`).
    Fmin,
    /// The complex number `a + b·i` of two reals (infinite parts stay as they are,
    /// which `a + b * 1j` would turn into NaN).
    Complex,
}

impl BinaryOp {
    /// True when the op returns bool whatever its inputs.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }

    /// The op's NumPy-style name.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Sub => "subtract",
            Mul => "multiply",
            Div => "divide",
            Pow => "power",
            Maximum => "maximum",
            Minimum => "minimum",
            Eq => "equal",
            Ne => "not_equal",
            Lt => "less",
            Le => "less_equal",
            Gt => "greater",
            Ge => "greater_equal",
            And => "logical_and",
            Or => "logical_or",
            Atan2 => "atan2",
            Hypot => "hypot",
            Copysign => "copysign",
            FloorDiv => "floor_divide",
            Rem => "remainder",
            Fmod => "fmod",
            BitAnd => "bitwise_and",
            BitOr => "bitwise_or",
            BitXor => "bitwise_xor",
            Shl => "bitwise_left_shift",
            Shr => "bitwise_right_shift",
            LogAddExp => "logaddexp",
            NextAfter => "nextafter",
            Fmax => "fmax",
            Fmin => "fmin",
            Complex => "complex",
        }
    }
}

/// Running combinations along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// Running sum.
    Sum,
    /// Running product.
    Prod,
}

impl ScanKind {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            ScanKind::Sum => "cumsum",
            ScanKind::Prod => "cumprod",
        }
    }
}

/// Which discrete Fourier transform a task runs along its axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FftKind {
    /// Complex to complex, `exp(-2πi jk/n)`.
    Forward,
    /// Complex to complex, `exp(+2πi jk/n)` (unscaled: the task's `scale` normalizes).
    Inverse,
    /// Real to the `n/2 + 1` non-negative frequencies of its forward transform.
    RealForward,
    /// The `n/2 + 1` non-negative frequencies of a Hermitian spectrum to `n` reals.
    RealInverse,
}

impl FftKind {
    /// NumPy's name of the one-axis transform.
    pub fn name(self) -> &'static str {
        match self {
            FftKind::Forward => "fft",
            FftKind::Inverse => "ifft",
            FftKind::RealForward => "rfft",
            FftKind::RealInverse => "irfft",
        }
    }

    /// How many values along the axis the transform of length `n` reads and writes.
    ///
    /// ```
    /// use tessera::kernel::FftKind;
    /// assert_eq!(FftKind::RealForward.lengths(8), (8, 5));
    /// assert_eq!(FftKind::RealInverse.lengths(7), (4, 7));
    /// assert_eq!(FftKind::Forward.lengths(6), (6, 6));
    /// ```
    pub fn lengths(self, n: usize) -> (usize, usize) {
        match self {
            FftKind::Forward | FftKind::Inverse => (n, n),
            FftKind::RealForward => (n, n / 2 + 1),
            FftKind::RealInverse => (n / 2 + 1, n),
        }
    }
}

/// Random distributions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Uniform on `[low, high)`.
    Uniform {
        /// The lower bound (included).
        low: f64,
        /// The upper bound (excluded).
        high: f64,
    },
    /// Normal with mean and standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// Uniform integers on `[low, high)`, every value exactly equally likely.
    Integers {
        /// The lower bound (included).
        low: i64,
        /// The upper bound (excluded).
        high: i64,
    },
    /// Exponential with the given scale (mean).
    Exponential {
        /// The scale `1/λ`.
        scale: f64,
    },
    /// Gamma with shape `k` and scale `θ`.
    Gamma {
        /// The shape `k > 0`.
        shape: f64,
        /// The scale `θ > 0`.
        scale: f64,
    },
    /// Beta with shapes `a` and `b`.
    Beta {
        /// The first shape.
        a: f64,
        /// The second shape.
        b: f64,
    },
    /// Poisson with mean `lam`.
    Poisson {
        /// The mean `λ ≥ 0`.
        lam: f64,
    },
    /// Binomial: successes in `n` trials of probability `p`.
    Binomial {
        /// The trials.
        n: u64,
        /// The success probability.
        p: f64,
    },
}

impl Dist {
    /// The distribution's name (NumPy's).
    ///
    /// ```
    /// assert_eq!(tessera::kernel::Dist::Poisson { lam: 2.0 }.name(), "poisson");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Dist::Uniform { .. } => "uniform",
            Dist::Normal { .. } => "normal",
            Dist::Integers { .. } => "integers",
            Dist::Exponential { .. } => "exponential",
            Dist::Gamma { .. } => "gamma",
            Dist::Beta { .. } => "beta",
            Dist::Poisson { .. } => "poisson",
            Dist::Binomial { .. } => "binomial",
        }
    }

    /// Whether values are drawn by [`crate::sampling::sample`] (a bounded rejection or
    /// inversion per element, on the CPU) rather than by the fill kernels every device has.
    pub fn sampled(&self) -> bool {
        !matches!(self, Dist::Uniform { .. } | Dist::Normal { .. })
    }
}

/// A pure function of the global element index: data that never needs to be stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Generator {
    /// Philox random numbers keyed by `(seed, index)`.
    Random {
        /// The Philox key.
        seed: u64,
        /// The distribution.
        dist: Dist,
    },
    /// `start + i * step`; element `last` is exactly `stop` when `last` is set (linspace).
    Range {
        /// The value at index 0.
        start: f64,
        /// The distance between neighbours.
        step: f64,
        /// `(index, value)`: the element at `index` is exactly `value` (linspace's endpoint).
        last: Option<(u64, f64)>,
    },
    /// 1 where `col - row == k` for a matrix with `ncols` columns.
    Eye {
        /// Columns of the matrix.
        ncols: u64,
        /// The diagonal's offset (positive: above the main one).
        k: i64,
    },
}

/// Where a leaf's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum LeafSource {
    /// Input chunk number `slot` of the task (C-contiguous).
    Input(usize),
    /// A generator evaluated at the global index.
    Gen(Generator),
}

/// One leaf: element at output coordinate `c` is `source[offset + Σ c[k]·strides[k]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Where the values come from.
    pub source: LeafSource,
    /// The leaf's dtype.
    pub dtype: DType,
    /// Element index of output coordinate 0.
    pub offset: i64,
    /// Element-index step per output axis (negative for reversed views, 0 for broadcast).
    pub strides: Vec<i64>,
}

/// One instruction of a fused program; operands are earlier instruction numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Instr {
    /// The value of leaf `n`.
    Leaf(usize),
    /// A constant.
    Const(Scalar),
    /// A function of one earlier result.
    Unary(UnaryOp, usize),
    /// A function of two earlier results.
    Binary(BinaryOp, usize, usize),
    /// `cond ? a : b` of three earlier results.
    Where(usize, usize, usize),
    /// An earlier result converted to this instruction's dtype.
    Cast(usize),
}

/// A fused elementwise program producing one value per output element.
///
/// ```
/// use tessera::kernel::*;
/// use tessera::DType;
/// // out = in0 * 2 over a 1-d chunk.
/// let e = FusedExpr {
///     leaves: vec![Leaf { source: LeafSource::Input(0), dtype: DType::F64, offset: 0, strides: vec![1] }],
///     instrs: vec![(Instr::Leaf(0), DType::F64), (Instr::Const(tessera::Scalar::F64(2.0)), DType::F64),
///                  (Instr::Binary(BinaryOp::Mul, 0, 1), DType::F64)],
/// };
/// assert_eq!(e.dtype(), DType::F64);
/// assert_eq!(e.num_inputs(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FusedExpr {
    /// The values the program reads.
    pub leaves: Vec<Leaf>,
    /// Instructions with their result dtypes; the last one is the output.
    pub instrs: Vec<(Instr, DType)>,
}

/// The structure of a fused program: what every backend's generated source for it
/// depends on (instructions with their constants and dtypes, each leaf's dtype and kind
/// of source), and nothing that travels at run time (offsets, strides, shapes, seeds,
/// generator parameters). Equal keys mean the same kernel, so a backend compiles a
/// structure once and every chunk of it reuses the kernel.
///
/// ```
/// use tessera::kernel::{FusedExpr, Instr, Leaf, LeafSource};
/// let leaf = |offset| FusedExpr {
///     leaves: vec![Leaf { source: LeafSource::Input(0), dtype: tessera::DType::F32, offset, strides: vec![1] }],
///     instrs: vec![(Instr::Leaf(0), tessera::DType::F32)],
/// };
/// assert_eq!(leaf(0).structure_key(), leaf(4096).structure_key());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExprKey(Vec<u64>);

impl FusedExpr {
    /// The program's [`ExprKey`].
    pub fn structure_key(&self) -> ExprKey {
        let mut words = Vec::with_capacity(4 * self.instrs.len() + 3 * self.leaves.len() + 2);
        let d = |t: DType| t as u64;
        words.push(self.instrs.len() as u64);
        for (ins, t) in &self.instrs {
            match ins {
                Instr::Leaf(l) => words.extend([1, *l as u64]),
                // The imaginary part too: a device bakes complex constants into its source.
                Instr::Const(v) => words.extend([
                    2,
                    v.as_f64().to_bits(),
                    v.as_i64() as u64,
                    v.as_c64().im.to_bits(),
                ]),
                Instr::Unary(op, a) => words.extend([3, *op as u64, *a as u64]),
                Instr::Binary(op, a, b) => words.extend([4, *op as u64, *a as u64, *b as u64]),
                Instr::Where(c, a, b) => words.extend([5, *c as u64, *a as u64, *b as u64]),
                Instr::Cast(a) => words.extend([6, *a as u64]),
            }
            words.push(d(*t));
        }
        words.push(self.leaves.len() as u64);
        for leaf in &self.leaves {
            words.push(d(leaf.dtype));
            match &leaf.source {
                LeafSource::Input(slot) => words.extend([1, *slot as u64]),
                LeafSource::Gen(Generator::Random { dist, .. }) => match dist {
                    Dist::Uniform { .. } => words.push(2),
                    Dist::Normal { .. } => words.push(3),
                    // Sampled on the CPU only (their parameters never reach a kernel),
                    // but each keeps its own key: a cached decline names its own dist.
                    Dist::Integers { .. } => words.push(6),
                    Dist::Exponential { .. } => words.push(7),
                    Dist::Gamma { .. } => words.push(8),
                    Dist::Beta { .. } => words.push(9),
                    Dist::Poisson { .. } => words.push(10),
                    Dist::Binomial { .. } => words.push(11),
                },
                LeafSource::Gen(Generator::Range { .. }) => words.push(4),
                LeafSource::Gen(Generator::Eye { .. }) => words.push(5),
            }
        }
        ExprKey(words)
    }

    /// The output dtype.
    pub fn dtype(&self) -> DType {
        self.instrs.last().map(|i| i.1).unwrap_or(DType::F64)
    }

    /// How many input chunks the program reads.
    pub fn num_inputs(&self) -> usize {
        self.leaves
            .iter()
            .filter_map(|l| match l.source {
                LeafSource::Input(s) => Some(s + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// A short human description, e.g. `add(random, transpose(random))`.
    pub fn describe(&self) -> String {
        fn go(e: &FusedExpr, i: usize) -> String {
            match &e.instrs[i].0 {
                Instr::Leaf(l) => match &e.leaves[*l].source {
                    LeafSource::Input(s) => format!("in{s}"),
                    LeafSource::Gen(Generator::Random { .. }) => "random".into(),
                    LeafSource::Gen(Generator::Range { .. }) => "range".into(),
                    LeafSource::Gen(Generator::Eye { .. }) => "eye".into(),
                },
                Instr::Const(s) => format!("{s}"),
                Instr::Unary(op, a) => format!("{op:?}({})", go(e, *a)).to_lowercase(),
                Instr::Binary(op, a, b) => format!("{}({}, {})", op.name(), go(e, *a), go(e, *b)),
                Instr::Where(c, a, b) => {
                    format!("where({}, {}, {})", go(e, *c), go(e, *a), go(e, *b))
                }
                Instr::Cast(a) => format!("{}({})", e.instrs[i].1, go(e, *a)),
            }
        }
        if self.instrs.is_empty() {
            return String::new();
        }
        go(self, self.instrs.len() - 1)
    }
}

/// Reductions Tessera knows how to split into per-chunk partials and a tree combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// Sum (integers and bools in wrapping i64).
    Sum,
    /// Product (integers and bools in wrapping i64).
    Prod,
    /// Minimum (NaN wins).
    Min,
    /// Maximum (NaN wins).
    Max,
    /// Index of the first minimum (or first NaN).
    ArgMin,
    /// Index of the first maximum (or first NaN).
    ArgMax,
    /// Whether any element is non-zero.
    Any,
    /// Whether every element is non-zero.
    All,
    /// Arithmetic mean.
    Mean,
    /// Variance with `n - ddof` in the denominator.
    Var {
        /// Delta degrees of freedom.
        ddof: u32,
    },
    /// Standard deviation with `n - ddof` in the denominator.
    Std {
        /// Delta degrees of freedom.
        ddof: u32,
    },
}

impl Reduction {
    /// The op's NumPy-style name.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::Prod => "prod",
            Reduction::Min => "min",
            Reduction::Max => "max",
            Reduction::ArgMin => "argmin",
            Reduction::ArgMax => "argmax",
            Reduction::Any => "any",
            Reduction::All => "all",
            Reduction::Mean => "mean",
            Reduction::Var { .. } => "var",
            Reduction::Std { .. } => "std",
        }
    }

    /// Number of arrays in a partial result (moments carry count, mean and M2).
    pub fn partial_parts(self) -> usize {
        match self {
            Reduction::ArgMin | Reduction::ArgMax => 2,
            Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => 3,
            _ => 1,
        }
    }

    /// Result dtype for input dtype `d`, or `None` when unsupported.
    pub fn out_dtype(self, d: DType) -> Option<DType> {
        Some(match self {
            Reduction::Sum | Reduction::Prod => d.sum_dtype(),
            Reduction::Min | Reduction::Max => d,
            Reduction::ArgMin | Reduction::ArgMax => DType::I64,
            Reduction::Any | Reduction::All => DType::Bool,
            Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } => d.to_float(),
        })
    }

    /// Whether partials of `self` over `d` values hold [`u64_key`]s: u64 extrema and
    /// arg-reductions travel in i64 partials with the top bit flipped, which keeps
    /// their order; finalizing flips it back.
    pub fn u64_keyed(self, d: DType) -> bool {
        d == DType::U64
            && matches!(
                self,
                Reduction::Min | Reduction::Max | Reduction::ArgMin | Reduction::ArgMax
            )
    }

    /// Whether partials of dtype `d` accumulate in f64 (else in i64).
    pub(crate) fn float_acc(self, d: DType) -> bool {
        d.is_float()
            || matches!(
                self,
                Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. }
            )
    }
}

/// The i64 whose signed order is the unsigned order of `x` (see
/// [`Reduction::u64_keyed`]).
///
/// ```
/// use tessera::kernel::u64_key;
/// assert!(u64_key(u64::MAX) > u64_key(1 << 63) && u64_key(1 << 63) > u64_key(0));
/// ```
pub fn u64_key(x: u64) -> i64 {
    (x ^ (1 << 63)) as i64
}

/// The u64 whose [`u64_key`] is `k`.
///
/// ```
/// use tessera::kernel::{u64_from_key, u64_key};
/// assert_eq!(u64_from_key(u64_key(u64::MAX - 3)), u64::MAX - 3);
/// ```
pub fn u64_from_key(k: i64) -> u64 {
    k as u64 ^ (1 << 63)
}

/// Where the global flat index of an arg-reduction comes from: for a chunk element at
/// local coordinate `c`, `index = base + Σ c[k]·strides[k]` over the reduced axes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArgIndex {
    /// The global flat index of local coordinate 0.
    pub base: i64,
    /// Global flat-index step per chunk axis.
    pub strides: Vec<i64>,
}

/// Turning the final partial into the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalize {
    /// The result's dtype.
    pub dtype: DType,
    /// The result chunk's shape (reduced axes dropped unless keepdims).
    pub shape: Vec<usize>,
}

/// One rectangular copy in an [`ChunkOp::Assemble`].
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The input that holds the rectangle.
    pub slot: usize,
    /// Its start in that input.
    pub src_start: Vec<usize>,
    /// Its start in the output chunk.
    pub dst_start: Vec<usize>,
    /// Its extent.
    pub shape: Vec<usize>,
}

/// Dense linear-algebra kernels on whole chunks. The CPU computes them in f64 with faer
/// and casts the result to the task's dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum LinalgOp {
    /// `(batch, m, k) @ (batch, k, n)` of two C-contiguous inputs.
    MatMul {
        /// Independent products (batch axes flattened).
        batch: usize,
        /// Rows of the left operand.
        m: usize,
        /// The contracted length.
        k: usize,
        /// Columns of the right operand.
        n: usize,
    },
    /// QR of the row-stack of part `part` of every input (each `_ × n`): parts `[Q, R]`.
    Qr {
        /// Which part of each input is stacked.
        part: usize,
        /// Columns.
        n: usize,
    },
    /// Part 0 of input 0 (`m × k`) times rows `row0..row0 + k` of part 0 of input 1: the
    /// TSQR step that carries the upper levels' Q down to a block.
    QMul {
        /// The first row of input 1 that multiplies.
        row0: usize,
    },
    /// Part `p` of the input as a dense chunk.
    Part(usize),
    /// Thin SVD of the input (`k × n`): parts `[U, S, Vt]`.
    Svd,
    /// Blocked Cholesky: `S = A - Σ L_a L_bᵀ` over the input pairs after the first, then
    /// `L = chol(S)` (diagonal block) or `S L_kk⁻ᵀ` with `L_kk` the last input.
    Cholesky {
        /// A diagonal block (factorize) rather than one below it (solve).
        diagonal: bool,
    },
    /// Input 0 unchanged when the singular values in input 1 (of an `rows × cols`
    /// matrix) show full rank, else a [`crate::Error::LinAlg`] for `op`.
    FullRank {
        /// The user's operation (`solve`, `inv`).
        op: &'static str,
        /// Rows of the matrix.
        rows: usize,
        /// Columns of the matrix.
        cols: usize,
    },
    /// Blocked triangular solve: `S = B - Σ T_k X_k` over the input pairs after the first,
    /// then `T_ii⁻¹ S` with `T_ii` (lower or upper) the last input.
    TriSolve {
        /// `T` is lower (else upper) triangular.
        lower: bool,
    },
    /// `fun` applied to every matrix of a stack: input 0 is `(..., rows, cols)` with the
    /// matrix axes whole (and input 1 the right sides `(..., rows, k)` of a solve); the
    /// result's parts are [`StackFn::parts`], in the input's dtype (computed in double precision).
    Stack {
        /// The decomposition.
        fun: StackFn,
        /// Rows of each matrix.
        rows: usize,
        /// Columns of each matrix.
        cols: usize,
        /// Where the chunk's first matrix sits in the stack's leading axes (errors name
        /// the failing matrix by its index in the whole stack).
        origin: Vec<usize>,
    },
    /// Part `p` of a [`LinalgOp::Stack`] result, unchanged (any dtype).
    StackPart(usize),
}

/// A per-matrix function of the linear-algebra extension, applied to each matrix of a
/// stack (NumPy's and the array API standard's batched `det`, `eigh`, `svd`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StackFn {
    /// The determinant.
    Det,
    /// `sign, log|det|` (the sign complex for complex input; 0 and -inf when singular).
    Slogdet,
    /// The inverse (a singular matrix is an error).
    Inv,
    /// `A⁻¹ B` for each matrix and its right sides.
    Solve,
    /// The Cholesky factor, lower (`L Lᴴ = A`) or upper (`Uᴴ U = A`).
    Cholesky {
        /// Return `U = Lᴴ`.
        upper: bool,
    },
    /// Eigenvalues (ascending, real) and eigenvectors of a Hermitian matrix (its lower
    /// triangle is read, as NumPy does).
    Eigh,
    /// The eigenvalues of [`StackFn::Eigh`] alone.
    Eigvalsh,
    /// Eigenvalues and eigenvectors of a general matrix (complex).
    Eig,
    /// The eigenvalues of [`StackFn::Eig`] alone.
    Eigvals,
    /// `U, S, Vh` (S descending, real).
    Svd {
        /// `U` is `rows × rows` and `Vh` `cols × cols` (else `K = min(rows, cols)` wide).
        full: bool,
    },
    /// The singular values alone (descending).
    Svdvals,
    /// `Q, R` by Householder reflections.
    Qr {
        /// `Q` is `rows × rows` and `R` `rows × cols` (else `rows × K` and `K × cols`).
        complete: bool,
    },
}

impl StackFn {
    /// The standard's name of the function.
    ///
    /// ```
    /// use tessera::kernel::StackFn;
    /// assert_eq!(StackFn::Svd { full: false }.name(), "svd");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StackFn::Det => "det",
            StackFn::Slogdet => "slogdet",
            StackFn::Inv => "inv",
            StackFn::Solve => "solve",
            StackFn::Cholesky { .. } => "cholesky",
            StackFn::Eigh => "eigh",
            StackFn::Eigvalsh => "eigvalsh",
            StackFn::Eig => "eig",
            StackFn::Eigvals => "eigvals",
            StackFn::Svd { .. } => "svd",
            StackFn::Svdvals => "svdvals",
            StackFn::Qr { .. } => "qr",
        }
    }

    /// The trailing shape and dtype of each part of the result for one `rows × cols`
    /// matrix of `dtype` (`k` right-side columns for a solve); the stack's leading axes
    /// come first in every part.
    ///
    /// ```
    /// use tessera::kernel::StackFn;
    /// use tessera::DType;
    /// let parts = StackFn::Svd { full: false }.parts(5, 3, 0, DType::C64);
    /// assert_eq!(parts, vec![(vec![5, 3], DType::C64), (vec![3], DType::F32), (vec![3, 3], DType::C64)]);
    /// ```
    pub fn parts(
        self,
        rows: usize,
        cols: usize,
        k: usize,
        dtype: DType,
    ) -> Vec<(Vec<usize>, DType)> {
        let real = dtype.real_part();
        let complex = dtype.to_complex();
        let kk = rows.min(cols);
        match self {
            StackFn::Det => vec![(vec![], dtype)],
            StackFn::Slogdet => vec![(vec![], dtype), (vec![], real)],
            StackFn::Inv | StackFn::Cholesky { .. } => vec![(vec![rows, rows], dtype)],
            StackFn::Solve => vec![(vec![rows, k], dtype)],
            StackFn::Eigh => vec![(vec![rows], real), (vec![rows, rows], dtype)],
            StackFn::Eigvalsh => vec![(vec![rows], real)],
            StackFn::Eig => vec![(vec![rows], complex), (vec![rows, rows], complex)],
            StackFn::Eigvals => vec![(vec![rows], complex)],
            StackFn::Svd { full } => {
                let (u, v) = if full { (rows, cols) } else { (kk, kk) };
                vec![
                    (vec![rows, u], dtype),
                    (vec![kk], real),
                    (vec![v, cols], dtype),
                ]
            }
            StackFn::Svdvals => vec![(vec![kk], real)],
            StackFn::Qr { complete } => {
                let q = if complete { rows } else { kk };
                vec![(vec![rows, q], dtype), (vec![q, cols], dtype)]
            }
        }
    }
}

/// What one task does: one variant per kind, each carrying its own named payload,
/// so a backend takes the payload it runs (`&ReduceOp`) instead of loose fields.
#[derive(Debug, Clone)]
pub enum ChunkOp {
    /// A dense linear-algebra kernel; `shape` is the shape of part 0 of the result.
    Linalg(LinalgTask),
    /// Evaluate a fused program over a chunk of `shape`.
    Map(MapOp),
    /// Evaluate `expr` over `shape` and reduce `axes` into a partial (those axes become 1),
    /// finalizing right away when this is the only partial.
    Reduce(ReduceOp),
    /// Several reductions of one program over one chunk, the program evaluated once
    /// (horizontal fusion); the output holds each reduction's parts in turn.
    ReduceMany(ReduceManyOp),
    /// Parts of the input's output: one reduction's result out of a `ReduceMany`.
    Select(SelectOp),
    /// Combine same-shaped partials, in input order, into one.
    Combine(CombineOp),
    /// Gather along `axis`: output position `i` is `(input slot, index)` `picks[i]`.
    Take(TakeOp),
    /// Copy rectangles of inputs into a new chunk of `shape` (rechunk, concatenate).
    Assemble(AssembleOp),
    /// A block the scheduler's store already holds (of a persisted array): it is
    /// never run, its copies are handed to the store before the compute starts.
    Stored(StoredOp),
    /// A region of a user-provided in-memory array.
    Source(SourceOp),
    /// A running sum or product along an axis of input 0, continuing from the last
    /// slice of input 1 (the previous block's result) when there is one.
    Scan(ScanOp),
    /// Input 0 unchanged, or an error where input 1 (bool, same shape) has a true.
    Check(CheckOp),
    /// The user's function on its input blocks (host code: the CPU runs it).
    User(UserOp),
    /// One-dimensional discrete Fourier transforms of every lane along an axis.
    Fft(FftOp),
}

/// Transforms of length `n` of every lane of input 0 along `axis` (the chunk holds the
/// whole axis). A lane longer than the transform reads is cut, a shorter one is padded
/// with zeros (NumPy's `n=`); results are multiplied by `scale` (the norm).
#[derive(Debug, Clone)]
pub struct FftOp {
    /// Which transform.
    pub kind: FftKind,
    /// The chunk axis transformed.
    pub axis: usize,
    /// The transform's length (the real length of real transforms).
    pub n: usize,
    /// Factor applied to every result (1, `1/n` or `1/sqrt(n)`).
    pub scale: f64,
    /// The dtype of the result (complex, or real for `RealInverse`).
    pub dtype: DType,
    /// The result's shape.
    pub shape: Vec<usize>,
}

/// One block of a user function: the inputs are the regions `info` describes, the
/// result is checked against `shape` and `dtype` (after cutting `trim` off).
#[derive(Debug, Clone)]
pub struct UserOp {
    /// The user-facing operation (`map_blocks`, `map_overlap`).
    pub op: &'static str,
    /// The function.
    pub f: crate::userfn::BlockFn,
    /// What the function is told.
    pub info: std::sync::Arc<crate::userfn::BlockInfo>,
    /// Values cut off the function's result before and after, per axis (a
    /// `map_overlap`'s halo); empty for none.
    pub trim: Vec<(usize, usize)>,
    /// The block's dtype.
    pub dtype: DType,
    /// The block's shape (after the trim).
    pub shape: Vec<usize>,
    /// GPU source a device may run instead of `f`; a kernel writes the trimmed block
    /// itself (it is told the halo).
    pub kernel: Option<std::sync::Arc<crate::userfn::UserKernel>>,
}

/// A data-dependent check of one chunk: input 0 passes through, unless any element of
/// input 1 (a bool chunk of the same shape) is true, which fails the task with the
/// invalid-argument error `op: reason`.
#[derive(Debug, Clone)]
pub struct CheckOp {
    /// The user-facing operation the check belongs to.
    pub op: &'static str,
    /// What the data got wrong, and the fix.
    pub reason: &'static str,
    /// The dtype of input 0 and the result.
    pub dtype: DType,
    /// The chunk's shape.
    pub shape: Vec<usize>,
}

/// A running sum or product of one chunk along `axis`.
#[derive(Debug, Clone)]
pub struct ScanOp {
    /// What is accumulated.
    pub kind: ScanKind,
    /// The chunk axis scanned.
    pub axis: usize,
    /// The dtype of input, carry and result.
    pub dtype: DType,
    /// The chunk's shape.
    pub shape: Vec<usize>,
}

/// A dense linear-algebra kernel; `shape` is the shape of part 0 of the result.
#[derive(Debug, Clone)]
pub struct LinalgTask {
    /// The kernel.
    pub op: LinalgOp,
    /// The dtype of the result.
    pub dtype: DType,
    /// The shape of part 0 of the result.
    pub shape: Vec<usize>,
}

/// Evaluate a fused program over a chunk of `shape`.
#[derive(Debug, Clone)]
pub struct MapOp {
    /// The program.
    pub expr: FusedExpr,
    /// The output chunk's shape.
    pub shape: Vec<usize>,
}

/// Evaluate `expr` over `shape` and reduce `axes` into a partial (those axes become 1),
/// finalizing right away when this is the only partial.
#[derive(Debug, Clone)]
pub struct ReduceOp {
    /// The values, as a fused program.
    pub expr: FusedExpr,
    /// The chunk's shape.
    pub shape: Vec<usize>,
    /// What is computed.
    pub reduction: Reduction,
    /// The chunk axes reduced.
    pub axes: Vec<usize>,
    /// Where arg-reductions' global indices come from.
    pub arg: ArgIndex,
    /// Set when this partial is already the result.
    pub finalize: Option<Finalize>,
}

/// One reduction of a [`ReduceManyOp`]: a [`ReduceOp`] without the program and shape
/// it shares with the others.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceOut {
    /// What is computed.
    pub reduction: Reduction,
    /// The chunk axes reduced.
    pub axes: Vec<usize>,
    /// Where arg-reductions' global indices come from.
    pub arg: ArgIndex,
    /// Set when this partial is already the result.
    pub finalize: Option<Finalize>,
}

impl ReduceOut {
    /// How many parts its result has: one when finalized, else the partial's.
    pub fn parts(&self) -> usize {
        if self.finalize.is_some() {
            1
        } else {
            self.reduction.partial_parts()
        }
    }
}

/// Several reductions of one program over one chunk: the program is evaluated once and
/// every reduction folds the same values (`x.sum(0), x.mean(1), x.max()` generate or
/// read `x`'s block once). The output holds each reduction's parts in turn.
#[derive(Debug, Clone)]
pub struct ReduceManyOp {
    /// The values, as a fused program.
    pub expr: FusedExpr,
    /// The chunk's shape.
    pub shape: Vec<usize>,
    /// The reductions, in output order.
    pub outs: Vec<ReduceOut>,
}

/// Parts `first..first + count` of the input, as its own chunk.
#[derive(Debug, Clone)]
pub struct SelectOp {
    /// The first part taken.
    pub first: usize,
    /// How many parts.
    pub count: usize,
    /// The dtype of the first part taken.
    pub dtype: DType,
}

/// Combine same-shaped partials, in input order, into one.
#[derive(Debug, Clone)]
pub struct CombineOp {
    /// What is combined.
    pub reduction: Reduction,
    /// The dtype of the values that were reduced.
    pub input_dtype: DType,
    /// Set when this combine produces the result.
    pub finalize: Option<Finalize>,
}

/// Gather along `axis`: output position `i` is `(input slot, index)` `picks[i]`.
#[derive(Debug, Clone)]
pub struct TakeOp {
    /// The axis gathered along.
    pub axis: usize,
    /// `(input slot, index along axis)` for each output position.
    pub picks: Vec<(usize, usize)>,
    /// The output chunk's shape.
    pub shape: Vec<usize>,
    /// Its dtype.
    pub dtype: DType,
}

/// Copy rectangles of inputs into a new chunk of `shape` (rechunk, concatenate).
#[derive(Debug, Clone)]
pub struct AssembleOp {
    /// The output chunk's dtype.
    pub dtype: DType,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The rectangles copied into it.
    pub pieces: Vec<Piece>,
}

/// A block the scheduler's store already holds (of a persisted array): it is
/// never run, its copies are handed to the store before the compute starts.
#[derive(Debug, Clone)]
pub struct StoredOp {
    /// The block's dtype.
    pub dtype: DType,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// A region of a stored array: the user's in-memory array, or a file.
#[derive(Debug, Clone)]
pub struct SourceOp {
    /// The whole array, read region by region.
    pub data: Arc<dyn crate::storage::ChunkSource>,
    /// The region's start.
    pub start: Vec<usize>,
    /// The region's shape.
    pub shape: Vec<usize>,
}

impl ChunkOp {
    /// The dtype the task computes in, where it has one.
    pub fn dtype(&self) -> Option<DType> {
        match self {
            ChunkOp::Map(MapOp { expr, .. })
            | ChunkOp::Reduce(ReduceOp { expr, .. })
            | ChunkOp::ReduceMany(ReduceManyOp { expr, .. }) => Some(expr.dtype()),
            ChunkOp::Select(SelectOp { dtype, .. }) => Some(*dtype),
            ChunkOp::Combine(CombineOp { input_dtype, .. }) => Some(*input_dtype),
            ChunkOp::Take(TakeOp { dtype, .. })
            | ChunkOp::Assemble(AssembleOp { dtype, .. })
            | ChunkOp::Stored(StoredOp { dtype, .. })
            | ChunkOp::Linalg(LinalgTask { dtype, .. }) => Some(*dtype),
            ChunkOp::Source(SourceOp { data, .. }) => Some(data.dtype()),
            ChunkOp::Scan(ScanOp { dtype, .. })
            | ChunkOp::Check(CheckOp { dtype, .. })
            | ChunkOp::User(UserOp { dtype, .. })
            | ChunkOp::Fft(FftOp { dtype, .. }) => Some(*dtype),
        }
    }

    /// A complex dtype the task reads, computes or writes, if any: devices have no
    /// complex kernels yet, so they decline such a task by this (the CPU runs it).
    ///
    /// ```
    /// use tessera::kernel::{ChunkOp, StoredOp};
    /// let op = ChunkOp::Stored(StoredOp { dtype: tessera::DType::C64, shape: vec![2] });
    /// assert_eq!(op.complex_dtype(), Some(tessera::DType::C64));
    /// ```
    pub fn complex_dtype(&self) -> Option<DType> {
        let of_expr = |e: &FusedExpr| {
            e.instrs
                .iter()
                .map(|(_, d)| *d)
                .chain(e.leaves.iter().map(|l| l.dtype))
                .find(|d| d.is_complex())
        };
        match self {
            ChunkOp::Map(MapOp { expr, .. })
            | ChunkOp::Reduce(ReduceOp { expr, .. })
            | ChunkOp::ReduceMany(ReduceManyOp { expr, .. }) => of_expr(expr),
            ChunkOp::User(u) => std::iter::once(u.dtype)
                .chain(u.info.inputs.iter().map(|i| i.dtype))
                .find(|d| d.is_complex()),
            other => other.dtype().filter(|d| d.is_complex()),
        }
    }

    /// Whether the task reads data from the caller's memory or a file.
    ///
    /// ```
    /// use tessera::kernel::{ChunkOp, SourceOp};
    /// let data: std::sync::Arc<dyn tessera::storage::ChunkSource> =
    ///     std::sync::Arc::new(tessera::HostArray::from(ndarray::arr1(&[1.0]).into_dyn()));
    /// assert!(ChunkOp::Source(SourceOp { data, start: vec![0], shape: vec![1] }).is_source());
    /// ```
    pub fn is_source(&self) -> bool {
        matches!(self, ChunkOp::Source(_))
    }

    /// Short name for logs, DOT output and progress.
    pub fn name(&self) -> String {
        match self {
            ChunkOp::Map(MapOp { expr, .. }) => format!("map {}", expr.describe()),
            ChunkOp::Reduce(ReduceOp { reduction, .. }) => format!("{}-partial", reduction.name()),
            ChunkOp::ReduceMany(ReduceManyOp { outs, .. }) => {
                let names: Vec<&str> = outs.iter().map(|o| o.reduction.name()).collect();
                format!("{}-partials", names.join("+"))
            }
            ChunkOp::Select(SelectOp { first, count, .. }) => {
                format!("parts{first}..{}", first + count)
            }
            ChunkOp::Combine(CombineOp { reduction, .. }) => {
                format!("{}-combine", reduction.name())
            }
            ChunkOp::Take(TakeOp { .. }) => "take".into(),
            ChunkOp::Assemble(AssembleOp { .. }) => "assemble".into(),
            ChunkOp::Source(SourceOp { data, .. }) => data.label().into(),
            ChunkOp::Stored(StoredOp { .. }) => "persisted".into(),
            ChunkOp::Scan(ScanOp { kind, .. }) => kind.name().into(),
            ChunkOp::Check(CheckOp { op, .. }) => format!("check-{op}"),
            ChunkOp::User(UserOp { op, f, .. }) => format!("{op} {}", f.name()),
            ChunkOp::Fft(FftOp { kind, n, .. }) => format!("{}[{n}]", kind.name()),
            ChunkOp::Linalg(LinalgTask { op, .. }) => match op {
                LinalgOp::MatMul { .. } => "matmul".into(),
                LinalgOp::Qr { .. } => "qr".into(),
                LinalgOp::QMul { .. } => "tsqr-q".into(),
                LinalgOp::Part(p) => format!("part{p}"),
                LinalgOp::Svd => "svd".into(),
                LinalgOp::Cholesky { .. } => "cholesky".into(),
                LinalgOp::TriSolve { .. } => "solve-triangular".into(),
                LinalgOp::FullRank { .. } => "full-rank".into(),
                LinalgOp::Stack { fun, .. } => fun.name().into(),
                LinalgOp::StackPart(p) => format!("part{p}"),
            },
        }
    }
}

/// A task's value: one array for dense chunks, several for reduction partials
/// (e.g. count, mean and M2 for var).
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The arrays (one for a dense chunk).
    pub parts: Vec<HostArray>,
}

impl Chunk {
    /// A dense chunk.
    pub fn dense(a: HostArray) -> Chunk {
        Chunk { parts: vec![a] }
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        self.parts.iter().map(|p| p.nbytes()).sum()
    }

    /// The first (for dense chunks, only) array.
    pub fn array(&self) -> &HostArray {
        &self.parts[0]
    }
}
