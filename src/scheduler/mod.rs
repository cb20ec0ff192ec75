//! The scheduler: runs a [`TaskGraph`] with a pool of workers, keeping every memory tier
//! (each device, the host, the disk) under its limit.
//!
//! Ready tasks run lowest-priority-number first (see `graph::order`), which walks the
//! graph depth first toward the outputs so memory is freed early. Rooms:
//! - `options`: what a compute may be asked (limits, spill directory, trace) and `Stats`;
//! - `store`: where every chunk's copies live, the bytes and limit of every tier, and
//!   which chunk to spill (furthest next use in the known order);
//! - `prepare`, `conclude`: the first and last phases of a run (see `run`);
//! - `placement`: which backends are open and where each task runs;
//! - `workers`: the worker loop (admit, bring inputs, run, settle) and the I/O thread;
//! - `outputs`: the results assembled, or handed to a [`Persisted`];
//! - `cancel`: the `CancelToken` a host stops a compute with;
//! - `trace`: the task stream as Chrome-trace JSON;
//! - `ranks`: runs over several processes (ownership by rank, chunk messages, the
//!   `Transport` that `distributed` implements with MPI);
//! - `exchange`: the thread that sends and receives those chunks.
//!
//! Before anything runs, a compute whose result, or one of whose tasks with its inputs,
//! cannot fit the host limit even with everything else spilled is an
//! [`Error::OutOfMemory`] (as Cubed projects memory before it runs).

mod cancel;
mod conclude;
mod exchange;
mod memory;
mod options;
mod outputs;
mod placement;
mod prepare;
mod ranks;
mod store;
mod trace;
mod watch;
mod workers;

pub use crate::chunks::parse_bytes;
pub use crate::spill::Persisted;
pub use cancel::CancelToken;
pub use memory::{
    available_host_bytes, free_disk_bytes, host_memory_bytes, peak_rss_bytes, process_disk_bytes,
    tune_allocator,
};
pub use options::{set_default_options, ComputeOptions, DeviceStats, Scheduler, Stats, TierStats};
pub use ranks::Transport;
pub(crate) use ranks::{decode as decode_chunk, encode as encode_chunk};
pub use watch::Progress;

use crate::dtype::HostArray;
use crate::error::{Error, Result, Tier};
use crate::graph::TaskGraph;
use placement::Targets;
use std::sync::Arc;
use std::time::Instant;

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

/// One run, in three phases: `prepare` (this rank's tasks, the backends and limits, the
/// memory projection, persisted inputs checked out, the store and ready queue), the
/// drive (workers, the I/O thread, the exchange with other ranks), and `conclude` (the
/// outcome, persisted inputs given back, the trace, the statistics).
fn run(
    g: &TaskGraph,
    opts: &ComputeOptions,
    mode: Mode,
    sinks: Vec<Arc<dyn crate::storage::ChunkSink>>,
    transport: Option<&dyn Transport>,
) -> Result<(Made, Stats)> {
    let t0 = Instant::now();
    let transport = transport.filter(|t| t.size() > 1);
    let ranked = prepare::rank_plan(g, transport, mode)?;
    let root = ranked.as_ref().is_none_or(|r| r.rank == 0);
    let targets = Targets::open(opts)?;
    let sizes = prepare::Sizes::of(g, mode, root);
    prepare::project(g, opts, mode, &targets, &sizes)?;
    let inputs = prepare::Inputs::of(g);
    let mut guards = inputs.lock();
    let p = prepare::prepare(
        g,
        opts,
        mode,
        sinks,
        transport,
        ranked,
        targets,
        sizes,
        &inputs,
        &mut guards,
    );
    p.run.drive();
    let made = conclude::outcome(&p.run, mode, &p.persist_dirs);
    inputs.give_back(&p.run, &mut guards);
    drop(guards);
    conclude::write_trace(&p.run, transport)?;
    let made = made?;
    Ok((made, conclude::stats(&p.run, t0)))
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
