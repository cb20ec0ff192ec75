//! The first phase of a run: which tasks are this rank's, the memory projection that
//! refuses what cannot fit before anything runs, the persisted inputs checked out into
//! the store, and the store, ready queue and output routes the workers start from.

use super::placement::Targets;
use super::ranks::{self, Ranked, Transport};
use super::store::Store;
use super::workers::{self, Counters, Run, Sink, State, Target};
use super::{trace, ComputeOptions, Mode, Scheduler};
use crate::dtype::HostArray;
use crate::error::{Error, Result, Tier};
use crate::graph::TaskGraph;
use crate::spill::{Persisted, SpillDir, StoredChunk};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// This rank's part of a run over several ranks, after checking that every rank has
/// the same graph; `None` in one process (after refusing persisted arrays held by
/// ranks, which one process cannot read).
pub(super) fn rank_plan(
    g: &TaskGraph,
    transport: Option<&dyn Transport>,
    mode: Mode,
) -> Result<Option<Ranked>> {
    match transport {
        Some(tr) => {
            ranks::check(g, tr)?;
            Ok(Some(Ranked::new(g, tr, mode == Mode::Assemble)))
        }
        None => {
            ranks::check_alone(g)?;
            Ok(None)
        }
    }
}

/// Bytes of the assembled result this rank holds (rank 0 only; none when persisting
/// or storing).
fn result_bytes(g: &TaskGraph, mode: Mode, root: bool) -> u64 {
    match mode {
        Mode::Assemble if root => g
            .outputs
            .iter()
            .map(|o| (o.shape.iter().product::<usize>() * o.dtype.size()) as u64)
            .sum(),
        _ => 0,
    }
}

/// Bytes each task holds while it runs: its output, its scratch and each distinct input.
fn footprints(g: &TaskGraph) -> Vec<u64> {
    g.tasks
        .iter()
        .map(|t| {
            let mut inputs = t.inputs.clone();
            inputs.sort_unstable();
            inputs.dedup();
            t.nbytes + t.scratch + inputs.iter().map(|&j| g.tasks[j].nbytes).sum::<u64>()
        })
        .collect()
}

/// What a run knows of its tasks' sizes before anything runs, computed once.
pub(super) struct Sizes {
    /// Bytes each task holds while it runs (see [`footprints`]).
    pub footprint: Vec<u64>,
    /// Which tasks stand for blocks of persisted arrays.
    pub stored: Vec<bool>,
    /// Bytes of the assembled result this rank holds (see [`result_bytes`]).
    pub result_bytes: u64,
}

impl Sizes {
    pub fn of(g: &TaskGraph, mode: Mode, root: bool) -> Sizes {
        Sizes {
            footprint: footprints(g),
            stored: stored_tasks(g),
            result_bytes: result_bytes(g, mode, root),
        }
    }
}

/// Refuses, before anything runs, what cannot fit even with everything else spilled: the
/// assembled result in host memory, or one task with its inputs.
pub(super) fn project(
    g: &TaskGraph,
    opts: &ComputeOptions,
    mode: Mode,
    targets: &Targets,
    sizes: &Sizes,
) -> Result<()> {
    let (result_bytes, footprint) = (sizes.result_bytes, &sizes.footprint);
    let host_limit = targets.host_limit;
    if mode == Mode::Assemble {
        super::refuse_result(result_bytes, host_limit)?;
    }
    let pinned_limit = targets
        .limits
        .first()
        .copied()
        .flatten()
        .filter(|_| !opts.cpu_fallback);
    for (i, t) in g.tasks.iter().enumerate() {
        if sizes.stored[i] {
            continue;
        }
        let footprint = footprint[i];
        let what = || format!("task {} {:?} with its inputs", t.name, t.block);
        if footprint + result_bytes > host_limit {
            return Err(Error::OutOfMemory {
                tier: Tier::Host,
                what: what(),
                needed: footprint + result_bytes,
                limit: host_limit,
                fix: if result_bytes > 0 {
                    "the assembled result counts too; use smaller chunks (rechunk), persist() the array, or raise host_memory_limit".into()
                } else {
                    "use smaller chunks (rechunk) or raise host_memory_limit".into()
                },
            });
        }
        if let Some(l) = pinned_limit.filter(|&l| footprint > l) {
            return Err(Error::OutOfMemory {
                tier: Tier::Device(0),
                what: what(),
                needed: footprint,
                limit: l,
                fix:
                    "use smaller chunks (rechunk), raise device_memory_limit, or allow cpu_fallback"
                        .into(),
            });
        }
    }
    Ok(())
}

