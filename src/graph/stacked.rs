//! Lowering of per-matrix functions over stacks (`det`, `eigh`, `svd`, ... of
//! `(..., rows, cols)` arrays): one `LinalgOp::Stack` task per block of the leading axes
//! (the matrix axes are one chunk), shared by every part of the result, and one
//! `LinalgOp::StackPart` task per block of each part that is not the factorization's
//! own first output.

use super::lower::Lower;
use crate::error::Result;
use crate::expr::Node;
use crate::kernel::{ChunkOp, LinalgOp, LinalgTask, StackFn};

impl Lower {
    pub(super) fn plan_stack(&mut self, n: &Node, fun: StackFn, part: usize) -> Result<Vec<usize>> {
        let x = &n.inputs[0];
        let xn = x.node()?;
        let nd = xn.shape.len();
        let lead = nd - 2;
        let (rows, cols) = (xn.shape[lead], xn.shape[lead + 1]);
        let k = match n.inputs.get(1) {
            Some(b) => b.node()?.shape[nd - 1],
            None => 0,
        };
        let specs = fun.parts(rows, cols, k, xn.dtype);
        let ids = n
            .inputs
            .iter()
            .map(|a| a.node().map(|a| a.id))
            .collect::<Result<Vec<_>>>()?;
        let key = (ids, fun);
        let stack = match self.stacks.get(&key) {
            Some(t) => t.clone(),
            None => {
                let mut tasks = Vec::new();
                for xb in xn.grid.block_indices() {
                    let start = xn.grid.block_start(&xb);
                    let shape = xn.grid.block_shape(&xb);
                    let mut inputs = vec![self.dense(x, &start, &shape)?];
                    if let Some(b) = n.inputs.get(1) {
                        let mut bshape = shape.clone();
                        bshape[nd - 1] = k;
                        inputs.push(self.dense(b, &start, &bshape)?);
                    }
                    let batch: usize = shape[..lead].iter().product();
                    let bytes = specs
                        .iter()
                        .map(|(s, d)| batch * s.iter().product::<usize>() * d.size())
                        .sum();
                    let op = ChunkOp::Linalg(LinalgTask {
                        op: LinalgOp::Stack {
                            fun,
                            rows,
                            cols,
                            origin: start[..lead].to_vec(),
                        },
                        dtype: xn.dtype,
                        shape: [&shape[..lead], &specs[0].0[..]].concat(),
                    });
                    tasks.push(self.add(op, inputs, bytes, n, xb));
                }
                self.stacks.insert(key, tasks.clone());
                tasks
            }
        };
        // Blocks of the leading axes, in the same row-major order on both sides.
        let per_axis = xn.grid.blocks_per_axis();
        let mut out = Vec::with_capacity(n.grid.num_blocks());
        for b in n.grid.block_indices() {
            let flat = (0..lead).fold(0, |f, a| f * per_axis[a] + b[a]);
            let t = stack[flat];
            let direct = part == 0 && specs.len() == 1 && specs[0].1 == xn.dtype;
            if direct {
                out.push(t);
                continue;
            }
            let shape = n.grid.block_shape(&b);
            let bytes = shape.iter().product::<usize>() * n.dtype.size();
            let op = ChunkOp::Linalg(LinalgTask {
                op: LinalgOp::StackPart(part),
                dtype: n.dtype,
                shape,
            });
            out.push(self.add(op, vec![t], bytes, n, b));
        }
        Ok(out)
    }
}
