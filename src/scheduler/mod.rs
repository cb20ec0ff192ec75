//! The scheduler: runs a [`TaskGraph`] with a pool of workers, keeping every memory tier
//! (each device, the host, the disk) under its limit.
//!
//! Ready tasks run lowest-priority-number first (see `graph::order`), which walks the
//! graph depth first toward the outputs so memory is freed early. Rooms:
//! - `options`: what a compute may be asked (limits, spill directory, trace) and `Stats`;
//! - `store`: where every chunk's copies live, the bytes and limit of every tier, and
//!   which chunk to spill (furthest next use in the known order);
//! - `spill`: spill files (raw bytes, checked on read) in a directory removed on drop;
//! - `diskio`: their bytes read and written around the page cache (`O_DIRECT`);
//! - `placement`: which backends are open and where each task runs;
//! - `workers`: the worker loop (admit, bring inputs, run, settle) and the I/O thread;
//! - `outputs`: the results assembled, or handed to a [`Persisted`];
//! - `persisted`: chunks that outlive a compute (`Array::persist`);
//! - `trace`: the task stream as Chrome-trace JSON;
//! - `ranks`: runs over several processes (ownership by rank, chunk messages, the
//!   `Transport` that `distributed` implements with MPI);
//! - `exchange`: the thread that sends and receives those chunks.
//!
//! Before anything runs, a compute whose result, or one of whose tasks with its inputs,
//! cannot fit the host limit even with everything else spilled is an
//! [`Error::OutOfMemory`] (as Cubed projects memory before it runs).

mod diskio;
mod exchange;
mod memory;
mod options;
mod outputs;
mod persisted;
mod placement;
mod ranks;
mod spill;
mod store;
mod trace;
mod workers;

pub use memory::{
    available_host_bytes, free_disk_bytes, host_memory_bytes, parse_bytes, peak_rss_bytes,
    process_disk_bytes, tune_allocator,
};
pub use options::{set_default_options, ComputeOptions, DeviceStats, Scheduler, Stats, TierStats};
pub use persisted::Persisted;
pub(crate) use persisted::StoredChunk;
pub use ranks::Transport;
pub(crate) use ranks::{decode as decode_chunk, encode as encode_chunk};

use crate::backend::{Backend, CpuBackend};
use crate::dtype::HostArray;
use crate::error::{Error, Result, Tier};
use crate::graph::TaskGraph;
use ranks::Ranked;
use spill::SpillDir;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use store::Store;
use workers::{Run, Sink, State, Target};

/// Results and statistics of one run.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The requested arrays, in order.
    pub outputs: Vec<HostArray>,
    /// What the run did.
    pub stats: Stats,
}

/// What a run makes of its outputs.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Whole host arrays.
    Assemble,
    /// Chunks kept in memory or on disk, for later computes.
    Persist,
    /// Blocks written to sinks as they are made, and released.
    Store,
}

enum Made {
    Arrays(Vec<HostArray>),
    Persisted(Vec<Arc<Persisted>>),
}

/// Runs the graph and assembles every output into one host array.
///
/// ```
/// let x = tessera::random::uniform(&[100, 100], 25, 3).unwrap();
/// let g = tessera::graph::TaskGraph::build(&[&x.sum()]).unwrap();
/// let r = tessera::scheduler::execute(&g, &Default::default()).unwrap();
/// assert_eq!(r.stats.host.spilled_bytes, 0);
/// ```
pub fn execute(g: &TaskGraph, opts: &ComputeOptions) -> Result<Executed> {
    let (made, stats) = run(g, opts, Mode::Assemble, vec![], None)?;
    match made {
        Made::Arrays(outputs) => Ok(Executed { outputs, stats }),
        Made::Persisted(_) => unreachable!("assembling runs make arrays"),
    }
}

/// Runs the graph over the ranks `transport` connects (every rank calls this with the
/// same graph): each rank runs the tasks it owns, sends chunks where they are consumed,
/// and rank 0 assembles the outputs; `outputs` is empty on the other ranks. A failure
/// after the ranks started exchanging chunks aborts the whole job through the
/// transport, since the others would wait for this rank's chunks forever.
pub fn execute_ranked(
    g: &TaskGraph,
    opts: &ComputeOptions,
    transport: &dyn Transport,
) -> Result<Executed> {
    let (made, stats) = run(g, opts, Mode::Assemble, vec![], Some(transport))?;
    match made {
        Made::Arrays(outputs) => Ok(Executed { outputs, stats }),
        Made::Persisted(_) => unreachable!("assembling runs make arrays"),
    }
}