/// Which tasks stand for blocks of persisted arrays.
fn stored_tasks(g: &TaskGraph) -> Vec<bool> {
    let mut stored = vec![false; g.tasks.len()];
    for s in &g.stored {
        stored[s.0] = true;
    }
    stored
}

/// The persisted arrays a run reads. Each is locked for the whole run (in address
/// order, so two runs never wait on each other crosswise); its blocks are checked out
/// into the run's store and given back, wherever their copies ended up, at the end.
pub(super) struct Inputs {
    arrays: Vec<Arc<Persisted>>,
}

/// The locked blocks of each of a run's persisted inputs.
pub(super) type Checkout<'i> = Vec<MutexGuard<'i, Vec<StoredChunk>>>;

impl Inputs {
    pub fn of(g: &TaskGraph) -> Inputs {
        let mut arrays: Vec<Arc<Persisted>> = g.stored.iter().map(|s| s.1.clone()).collect();
        arrays.sort_by_key(|p| Arc::as_ptr(p) as usize);
        arrays.dedup_by_key(|p| Arc::as_ptr(p) as usize);
        Inputs { arrays }
    }

    pub fn lock(&self) -> Checkout<'_> {
        self.arrays.iter().map(|p| p.lock()).collect()
    }

    fn index(&self, p: &Arc<Persisted>) -> usize {
        self.arrays
            .iter()
            .position(|q| Arc::ptr_eq(p, q))
            .expect("every persisted input is locked")
    }

    /// Gives every stored block's copies back to its array (the run is over).
    pub fn give_back(&self, run: &Run, guards: &mut Checkout<'_>) {
        let mut st = run.lock();
        let host = st.store.ti(Tier::Host);
        for (t, p, block) in &run.g.stored {
            if run.ranked.as_ref().is_some_and(|r| r.remote[*t]) {
                continue;
            }
            let slot = &mut st.store.slots[*t];
            guards[self.index(p)][*block] = StoredChunk {
                host: slot.copies[host].take(),
                disk: slot.disk.take(),
            };
        }
    }
}

/// Where a run's outputs go: per task, the output positions it fills (assembling or
/// storing), and the spill directory of each persisted output.
pub(super) struct Outputs {
    pub positions: Vec<Vec<(usize, Vec<usize>)>>,
    pub persist_dirs: Vec<Arc<SpillDir>>,
}

impl Outputs {
    fn new(g: &TaskGraph, opts: &ComputeOptions, mode: Mode, ranked: &Option<Ranked>) -> Outputs {
        let root = ranked.as_ref().is_none_or(|r| r.rank == 0);
        let remote = |t: usize| ranked.as_ref().is_some_and(|r| r.remote[t]);
        // Into the result on rank 0, or (a store) written by the rank that made them.
        let mut positions: Vec<Vec<(usize, Vec<usize>)>> = vec![vec![]; g.tasks.len()];
        for (k, o) in g.outputs.iter().enumerate() {
            if !root && mode == Mode::Assemble {
                break;
            }
            for (b, idx) in o.grid.block_indices().into_iter().enumerate() {
                if mode == Mode::Store && remote(o.blocks[b]) {
                    continue;
                }
                positions[o.blocks[b]].push((k, o.grid.block_start(&idx)));
            }
        }
        let persist_dirs = match mode {
            Mode::Persist => g
                .outputs
                .iter()
                .map(|_| Arc::new(SpillDir::new(&opts.spill_parent(), "tessera-persist")))
                .collect(),
            Mode::Assemble | Mode::Store => vec![],
        };
        Outputs {
            positions,
            persist_dirs,
        }
    }
}

