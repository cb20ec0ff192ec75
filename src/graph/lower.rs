//! Lowering: the array expression DAG becomes a task graph of per-chunk [`ChunkOp`]s.
//!
//! Elementwise ops, transposes, slices, rechunks of generated data, fills and random
//! numbers stay virtual ([`VExpr`]) and fuse into whichever task consumes them; a node
//! is materialised only when something needs its chunks as data (a reduction partial,
//! a gather, an output, or an elementwise result used by several consumers).

use super::vexpr::{VExpr, VSrc};
use super::{Task, TaskGraph};
use crate::chunks::{c_strides, multi_indices};
use crate::error::{Error, Result};
use crate::expr::{Array, Node, Op};
use crate::kernel::{
    ArgIndex, CheckOp, ChunkOp, Finalize, Generator, Piece, Reduction, ScanKind, ScanOp,
};
use crate::kernel::{
    AssembleOp, CombineOp, LinalgTask, MapOp, ReduceOp, SourceOp, StoredOp, TakeOp,
};
use std::collections::HashMap;
use std::rc::Rc;

pub(crate) struct Lower {
    pub tasks: Vec<Task>,
    /// Each materialised node's block tasks, shared: a region query reads them once per
    /// block, and copying the list there made lowering quadratic in the block count.
    blocks: HashMap<u64, Rc<[usize]>>,
    consumers: HashMap<u64, usize>,
    assembled: HashMap<(u64, Vec<usize>, Vec<usize>), usize>,
    /// Stored copies of array regions (see [`Lower::dense`]).
    dense_cache: HashMap<(u64, Vec<usize>, Vec<usize>), usize>,
    /// Plans shared by several output nodes (TSQR's Q and R, an SVD's U, S and Vt).
    pub(super) plans: HashMap<(u64, &'static str), Vec<usize>>,
    /// The per-matrix tasks of a stack function (one per leading block), by the inputs'
    /// node ids: every part of an `eigh` or `svd` reads the same factorization.
    pub(super) stacks: HashMap<(Vec<u64>, crate::kernel::StackFn), Vec<usize>>,
    /// Tasks standing for blocks of persisted arrays (see [`TaskGraph::stored`]).
    stored: Vec<(usize, std::sync::Arc<crate::spill::Persisted>, usize)>,
    /// Each node's task name, made once and shared: formatting one per task showed in
    /// a profile of the tiny-task probe (inside `Lower::add`, 9% of its samples).
    names: HashMap<u64, std::sync::Arc<str>>,
}

fn internal(reason: impl Into<String>) -> Error {
    Error::Backend {
        device: "graph".into(),
        op: "lower".into(),
        reason: reason.into(),
    }
}

impl Lower {
    pub fn new(outputs: &[&Array], lowering: super::Lowering) -> Result<Lower> {
        let mut consumers: HashMap<u64, usize> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        // With horizontal fusion, every reduction of one array becomes one pass over
        // each block, so they count as one consumer: x read by four reductions is then
        // generated inside that pass instead of stored (see `inline`).
        let mut reduced = std::collections::HashSet::new();
        let mut stack: Vec<Array> = outputs.iter().map(|a| (*a).clone()).collect();
        for a in outputs {
            *consumers.entry(a.node()?.id).or_default() += 1;
        }
        while let Some(a) = stack.pop() {
            let n = a.node()?;
            if !seen.insert(n.id) {
                continue;
            }
            let reduction = lowering.horizontal_fusion && matches!(n.op, Op::Reduce { .. });
            for i in &n.inputs {
                let id = i.node()?.id;
                if !reduction || reduced.insert(id) {
                    *consumers.entry(id).or_default() += 1;
                }
                stack.push(i.clone());
            }
        }
        Ok(Lower {
            tasks: vec![],
            blocks: HashMap::new(),
            consumers,
            assembled: HashMap::new(),
            dense_cache: HashMap::new(),
            plans: HashMap::new(),
            stacks: HashMap::new(),
            stored: vec![],
            names: HashMap::new(),
        })
    }

    /// A task whose output is exactly the region of `a` as a C-contiguous chunk (reusing
    /// a stored block when the region is one; memoised otherwise).
    pub(super) fn dense(&mut self, a: &Array, start: &[usize], shape: &[usize]) -> Result<usize> {
        let n = a.node()?;
        let key = (n.id, start.to_vec(), shape.to_vec());
        if let Some(&t) = self.dense_cache.get(&key) {
            return Ok(t);
        }
        let e = self.region(a, start, shape)?;
        // Generated regions are made again for every consumer: a stored copy shared by
        // consumers far apart in the graph (A in Qᵀ·(A·Ω)) would pin every block.
        let cache = !e.task_free();
        let t = self.map_task(n, start.to_vec(), e, shape.to_vec());
        if cache {
            self.dense_cache.insert(key, t);
        }
        Ok(t)
    }

