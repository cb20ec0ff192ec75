//! The user's own functions (`map_blocks`, `map_overlap`): host code, run here with the
//! input blocks as they are, the result checked against the block the graph promised
//! (its size was budgeted before anything ran, so a wrong one is an error, not a
//! surprise to the memory tiers).

use crate::dtype::HostArray;
use crate::error::{Error, Result};
use crate::kernel::UserOp;
use crate::storage::ChunkSource;

/// Runs the function on one block and cuts its halo off.
pub(crate) fn run(u: &UserOp, inputs: &[&HostArray]) -> Result<HostArray> {
    let out = u.f.call(u.op, inputs, &u.info)?;
    let wrong = |reason: String| Error::UserFunction {
        op: u.op,
        name: u.f.name().to_string(),
        block: u.info.block.clone(),
        reason,
        payload: None,
    };
    if out.dtype() != u.dtype {
        return Err(wrong(format!(
            "the function returned {} but the output's dtype is {}; declare dtype={} or cast the result",
            out.dtype(),
            u.dtype,
            out.dtype()
        )));
    }
    let want: Vec<usize> = if u.trim.is_empty() {
        u.shape.clone()
    } else {
        u.shape
            .iter()
            .zip(&u.trim)
            .map(|(&n, &(a, b))| n + a + b)
            .collect()
    };
    if out.shape() != want.as_slice() {
        let halo = if u.trim.is_empty() {
            String::new()
        } else {
            format!(" (the block {:?} and its halo)", u.shape)
        };
        return Err(wrong(format!(
            "the function returned shape {:?} but the block is {want:?}{halo}; declare the output's chunks= (and drop_axis=/new_axis=) to match",
            out.shape()
        )));
    }
    if u.trim.is_empty() {
        return Ok(out);
    }
    let start: Vec<usize> = u.trim.iter().map(|&(a, _)| a).collect();
    out.read(&start, &u.shape)
}