/// Runs the graph over the ranks `transport` connects, each rank writing the output
/// blocks it makes to its own `sinks` (writers into one shared staging), with no block
/// sent to rank 0. Finishing the sinks is the caller's: every rank's part, then the
/// owner's whole (see `distributed`).
pub(crate) fn execute_store_ranked(
    g: &TaskGraph,
    opts: &ComputeOptions,
    sinks: Vec<Arc<dyn crate::storage::ChunkSink>>,
    transport: &dyn Transport,
) -> Result<Stats> {
    run(g, opts, Mode::Store, sinks, Some(transport)).map(|(_, s)| s)
}

/// Runs the graph and keeps every output's chunks in the store (host memory under the
/// limit, the rest on disk) for later computes. Over the ranks `transport` connects,
/// each rank keeps the output blocks it makes: every rank gets persisted arrays holding
/// its own blocks, which later computes over the same ranks read where they are (see
/// `ranks::owners`).
pub(crate) fn execute_persist(
    g: &TaskGraph,
    opts: &ComputeOptions,
    transport: Option<&dyn Transport>,
) -> Result<(Vec<Arc<Persisted>>, Stats)> {
    let (made, stats) = run(g, opts, Mode::Persist, vec![], transport)?;
    match made {
        Made::Persisted(p) => Ok((p, stats)),
        Made::Arrays(_) => unreachable!("persisting runs keep chunks"),
    }
}

/// Runs the graph writing output `k`'s blocks to `sinks[k]` as they are made (each
/// released once written, so no output is ever whole in memory), then finishes every
/// sink; on any error every sink is aborted, so nothing half-written is left.
pub(crate) fn execute_store(
    g: &TaskGraph,
    opts: &ComputeOptions,
    sinks: Vec<Arc<dyn crate::storage::ChunkSink>>,
) -> Result<Stats> {
    let abort = |sinks: &[Arc<dyn crate::storage::ChunkSink>]| sinks.iter().for_each(|s| s.abort());
    match run(g, opts, Mode::Store, sinks.clone(), None) {
        Ok((_, stats)) => {
            for s in &sinks {
                if let Err(e) = s.finish() {
                    abort(&sinks);
                    return Err(e);
                }
            }
            Ok(stats)
        }
        Err(e) => {
            abort(&sinks);
            Err(e)
        }
    }
}