    pub(super) fn add(
        &mut self,
        op: ChunkOp,
        inputs: Vec<usize>,
        nbytes: usize,
        node: &Node,
        block: Vec<usize>,
    ) -> usize {
        let shape = match &op {
            ChunkOp::Map(MapOp { shape, .. })
            | ChunkOp::Take(TakeOp { shape, .. })
            | ChunkOp::Assemble(AssembleOp { shape, .. })
            | ChunkOp::Source(SourceOp { shape, .. })
            | ChunkOp::Stored(StoredOp { shape, .. })
            | ChunkOp::Linalg(LinalgTask { shape, .. })
            | ChunkOp::Scan(ScanOp { shape, .. })
            | ChunkOp::Check(CheckOp { shape, .. })
            | ChunkOp::User(crate::kernel::UserOp { shape, .. })
            | ChunkOp::Fft(crate::kernel::FftOp { shape, .. }) => shape.clone(),
            ChunkOp::Reduce(ReduceOp {
                finalize: Some(f), ..
            })
            | ChunkOp::Combine(CombineOp {
                finalize: Some(f), ..
            }) => f.shape.clone(),
            ChunkOp::Reduce(ReduceOp { shape, axes, .. }) => shape
                .iter()
                .enumerate()
                .map(|(k, &n)| if axes.contains(&k) { 1 } else { n })
                .collect(),
            ChunkOp::Combine(CombineOp { .. }) => vec![],
            // Made after lowering by the horizontal-fusion pass, which sets their shapes.
            ChunkOp::ReduceMany(_) | ChunkOp::Select(_) => vec![],
        };
        self.tasks.push(Task {
            shape,
            name: self
                .names
                .entry(node.id)
                .or_insert_with(|| format!("{}-{}", node.op.name(), node.id).into())
                .clone(),
            op,
            inputs,
            nbytes: nbytes as u64,
            scratch: 0,
            node: node.id,
            block,
        });
        self.tasks.len() - 1
    }

    /// Whether a node's blocks may be recomputed inside each consumer instead of stored.
    fn inline(&self, n: &Node) -> bool {
        match &n.op {
            // Random numbers are regenerated for up to two consumers: for x + x.T that is
            // faster than storing x (measured: 0.43 s vs 0.61 s at 20000², the stored
            // chunks cost more memory traffic than the second Philox pass) and holds no
            // chunk. With more consumers (several reductions of one array) x is stored.
            Op::Gen(Generator::Random { .. }) => {
                self.consumers.get(&n.id).copied().unwrap_or(0) <= 2
            }
            Op::Gen(_)
            | Op::Const(_)
            | Op::Transpose(_)
            | Op::Slice(_)
            | Op::ExpandDims(_)
            | Op::Squeeze(_)
            | Op::Window { .. }
            | Op::BroadcastTo
            | Op::Concat(_) => true,
            // A rechunk of generated data is free (any region can be generated); of stored
            // data it is materialised, so staged rechunk plans really stage.
            Op::Rechunk => cheap(n, 8),
            op if op.is_elementwise() => {
                self.consumers.get(&n.id).copied().unwrap_or(0) <= 1
                    || cheap(n, 6)
                    || over_sources(n, 4)
            }
            _ => false,
        }
    }

    /// The expression for the region `start..start+shape` of array `a`.
    pub fn region(&mut self, a: &Array, start: &[usize], shape: &[usize]) -> Result<VExpr> {
        let n = a.node()?;
        if let Some(ids) = self.blocks.get(&n.id).map(Rc::clone) {
            return self.region_of_blocks(n, &ids, start, shape);
        }
        if self.inline(n) {
            if let (Op::Concat(ax), true) = (&n.op, concat_spans(n, start, shape)) {
                return self.concat_region(n, *ax, start, shape);
            }
            return self.expand(n, start, shape);
        }
        let ids = self.materialize(a)?;
        self.region_of_blocks(n, &ids, start, shape)
    }

    /// A region of a concatenation that spans several of its inputs: one copy
    /// assembled from each input's part of the region (so a `map_overlap` halo past
    /// the edge of a padded array reads the pad and its neighbours' values, and never
    /// makes the padded array).
    fn concat_region(
        &mut self,
        n: &Node,
        ax: usize,
        start: &[usize],
        shape: &[usize],
    ) -> Result<VExpr> {
        self.assembled_leaf(n, start, shape, |me| {
            let d = shape.len();
            let (mut inputs, mut pieces, mut off) = (vec![], vec![], 0);
            for inp in &n.inputs {
                let len = inp.node()?.shape[ax];
                let (lo, hi) = (start[ax].max(off), (start[ax] + shape[ax]).min(off + len));
                if lo < hi {
                    let mut s = start.to_vec();
                    s[ax] = lo - off;
                    let mut l = shape.to_vec();
                    l[ax] = hi - lo;
                    inputs.push(me.dense(inp, &s, &l)?);
                    let mut dst = vec![0; d];
                    dst[ax] = lo - start[ax];
                    pieces.push(Piece {
                        slot: inputs.len() - 1,
                        src_start: vec![0; d],
                        dst_start: dst,
                        shape: l,
                    });
                }
                off += len;
            }
            Ok((inputs, pieces))
        })
    }

