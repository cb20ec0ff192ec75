//! Task graphs: lowering from arrays, ordering, and Graphviz output.

mod custom;
mod fft;
mod fuse;
mod linalg;
mod lower;
mod order;
mod stacked;
mod vexpr;

use crate::chunks::ChunkGrid;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::Array;
use crate::kernel::ChunkOp;
use std::fmt::Write as _;

/// One task: a [`ChunkOp`] on the outputs of earlier tasks.
#[derive(Debug, Clone)]
pub struct Task {
    /// What the task does.
    pub op: ChunkOp,
    /// Task ids whose outputs are this task's inputs, in slot order.
    pub inputs: Vec<usize>,
    /// Shape of the (first array of the) output.
    pub shape: Vec<usize>,
    /// Bytes of the output, known before running (the scheduler budgets with it).
    pub nbytes: u64,
    /// Bytes the task holds while it runs besides its inputs and output: a user
    /// function's own copies (its inputs as NumPy arrays, the block it returns before
    /// the engine takes it). Reserved with the output, released when the output lands.
    pub scratch: u64,
    /// Name of the array node (op name and node id), shared by all its tasks.
    pub name: std::sync::Arc<str>,
    /// Id of the array node the task belongs to.
    pub node: u64,
    /// Block index within that node (or region start for assembled copies).
    pub block: Vec<usize>,
}

/// Where a requested array's blocks come from.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// The output's shape.
    pub shape: Vec<usize>,
    /// Its dtype.
    pub dtype: DType,
    /// Its chunking.
    pub grid: ChunkGrid,
    /// Task id of every block, in C order of `grid`.
    pub blocks: Vec<usize>,
}

/// The lowered, ordered graph for one `compute`.
///
/// ```
/// let x = tessera::random::uniform(&[40, 40], 10, 0).unwrap();
/// let g = tessera::graph::TaskGraph::build(&[&(&x + &x.t()).sum()]).unwrap();
/// // 16 fused partials, then a combine tree: no task materialises x itself.
/// assert!(g.tasks.iter().all(|t| !t.op.name().starts_with("map")));
/// ```
#[derive(Debug, Clone)]
pub struct TaskGraph {
    /// Every task, inputs before consumers.
    pub tasks: Vec<Task>,
    /// Where each requested array's blocks are.
    pub outputs: Vec<OutputSpec>,
    /// Priority of every task (lower runs first among ready tasks).
    pub priority: Vec<usize>,
    /// Tasks whose chunks a persisted array already holds: `(task, array, block)`,
    /// the block numbered in C order of the array's grid. They never run; the store
    /// takes their copies when the compute starts.
    pub stored: Vec<(usize, std::sync::Arc<crate::spill::Persisted>, usize)>,
}

impl TaskGraph {
    /// Each task's consumers, and how many inputs each task waits for.
    pub(crate) fn dependents(&self) -> (Vec<Vec<usize>>, Vec<usize>) {
        let n = self.tasks.len();
        let mut dependents: Vec<Vec<usize>> = vec![vec![]; n];
        let mut waiting = vec![0usize; n];
        for (i, t) in self.tasks.iter().enumerate() {
            waiting[i] = t.inputs.len();
            for &j in &t.inputs {
                dependents[j].push(i);
            }
        }
        (dependents, waiting)
    }
}

/// Choices of lowering that depend on where the graph will run.
///
/// ```
/// use tessera::graph::Lowering;
/// assert!(Lowering::for_device(tessera::Device::Cpu).horizontal_fusion);
/// assert!(!Lowering::for_device(tessera::Device::Wgpu(0)).horizontal_fusion);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lowering {
    /// Reductions of one program over one block become one task that evaluates it once
    /// (`ChunkOp::ReduceMany`, then a `ChunkOp::Select` per reduction). Only the CPU
    /// backend runs those: a device would hand them to the CPU, so device graphs keep
    /// their reductions apart.
    pub horizontal_fusion: bool,
}

