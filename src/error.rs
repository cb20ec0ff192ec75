//! Errors as values: every failure on user input is one of these, with the op, the
//! shapes involved and a hint at the fix.

use crate::dtype::DType;

/// Result alias used across Tessera.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when building or computing an array.
///
/// ```
/// let a = tessera::zeros(&[3, 4], 2).unwrap();
/// let b = tessera::zeros(&[5], 2).unwrap();
/// let err = (&a + &b).check().unwrap_err();
/// assert!(err.to_string().contains("add"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree (broadcasting, concatenation, ...) do not.
    #[error("{op}: shapes {left:?} and {right:?} do not match; {hint}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// The left operand's shape.
        left: Vec<usize>,
        /// The right operand's shape.
        right: Vec<usize>,
        /// How to fix it.
        hint: String,
    },
    /// An axis argument is outside `-ndim..ndim`.
    #[error("{op}: axis {axis} is out of range {}", axis_range(*ndim, shape))]
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis given.
        axis: isize,
        /// The rank the axis counts in: the array's, or the result's where the op adds
        /// an axis (`expand_dims`).
        ndim: usize,
        /// The array's shape.
        shape: Vec<usize>,
    },
    /// An index or slice does not fit the axis it is applied to.
    #[error("{op}: {reason} (axis {axis} of shape {shape:?})")]
    BadIndex {
        /// The operation.
        op: &'static str,
        /// The axis.
        axis: usize,
        /// The array's shape.
        shape: Vec<usize>,
        /// What was wrong.
        reason: String,
    },
    /// A chunk specification cannot be applied to the shape.
    #[error("{op}: invalid chunks for shape {shape:?}: {reason}")]
    InvalidChunks {
        /// The operation.
        op: &'static str,
        /// The array's shape.
        shape: Vec<usize>,
        /// What was wrong.
        reason: String,
    },
    /// The op does not support this dtype (on this device, or at all).
    #[error("{op}: dtype {dtype} is not supported on {device}: {hint}")]
    UnsupportedDType {
        /// The operation.
        op: &'static str,
        /// The dtype.
        dtype: DType,
        /// The device.
        device: String,
        /// How to fix it.
        hint: String,
    },
    /// An argument is invalid for a reason that is not about shapes.
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What was wrong, and the fix.
        reason: String,
    },
    /// Something does not fit the memory tier it must live in, even with everything
    /// else spilled to the tier below (found before anything runs where it can be).
    #[error("out of memory in {tier}: {what} needs {needed} bytes but the limit is {limit} bytes; {fix}")]
    OutOfMemory {
        /// The memory tier.
        tier: Tier,
        /// What did not fit (a task with its inputs, the result, a spilled chunk).
        what: String,
        /// How to fix it.
        fix: String,
        /// Bytes the task needs.
        needed: u64,
        /// The tier's limit.
        limit: u64,
    },
    /// The result's dtype is not the one asked for.
    #[error("{op}: the array has dtype {actual} but {requested} was requested; call .astype(DType::{requested:?}) first")]
    DTypeMismatch {
        /// The operation.
        op: &'static str,
        /// The array's dtype.
        actual: DType,
        /// The dtype asked for.
        requested: DType,
    },
    /// A linear-algebra computation has no answer for this input (a singular matrix, one
    /// that is not positive definite): the input's fault, found while computing, like
    /// NumPy's `LinAlgError`.
    #[error("{op}: {reason}")]
    LinAlg {
        /// The operation.
        op: &'static str,
        /// What was found, and the fix.
        reason: String,
    },
    /// A file or external program failed.
    #[error("{op}: {reason}")]
    Io {
        /// The operation.
        op: &'static str,
        /// What failed.
        reason: String,
    },
    /// The compute was cancelled through its [`crate::CancelToken`] (the CLI cancels on
    /// SIGINT and SIGTERM); whatever it had written or spilled is removed.
    #[error("compute cancelled: {reason}")]
    Cancelled {
        /// Who cancelled, and why.
        reason: String,
    },
    /// The user's own function (`map_blocks`, `map_overlap`) failed on a block or
    /// returned a block of the wrong shape or dtype.
    #[error("{op} `{name}`: block {block:?}: {reason}")]
    UserFunction {
        /// The operation (`map_blocks`, `map_overlap`).
        op: &'static str,
        /// The function's name.
        name: String,
        /// The output block it was computing.
        block: Vec<usize>,
        /// What failed, and the fix.
        reason: String,
        /// What the function raised, for a caller that re-raises it (Python keeps its
        /// exception here).
        payload: Option<UserPayload>,
    },
    /// A backend failed while running a task (a bug or a device fault, never user input).
    #[error("backend {device} failed on {op}: {reason}")]
    Backend {
        /// The device.
        device: String,
        /// The operation.
        op: String,
        /// What failed.
        reason: String,
    },
}

/// The tail of an [`Error::AxisOutOfRange`] message: which axes exist, and the fix.
fn axis_range(ndim: usize, shape: &[usize]) -> String {
    let lo = -(ndim as isize);
    if ndim == 0 {
        "for a 0-d array, which has no axes; reshape it to 1-d first (reshape(&[1]))".into()
    } else if ndim != shape.len() {
        format!("for the result's {ndim} dimensions (the input has shape {shape:?}); use an axis in {lo}..{ndim}")
    } else {
        format!("for an array of {ndim} dimensions (shape {shape:?}); use an axis in {lo}..{ndim}")
    }
}

/// What a user function raised, carried unchanged through the engine to the caller that
/// can re-raise it. Equal only to itself.
#[derive(Clone)]
pub struct UserPayload(pub std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for UserPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserPayload(..)")
    }
}

impl PartialEq for UserPayload {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A tier of memory a chunk can live in, fastest first.
///
/// ```
/// use tessera::error::Tier;
/// assert_eq!(Tier::Device(0).to_string(), "device 0");
/// assert_eq!(Tier::Disk.to_string(), "disk");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The memory of the scheduler's device number `i` (its position in the run's
    /// device list).
    Device(usize),
    /// Host memory.
    Host,
    /// Spill files on disk.
    Disk,
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tier::Device(i) => write!(f, "device {i}"),
            Tier::Host => write!(f, "host"),
            Tier::Disk => write!(f, "disk"),
        }
    }
}

impl Error {
    /// An [`Error::InvalidArgument`] for `op`.
    ///
    /// ```
    /// let e = tessera::Error::arg("bench", "unknown device");
    /// assert_eq!(e.to_string(), "bench: unknown device");
    /// ```
    pub fn arg(op: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }
}