    /// A leaf reading one copy of the region `start..start+shape` of `n` assembled from
    /// the `(inputs, pieces)` that `parts` gives (made once per region).
    fn assembled_leaf(
        &mut self,
        n: &Node,
        start: &[usize],
        shape: &[usize],
        parts: impl FnOnce(&mut Self) -> Result<(Vec<usize>, Vec<Piece>)>,
    ) -> Result<VExpr> {
        let key = (n.id, start.to_vec(), shape.to_vec());
        let t = match self.assembled.get(&key) {
            Some(&t) => t,
            None => {
                let (inputs, pieces) = parts(self)?;
                let nbytes = shape.iter().product::<usize>() * n.dtype.size();
                let op = ChunkOp::Assemble(AssembleOp {
                    dtype: n.dtype,
                    shape: shape.to_vec(),
                    pieces,
                });
                let t = self.add(op, inputs, nbytes, n, start.to_vec());
                self.assembled.insert(key, t);
                t
            }
        };
        Ok(VExpr::Leaf {
            src: VSrc::Task(t),
            dtype: n.dtype,
            offset: 0,
            strides: c_strides(shape),
        })
    }

    /// The expression of a region of an inline node, built from its inputs' regions.
    fn expand(&mut self, n: &Node, start: &[usize], shape: &[usize]) -> Result<VExpr> {
        Ok(match &n.op {
            Op::Gen(g) => {
                let cs = c_strides(&n.shape);
                let offset = start.iter().zip(&cs).map(|(&s, &c)| s as i64 * c).sum();
                VExpr::Leaf {
                    src: VSrc::Gen(*g),
                    dtype: n.dtype,
                    offset,
                    strides: cs,
                }
            }
            Op::Const(s) => VExpr::Const(*s, n.dtype),
            Op::Unary(op) => VExpr::Unary(
                *op,
                n.dtype,
                Box::new(self.broadcast_input(n, 0, start, shape)?),
            ),
            Op::Cast => VExpr::Cast(n.dtype, Box::new(self.broadcast_input(n, 0, start, shape)?)),
            Op::Binary(op) => {
                let a = self.broadcast_input(n, 0, start, shape)?;
                let b = self.broadcast_input(n, 1, start, shape)?;
                VExpr::Binary(*op, n.dtype, Box::new(a), Box::new(b))
            }
            Op::Where => {
                let c = self.broadcast_input(n, 0, start, shape)?;
                let a = self.broadcast_input(n, 1, start, shape)?;
                let b = self.broadcast_input(n, 2, start, shape)?;
                VExpr::Where(n.dtype, Box::new(c), Box::new(a), Box::new(b))
            }
            Op::Transpose(perm) => {
                let d = perm.len();
                let (mut s, mut l) = (vec![0; d], vec![0; d]);
                for j in 0..d {
                    s[perm[j]] = start[j];
                    l[perm[j]] = shape[j];
                }
                let mut e = self.region(&n.inputs[0], &s, &l)?;
                let perm = perm.clone();
                e.map_views(&|_, st: &mut Vec<i64>| {
                    let old = st.clone();
                    for j in 0..perm.len() {
                        st[j] = old[perm[j]];
                    }
                });
                e
            }
            Op::Slice(sels) => {
                use crate::expr::AxisSel;
                let mut s = Vec::with_capacity(sels.len());
                let mut l = Vec::with_capacity(sels.len());
                // Per input axis: Some((shift of the first element inside the box, step)) or None (dropped).
                let mut plan: Vec<Option<(i64, i64)>> = Vec::with_capacity(sels.len());
                let mut j = 0;
                for sel in sels {
                    match *sel {
                        AxisSel::At(i) => {
                            s.push(i);
                            l.push(1);
                            plan.push(None);
                        }
                        AxisSel::Range {
                            start: s0, step, ..
                        } => {
                            let m = shape[j];
                            let first = s0 as i64 + step as i64 * start[j] as i64;
                            if m == 0 {
                                s.push(0);
                                l.push(0);
                                plan.push(Some((0, step as i64)));
                            } else {
                                let last = first + step as i64 * (m as i64 - 1);
                                let lo = first.min(last);
                                s.push(lo as usize);
                                l.push((first.max(last) - lo + 1) as usize);
                                plan.push(Some((first - lo, step as i64)));
                            }
                            j += 1;
                        }
                    }
                }
                let mut e = self.region(&n.inputs[0], &s, &l)?;
                e.map_views(&|off: &mut i64, st: &mut Vec<i64>| {
                    let mut out = Vec::with_capacity(st.len());
                    for (k, p) in plan.iter().enumerate() {
                        if let Some((shift, step)) = p {
                            *off += shift * st[k];
                            out.push(st[k] * step);
                        }
                    }
                    *st = out;
                });
                e
            }
            Op::Rechunk => self.region(&n.inputs[0], start, shape)?,
            Op::BroadcastTo => self.broadcast_input(n, 0, start, shape)?,
            Op::Reshape { groups } => {
                // Called per output block: the block is one contiguous box of the input.
                let inp = &n.inputs[0];
                let ishape = inp.node()?.shape.clone();
                let (mut s, mut l) = (vec![0; ishape.len()], ishape.clone());
                for (gi, gj) in groups {
                    if gi.is_empty() {
                        continue;
                    }
                    let rest_in: usize = ishape[gi.start + 1..gi.end].iter().product();
                    let rest_out: usize = if gj.is_empty() {
                        1
                    } else {
                        n.shape[gj.start + 1..gj.end].iter().product()
                    };
                    let (a, len) = if gj.is_empty() {
                        (0, 1)
                    } else {
                        (start[gj.start], shape[gj.start])
                    };
                    s[gi.start] = a * rest_out / rest_in.max(1);
                    l[gi.start] = len * rest_out / rest_in.max(1);
                }
                let t = self.dense(inp, &s, &l)?;
                VExpr::Leaf {
                    src: VSrc::Task(t),
                    dtype: n.dtype,
                    offset: 0,
                    strides: c_strides(shape),
                }
            }
            Op::ExpandDims(a) => {
                let a = *a;
                let (mut s, mut l) = (start.to_vec(), shape.to_vec());
                s.remove(a);
                l.remove(a);
                let mut e = self.region(&n.inputs[0], &s, &l)?;
                e.map_views(&|_, st: &mut Vec<i64>| st.insert(a, 0));
                e
            }
            Op::Squeeze(axes) => {
                let (mut s, mut l) = (start.to_vec(), shape.to_vec());
                for &a in axes {
                    s.insert(a, 0);
                    l.insert(a, 1);
                }
                let mut e = self.region(&n.inputs[0], &s, &l)?;
                let axes = axes.clone();
                e.map_views(&|_, st: &mut Vec<i64>| {
                    *st = st
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| !axes.contains(k))
                        .map(|(_, &v)| v)
                        .collect();
                });
                e
            }
            Op::Window { axis, window } => {
                // Output box (positions, window places) reads the input box whose length
                // along `axis` is positions + places - 1 from position + place start;
                // the window axis steps like `axis` does.
                let (a, d) = (*axis, shape.len() - 1);
                let (mut s, mut l) = (start[..d].to_vec(), shape[..d].to_vec());
                if shape.contains(&0) {
                    l[a] = 0;
                } else {
                    s[a] += start[d];
                    l[a] += shape[d] - 1;
                }
                debug_assert!(start[d] + shape[d] <= *window);
                let mut e = self.region(&n.inputs[0], &s, &l)?;
                e.map_views(&|_, st: &mut Vec<i64>| st.push(st[a]));
                e
            }
            Op::Concat(ax) => {
                let ax = *ax;
                let mut off = 0;
                for inp in &n.inputs {
                    let len = inp.node()?.shape[ax];
                    if start[ax] >= off
                        && start[ax] + shape[ax] <= off + len
                        && (len > 0 || shape[ax] == 0)
                    {
                        let mut s = start.to_vec();
                        s[ax] -= off;
                        return self.region(inp, &s, shape);
                    }
                    off += len;
                }
                return Err(internal("concatenate region spans inputs"));
            }
            other => {
                return Err(internal(format!(
                    "{} cannot be expanded inline",
                    other.name()
                )))
            }
        })
    }

