//! Lowering of the blocked linear algebra: contractions (blockwise products, then a tree
//! sum over the contracted blocks), TSQR, small SVDs, blocked Cholesky and blocked
//! triangular solves. Every dense step is one `ChunkOp::Linalg` task.

use super::lower::Lower;
use super::vexpr::{VExpr, VSrc};
use crate::chunks::{c_strides, ChunkGrid};
use crate::error::{Error, Result};
use crate::expr::{Decomp, Node, Op};
use crate::kernel::LinalgTask;
use crate::kernel::{AssembleOp, BinaryOp, ChunkOp, LinalgOp, Piece};

/// Fan-in of the sum over contracted blocks (dask's `split_every`).
const SUM_FAN: usize = 4;
/// Stacked R factors per TSQR level stay under this many values.
const TSQR_STACK_VALUES: usize = 1 << 20;

fn internal(reason: impl Into<String>) -> Error {
    Error::Backend {
        device: "graph".into(),
        op: "lower linalg".into(),
        reason: reason.into(),
    }
}

fn prod(v: &[usize]) -> usize {
    v.iter().product()
}

impl Lower {
    fn linalg(
        &mut self,
        n: &Node,
        op: LinalgOp,
        inputs: Vec<usize>,
        shape: Vec<usize>,
        bytes: usize,
        block: Vec<usize>,
    ) -> usize {
        let dtype = n.dtype;
        self.add(
            ChunkOp::Linalg(LinalgTask { op, dtype, shape }),
            inputs,
            bytes,
            n,
            block,
        )
    }

    /// Sums same-shaped task outputs in a fixed tree of fused adds.
    fn tree_sum(
        &mut self,
        n: &Node,
        block: &[usize],
        mut parts: Vec<usize>,
        shape: &[usize],
    ) -> usize {
        while parts.len() > 1 {
            let mut next = vec![];
            for g in parts.chunks(SUM_FAN) {
                let leaf = |t: usize| VExpr::Leaf {
                    src: VSrc::Task(t),
                    dtype: n.dtype,
                    offset: 0,
                    strides: c_strides(shape),
                };
                let mut e = leaf(g[0]);
                for &t in &g[1..] {
                    e = VExpr::Binary(BinaryOp::Add, n.dtype, Box::new(e), Box::new(leaf(t)));
                }
                next.push(self.map_task(n, block.to_vec(), e, shape.to_vec()));
            }
            parts = next;
        }
        parts[0]
    }

    pub(super) fn plan_contract(&mut self, n: &Node) -> Result<Vec<usize>> {
        let Op::Contract {
            batch, m, k_grid, ..
        } = &n.op
        else {
            return Err(internal("not a contraction"));
        };
        let (batch, m) = (*batch, *m);
        let (a, b) = (n.inputs[0].clone(), n.inputs[1].clone());
        let kg = ChunkGrid::new(k_grid.clone());
        let mut ids = vec![];
        for ob in n.grid.block_indices() {
            let os = n.grid.block_start(&ob);
            let ol = n.grid.block_shape(&ob);
            let (bs, bl) = (&os[..batch], &ol[..batch]);
            let (ms, ml) = (&os[batch..batch + m], &ol[batch..batch + m]);
            let (ns, nl) = (&os[batch + m..], &ol[batch + m..]);
            let mut products = vec![];
            for kb in kg.block_indices() {
                let (ks, kl) = (kg.block_start(&kb), kg.block_shape(&kb));
                let ta = self.dense(&a, &[bs, ms, &ks].concat(), &[bl, ml, &kl].concat())?;
                let tb = self.dense(&b, &[bs, &ks, ns].concat(), &[bl, &kl, nl].concat())?;
                let op = LinalgOp::MatMul {
                    batch: prod(bl),
                    m: prod(ml),
                    k: prod(&kl),
                    n: prod(nl),
                };
                let bytes = prod(&ol) * n.dtype.size();
                products.push(self.linalg(n, op, vec![ta, tb], ol.clone(), bytes, ob.clone()));
            }
            ids.push(self.tree_sum(n, &ob, products, &ol));
        }
        Ok(ids)
    }

