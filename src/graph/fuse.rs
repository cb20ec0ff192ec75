//! Horizontal fusion: reductions that evaluate the same program over the same block
//! (`x.sum(0)`, `x.mean(1)`, `x.std()`, `x.max()` of one `x`) become one task that
//! evaluates it — generates or reads the block — once and folds every reduction from
//! the same tiles (`ChunkOp::ReduceMany`), followed by one `ChunkOp::Select` per
//! reduction that hands its parts to the combine tree it fed before. The trees stay
//! separate; only the pass over the data is shared. dask runs each reduction's
//! partials as tasks of their own, each reading the block again.
//!
//! Why after lowering: lowering already names every partial by its program, inputs and
//! shape, so equal ones are found by comparison, whatever array expressions led there.

use super::{Task, TaskGraph};
use crate::kernel::{ChunkOp, ReduceManyOp, ReduceOp, ReduceOut, SelectOp};
use std::collections::HashMap;

/// Fuses every group of two or more `Reduce` tasks with the same inputs, chunk shape
/// and program into one `ReduceMany` plus a `Select` per member, keeping the task list
/// in dependency order and every task id the graph refers to.
pub(crate) fn horizontal(g: &mut TaskGraph) {
    // (inputs, shape) -> groups of tasks whose programs are equal.
    type Key<'a> = (&'a [usize], &'a [usize]);
    let mut buckets: HashMap<Key, Vec<Vec<usize>>> = HashMap::new();
    for (i, t) in g.tasks.iter().enumerate() {
        let ChunkOp::Reduce(r) = &t.op else { continue };
        let groups = buckets.entry((&t.inputs, &r.shape)).or_default();
        let same = groups
            .iter_mut()
            .find(|grp| matches!(&g.tasks[grp[0]].op, ChunkOp::Reduce(q) if q.expr == r.expr));
        match same {
            Some(grp) => grp.push(i),
            None => groups.push(vec![i]),
        }
    }
    let groups: Vec<Vec<usize>> = buckets
        .into_values()
        .flatten()
        .filter(|grp| grp.len() > 1)
        .collect();
    if groups.is_empty() {
        return;
    }
    // member task -> (group, position in it); groups are in task order, so the first
    // member is where the fused task goes, before every member's consumers.
    let mut member: HashMap<usize, (usize, usize)> = HashMap::new();
    for (gi, grp) in groups.iter().enumerate() {
        for (pos, &t) in grp.iter().enumerate() {
            member.insert(t, (gi, pos));
        }
    }
    let old = std::mem::take(&mut g.tasks);
    let mut remap = vec![0usize; old.len()];
    let mut fused_at = vec![usize::MAX; groups.len()];
    let mut tasks: Vec<Task> = Vec::with_capacity(old.len() + groups.len());
    for (i, t) in old.iter().enumerate() {
        let inputs: Vec<usize> = t.inputs.iter().map(|&j| remap[j]).collect();
        let Some(&(gi, pos)) = member.get(&i) else {
            remap[i] = tasks.len();
            tasks.push(Task {
                inputs,
                ..t.clone()
            });
            continue;
        };
        let grp = &groups[gi];
        let reduce = |k: usize| match &old[k].op {
            ChunkOp::Reduce(r) => r,
            _ => unreachable!("only Reduce tasks are grouped"),
        };
        let out = |r: &ReduceOp| ReduceOut {
            reduction: r.reduction,
            axes: r.axes.clone(),
            arg: r.arg.clone(),
            finalize: r.finalize.clone(),
        };
        if pos == 0 {
            let first = reduce(i);
            fused_at[gi] = tasks.len();
            tasks.push(Task {
                op: ChunkOp::ReduceMany(ReduceManyOp {
                    expr: first.expr.clone(),
                    shape: first.shape.clone(),
                    outs: grp.iter().map(|&k| out(reduce(k))).collect(),
                }),
                inputs,
                shape: t.shape.clone(),
                nbytes: grp.iter().map(|&k| old[k].nbytes).sum(),
                scratch: 0,
                name: t.name.clone(),
                node: t.node,
                block: t.block.clone(),
            });
        }
        let r = reduce(i);
        let first: usize = grp[..pos].iter().map(|&k| out(reduce(k)).parts()).sum();
        let dtype = match &r.finalize {
            Some(f) => f.dtype,
            None if r.reduction.float_acc(r.expr.dtype()) => crate::dtype::DType::F64,
            None => crate::dtype::DType::I64,
        };
        remap[i] = tasks.len();
        tasks.push(Task {
            op: ChunkOp::Select(SelectOp {
                first,
                count: out(r).parts(),
                dtype,
            }),
            inputs: vec![fused_at[gi]],
            ..t.clone()
        });
    }
    g.tasks = tasks;
    for o in &mut g.outputs {
        for b in &mut o.blocks {
            *b = remap[*b];
        }
    }
    for s in &mut g.stored {
        s.0 = remap[s.0];
    }
}