    /// Region of input `i` of elementwise node `n`, broadcast to `n`'s dimensions.
    fn broadcast_input(
        &mut self,
        n: &Node,
        i: usize,
        start: &[usize],
        shape: &[usize],
    ) -> Result<VExpr> {
        let inp = &n.inputs[i];
        let ishape = inp.node()?.shape.clone();
        let (dout, din) = (n.shape.len(), ishape.len());
        let lead = dout - din;
        let mut s = vec![0; din];
        let mut l = vec![0; din];
        let mut bcast = vec![false; din];
        for k in 0..din {
            let j = k + lead;
            if ishape[k] == 1 && n.shape[j] != 1 {
                bcast[k] = true;
                l[k] = 1;
            } else {
                s[k] = start[j];
                l[k] = shape[j];
            }
        }
        let mut e = self.region(inp, &s, &l)?;
        e.map_views(&|_, st: &mut Vec<i64>| {
            let mut out = vec![0i64; dout];
            for k in 0..din {
                if !bcast[k] {
                    out[k + lead] = st[k];
                }
            }
            *st = out;
        });
        Ok(e)
    }

    /// A region of a materialised node: a view of one block, or an assembled copy when
    /// the region straddles blocks.
    fn region_of_blocks(
        &mut self,
        n: &Node,
        ids: &[usize],
        start: &[usize],
        shape: &[usize],
    ) -> Result<VExpr> {
        let d = n.shape.len();
        let mut bidx = vec![0; d];
        let mut inside = true;
        for k in 0..d {
            bidx[k] = n
                .grid
                .block_of(k, start[k].min(n.shape[k].saturating_sub(1)));
            let b = n.grid.boundaries(k);
            if shape[k] > 0 && start[k] + shape[k] > b[bidx[k] + 1] {
                inside = false;
            }
        }
        if inside {
            let bstart = n.grid.block_start(&bidx);
            let bshape = n.grid.block_shape(&bidx);
            let cs = c_strides(&bshape);
            let offset = (0..d)
                .map(|k| (start[k] - bstart[k].min(start[k])) as i64 * cs[k])
                .sum();
            return Ok(VExpr::Leaf {
                src: VSrc::Task(ids[n.grid.linear(&bidx)]),
                dtype: n.dtype,
                offset,
                strides: cs,
            });
        }
        self.assembled_leaf(n, start, shape, |_| {
            let mut pieces = vec![];
            let mut inputs = vec![];
            let lo: Vec<usize> = (0..d).map(|k| n.grid.block_of(k, start[k])).collect();
            let hi: Vec<usize> = (0..d)
                .map(|k| n.grid.block_of(k, start[k] + shape[k] - 1))
                .collect();
            let span: Vec<usize> = (0..d).map(|k| hi[k] - lo[k] + 1).collect();
            for rel in multi_indices(&span) {
                let b: Vec<usize> = (0..d).map(|k| lo[k] + rel[k]).collect();
                let bs = n.grid.block_start(&b);
                let bl = n.grid.block_shape(&b);
                let from: Vec<usize> = (0..d).map(|k| start[k].max(bs[k])).collect();
                let to: Vec<usize> = (0..d)
                    .map(|k| (start[k] + shape[k]).min(bs[k] + bl[k]))
                    .collect();
                inputs.push(ids[n.grid.linear(&b)]);
                pieces.push(Piece {
                    slot: inputs.len() - 1,
                    src_start: (0..d).map(|k| from[k] - bs[k]).collect(),
                    dst_start: (0..d).map(|k| from[k] - start[k]).collect(),
                    shape: (0..d).map(|k| to[k] - from[k]).collect(),
                });
            }
            Ok((inputs, pieces))
        })
    }

