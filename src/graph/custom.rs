//! Lowering of user functions: one opaque task per output block, whose inputs are
//! regions of the arguments. A region is whatever the argument is there: generated data
//! is generated, element-wise data computed, stored data sliced or assembled from the
//! blocks it spans. So a `map_overlap` halo reads the neighbours' values directly (and a
//! halo deeper than a chunk spans several), never a padded copy of the whole array.

use super::lower::Lower;
use crate::error::Result;
use crate::expr::{BlockMap, Node};
use crate::kernel::{ChunkOp, UserOp};
use crate::userfn::{BlockInfo, InputInfo};
use std::ops::Range;
use std::sync::Arc;

impl Lower {
    pub(super) fn plan_map_blocks(&mut self, n: &Node, m: &BlockMap) -> Result<Vec<usize>> {
        let lg = &m.loop_grid;
        let ld = lg.ndim();
        let mut ids = Vec::with_capacity(n.grid.num_blocks());
        for b in n.grid.block_indices() {
            let out_start = n.grid.block_start(&b);
            let out_shape = n.grid.block_shape(&b);
            // The loop block: the output's index without its new axes, a dropped axis's
            // only block put back.
            let kept: Vec<usize> = (0..b.len())
                .filter(|k| !m.new_axis.contains(k))
                .map(|k| b[k])
                .collect();
            let mut kept = kept.into_iter();
            let lb: Vec<usize> = (0..ld)
                .map(|j| {
                    if m.drop_axis.contains(&j) {
                        0
                    } else {
                        kept.next().unwrap_or(0)
                    }
                })
                .collect();
            let (lstart, lshape) = (lg.block_start(&lb), lg.block_shape(&lb));
            let mut inputs = Vec::with_capacity(n.inputs.len());
            let mut infos = Vec::with_capacity(n.inputs.len());
            let mut trim = vec![];
            for x in &n.inputs {
                let xn = x.node()?;
                let lead = ld - xn.shape.len();
                let mut location: Vec<Range<usize>> = Vec::with_capacity(xn.shape.len());
                let mut cut = vec![];
                let (mut block, mut num_blocks) = (vec![], vec![]);
                for (k, &len) in xn.shape.iter().enumerate() {
                    let j = k + lead;
                    let (s, e) = (lstart[j], lstart[j] + lshape[j]);
                    let r = match &m.halo {
                        Some(h) if h.padded => {
                            cut.push((h.depth[j], h.depth[j]));
                            s..e + 2 * h.depth[j]
                        }
                        Some(h) => {
                            let (lo, hi) =
                                (s.saturating_sub(h.depth[j]), (e + h.depth[j]).min(len));
                            cut.push((s - lo, hi - e));
                            lo..hi
                        }
                        None if len == 1 && lg.all()[j].iter().sum::<usize>() != 1 => 0..1,
                        None => s..e,
                    };
                    let bcast = len == 1 && lg.all()[j].iter().sum::<usize>() != 1;
                    block.push(if bcast { 0 } else { lb[j] });
                    num_blocks.push(if bcast { 1 } else { lg.all()[j].len() });
                    location.push(r);
                }
                if trim.is_empty() && m.halo.as_ref().is_some_and(|h| h.trim) {
                    trim = cut;
                }
                let start: Vec<usize> = location.iter().map(|r| r.start).collect();
                let shape: Vec<usize> = location.iter().map(|r| r.len()).collect();
                inputs.push(self.dense(x, &start, &shape)?);
                infos.push(InputInfo {
                    shape: xn.shape.clone(),
                    dtype: xn.dtype,
                    block,
                    num_blocks,
                    location,
                });
            }
            let info = BlockInfo {
                block: b.clone(),
                num_blocks: n.grid.blocks_per_axis(),
                location: out_start
                    .iter()
                    .zip(&out_shape)
                    .map(|(&s, &l)| s..s + l)
                    .collect(),
                shape: n.shape.clone(),
                dtype: n.dtype,
                inputs: infos,
            };
            let bytes = out_shape.iter().product::<usize>() * n.dtype.size();
            let op = ChunkOp::User(UserOp {
                op: m.op,
                f: m.f.clone(),
                info: Arc::new(info),
                trim,
                dtype: n.dtype,
                shape: out_shape,
                kernel: m.kernel.clone(),
            });
            let in_bytes: u64 = inputs.iter().map(|&j| self.tasks[j].nbytes).sum();
            let t = self.add(op, inputs, bytes, n, b);
            // The function works on its own copies: the inputs handed to it and the block
            // it returns (a sliding window's is window times its input).
            self.tasks[t].scratch = in_bytes + bytes as u64;
            ids.push(t);
        }
        Ok(ids)
    }
}
