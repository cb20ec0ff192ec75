//! Lowering of Fourier transforms: one `ChunkOp::Fft` task per block, reading the
//! input block that covers the same lanes (the transformed axis is one chunk on both
//! sides, so a block's lanes are whole).

use super::lower::Lower;
use crate::error::Result;
use crate::expr::Node;
use crate::kernel::{ChunkOp, FftKind, FftOp};

impl Lower {
    pub(super) fn plan_fft(
        &mut self,
        n: &Node,
        kind: FftKind,
        axis: usize,
        len: usize,
        scale: f64,
    ) -> Result<Vec<usize>> {
        let x = &n.inputs[0];
        let in_len = x.node()?.shape[axis];
        let mut ids = Vec::with_capacity(n.grid.num_blocks());
        for b in n.grid.block_indices() {
            let mut start = n.grid.block_start(&b);
            let shape = n.grid.block_shape(&b);
            let mut in_shape = shape.clone();
            start[axis] = 0;
            in_shape[axis] = in_len;
            let input = self.dense(x, &start, &in_shape)?;
            let bytes = shape.iter().product::<usize>() * n.dtype.size();
            let op = ChunkOp::Fft(FftOp {
                kind,
                axis,
                n: len,
                scale,
                dtype: n.dtype,
                shape,
            });
            ids.push(self.add(op, vec![input], bytes, n, b));
        }
        Ok(ids)
    }
}
