//! `tessera ranks`: a workload over MPI ranks, its digest compared with one process's.

use crate::memory::MemoryArgs;
use clap::Args;
use std::time::Instant;
use tessera::{ComputeOptions, Scheduler};

/// Runs a workload over MPI ranks (launch with mpirun or srun; a build with the `mpi`
/// feature) and prints, on rank 0, a digest of its results, the same as one process
/// computes when the results are bit-identical; every rank prints what it ran, sent and
/// received.
#[derive(Args)]
pub struct RanksArgs {
    /// seed, y, reductions, matmul, tsqr or tall (see tessera::distributed::workload).
    pub workload: String,
    /// Edge of the square arrays.
    #[arg(long, default_value_t = 2_000)]
    pub size: usize,
    /// Edge of the square chunks.
    #[arg(long, default_value_t = 250)]
    pub chunk: usize,
    /// Worker threads per rank (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Compute in this process alone, to compare with (no MPI).
    #[arg(long)]
    pub single: bool,
    /// Give every rank the results (rank 0 broadcasts them), each printing a digest.
    #[arg(long)]
    pub everywhere: bool,
    /// For fault tests: this rank panics during the compute.
    #[arg(long)]
    pub panic_rank: Option<usize>,
    /// For fault tests: this rank kills itself (SIGKILL) during the compute.
    #[arg(long)]
    pub kill_rank: Option<usize>,
    /// Persist the workload's largest output p over the ranks (each keeps its own
    /// blocks), then compute p @ p.T and p.sum(0) from it and print their digest.
    #[arg(long)]
    pub persist: bool,
    /// Write the workload's largest output to this .npy file, every rank writing
    /// its own blocks, then print a digest of the file read back.
    #[arg(long)]
    pub to_npy: Option<std::path::PathBuf>,
    /// Write the workload's largest output to this Zarr array (as --to-npy); into
    /// the array already there, if any, in its chunks.
    #[arg(long)]
    pub to_zarr: Option<std::path::PathBuf>,
    /// Where each rank runs its chunks: cpu (the default, so results compare across
    /// machines), auto (the GPU its node-local rank picks), wgpu:N or cuda:N. With
    /// CUDA on every rank and the `nccl` feature, chunks cross ranks GPU to GPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Limits per rank (each rank keeps its own tiers), and the trace.
    #[command(flatten)]
    pub memory: MemoryArgs,
}