    /// Tasks holding every block of `a`, in C order of its grid.
    pub fn materialize(&mut self, a: &Array) -> Result<Rc<[usize]>> {
        let n = a.node()?;
        if let Some(ids) = self.blocks.get(&n.id) {
            return Ok(Rc::clone(ids));
        }
        let ids: Vec<usize> = match &n.op {
            Op::Reduce {
                reduction,
                axes,
                keepdims,
                split_every,
            } => self.plan_reduce(n, *reduction, axes, *keepdims, *split_every)?,
            Op::Source(data) => n
                .grid
                .block_indices()
                .into_iter()
                .map(|b| {
                    let shape = n.grid.block_shape(&b);
                    let op = ChunkOp::Source(SourceOp {
                        data: data.clone(),
                        start: n.grid.block_start(&b),
                        shape: shape.clone(),
                    });
                    let bytes = shape.iter().product::<usize>() * n.dtype.size();
                    self.add(op, vec![], bytes, n, b)
                })
                .collect(),
            Op::Stored(p) => {
                let blocks = n.grid.block_indices();
                let mut ids = Vec::with_capacity(blocks.len());
                for (k, b) in blocks.into_iter().enumerate() {
                    let shape = n.grid.block_shape(&b);
                    let bytes = shape.iter().product::<usize>() * n.dtype.size();
                    let op = ChunkOp::Stored(StoredOp {
                        dtype: n.dtype,
                        shape,
                    });
                    let t = self.add(op, vec![], bytes, n, b);
                    self.stored.push((t, p.clone(), k));
                    ids.push(t);
                }
                ids
            }
            Op::Take { axis, indices } => self.plan_take(n, *axis, indices)?,
            Op::Contract { .. } => self.plan_contract(n)?,
            Op::Decomp(d) => self.plan_decomp(n, *d)?,
            Op::Scan { kind, axis } => self.plan_scan(n, *kind, *axis)?,
            Op::Check { op, reason } => self.plan_check(n, op, reason)?,
            Op::MapBlocks(m) => self.plan_map_blocks(n, m)?,
            Op::Fft {
                kind,
                axis,
                n: len,
                scale,
            } => self.plan_fft(n, *kind, *axis, *len, *scale)?,
            _ => {
                let mut ids = Vec::with_capacity(n.grid.num_blocks());
                for b in n.grid.block_indices() {
                    let start = n.grid.block_start(&b);
                    let shape = n.grid.block_shape(&b);
                    let e = self.expand(n, &start, &shape)?;
                    ids.push(self.map_task(n, b, e, shape));
                }
                ids
            }
        };
        let ids: Rc<[usize]> = ids.into();
        self.blocks.insert(n.id, Rc::clone(&ids));
        Ok(ids)
    }

