//! Task ordering that frees memory early (the idea of dask.order, without its
//! refinements): a depth-first walk from each output block ranks tasks, then a
//! simulated run turns the ranks into an order in which every task's ready consumers
//! run before any new source task starts. So a combine runs as soon as its partials
//! exist, and a chunk read by several reductions is freed right after it was made.

use super::TaskGraph;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Priority per task (lower runs first among ready tasks).
pub(crate) fn order(g: &TaskGraph) -> Vec<usize> {
    let dfs = dfs_rank(g);
    let n = g.tasks.len();
    let (dependents, mut waiting) = g.dependents();
    // (class, rank, task): class 0 = made ready by a finished task, 1 = a source.
    let mut heap: BinaryHeap<Reverse<(u8, usize, usize)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((1, dfs[i], i)))
        .collect();
    let mut prio = vec![0; n];
    let mut next = 0;
    while let Some(Reverse((_, _, t))) = heap.pop() {
        prio[t] = next;
        next += 1;
        for &d in &dependents[t] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                heap.push(Reverse((0, dfs[d], d)));
            }
        }
    }
    prio
}

/// Rank per task: its position in a post-order DFS from the outputs.
fn dfs_rank(g: &TaskGraph) -> Vec<usize> {
    let n = g.tasks.len();
    let mut prio = vec![usize::MAX; n];
    let mut next = 0;
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for out in &g.outputs {
        for &root in &out.blocks {
            if prio[root] != usize::MAX {
                continue;
            }
            stack.push((root, 0));
            while let Some(&mut (t, ref mut i)) = stack.last_mut() {
                let inputs = &g.tasks[t].inputs;
                if *i < inputs.len() {
                    let c = inputs[*i];
                    *i += 1;
                    if prio[c] == usize::MAX {
                        stack.push((c, 0));
                    }
                } else {
                    stack.pop();
                    if prio[t] == usize::MAX {
                        prio[t] = next;
                        next += 1;
                    }
                }
            }
        }
    }
    // Unreachable tasks (none today) go last.
    for p in prio.iter_mut() {
        if *p == usize::MAX {
            *p = next;
            next += 1;
        }
    }
    prio
}