pub fn run(args: RanksArgs, cancel: &tessera::CancelToken) -> tessera::Result<()> {
    let RanksArgs {
        workload,
        size,
        chunk,
        threads,
        single,
        everywhere,
        panic_rank,
        kill_rank,
        persist,
        to_npy,
        to_zarr,
        device,
        memory,
    } = args;
    let opts = memory.apply(ComputeOptions {
        scheduler: Scheduler::Threads(threads),
        device: device.parse()?,
        cancel: Some(cancel.clone()),
        ..ComputeOptions::default()
    });
    let arrays = tessera::distributed::workload(&workload, size, chunk)?;
    let refs: Vec<&tessera::Array> = arrays.iter().collect();
    if to_npy.is_some() || to_zarr.is_some() {
        return ranks_store(&workload, &arrays, single, to_npy, to_zarr, &opts);
    }
    if persist {
        return ranks_persist(&workload, &arrays, single, &opts);
    }
    if single {
        let t = Instant::now();
        let out = tessera::compute_all_with(&refs, &opts)?;
        println!(
            "result {workload} digest {:016x} in {:.3} s on 1 process",
            tessera::distributed::digest(&out),
            t.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let world = tessera::distributed::init()?;
    let rank = world.rank();
    if panic_rank == Some(rank) || kill_rank == Some(rank) {
        let kill = kill_rank == Some(rank);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            if kill {
                // SAFETY: sends SIGKILL to this process, as a crashed node would.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            }
            panic!("rank {rank} panics on purpose (--panic-rank)");
        });
    }
    let t = Instant::now();
    if everywhere {
        let out = world.compute_all_everywhere(&refs, &opts)?;
        println!(
            "result {workload} digest {:016x} on rank {rank} of {}",
            tessera::distributed::digest(&out),
            world.size()
        );
        return Ok(());
    }
    let (out, s) = world.compute_stats(&refs, &opts)?;
    let secs = t.elapsed().as_secs_f64();
    println!("{}", rank_line(&world, &s));
    if let Some(out) = out {
        println!(
            "result {workload} digest {:016x} in {secs:.3} s on {} ranks",
            tessera::distributed::digest(&out),
            world.size()
        );
    }
    Ok(())
}

/// What one rank did in a ranked compute, as one line.
pub(crate) fn rank_line(
    world: &tessera::distributed::World,
    s: &tessera::scheduler::Stats,
) -> String {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    format!(
        "rank {}/{}: {} of {} tasks done here, sent {} chunks ({:.1} MiB), received {} ({:.1} MiB), host peak {:.1} MiB",
        world.rank(),
        world.size(),
        s.tasks - s.remote_tasks,
        s.tasks,
        s.sent.0,
        mib(s.sent.1),
        s.received.0,
        mib(s.received.1),
        mib(s.host.peak)
    )
}

/// The largest of a workload's outputs (what `ranks --persist/--to-npy/--to-zarr` use).
fn largest(arrays: &[tessera::Array]) -> &tessera::Array {
    arrays
        .iter()
        .rev()
        .max_by_key(|a| a.shape().iter().product::<usize>())
        .expect("a workload has outputs")
}

/// `tessera ranks W --persist`: the workload's largest output persisted over the ranks
/// (or in one process with `single`), then p @ p.T and p.sum(0) computed from it.
fn ranks_persist(
    workload: &str,
    arrays: &[tessera::Array],
    single: bool,
    opts: &ComputeOptions,
) -> tessera::Result<()> {
    let a = largest(arrays);
    let world = tessera::distributed::init()?;
    let t = Instant::now();
    let p = if single {
        a.persist_with(opts)?
    } else {
        world.persist(a, opts)?
    };
    let outs = [p.matmul(&p.t()), p.sum_axis(0)];
    let refs: Vec<&tessera::Array> = outs.iter().collect();
    let (out, s) = if single {
        (Some(tessera::compute_all_with(&refs, opts)?), None)
    } else {
        let (o, s) = world.compute_stats(&refs, opts)?;
        (o, Some(s))
    };
    if let Some(s) = &s {
        let held = p
            .persisted()
            .map_or(0, |q| q.bytes_in_memory() + q.bytes_on_disk());
        println!("{}, persisted bytes held {held}", rank_line(&world, s));
        // This rank holds only its blocks: a compute in this process alone must refuse.
        if let Err(e) = p.sum().compute_host_with(opts) {
            println!("alone on rank {}: {e}", world.rank());
        }
    }
    if let Some(out) = out {
        println!(
            "persisted {workload} digest {:016x} in {:.3} s on {} ranks",
            tessera::distributed::digest(&out),
            t.elapsed().as_secs_f64(),
            if single { 1 } else { world.size() }
        );
    }
    Ok(())
}

/// `tessera ranks W --to-npy/--to-zarr`: the workload's largest output written by every
/// rank (or one process with `single`), then read back on rank 0 and digested.
fn ranks_store(
    workload: &str,
    arrays: &[tessera::Array],
    single: bool,
    to_npy: Option<std::path::PathBuf>,
    to_zarr: Option<std::path::PathBuf>,
    opts: &ComputeOptions,
) -> tessera::Result<()> {
    let a = largest(arrays);
    let world = if single {
        None
    } else {
        Some(tessera::distributed::init()?)
    };
    let z = tessera::storage::zarr::ZarrOptions::default();
    let t = Instant::now();
    let s = match (&world, &to_npy, &to_zarr) {
        (Some(w), Some(p), _) => w.to_npy(a, p, opts)?,
        (Some(w), None, Some(p)) => w.to_zarr(a, p, &z, opts)?,
        (None, Some(p), _) => a.to_npy_with(p, opts)?,
        (None, None, Some(p)) => a.to_zarr_with(p, &z, opts)?,
        (_, None, None) => unreachable!("called with a path"),
    };
    let secs = t.elapsed().as_secs_f64();
    let (rank, ranks) = world.as_ref().map_or((0, 1), |w| (w.rank(), w.size()));
    if let Some(w) = &world {
        println!("{}", rank_line(w, &s));
    }
    if rank == 0 {
        let back = match (&to_npy, &to_zarr) {
            (Some(p), _) => tessera::from_npy(p, "auto")?,
            (None, Some(p)) => tessera::from_zarr(p)?,
            _ => unreachable!("called with a path"),
        };
        let host = back.compute_host_with(opts)?;
        println!(
            "stored {workload} digest {:016x} in {secs:.3} s on {ranks} ranks",
            tessera::distributed::digest(&[host])
        );
    }
    Ok(())
}