    pub(super) fn plan_decomp(&mut self, n: &Node, d: Decomp) -> Result<Vec<usize>> {
        match d {
            Decomp::TsqrQ => Ok(self.tsqr(n)?.0),
            Decomp::TsqrR => Ok(vec![self.tsqr(n)?.1]),
            Decomp::SmallSvd(p) => {
                let r = &n.inputs[0];
                let rn = r.node()?;
                let key = (rn.id, "svd");
                let svd = match self.plans.get(&key) {
                    Some(v) => v[0],
                    None => {
                        let t = self.dense(r, &vec![0; rn.shape.len()], &rn.shape.clone())?;
                        let (k, c) = (rn.shape[0], rn.shape[1]);
                        let rr = k.min(c);
                        let bytes = (k * rr + rr + rr * c) * 8;
                        let t =
                            self.linalg(n, LinalgOp::Svd, vec![t], vec![k, rr], bytes, vec![0, 0]);
                        self.plans.insert(key, vec![t]);
                        t
                    }
                };
                let bytes = prod(&n.shape) * n.dtype.size();
                let block = vec![0; n.shape.len()];
                Ok(vec![self.linalg(
                    n,
                    LinalgOp::Part(p),
                    vec![svd],
                    n.shape.clone(),
                    bytes,
                    block,
                )])
            }
            Decomp::Cholesky => self.cholesky(n),
            Decomp::Stack { fun, part } => self.plan_stack(n, fun, part),
            Decomp::TriSolve { lower } => self.trisolve(n, lower),
            Decomp::FullRank { op, rows, cols } => {
                let (x, s) = (n.inputs[0].clone(), n.inputs[1].clone());
                let sl = s.node()?.shape.clone();
                let check = LinalgOp::FullRank { op, rows, cols };
                let mut ids = vec![];
                for idx in n.grid.block_indices() {
                    let (start, len) = (n.grid.block_start(&idx), n.grid.block_shape(&idx));
                    let inputs = vec![self.dense(&x, &start, &len)?, self.dense(&s, &[0], &sl)?];
                    let bytes = prod(&len) * n.dtype.size();
                    ids.push(self.linalg(n, check.clone(), inputs, len, bytes, idx));
                }
                Ok(ids)
            }
        }
    }

