//! Stand-in for the NCCL link in builds without the `nccl` feature: no link, so chunks
//! cross ranks through the host (as `nccl.rs` says, the feature needs NCCL only at run
//! time, but it is off by default to keep its bindings out of every build).

use super::CudaBackend;
use crate::backend::PeerLink;

/// No communicators in this build.
#[derive(Default)]
pub(super) struct Peers {
    _none: (),
}

/// No link in this build.
pub(super) fn link(_dev: &CudaBackend) -> Option<&dyn PeerLink> {
    None
}
