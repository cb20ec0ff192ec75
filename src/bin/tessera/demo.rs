//! `tessera demo`: the seed expression (x + x.T).sum(axis=0).mean(), optionally
//! persisted, written to .npy or Zarr and read back, or over MPI ranks.

use crate::memory::{gib, MemoryArgs};
use crate::ranks::rank_line;
use clap::Args;
use std::path::Path;
use std::time::Instant;
use tessera::Array;
use tessera::{ComputeOptions, Device, Scheduler};

/// (x + x.T).sum(axis=0).mean() on a random array, with a progress bar.
#[derive(Args)]
pub struct DemoArgs {
    /// Edge of the square array.
    #[arg(long, default_value_t = 20_000)]
    pub size: usize,
    /// Edge of the square chunks.
    #[arg(long, default_value_t = 2_000)]
    pub chunk: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Where the chunks run: auto (a hardware GPU if any, else the CPU), cpu, wgpu:N,
    /// wgpu:NAME (an adapter whose name contains NAME, e.g. wgpu:llvmpipe) or cuda:N;
    /// several, comma-separated (cuda:*, wgpu:0,wgpu:1, cpu,cuda:0), share the blocks.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Persist x first (its chunks stay in memory up to the limit, the rest spill to
    /// disk), then compute y from the stored chunks, so x.T reads spilled data.
    #[arg(long)]
    pub persist: bool,
    /// Also write x + x.T (the whole size² f64 array) to this .npy file, each block as
    /// it is made, then read the file back and compute y from it.
    #[arg(long)]
    pub to_npy: Option<std::path::PathBuf>,
    /// The same, to a new Zarr v3 array (zstd) at this directory, in chunk² chunks.
    #[arg(long)]
    pub to_zarr: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

pub fn run(args: DemoArgs, cancel: &tessera::CancelToken) -> tessera::Result<()> {
    let set = tessera::backend::parse_devices(&args.device)?;
    let opts = args.memory.apply(ComputeOptions {
        scheduler: Scheduler::Threads(args.threads),
        device: set[0],
        devices: if set.len() > 1 { set.clone() } else { vec![] },
        progress: !args.quiet,
        cancel: Some(cancel.clone()),
        ..ComputeOptions::default()
    });
    let x = tessera::random::uniform(&[args.size, args.size], &[args.chunk, args.chunk], 42)?;
    if tessera::distributed::launched().is_some_and(|n| n > 1) {
        if args.persist {
            return Err(tessera::Error::arg(
                "demo",
                "--persist keeps chunks in one process; launch the demo without mpirun for it",
            ));
        }
        return ranked(&args, &x, &opts);
    }
    single(&args, x, &opts, &set)
}

/// Under mpirun: every rank computes its blocks of y, and of x + x.T when writing it
/// (every rank writes the blocks it computes, then every rank reads the file back).
fn ranked(args: &DemoArgs, x: &Array, opts: &ComputeOptions) -> tessera::Result<()> {
    let t = Instant::now();
    let (x, opts) = (x.clone(), opts.clone());
    let world = tessera::distributed::init()?;
    let y = (&x + &x.t()).sum_axis(0).mean();
    let (out, s) = world.compute_stats(&[&y], &opts)?;
    println!("{}", rank_line(&world, &s));
    let v = out.map(|o| o[0].to_f64()[[]]);
    if let Some(v) = v {
        println!("x = {x}");
        println!("y = (x + x.T).sum(axis=0).mean()");
        println!("result: {v}");
    }
    // Every rank writes the blocks of x + x.T it computes; then every rank
    // reads the file back for y.
    let z = tessera::storage::zarr::ZarrOptions {
        overwrite: true,
        ..Default::default()
    };
    for (path, zarr) in [(&args.to_npy, false), (&args.to_zarr, true)] {
        let Some(path) = path else { continue };
        let t2 = Instant::now();
        let st = if zarr {
            world.to_zarr(&(&x + &x.t()), path, &z, &opts)?
        } else {
            world.to_npy(&(&x + &x.t()), path, &opts)?
        };
        let secs = t2.elapsed().as_secs_f64();
        let back = if zarr {
            tessera::from_zarr(path)?
        } else {
            tessera::from_npy(path, &[args.chunk, args.chunk][..])?
        };
        let w = world.compute_all(&[&back.sum_axis(0).mean()], &opts)?;
        if let (Some(w), Some(v)) = (w, v) {
            let w = w[0].to_f64()[[]];
            println!(
                "x + x.T written to {} by {} ranks in {secs:.3} s ({:.2} GB/s, rank 0 host peak {:.2} GiB); y from the file: {w} ({})",
                path.display(),
                world.size(),
                (args.size * args.size * 8) as f64 / secs / 1e9,
                gib(st.host.peak),
                if w == v { "identical" } else { "DIFFERS" }
            );
        }
    }
    if v.is_some() {
        println!(
            "wall time: {:.3} s on {} ranks",
            t.elapsed().as_secs_f64(),
            world.size()
        );
    }
    Ok(())
}

/// One process: x (persisted first with --persist), y, the writes, and what it took.
fn single(args: &DemoArgs, x: Array, opts: &ComputeOptions, set: &[Device]) -> tessera::Result<()> {
    let t = Instant::now();
    println!("x = {x}");
    let (x, persisted) = if args.persist {
        let (p, s) = x.persist_stats(opts)?;
        let stored = p.persisted().expect("persist returns a persisted array");
        println!(
            "x persisted in {:.3} s: {:.2} GiB in memory, {:.2} GiB on disk (host peak {:.2} GiB, {:.2} GiB spilled)",
            t.elapsed().as_secs_f64(),
            gib(stored.bytes_in_memory()),
            gib(stored.bytes_on_disk()),
            gib(s.host.peak),
            gib(s.host.spilled_bytes)
        );
        (p.clone(), Some(s))
    } else {
        (x, None)
    };
    let y = (&x + &x.t()).sum_axis(0).mean();
    println!("y = (x + x.T).sum(axis=0).mean()");
    println!("y = {y}");
    let t1 = Instant::now();
    let resolved: Vec<Device> = set.iter().map(|&d| tessera::backend::resolve(d)).collect();
    let lowering = tessera::graph::Lowering::for_devices(&resolved);
    let g = tessera::graph::TaskGraph::build_with(&[&y], lowering)?;
    let r = tessera::scheduler::execute(&g, opts)?;
    let v = r.outputs[0].to_f64()[[]];
    println!("result: {v}");
    if let Some(path) = &args.to_npy {
        write_npy(args, &x, path, opts, v)?;
    }
    if let Some(path) = &args.to_zarr {
        write_zarr(&x, path, opts, v)?;
    }
    println!(
        "wall time: {:.3} s on {} workers{}",
        t.elapsed().as_secs_f64(),
        r.stats.workers,
        if args.persist {
            format!(
                " ({:.3} s for y from the stored chunks)",
                t1.elapsed().as_secs_f64()
            )
        } else {
            String::new()
        }
    );
    report(args, &r.stats, persisted.as_ref(), &resolved, opts);
    if args.persist {
        // Dropping the persisted array removes its spill files (on a filesystem
        // with online discard that takes about a second per GB).
        let t2 = Instant::now();
        drop((x, y, g));
        println!(
            "cleanup: {:.3} s (persisted chunks freed, spill files removed)",
            t2.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// x + x.T written to a .npy file, read back, and y recomputed from it.
fn write_npy(
    args: &DemoArgs,
    x: &Array,
    path: &Path,
    opts: &ComputeOptions,
    v: f64,
) -> tessera::Result<()> {
    let t2 = Instant::now();
    let st = (x + &x.t()).to_npy_with(path, opts)?;
    let secs = t2.elapsed().as_secs_f64();
    let bytes = (args.size * args.size * 8) as f64;
    println!(
        "x + x.T written to {} in {secs:.3} s ({:.2} GB/s, host peak {:.2} GiB, {:.2} GiB spilled)",
        path.display(),
        bytes / secs / 1e9,
        gib(st.host.peak),
        gib(st.host.spilled_bytes)
    );
    let back = tessera::from_npy(path, &[args.chunk, args.chunk][..])?
        .sum_axis(0)
        .mean();
    let w = back.compute_with::<f64>(opts)?[[]];
    println!(
        "y from the file: {w} ({})",
        if w == v { "identical" } else { "DIFFERS" }
    );
    Ok(())
}

/// x + x.T written to a Zarr array, read back, and y recomputed from it.
fn write_zarr(x: &Array, path: &Path, opts: &ComputeOptions, v: f64) -> tessera::Result<()> {
    let t2 = Instant::now();
    let z = tessera::storage::zarr::ZarrOptions {
        overwrite: true,
        ..Default::default()
    };
    let st = (x + &x.t()).to_zarr_with(path, &z, opts)?;
    let secs = t2.elapsed().as_secs_f64();
    let info = tessera::storage::zarr::info(path)?;
    println!(
        "x + x.T written to {} in {secs:.3} s ({:.2} GB/s of data, {:.2}x compressed, host peak {:.2} GiB, {:.2} GiB spilled)",
        path.display(),
        info.bytes as f64 / secs / 1e9,
        info.bytes as f64 / info.stored_bytes.max(1) as f64,
        gib(st.host.peak),
        gib(st.host.spilled_bytes)
    );
    let back = tessera::from_zarr(path)?.sum_axis(0).mean();
    let w = back.compute_with::<f64>(opts)?[[]];
    println!(
        "y from the Zarr array: {w} ({})",
        if w == v { "identical" } else { "DIFFERS" }
    );
    Ok(())
}

/// Where the tasks ran, memory, spills, disk and the trace.
fn report(
    args: &DemoArgs,
    s: &tessera::scheduler::Stats,
    persisted: Option<&tessera::scheduler::Stats>,
    resolved: &[Device],
    opts: &ComputeOptions,
) {
    // What `auto` chose, for the line below.
    if resolved.len() > 1 {
        let each: Vec<String> = s
            .per_device
            .iter()
            .map(|d| {
                format!(
                    "{} on {} ({:.1} MiB moved in, {:.1} MiB of it from other devices)",
                    d.tasks,
                    d.device,
                    d.bytes_in as f64 / (1 << 20) as f64,
                    d.bytes_from_devices as f64 / (1 << 20) as f64
                )
            })
            .collect();
        println!(
            "tasks: {} ({}; {} on the cpu)",
            s.tasks,
            each.join(", "),
            s.tasks - s.device_tasks
        );
    } else {
        let ran_on = resolved[0];
        println!(
            "tasks: {} ({} on {ran_on})",
            s.tasks,
            if ran_on == Device::Cpu {
                s.tasks
            } else {
                s.device_tasks
            }
        );
    }
    println!(
        "peak chunk memory held: {:.1} MiB (array is {:.1} GiB)",
        s.peak_bytes as f64 / (1 << 20) as f64,
        gib((args.size * args.size * 8) as u64)
    );
    if let Some(p) = persisted {
        println!(
            "spilled: {:.2} GiB written while persisting, {:.2} GiB written and {:.2} GiB read back for y; {:.2} s in spill I/O",
            gib(p.host.spilled_bytes),
            gib(s.host.spilled_bytes),
            gib(s.host.read_back_bytes),
            (p.spill_time + s.spill_time).as_secs_f64()
        );
    } else if s.host.spilled_bytes + s.device.spilled_bytes > 0 {
        println!(
            "spilled: {:.2} GiB host to disk, {:.2} GiB device to host; {:.2} s in spill I/O",
            gib(s.host.spilled_bytes),
            gib(s.device.spilled_bytes),
            s.spill_time.as_secs_f64()
        );
    }
    if let Some(rss) = tessera::scheduler::peak_rss_bytes() {
        println!("peak process RSS: {:.1} MiB", rss as f64 / (1 << 20) as f64);
    }
    if let Some((read, written)) = tessera::scheduler::process_disk_bytes() {
        println!(
            "disk: {:.2} GiB read, {:.2} GiB written by this process (what the page cache did not absorb)",
            gib(read),
            gib(written)
        );
    }
    if let Some(path) = &opts.trace {
        println!(
            "trace: {} (open in https://ui.perfetto.dev)",
            path.display()
        );
    }
}
