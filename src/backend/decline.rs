//! Why a backend declines a task, as a value the scheduler acts on by its kind.
//!
//! Why typed: the scheduler routes a declined task to the CPU, or, on a pinned device,
//! turns it into an error whose variant depends on why (a dtype the device cannot hold is
//! `Error::UnsupportedDType`; anything else names the op). Reading that from the text of
//! a message broke whenever a message was reworded; a kind cannot drift from its text.

use crate::dtype::DType;

/// Why a backend will not run a task. The text says what, for logs and errors.
///
/// ```
/// use tessera::backend::Decline;
/// let d = Decline::DType { dtype: tessera::DType::BF16, reason: "no bf16 kernels".into() };
/// assert_eq!(d.to_string(), "no bf16 kernels");
/// assert_eq!(Decline::from("no kernel yet"), Decline::Op { reason: "no kernel yet".into() });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Decline {
    /// The device cannot hold or compute this dtype (bf16 on wgpu; f64 on an adapter
    /// without SHADER_F64).
    DType {
        /// The dtype.
        dtype: DType,
        /// What the device lacks.
        reason: String,
    },
    /// An optional capability this form of the op needs is missing (f64 transcendentals
    /// on Vulkan; an i64 result without SHADER_INT64).
    Feature {
        /// The capability.
        feature: &'static str,
        /// What needs it.
        reason: String,
    },
    /// A chunk, operand or grid is larger than one kernel can address; smaller chunks fit.
    Size {
        /// What is too large, and the limit.
        reason: String,
    },
    /// The device has no kernel for this op (or this form of it) yet.
    Op {
        /// Which op.
        reason: String,
    },
}

impl Decline {
    /// A [`Decline::Size`].
    pub fn size(reason: impl Into<String>) -> Decline {
        Decline::Size {
            reason: reason.into(),
        }
    }

    /// A [`Decline::Feature`].
    pub fn feature(feature: &'static str, reason: impl Into<String>) -> Decline {
        Decline::Feature {
            feature,
            reason: reason.into(),
        }
    }

    /// The text of the decline.
    pub fn reason(&self) -> &str {
        match self {
            Decline::DType { reason, .. }
            | Decline::Feature { reason, .. }
            | Decline::Size { reason }
            | Decline::Op { reason } => reason,
        }
    }
}

impl Decline {
    /// Declines a task that touches a complex dtype outside the codegen walk: fused
    /// maps and the values a reduction folds are pairs of reals there
    /// (`backend::codegen`, which declines by op what it has no form of), while copies,
    /// scans, linear algebra and complex accumulators have no complex kernels yet, so
    /// the CPU runs those.
    pub(crate) fn complex(op: &crate::kernel::ChunkOp, device: &str) -> Result<(), Decline> {
        use crate::kernel::{ChunkOp, ReduceManyOp, ReduceOp};
        let walked = match op {
            ChunkOp::Map(_) => true,
            ChunkOp::Reduce(ReduceOp { expr, .. })
            | ChunkOp::ReduceMany(ReduceManyOp { expr, .. }) => !expr.dtype().is_complex(),
            _ => false,
        };
        match op.complex_dtype() {
            Some(dtype) if !walked => Err(Decline::DType {
                dtype,
                reason: format!(
                    "{} of {dtype} has no {device} kernel yet; the CPU runs it",
                    op.name()
                ),
            }),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Decline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// Text alone is a missing kernel ([`Decline::Op`]).
impl From<String> for Decline {
    fn from(reason: String) -> Self {
        Decline::Op { reason }
    }
}

impl From<&str> for Decline {
    fn from(reason: &str) -> Self {
        Decline::Op {
            reason: reason.to_string(),
        }
    }
}
