//! The stand-in for builds without the `mpi` feature: a world of one process.

use crate::error::{Error, Result};
use crate::scheduler::Transport;

pub(super) struct Inner;

impl Inner {
    pub fn init() -> Result<Inner> {
        match super::launched() {
            Some(n) if n > 1 => Err(Error::arg(
                "distributed::init",
                format!("this process is one of {n} ranks, but this build has no MPI: build with `--features mpi` (needs libmpi and libclang, e.g. Debian's libopenmpi-dev libclang-dev)"),
            )),
            _ => Ok(Inner),
        }
    }

    pub fn rank(&self) -> usize {
        0
    }

    pub fn size(&self) -> usize {
        1
    }

    pub fn transport(&self) -> Option<&dyn Transport> {
        None
    }
}