    /// TSQR of input 0 of `n` (row chunks only): Q's blocks and the task holding R.
    fn tsqr(&mut self, n: &Node) -> Result<(Vec<usize>, usize)> {
        let a = n.inputs[0].clone();
        let an = a.node()?;
        let key = (an.id, "tsqr");
        if let Some(v) = self.plans.get(&key) {
            return Ok((v[..v.len() - 1].to_vec(), v[v.len() - 1]));
        }
        let cols = an.shape[1];
        let rows = an.grid.sizes(0).to_vec();
        let starts = an.grid.boundaries(0).to_vec();
        // Leaves: QR of every row block. A tree node: (task, rows of its R, children with
        // their row offsets in the stacked R).
        struct T {
            task: usize,
            k: usize,
            children: Vec<(usize, usize)>,
        }
        let mut nodes: Vec<T> = vec![];
        let mut level: Vec<usize> = vec![];
        for (i, &r) in rows.iter().enumerate() {
            let t = self.dense(&a, &[starts[i], 0], &[r, cols])?;
            let k = r.min(cols);
            let q = self.linalg(
                n,
                LinalgOp::Qr { part: 0, n: cols },
                vec![t],
                vec![r, k],
                (r * k + k * cols) * 8,
                vec![i, 0],
            );
            nodes.push(T {
                task: q,
                k,
                children: vec![],
            });
            level.push(nodes.len() - 1);
        }
        let fan = (TSQR_STACK_VALUES / (cols * cols).max(1)).max(2);
        while level.len() > 1 {
            let mut next = vec![];
            for g in level.chunks(fan) {
                let mut off = 0;
                let mut children = vec![];
                for &c in g {
                    children.push((c, off));
                    off += nodes[c].k;
                }
                let k = off.min(cols);
                // Each child's R as a task of its own, so the combine reads only the R's
                // (k × cols), never the children's Q's (rows × k, far larger): over MPI
                // ranks only they travel, and the combine is placed by their bytes.
                let inputs = g
                    .iter()
                    .map(|&c| {
                        self.linalg(
                            n,
                            LinalgOp::Part(1),
                            vec![nodes[c].task],
                            vec![nodes[c].k, cols],
                            nodes[c].k * cols * n.dtype.size(),
                            vec![c, 1],
                        )
                    })
                    .collect();
                let t = self.linalg(
                    n,
                    LinalgOp::Qr { part: 0, n: cols },
                    inputs,
                    vec![off, k],
                    (off * k + k * cols) * 8,
                    vec![nodes.len(), 0],
                );
                nodes.push(T {
                    task: t,
                    k,
                    children,
                });
                next.push(nodes.len() - 1);
            }
            level = next;
        }
        let root = level[0];
        let kr = nodes[root].k;
        let r = self.linalg(
            n,
            LinalgOp::Part(1),
            vec![nodes[root].task],
            vec![kr, cols],
            kr * cols * n.dtype.size(),
            vec![0, 0],
        );
        // Carry Q down: a node's effective Q is its own Q times its rows of its parent's.
        let mut q = vec![0; rows.len()];
        let mut stack = vec![(root, None::<(usize, usize)>)];
        while let Some((id, parent)) = stack.pop() {
            let eff = match parent {
                None => {
                    let rows_here = if nodes[id].children.is_empty() {
                        rows[id]
                    } else {
                        nodes[id].children.iter().map(|&(c, _)| nodes[c].k).sum()
                    };
                    self.linalg(
                        n,
                        LinalgOp::Part(0),
                        vec![nodes[id].task],
                        vec![rows_here, kr],
                        rows_here * kr * n.dtype.size(),
                        vec![id, 0],
                    )
                }
                Some((ptask, row0)) => {
                    let rows_here = if nodes[id].children.is_empty() {
                        rows[id]
                    } else {
                        nodes[id].children.iter().map(|&(c, _)| nodes[c].k).sum()
                    };
                    self.linalg(
                        n,
                        LinalgOp::QMul { row0 },
                        vec![nodes[id].task, ptask],
                        vec![rows_here, kr],
                        rows_here * kr * n.dtype.size(),
                        vec![id, 0],
                    )
                }
            };
            if nodes[id].children.is_empty() {
                q[id] = eff;
            }
            for &(c, off) in &nodes[id].children {
                // The child's rows of this Q as a task of their own (a copy where this Q
                // is), so a child on another rank receives its k × kr rows, not the
                // whole stacked Q.
                let k = nodes[c].k;
                let rows_of_child = self.add(
                    ChunkOp::Assemble(AssembleOp {
                        dtype: n.dtype,
                        shape: vec![k, kr],
                        pieces: vec![Piece {
                            slot: 0,
                            src_start: vec![off, 0],
                            dst_start: vec![0, 0],
                            shape: vec![k, kr],
                        }],
                    }),
                    vec![eff],
                    k * kr * n.dtype.size(),
                    n,
                    vec![c, 2],
                );
                stack.push((c, Some((rows_of_child, 0))));
            }
        }
        let mut v = q.clone();
        v.push(r);
        self.plans.insert(key, v);
        Ok((q, r))
    }

    fn zeros(&mut self, n: &Node, block: Vec<usize>, shape: Vec<usize>) -> usize {
        let e = VExpr::Const(crate::Scalar::F64(0.0).cast(n.dtype), n.dtype);
        self.map_task(n, block, e, shape)
    }