    /// A task reading exactly all of task `t`'s output, if `e` is that.
    fn whole(&self, e: &VExpr, shape: &[usize], dtype: crate::DType) -> Option<usize> {
        e.as_whole_task(shape, dtype)
            .filter(|&t| self.tasks[t].shape == shape)
    }

    pub(super) fn map_task(
        &mut self,
        n: &Node,
        block: Vec<usize>,
        e: VExpr,
        shape: Vec<usize>,
    ) -> usize {
        if let Some(t) = self.whole(&e, &shape, n.dtype) {
            return t;
        }
        let (expr, inputs) = e.flatten();
        let bytes = shape.iter().product::<usize>() * n.dtype.size();
        self.add(ChunkOp::Map(MapOp { expr, shape }), inputs, bytes, n, block)
    }

    /// A running sum or product, dask's "sequential" method: block `j` along the axis
    /// scans its own values starting from the last slice of block `j - 1`'s result, so
    /// every chunking gives NumPy's bits, blocks elsewhere run in parallel, and memory
    /// holds one block and its neighbour's result at a time.
    fn plan_scan(&mut self, n: &Node, kind: ScanKind, axis: usize) -> Result<Vec<usize>> {
        let x = &n.inputs[0];
        let blocks = n.grid.block_indices();
        let mut ids: Vec<usize> = Vec::with_capacity(blocks.len());
        for b in blocks {
            let start = n.grid.block_start(&b);
            let shape = n.grid.block_shape(&b);
            let mut inputs = vec![self.dense(x, &start, &shape)?];
            if b[axis] > 0 {
                // C order puts the previous block along `axis` earlier in `ids`.
                let mut prev = b.clone();
                prev[axis] -= 1;
                inputs.push(ids[n.grid.linear(&prev)]);
            }
            let bytes = shape.iter().product::<usize>() * n.dtype.size();
            let op = ChunkOp::Scan(ScanOp {
                kind,
                axis,
                dtype: n.dtype,
                shape: shape.clone(),
            });
            ids.push(self.add(op, inputs, bytes, n, b));
        }
        Ok(ids)
    }

    /// One check per block: the value's block and the flags' block of the same region.
    fn plan_check(
        &mut self,
        n: &Node,
        op: &'static str,
        reason: &'static str,
    ) -> Result<Vec<usize>> {
        let mut ids = vec![];
        for b in n.grid.block_indices() {
            let start = n.grid.block_start(&b);
            let shape = n.grid.block_shape(&b);
            let inputs = vec![
                self.dense(&n.inputs[0], &start, &shape)?,
                self.dense(&n.inputs[1], &start, &shape)?,
            ];
            let bytes = shape.iter().product::<usize>() * n.dtype.size();
            let c = ChunkOp::Check(CheckOp {
                op,
                reason,
                dtype: n.dtype,
                shape: shape.clone(),
            });
            ids.push(self.add(c, inputs, bytes, n, b));
        }
        Ok(ids)
    }

    fn plan_take(&mut self, n: &Node, axis: usize, indices: &[usize]) -> Result<Vec<usize>> {
        let x = &n.inputs[0];
        let xn = x.node()?;
        let mut ids = vec![];
        for b in n.grid.block_indices() {
            let ostart = n.grid.block_start(&b);
            let oshape = n.grid.block_shape(&b);
            // One input per distinct source block along `axis` (same blocks elsewhere).
            let mut source_blocks: Vec<usize> = vec![];
            let mut inputs: Vec<usize> = vec![];
            let mut picks = vec![];
            for &src in &indices[ostart[axis]..ostart[axis] + oshape[axis]] {
                let xb = xn.grid.block_of(axis, src);
                let slot = match source_blocks.iter().position(|&s| s == xb) {
                    Some(s) => s,
                    None => {
                        let mut start = ostart.clone();
                        let mut shape = oshape.clone();
                        start[axis] = xn.grid.boundaries(axis)[xb];
                        shape[axis] = xn.grid.sizes(axis)[xb];
                        inputs.push(self.dense(x, &start, &shape)?);
                        source_blocks.push(xb);
                        inputs.len() - 1
                    }
                };
                picks.push((slot, src - xn.grid.boundaries(axis)[xb]));
            }
            let bytes = oshape.iter().product::<usize>() * n.dtype.size();
            let op = ChunkOp::Take(TakeOp {
                axis,
                picks,
                shape: oshape,
                dtype: n.dtype,
            });
            ids.push(self.add(op, inputs, bytes, n, b));
        }
        Ok(ids)
    }