/// The store with every chunk's consumers counted, the outputs' blocks kept or routed,
/// and the persisted inputs' blocks installed; the tasks each waits for; how many are
/// done already; a stored block found without a copy; blocks to send before anything.
struct Start {
    store: Store,
    waiting: Vec<usize>,
    done: usize,
    lost: Option<usize>,
    outbox: Vec<usize>,
}

#[allow(clippy::too_many_arguments)]
fn start(
    g: &TaskGraph,
    opts: &ComputeOptions,
    mode: Mode,
    targets: &Targets,
    ranked: &Option<Ranked>,
    outputs: &Outputs,
    sizes: &Sizes,
    inputs: &Inputs,
    guards: &mut Checkout<'_>,
) -> Start {
    let (stored_task, result_bytes) = (&sizes.stored, sizes.result_bytes);
    let n = g.tasks.len();
    let root = ranked.as_ref().is_none_or(|r| r.rank == 0);
    let remote = |t: usize| ranked.as_ref().is_some_and(|r| r.remote[t]);
    let (dependents, mut waiting) = g.dependents();
    let mut store = Store::new(
        dependents,
        g.priority.clone(),
        targets.limits.clone(),
        targets.host_limit,
        opts.disk_limit,
    );
    for (i, t) in g.tasks.iter().enumerate() {
        if remote(i) {
            continue;
        }
        for &j in &t.inputs {
            store.slots[j].left += 1;
        }
    }
    if let Some(r) = ranked {
        // A chunk other ranks read counts as a consumer per rank until sent there.
        for (j, to) in r.send_to.iter().enumerate() {
            store.slots[j].left += to.len();
        }
    }
    for (k, o) in g.outputs.iter().enumerate() {
        for &b in &o.blocks {
            match mode {
                Mode::Assemble if !root => {}
                Mode::Store if remote(b) => {}
                Mode::Assemble | Mode::Store => store.slots[b].left += 1,
                Mode::Persist if remote(b) => {}
                Mode::Persist => {
                    store.slots[b].keep = true;
                    // A block that is already stored elsewhere keeps its home.
                    if !stored_task[b] {
                        store.slots[b].home = Some(outputs.persist_dirs[k].clone());
                    }
                }
            }
        }
    }
    store.add(Tier::Host, result_bytes);
    let mut done = 0;
    let mut lost = None;
    // Stored blocks another rank holds arrive from it, like any remote chunk.
    let mut outbox = vec![];
    for (t, p, block) in &g.stored {
        if remote(*t) {
            continue;
        }
        if ranked.as_ref().is_some_and(|r| !r.send_to[*t].is_empty()) {
            store.slots[*t].pins += 1;
            outbox.push(*t);
        }
        let chunk = &mut guards[inputs.index(p)][*block];
        if chunk.host.is_none() && chunk.disk.is_none() {
            lost = Some(*t);
        }
        if let Some(h) = chunk.host.take() {
            store.add(Tier::Host, h.nbytes() as u64);
            store.install(*t, Tier::Host, h);
        }
        if let Some(f) = chunk.disk.take() {
            store.add(Tier::Disk, f.bytes());
            store.install_disk(*t, f);
        }
        store.slots[*t].keep = true;
        store.slots[*t].home = Some(p.dir.clone());
        store.finish(*t);
        done += 1;
        for &d in store.consumers(*t) {
            waiting[d] -= 1;
        }
    }
    // Chunks their tasks can make again instead of spilling them: tasks without inputs
    // that run here, whose chunks are neither kept nor outputs (an output block must
    // reach its destination exactly as made).
    let is_output: std::collections::HashSet<usize> = g
        .outputs
        .iter()
        .flat_map(|o| o.blocks.iter().copied())
        .collect();
    for (i, t) in g.tasks.iter().enumerate() {
        let s = &store.slots[i];
        if t.inputs.is_empty() && !remote(i) && !s.keep && !is_output.contains(&i) {
            store.slots[i].remake = Some(t.nbytes + t.scratch);
        }
    }
    // Tasks other ranks run: those whose chunks never come here are done already.
    if let Some(r) = ranked {
        done += (0..n).filter(|&i| r.remote[i] && !r.expected[i]).count();
    }
    Start {
        store,
        waiting,
        done,
        lost,
        outbox,
    }
}

