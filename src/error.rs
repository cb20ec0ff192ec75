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
        op: &'static str,
        left: Vec<usize>,
        right: Vec<usize>,
        hint: String,
    },
    /// An axis argument is outside `-ndim..ndim`.
    #[error("{op}: axis {axis} is out of range for an array of {ndim} dimensions (shape {shape:?}); use an axis in {lo}..{ndim}", lo = -(*ndim as isize))]
    AxisOutOfRange {
        op: &'static str,
        axis: isize,
        ndim: usize,
        shape: Vec<usize>,
    },
    /// An index or slice does not fit the axis it is applied to.
    #[error("{op}: {reason} (axis {axis} of shape {shape:?})")]
    BadIndex {
        op: &'static str,
        axis: usize,
        shape: Vec<usize>,
        reason: String,
    },
    /// A chunk specification cannot be applied to the shape.
    #[error("{op}: invalid chunks for shape {shape:?}: {reason}")]
    InvalidChunks {
        op: &'static str,
        shape: Vec<usize>,
        reason: String,
    },
    /// The op does not support this dtype (on this device, or at all).
    #[error("{op}: dtype {dtype} is not supported on {device}: {hint}")]
    UnsupportedDType {
        op: &'static str,
        dtype: DType,
        device: String,
        hint: String,
    },
    /// An argument is invalid for a reason that is not about shapes.
    #[error("{op}: {reason}")]
    InvalidArgument { op: &'static str, reason: String },
    /// A task does not fit the memory tier it must run in.
    #[error("out of memory in {tier}: a task needs {needed} bytes but the limit is {limit} bytes; use smaller chunks (rechunk) or raise the limit")]
    OutOfMemory {
        tier: String,
        needed: u64,
        limit: u64,
    },
    /// The result's dtype is not the one asked for.
    #[error("{op}: the array has dtype {actual} but {requested} was requested; call .astype(DType::{requested:?}) first")]
    DTypeMismatch {
        op: &'static str,
        actual: DType,
        requested: DType,
    },
    /// A file or external program failed.
    #[error("{op}: {reason}")]
    Io { op: &'static str, reason: String },
    /// A backend failed while running a task (a bug or a device fault, never user input).
    #[error("backend {device} failed on {op}: {reason}")]
    Backend {
        device: String,
        op: String,
        reason: String,
    },
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