    fn plan_reduce(
        &mut self,
        n: &Node,
        red: Reduction,
        axes: &[usize],
        keepdims: bool,
        split_every: usize,
    ) -> Result<Vec<usize>> {
        let x = &n.inputs[0];
        let xn = x.node()?;
        let d = xn.shape.len();
        let xdtype = xn.dtype;
        // Flat index over the reduced axes, for argmin/argmax.
        let mut rstride = vec![0i64; d];
        let mut acc = 1i64;
        for &k in axes.iter().rev() {
            rstride[k] = acc;
            acc *= xn.shape[k] as i64;
        }
        let fan = ((split_every as f64)
            .powf(1.0 / axes.len().max(1) as f64)
            .floor() as usize)
            .max(2);
        let nblocks = xn.grid.blocks_per_axis();
        let out_block = |b: &[usize]| -> Vec<usize> {
            (0..d)
                .filter_map(|k| {
                    if axes.contains(&k) {
                        keepdims.then_some(0)
                    } else {
                        Some(b[k])
                    }
                })
                .collect()
        };
        let finalize_for = |b: &[usize]| -> Finalize {
            let ob = out_block(b);
            Finalize {
                dtype: n.dtype,
                shape: n.grid.block_shape(&ob),
            }
        };
        let single = axes.iter().all(|&k| nblocks[k] == 1);
        // Level 0: one partial per input block. Each level's tasks are kept in C order of
        // its block counts (a hash map keyed by block vectors showed in the tiny-task
        // probe's build profile).
        let linear = |idx: &[usize], dims: &[usize]| {
            idx.iter().zip(dims).fold(0usize, |a, (&i, &n)| a * n + i)
        };
        let mut level: Vec<usize> = vec![usize::MAX; nblocks.iter().product()];
        for b in xn.grid.block_indices() {
            let start = xn.grid.block_start(&b);
            let shape = xn.grid.block_shape(&b);
            let e = self.region(x, &start, &shape)?;
            let (expr, inputs) = e.flatten();
            let arg = ArgIndex {
                base: axes.iter().map(|&k| start[k] as i64 * rstride[k]).sum(),
                strides: rstride.clone(),
            };
            let partial_len: usize = (0..d)
                .map(|k| if axes.contains(&k) { 1 } else { shape[k] })
                .product();
            let finalize = single.then(|| finalize_for(&b));
            let bytes = match &finalize {
                Some(f) => f.shape.iter().product::<usize>() * f.dtype.size(),
                None => partial_len * 8 * red.partial_parts(),
            };
            let op = ChunkOp::Reduce(ReduceOp {
                expr,
                shape: shape.clone(),
                reduction: red,
                axes: axes.to_vec(),
                arg,
                finalize,
            });
            let slot = linear(&b, &nblocks);
            level[slot] = self.add(op, inputs, bytes, n, b);
        }
        // Tree levels: combine groups of `fan` consecutive partials along each reduced axis.
        let mut counts = nblocks.clone();
        while axes.iter().any(|&k| counts[k] > 1) {
            let next_counts: Vec<usize> = (0..d)
                .map(|k| {
                    if axes.contains(&k) {
                        counts[k].div_ceil(fan)
                    } else {
                        counts[k]
                    }
                })
                .collect();
            let last = axes.iter().all(|&k| next_counts[k] == 1);
            let mut next = vec![usize::MAX; next_counts.iter().product()];
            let mut src = vec![0; d];
            for nb in multi_indices(&next_counts) {
                let span: Vec<usize> = (0..d)
                    .map(|k| {
                        if axes.contains(&k) {
                            fan.min(counts[k] - nb[k] * fan)
                        } else {
                            1
                        }
                    })
                    .collect();
                let mut inputs = vec![];
                for rel in multi_indices(&span) {
                    for k in 0..d {
                        src[k] = if axes.contains(&k) {
                            nb[k] * fan + rel[k]
                        } else {
                            nb[k]
                        };
                    }
                    inputs.push(level[linear(&src, &counts)]);
                }
                let finalize = last.then(|| finalize_for(&nb));
                let plen: usize = (0..d)
                    .map(|k| {
                        if axes.contains(&k) {
                            1
                        } else {
                            xn.grid.sizes(k)[nb[k]]
                        }
                    })
                    .product();
                let bytes = match &finalize {
                    Some(f) => f.shape.iter().product::<usize>() * f.dtype.size(),
                    None => plen * 8 * red.partial_parts(),
                };
                let op = ChunkOp::Combine(CombineOp {
                    reduction: red,
                    input_dtype: xdtype,
                    finalize,
                });
                let slot = linear(&nb, &next_counts);
                next[slot] = self.add(op, inputs, bytes, n, nb);
            }
            level = next;
            counts = next_counts;
        }
        // Output blocks in C order of the result grid.
        let mut ids = vec![0; n.grid.num_blocks()];
        for b in multi_indices(&counts) {
            ids[n.grid.linear(&out_block(&b))] = level[linear(&b, &counts)];
        }
        Ok(ids)
    }
}

/// Whether a region of a concatenation straddles two of its inputs.
fn concat_spans(n: &Node, start: &[usize], shape: &[usize]) -> bool {
    let Op::Concat(ax) = n.op else {
        return false;
    };
    let mut off = 0;
    for inp in &n.inputs {
        let len = inp.node().map(|m| m.shape[ax]).unwrap_or(0);
        if start[ax] >= off && start[ax] + shape[ax] <= off + len {
            return false;
        }
        off += len;
    }
    shape[ax] > 0
}