/// Everything `prepare` hands the run besides the `Run` itself.
pub(super) struct Prepared<'a> {
    pub run: Run<'a>,
    pub persist_dirs: Vec<Arc<SpillDir>>,
}

/// Builds the run the workers drive: the store and ready queue from [`start`], the
/// output routes, the worker count, the progress bar.
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare<'a>(
    g: &'a TaskGraph,
    opts: &'a ComputeOptions,
    mode: Mode,
    sinks: Vec<Arc<dyn crate::storage::ChunkSink>>,
    transport: Option<&'a dyn Transport>,
    ranked: Option<Ranked>,
    targets: Targets,
    sizes: Sizes,
    inputs: &Inputs,
    guards: &mut Checkout<'_>,
) -> Prepared<'a> {
    let n = g.tasks.len();
    let root = ranked.as_ref().is_none_or(|r| r.rank == 0);
    let outputs = Outputs::new(g, opts, mode, &ranked);
    let s = start(
        g, opts, mode, &targets, &ranked, &outputs, &sizes, inputs, guards,
    );
    let ready = (0..n)
        .filter(|&i| s.waiting[i] == 0 && !sizes.stored[i])
        .filter(|&i| ranked.as_ref().is_none_or(|r| !r.remote[i]))
        .map(|i| workers::ready_key(g.priority[i], i))
        .collect();
    let workers = match opts.scheduler {
        Scheduler::Sync => 1,
        Scheduler::Threads(0) => std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1),
        Scheduler::Threads(k) => k,
    }
    .min(n.max(1));
    let target = match mode {
        Mode::Assemble if !root => None,
        Mode::Assemble => Some(Target::Arrays(Mutex::new(
            g.outputs
                .iter()
                .map(|o| HostArray::zeros(o.dtype, &o.shape))
                .collect(),
        ))),
        Mode::Store => Some(Target::Sinks(sinks)),
        Mode::Persist => None,
    };
    let sink = target.map(|target| Sink {
        target,
        positions: outputs.positions,
        placed: Mutex::new(vec![false; n]),
    });
    let ndev = targets.devices.len();
    let lost = s.lost.map(|t| Error::Backend {
        device: "store".into(),
        op: "persisted".into(),
        reason: format!(
            "block {:?} of a persisted array has no copy (lost when an earlier compute failed); persist the array again",
            g.tasks[t].block
        ),
    });
    let run = Run {
        g,
        opts,
        targets,
        workers,
        state: Mutex::new(State {
            store: s.store,
            ready,
            waiting: s.waiting,
            running: 0,
            sleepers: 0,
            io: 0,
            done: s.done,
            busy: vec![0; ndev + 1],
            error: lost,
            outbox: s.outbox,
            counters: Counters {
                on_device: vec![0; ndev],
                moved_in: vec![(0, 0); ndev],
                ..Counters::default()
            },
        }),
        cv: Condvar::new(),
        io_cv: Condvar::new(),
        scratch: Arc::new(SpillDir::new(&opts.spill_parent(), "tessera-spill")),
        trace: trace::Trace::new(opts.trace.is_some()),
        declined: Mutex::new(Default::default()),
        bar: opts.progress.then(|| progress_bar(n)),
        watch: opts.watch.clone().inspect(|w| w.start(n)),
        footprint: sizes.footprint,
        sink,
        io_thread: opts.scheduler != Scheduler::Sync,
        ranked,
        transport,
    };
    Prepared {
        run,
        persist_dirs: outputs.persist_dirs,
    }
}

fn progress_bar(tasks: usize) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(tasks as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} tasks ({per_sec}, eta {eta}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    b
}