impl Lowering {
    /// The lowering for a graph that runs on `device` (already resolved: `Auto` counts
    /// as a device).
    pub fn for_device(device: crate::backend::Device) -> Lowering {
        Lowering::for_devices(&[device])
    }

    /// The lowering for a graph spread over `devices` (resolved): the CPU's only when
    /// every one of them is the CPU.
    ///
    /// ```
    /// use tessera::{graph::Lowering, Device};
    /// assert!(Lowering::for_devices(&[Device::Cpu, Device::Cpu]).horizontal_fusion);
    /// assert!(!Lowering::for_devices(&[Device::Cpu, Device::Wgpu(0)]).horizontal_fusion);
    /// ```
    pub fn for_devices(devices: &[crate::backend::Device]) -> Lowering {
        Lowering {
            horizontal_fusion: devices.iter().all(|&d| d == crate::backend::Device::Cpu),
        }
    }
}

impl TaskGraph {
    /// Lowers arrays into one graph (shared subexpressions are computed once), as for a
    /// device: every reduction its own tasks. [`TaskGraph::build_with`] chooses.
    pub fn build(arrays: &[&Array]) -> Result<TaskGraph> {
        lower::build(arrays, Lowering::default())
    }

    /// [`TaskGraph::build`] with the lowering for where it will run.
    ///
    /// ```
    /// use tessera::graph::{Lowering, TaskGraph};
    /// let x = tessera::random::uniform(&[40, 40], 20, 0).unwrap();
    /// let (s, m) = (x.sum(), x.max());
    /// let cpu = TaskGraph::build_with(&[&s, &m], Lowering { horizontal_fusion: true }).unwrap();
    /// let apart = TaskGraph::build(&[&s, &m]).unwrap();
    /// let partials = |g: &TaskGraph, p: &str| g.tasks.iter().filter(|t| t.op.name().ends_with(p)).count();
    /// assert_eq!(partials(&cpu, "sum+max-partials"), 4); // one pass over each block
    /// assert_eq!(partials(&apart, "-partial"), 8);
    /// ```
    pub fn build_with(arrays: &[&Array], lowering: Lowering) -> Result<TaskGraph> {
        let mut g = lower::build(arrays, lowering)?;
        if lowering.horizontal_fusion {
            fuse::horizontal(&mut g);
            g.priority = order::order(&g);
        }
        Ok(g)
    }

    /// Graphviz DOT text: circles for tasks, boxes for the chunks they produce.
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph tessera {\n  rankdir=BT;\n  node [fontsize=10];\n");
        for (i, t) in self.tasks.iter().enumerate() {
            let _ = writeln!(
                s,
                "  t{i} [shape=circle, label=\"{}\"];",
                t.op.name().replace('"', "'")
            );
            let _ = writeln!(s, "  c{i} [shape=box, label=\"{} {:?}\"];", t.name, t.block);
            let _ = writeln!(s, "  t{i} -> c{i};");
            for &j in &t.inputs {
                let _ = writeln!(s, "  c{j} -> t{i};");
            }
        }
        s.push_str("}\n");
        s
    }
}

/// Renders DOT text with the Graphviz `dot` program; the format comes from the file
/// extension (`.svg`, `.png`, `.pdf`, ...).
pub fn render_dot(dot: &str, path: &std::path::Path) -> Result<()> {
    use std::io::Write;
    let fmt = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("svg")
        .to_string();
    let mut child = std::process::Command::new("dot")
        .arg(format!("-T{fmt}"))
        .arg("-o")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::Io {
            op: "visualize",
            reason: format!("could not run Graphviz `dot` ({e}); install graphviz (e.g. apt-get install graphviz) or save to_dot() yourself"),
        })?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(dot.as_bytes())
        .map_err(|e| Error::Io {
            op: "visualize",
            reason: e.to_string(),
        })?;
    let out = child.wait_with_output().map_err(|e| Error::Io {
        op: "visualize",
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Io {
            op: "visualize",
            reason: format!(
                "dot failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}