fn run(
    g: &TaskGraph,
    opts: &ComputeOptions,
    mode: Mode,
    sinks: Vec<Arc<dyn crate::storage::ChunkSink>>,
    transport: Option<&dyn Transport>,
) -> Result<(Made, Stats)> {
    let t0 = Instant::now();
    // Ranks: who owns each task, and which chunks go where.
    let transport = transport.filter(|t| t.size() > 1);
    let ranked = match transport {
        Some(tr) => {
            ranks::check(g, tr)?;
            Some(Ranked::new(g, tr, mode == Mode::Assemble))
        }
        None => {
            ranks::check_alone(g)?;
            None
        }
    };
    let root = ranked.as_ref().is_none_or(|r| r.rank == 0);
    let opened = crate::backend::open_all(&opts.targets())?;
    let devices = opened.devices;
    let mut targets: Vec<Option<usize>> = (0..devices.len()).map(Some).collect();
    if opened.cpu && !devices.is_empty() {
        targets.push(None);
    }
    let host_limit = opts.host_limit();
    let device_limits: Vec<Option<u64>> = devices
        .iter()
        .map(|d| {
            opts.device_memory_limit
                .or_else(|| d.memory_bytes().map(|b| b / 10 * 8))
        })
        .collect();
    let result_bytes: u64 = match mode {
        Mode::Assemble if !root => 0,
        Mode::Assemble => g
            .outputs
            .iter()
            .map(|o| (o.shape.iter().product::<usize>() * o.dtype.size()) as u64)
            .sum(),
        Mode::Persist | Mode::Store => 0,
    };
    let n = g.tasks.len();
    let mut stored_task = vec![false; n];
    for s in &g.stored {
        stored_task[s.0] = true;
    }
    let footprint = footprints(g);
    project(
        g,
        opts,
        mode,
        host_limit,
        result_bytes,
        &device_limits,
        &footprint,
        &stored_task,
    )?;

    // Persisted inputs are locked for the whole run (in address order, so two runs
    // never wait on each other crosswise).
    let mut persisted: Vec<Arc<Persisted>> = g.stored.iter().map(|s| s.1.clone()).collect();
    persisted.sort_by_key(|p| Arc::as_ptr(p) as usize);
    persisted.dedup_by_key(|p| Arc::as_ptr(p) as usize);
    let mut guards: Vec<_> = persisted.iter().map(|p| p.lock()).collect();
    let guard_of = |p: &Arc<Persisted>| {
        persisted
            .iter()
            .position(|q| Arc::ptr_eq(p, q))
            .expect("every persisted input is locked")
    };

    let mut dependents: Vec<Vec<usize>> = vec![vec![]; n];
    let mut waiting = vec![0usize; n];
    for (i, t) in g.tasks.iter().enumerate() {
        waiting[i] = t.inputs.len();
        for &j in &t.inputs {
            dependents[j].push(i);
        }
    }
    let mut store = Store::new(
        dependents,
        g.priority.clone(),
        device_limits.clone(),
        host_limit,
        opts.disk_limit,
    );
    for (i, t) in g.tasks.iter().enumerate() {
        if ranked.as_ref().is_some_and(|r| r.remote[i]) {
            continue;
        }
        for &j in &t.inputs {
            store.slots[j].left += 1;
        }
    }
    if let Some(r) = &ranked {
        // A chunk other ranks read counts as a consumer per rank until sent there.
        for (j, to) in r.send_to.iter().enumerate() {
            store.slots[j].left += to.len();
        }
    }
    // Where output blocks go: into the result on rank 0, or (a store) written by the
    // rank that made them.
    let remote = |t: usize| ranked.as_ref().is_some_and(|r| r.remote[t]);
    let mut positions: Vec<Vec<(usize, Vec<usize>)>> = vec![vec![]; n];
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
    let scratch = Arc::new(SpillDir::new(&opts.spill_parent(), "tessera-spill"));
    let persist_dirs: Vec<Arc<SpillDir>> = match mode {
        Mode::Persist => g
            .outputs
            .iter()
            .map(|_| Arc::new(SpillDir::new(&opts.spill_parent(), "tessera-persist")))
            .collect(),
        Mode::Assemble | Mode::Store => vec![],
    };
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
                        store.slots[b].home = Some(persist_dirs[k].clone());
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
        let chunk = &mut guards[guard_of(p)][*block];
        let slot_home = p.dir.clone();
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
        store.slots[*t].home = Some(slot_home);
        store.finish(*t);
        done += 1;
        for &d in store.consumers(*t) {
            waiting[d] -= 1;
        }
    }
    // Tasks other ranks run: those whose chunks never come here are done already.
    if let Some(r) = &ranked {
        done += (0..n).filter(|&i| r.remote[i] && !r.expected[i]).count();
    }
    let ready = (0..n)
        .filter(|&i| waiting[i] == 0 && !stored_task[i])
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
    let bar = opts.progress.then(|| {
        let b = indicatif::ProgressBar::new(n as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} tasks ({per_sec}, eta {eta}) {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
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
        positions,
        placed: Mutex::new(vec![false; n]),
    });
    let ndev = devices.len();
    let run = Run {
        g,
        opts,
        devices,
        cpu: Arc::new(CpuBackend) as Arc<dyn Backend>,
        targets,
        workers,
        state: Mutex::new(State {
            store,
            ready,
            waiting,
            running: 0,
            sleepers: 0,
            io: 0,
            done,
            on_device: vec![0; ndev],
            busy: vec![0; ndev + 1],
            moved_in: vec![(0, 0); ndev],
            transfers: 0,
            error: lost.map(|t| Error::Backend {
                device: "store".into(),
                op: "persisted".into(),
                reason: format!(
                    "block {:?} of a persisted array has no copy (lost when an earlier compute failed); persist the array again",
                    g.tasks[t].block
                ),
            }),
            spill_time: Duration::ZERO,
            outbox,
            sent: (0, 0),
            received: (0, 0),
        }),
        cv: Condvar::new(),
        io_cv: Condvar::new(),
        scratch,
        trace: trace::Trace::new(opts.trace.is_some()),
        declined: Mutex::new(Default::default()),
        bar,
        footprint,
        sink,
        io_thread: opts.scheduler != Scheduler::Sync,
        device_limits,
        ranked,
        transport,
    };
    // Persisted inputs held in memory beyond this run's limits (they were there before
    // it started) spill before anything runs; the peaks count from there.
    let first = run.lock().store.pressure();
    if !first.is_empty() {
        run.evict(first, Some(0));
        let mut st = run.lock();
        for t in st.store.tiers.iter_mut() {
            t.peak = t.held;
        }
    }
    if run.io_thread {
        std::thread::scope(|s| {
            s.spawn(|| run.io_loop());
            if run.ranked.is_some() {
                s.spawn(|| run.exchange_loop());
            }
            workers::pool(workers).scope(|ps| {
                for w in 0..workers {
                    let run = &run;
                    ps.spawn(move |_| run.worker(w));
                }
            });
            run.cv.notify_all();
            run.io_cv.notify_all();
        });
    } else if run.ranked.is_some() {
        std::thread::scope(|s| {
            s.spawn(|| run.exchange_loop());
            run.worker(0);
        });
    } else {
        run.worker(0);
    }
    if let Some(b) = &run.bar {
        b.finish_and_clear();
    }
    let failed = run.lock().error.take();
    if let (Some(e), Some(tr)) = (&failed, transport) {
        tr.abort(&format!("rank {}: {e}", tr.rank()));
    }
    let made = match failed {
        Some(e) => Err(e),
        None if !root && mode == Mode::Assemble => Ok(Made::Arrays(vec![])),
        None => outputs::collect(&run, mode, &persist_dirs),
    };
    // Persisted inputs go back to their arrays, wherever their copies ended up.
    {
        let mut st = run.lock();
        for (t, p, block) in &g.stored {
            if run.ranked.as_ref().is_some_and(|r| r.remote[*t]) {
                continue;
            }
            let host = st.store.ti(Tier::Host);
            let slot = &mut st.store.slots[*t];
            guards[guard_of(p)][*block] = StoredChunk {
                host: slot.copies[host].take(),
                disk: slot.disk.take(),
            };
        }
    }
    drop(guards);
    if let Some(path) = &opts.trace {
        match (transport, &run.ranked) {
            // Every rank's rows go to rank 0, which writes one trace, a process per rank.
            (Some(tr), Some(r)) => {
                let mine = run
                    .trace
                    .render(r.rank, &format!("rank {}", r.rank), workers);
                let all = tr.gather(mine.into_bytes())?;
                if r.rank == 0 {
                    let all: Vec<String> = all
                        .into_iter()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .collect();
                    trace::Trace::write_all(path, &all)?;
                }
            }
            _ => run.trace.write(path, workers)?,
        }
    }
    let made = made?;
    let st = run.lock();
    let tier_stats = |tiers: &[store::TierState]| {
        let mut s = TierStats::default();
        for t in tiers {
            s.limit = match (s.limit, t.limit) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            s.peak += t.peak;
            s.spilled_bytes += t.spilled_bytes;
            s.spilled_chunks += t.spilled_chunks;
            s.read_back_bytes += t.read_back_bytes;
            s.read_back_chunks += t.read_back_chunks;
        }
        s
    };
    let ndev = st.store.ndev;
    let host = tier_stats(&st.store.tiers[ndev..ndev + 1]);
    let device = tier_stats(&st.store.tiers[..ndev]);
    let disk = tier_stats(&st.store.tiers[ndev + 1..]);
    let stats = Stats {
        tasks: n,
        peak_bytes: host.peak,
        wall: t0.elapsed(),
        workers,
        device_tasks: st.on_device.iter().sum(),
        per_device: (0..ndev)
            .map(|d| DeviceStats {
                device: run.devices[d].device(),
                tasks: st.on_device[d],
                memory: tier_stats(&st.store.tiers[d..d + 1]),
                bytes_in: st.moved_in[d].0,
                bytes_from_devices: st.moved_in[d].1,
            })
            .collect(),
        peak_device_bytes: device.peak,
        transfers: st.transfers,
        host,
        device,
        disk,
        spill_time: st.spill_time,
        rank: run.ranked.as_ref().map_or(0, |r| r.rank),
        ranks: run.ranked.as_ref().map_or(1, |r| r.size),
        remote_tasks: run
            .ranked
            .as_ref()
            .map_or(0, |r| r.remote.iter().filter(|&&x| x).count()),
        sent: st.sent,
        received: st.received,
    };
    Ok((made, stats))
}