/// Elementwise subtrees over generators only, small enough to recompute per consumer.
fn cheap(n: &Node, budget: usize) -> bool {
    if budget == 0 {
        return false;
    }
    match &n.op {
        Op::Gen(_) | Op::Const(_) => true,
        op if op.is_elementwise()
            || matches!(
                op,
                Op::Transpose(_)
                    | Op::Slice(_)
                    | Op::Rechunk
                    | Op::ExpandDims(_)
                    | Op::Squeeze(_)
                    | Op::Window { .. }
                    | Op::BroadcastTo
            ) =>
        {
            n.inputs
                .iter()
                .all(|i| i.node().map(|m| cheap(m, budget - 1)).unwrap_or(false))
        }
        _ => false,
    }
}

/// An element-wise node better recomputed in each consumer than stored: a short
/// expression, through views, whose leaves are sources (their blocks are dropped and
/// read again under memory pressure, never spilled), generated, broadcast from something
/// smaller, or windows. A stored block of it could only be spilled; `x - x.mean()` read
/// by three consumers far apart would write all of it to disk and read it back.
fn over_sources(n: &Node, budget: usize) -> bool {
    if budget == 0 {
        return false;
    }
    let size = |m: &Node| m.shape.iter().product::<usize>();
    n.inputs.iter().all(|i| {
        let Ok(m) = i.node() else { return false };
        match &m.op {
            Op::Gen(_) | Op::Const(_) | Op::Source(_) => true,
            Op::MapBlocks(_) if m.inputs.is_empty() => true,
            // A window view is `window` times what it views: stored, an expression over
            // it holds that; recomputed, its consumers share the viewed blocks.
            Op::Window { .. } => true,
            op if op.is_elementwise()
                || matches!(
                    op,
                    Op::Transpose(_)
                        | Op::Slice(_)
                        | Op::ExpandDims(_)
                        | Op::Squeeze(_)
                        | Op::BroadcastTo
                        | Op::Concat(_)
                ) =>
            {
                over_sources(m, budget - 1)
            }
            _ => size(m) < size(n),
        }
    })
}

pub(crate) fn build(arrays: &[&Array], lowering: super::Lowering) -> Result<TaskGraph> {
    let mut l = Lower::new(arrays, lowering)?;
    let mut outputs = vec![];
    for a in arrays {
        let ids = l.materialize(a)?;
        let n = a.node()?;
        outputs.push(super::OutputSpec {
            shape: n.shape.clone(),
            dtype: n.dtype,
            grid: n.grid.clone(),
            blocks: ids.to_vec(),
        });
    }
    // The scheduler orders ready tasks by one word holding priority and task index.
    if l.tasks.len() as u64 > 1 << 32 {
        return Err(Error::InvalidArgument {
            op: "compute",
            reason: format!(
                "the graph has {} tasks, more than the scheduler's limit of 2^32; use larger chunks (rechunk) or compute the arrays in parts",
                l.tasks.len()
            ),
        });
    }
    let mut stored = l.stored;
    let tasks = prune(l.tasks, &mut outputs, &mut stored);
    let mut g = TaskGraph {
        tasks,
        outputs,
        priority: vec![],
        stored,
    };
    g.priority = super::order::order(&g);
    Ok(g)
}

/// The tasks some output needs, in their order (inputs still before consumers), ids
/// renumbered. A node is planned whole, but a slice of an opaque one (a user
/// function, a lazily read source) reads only some of its blocks: the others must not
/// run.
fn prune(
    tasks: Vec<Task>,
    outputs: &mut [super::OutputSpec],
    stored: &mut Vec<(usize, std::sync::Arc<crate::spill::Persisted>, usize)>,
) -> Vec<Task> {
    let mut live = vec![false; tasks.len()];
    let mut stack: Vec<usize> = outputs
        .iter()
        .flat_map(|o| o.blocks.iter().copied())
        .collect();
    while let Some(t) = stack.pop() {
        if !std::mem::replace(&mut live[t], true) {
            stack.extend(tasks[t].inputs.iter().copied());
        }
    }
    if live.iter().all(|&l| l) {
        return tasks;
    }
    let mut id = vec![usize::MAX; tasks.len()];
    let mut kept = Vec::with_capacity(live.iter().filter(|&&l| l).count());
    for (i, mut t) in tasks.into_iter().enumerate() {
        if live[i] {
            id[i] = kept.len();
            for x in &mut t.inputs {
                *x = id[*x];
            }
            kept.push(t);
        }
    }
    for o in outputs.iter_mut() {
        for b in &mut o.blocks {
            *b = id[*b];
        }
    }
    stored.retain_mut(|(t, _, _)| {
        let keep = live[*t];
        *t = id[*t];
        keep
    });
    kept
}
