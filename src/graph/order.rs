//! Task ordering that frees memory early: a depth-first walk from each output block
//! through its inputs, so a combine runs as soon as its partials exist and a chunk's
//! consumers run soon after it (the idea of dask.order, without its refinements).

use super::TaskGraph;

/// Priority per task: its position in a post-order DFS from the outputs.
pub(crate) fn order(g: &TaskGraph) -> Vec<usize> {
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