/// Bytes each task holds while it runs: its output and each distinct input.
fn footprints(g: &TaskGraph) -> Vec<u64> {
    g.tasks
        .iter()
        .map(|t| {
            let mut inputs = t.inputs.clone();
            inputs.sort_unstable();
            inputs.dedup();
            t.nbytes + inputs.iter().map(|&j| g.tasks[j].nbytes).sum::<u64>()
        })
        .collect()
}

/// Refuses a `compute()` whose assembled result alone exceeds the host limit.
pub(crate) fn refuse_result(result_bytes: u64, host_limit: u64) -> Result<()> {
    if result_bytes > host_limit {
        return Err(Error::OutOfMemory {
            tier: Tier::Host,
            what: "the result of compute()".into(),
            needed: result_bytes,
            limit: host_limit,
            fix: "persist() the array instead (its chunks spill to disk) and reduce or slice it before computing, or raise host_memory_limit".into(),
        });
    }
    Ok(())
}

/// Refuses a `persist()` whose chunks cannot all be kept: what exceeds the host limit
/// goes to disk, under `disk_limit` or, without one, the space free there now.
pub(crate) fn refuse_persist(result_bytes: u64, opts: &ComputeOptions) -> Result<()> {
    let needed = result_bytes.saturating_sub(opts.host_limit());
    let dir = opts.spill_parent();
    let (limit, which) = match opts.disk_limit {
        Some(l) => (Some(l), "disk_limit"),
        None => (memory::free_disk_bytes(&dir), "the free space"),
    };
    match limit {
        Some(limit) if needed > limit => Err(Error::OutOfMemory {
            tier: Tier::Disk,
            what: format!(
                "persisting {result_bytes} bytes (what exceeds the host limit spills to {})",
                dir.display()
            ),
            needed,
            limit,
            fix: format!("{which} is too small: point spill_dir at a larger disk, raise host_memory_limit, or reduce the array before persisting"),
        }),
        _ => Ok(()),
    }
}