    fn cholesky(&mut self, n: &Node) -> Result<Vec<usize>> {
        let a = n.inputs[0].clone();
        let g = n.grid.clone();
        let nb = g.sizes(0).len();
        let mut l = vec![vec![usize::MAX; nb]; nb];
        let blk = |i: usize, j: usize| {
            (
                vec![g.boundaries(0)[i], g.boundaries(1)[j]],
                vec![g.sizes(0)[i], g.sizes(1)[j]],
            )
        };
        for k in 0..nb {
            let (s, sh) = blk(k, k);
            let mut inputs = vec![self.dense(&a, &s, &sh)?];
            for &lkj in &l[k][..k] {
                inputs.extend([lkj, lkj]);
            }
            let bytes = prod(&sh) * n.dtype.size();
            l[k][k] = self.linalg(
                n,
                LinalgOp::Cholesky { diagonal: true },
                inputs,
                sh,
                bytes,
                vec![k, k],
            );
            for i in k + 1..nb {
                let (s, sh) = blk(i, k);
                let mut inputs = vec![self.dense(&a, &s, &sh)?];
                for (&lij, &lkj) in l[i][..k].iter().zip(&l[k][..k]) {
                    inputs.extend([lij, lkj]);
                }
                inputs.push(l[k][k]);
                let bytes = prod(&sh) * n.dtype.size();
                l[i][k] = self.linalg(
                    n,
                    LinalgOp::Cholesky { diagonal: false },
                    inputs,
                    sh,
                    bytes,
                    vec![i, k],
                );
            }
        }
        let mut ids = vec![];
        for (i, row) in l.iter().enumerate() {
            for (j, &lij) in row.iter().enumerate() {
                ids.push(if j > i {
                    self.zeros(n, vec![i, j], blk(i, j).1)
                } else {
                    lij
                });
            }
        }
        Ok(ids)
    }

    // Indexing reads earlier solutions x[k][j] while writing x[i][j]: clearer than iterators.
    #[allow(clippy::needless_range_loop)]
    fn trisolve(&mut self, n: &Node, lower: bool) -> Result<Vec<usize>> {
        let (t, b) = (n.inputs[0].clone(), n.inputs[1].clone());
        let tg = t.node()?.grid.clone();
        let nb = tg.sizes(0).len();
        let g = n.grid.clone();
        let ncb = if n.shape.len() == 2 {
            g.sizes(1).len()
        } else {
            1
        };
        let mut x = vec![vec![0usize; ncb]; nb];
        let order: Vec<usize> = if lower {
            (0..nb).collect()
        } else {
            (0..nb).rev().collect()
        };
        for j in 0..ncb {
            for (pos, &i) in order.iter().enumerate() {
                let (rs, rl) = (tg.boundaries(0)[i], tg.sizes(0)[i]);
                let (bs, bl): (Vec<usize>, Vec<usize>) = if n.shape.len() == 2 {
                    (vec![rs, g.boundaries(1)[j]], vec![rl, g.sizes(1)[j]])
                } else {
                    (vec![rs], vec![rl])
                };
                let mut inputs = vec![self.dense(&b, &bs, &bl)?];
                for &k in &order[..pos] {
                    let tik = self.dense(&t, &[rs, tg.boundaries(1)[k]], &[rl, tg.sizes(1)[k]])?;
                    inputs.extend([tik, x[k][j]]);
                }
                inputs.push(self.dense(&t, &[rs, tg.boundaries(1)[i]], &[rl, tg.sizes(1)[i]])?);
                let bytes = prod(&bl) * n.dtype.size();
                let block = if n.shape.len() == 2 {
                    vec![i, j]
                } else {
                    vec![i]
                };
                x[i][j] = self.linalg(n, LinalgOp::TriSolve { lower }, inputs, bl, bytes, block);
            }
        }
        Ok((0..nb).flat_map(|i| x[i].clone()).collect())
    }
}