/// Refuses, before the graph is built, one whose tasks alone cannot fit in host memory:
/// `tasks` is a lower bound (the result's blocks), each costing at least its `Task`.
pub(crate) fn refuse_graph(tasks: u128, host_limit: u64) -> Result<()> {
    let per_task = std::mem::size_of::<crate::graph::Task>();
    let needed = tasks.saturating_mul(per_task as u128);
    if needed > host_limit as u128 {
        return Err(Error::OutOfMemory {
            tier: Tier::Host,
            what: format!("the task graph ({tasks} tasks at least, {per_task} bytes each before their inputs and buffers)"),
            needed: needed.min(u64::MAX as u128) as u64,
            limit: host_limit,
            fix: "use larger chunks (fewer blocks), or raise host_memory_limit".into(),
        });
    }
    Ok(())
}

/// Refuses, before anything runs, what cannot fit even with everything else spilled: the
/// assembled result in host memory, or one task with its inputs.
#[allow(clippy::too_many_arguments)]
fn project(
    g: &TaskGraph,
    opts: &ComputeOptions,
    mode: Mode,
    host_limit: u64,
    result_bytes: u64,
    device_limits: &[Option<u64>],
    footprint: &[u64],
    stored: &[bool],
) -> Result<()> {
    if mode == Mode::Assemble {
        refuse_result(result_bytes, host_limit)?;
    }
    let pinned_limit = device_limits
        .first()
        .copied()
        .flatten()
        .filter(|_| !opts.cpu_fallback);
    for (i, t) in g.tasks.iter().enumerate() {
        if stored[i] {
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
