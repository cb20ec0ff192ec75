//! The `tessera` command: `info`, `demo` and `bench`.

use clap::{Args, Parser, Subcommand};
use std::time::Instant;
use tessera::bench::{self, BenchConfig};
use tessera::{ComputeOptions, Device, Scheduler};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Lazy chunked n-dimensional arrays on GPUs and CPUs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Memory tiers and the task-stream trace (sizes like 4GiB, 512MiB, 2GB).
#[derive(Args, Clone)]
struct MemoryArgs {
    /// Host memory the chunks may hold (default: 0.8 of RAM or the cgroup limit).
    #[arg(long, value_parser = size)]
    host_memory_limit: Option<u64>,
    /// Device memory the chunks may hold (default: what the device reports; wgpu: none).
    #[arg(long, value_parser = size)]
    device_memory_limit: Option<u64>,
    /// Where spill files go (default: $TESSERA_SPILL_DIR, else the system temp dir).
    #[arg(long)]
    spill_dir: Option<std::path::PathBuf>,
    /// Bytes of spill files allowed on disk (default: no limit).
    #[arg(long, value_parser = size)]
    disk_limit: Option<u64>,
    /// Write the task stream as Chrome-trace JSON (open it in https://ui.perfetto.dev).
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
}

impl MemoryArgs {
    fn apply(&self, opts: ComputeOptions) -> ComputeOptions {
        ComputeOptions {
            host_memory_limit: self.host_memory_limit.or(opts.host_memory_limit),
            device_memory_limit: self.device_memory_limit.or(opts.device_memory_limit),
            spill_dir: self.spill_dir.clone().or(opts.spill_dir),
            disk_limit: self.disk_limit.or(opts.disk_limit),
            trace: self.trace.clone().or(opts.trace),
            ..opts
        }
    }
}

fn size(s: &str) -> Result<u64, String> {
    tessera::scheduler::parse_bytes(s).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
enum Cmd {
    /// Devices found, cores and memory; with a PATH, what a stored array holds.
    Info {
        /// A `.npy` file to describe (shape, dtype, order, bytes).
        path: Option<std::path::PathBuf>,
    },
    /// Runs a workload over MPI ranks (launch with mpirun or srun; a build with the
    /// `mpi` feature) and prints, on rank 0, a digest of its results, the same as one
    /// process computes when the results are bit-identical; every rank prints what it
    /// ran, sent and received.
    Ranks {
        /// seed, y, reductions, matmul, tsqr or tall (see tessera::distributed::workload).
        workload: String,
        /// Edge of the square arrays.
        #[arg(long, default_value_t = 2_000)]
        size: usize,
        /// Edge of the square chunks.
        #[arg(long, default_value_t = 250)]
        chunk: usize,
        /// Worker threads per rank (0 = one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Compute in this process alone, to compare with (no MPI).
        #[arg(long)]
        single: bool,
        /// Give every rank the results (rank 0 broadcasts them), each printing a digest.
        #[arg(long)]
        everywhere: bool,
        /// For fault tests: this rank panics during the compute.
        #[arg(long)]
        panic_rank: Option<usize>,
        /// For fault tests: this rank kills itself (SIGKILL) during the compute.
        #[arg(long)]
        kill_rank: Option<usize>,
        /// Persist the workload's largest output p over the ranks (each keeps its own
        /// blocks), then compute p @ p.T and p.sum(0) from it and print their digest.
        #[arg(long)]
        persist: bool,
        /// Write the workload's largest output to this .npy file, every rank writing
        /// its own blocks, then print a digest of the file read back.
        #[arg(long)]
        to_npy: Option<std::path::PathBuf>,
        /// Write the workload's largest output to this Zarr array (as --to-npy); into
        /// the array already there, if any, in its chunks.
        #[arg(long)]
        to_zarr: Option<std::path::PathBuf>,
        /// Where each rank runs its chunks: cpu (the default, so results compare across
        /// machines), auto (the GPU its node-local rank picks), wgpu:N or cuda:N. With
        /// CUDA on every rank and the `nccl` feature, chunks cross ranks GPU to GPU.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Limits per rank (each rank keeps its own tiers), and the trace.
        #[command(flatten)]
        memory: MemoryArgs,
    },
    /// (x + x.T).sum(axis=0).mean() on a random array, with a progress bar.
    Demo {
        /// Edge of the square array.
        #[arg(long, default_value_t = 20_000)]
        size: usize,
        /// Edge of the square chunks.
        #[arg(long, default_value_t = 2_000)]
        chunk: usize,
        /// Worker threads (0 = one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Hide the progress bar.
        #[arg(long)]
        quiet: bool,
        /// Where the chunks run: auto (a hardware GPU if any, else the CPU), cpu, wgpu:N,
        /// wgpu:NAME (an adapter whose name contains NAME, e.g. wgpu:llvmpipe) or cuda:N;
        /// several, comma-separated (cuda:*, wgpu:0,wgpu:1, cpu,cuda:0), share the blocks.
        #[arg(long, default_value = "auto")]
        device: String,
        /// Persist x first (its chunks stay in memory up to the limit, the rest spill to
        /// disk), then compute y from the stored chunks, so x.T reads spilled data.
        #[arg(long)]
        persist: bool,
        /// Also write x + x.T (the whole size² f64 array) to this .npy file, each block as
        /// it is made, then read the file back and compute y from it.
        #[arg(long)]
        to_npy: Option<std::path::PathBuf>,
        /// The same, to a new Zarr v3 array (zstd) at this directory, in chunk² chunks.
        #[arg(long)]
        to_zarr: Option<std::path::PathBuf>,
        #[command(flatten)]
        memory: MemoryArgs,
    },
    /// Runs the benchmark suite and prints one table.
    Bench {
        /// Edge of the square arrays.
        #[arg(long, default_value_t = 20_000)]
        size: usize,
        /// Edge of the square chunks.
        #[arg(long, default_value_t = 2_000)]
        chunk: usize,
        /// Chunks in the scheduler-overhead probe.
        #[arg(long, default_value_t = 100_000)]
        tiny_chunks: usize,
        /// Repeats per workload (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Print JSON lines instead of a table (for benches/compare_dask.py).
        #[arg(long)]
        json: bool,
        /// Run one workload: seed, axpy, reductions, tiny, matmul, tsqr, svd, svd_compressed, npy or zarr.
        #[arg(long)]
        only: Option<String>,
        /// Devices to compare on their own kernels: cpu, wgpu:N, wgpu:NAME or all (adds a table with a
        /// column per device; the main suite runs on the CPU).
        #[arg(long)]
        device: Option<String>,
        #[command(flatten)]
        memory: MemoryArgs,
    },
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

fn main() {
    // The Vulkan loader and Mesa complain on stderr when XDG_RUNTIME_DIR is unset (root
    // shells, containers); give them a private directory for this run, removed after.
    let mut runtime_dir = None;
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("tessera-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
            runtime_dir = Some(dir);
        }
    }
    // Declines, reroutes and spills are logged through `tracing`; RUST_LOG=info shows them.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    // TESSERA_MALLOC=default keeps glibc's own settings (for A/B measurements).
    if std::env::var("TESSERA_MALLOC").as_deref() != Ok("default") {
        tessera::scheduler::tune_allocator();
    }
    let cli = Cli::parse();
    let result = run(cli);
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// What one rank did in a ranked compute, as one line.
fn rank_line(world: &tessera::distributed::World, s: &tessera::scheduler::Stats) -> String {
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

fn run(cli: Cli) -> tessera::Result<()> {
    match cli.cmd {
        Cmd::Ranks {
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
        } => {
            let opts = memory.apply(ComputeOptions {
                scheduler: Scheduler::Threads(threads),
                device: device.parse()?,
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
        }
        Cmd::Info { path: Some(path) } if path.is_dir() => {
            let z = tessera::storage::zarr::info(&path)?;
            println!("{}: Zarr v{} array", path.display(), z.format);
            println!("  shape:  {:?}", z.shape);
            match &z.dtype {
                Ok(d) => println!("  dtype:  {d}"),
                Err(name) => println!("  dtype:  {name} (Tessera cannot read it)"),
            }
            match &z.inner_chunks {
                Some(inner) => {
                    println!("  chunks: {:?} shards of {inner:?} inner chunks", z.chunks)
                }
                None => println!("  chunks: {:?}", z.chunks),
            }
            println!("  codecs: {}", z.codecs.join(", "));
            println!(
                "  bytes:  {} of data, {} stored ({:.2}x)",
                z.bytes,
                z.stored_bytes,
                z.bytes as f64 / z.stored_bytes.max(1) as f64
            );
        }
        Cmd::Info { path: Some(path) } => {
            let h = tessera::storage::npy::read_header(&path)?;
            let bytes = h.shape.iter().product::<usize>() * h.dtype.size();
            println!("{}: NumPy .npy", path.display());
            println!("  shape:  {:?}", h.shape);
            println!("  dtype:  {}", h.dtype);
            println!(
                "  order:  {} ({}-endian)",
                if h.fortran {
                    "Fortran (column-major)"
                } else {
                    "C (row-major)"
                },
                if h.big_endian { "big" } else { "little" }
            );
            println!("  bytes:  {bytes} of data from offset {}", h.data_offset);
            println!("  chunks: none in the file; from_npy(path, chunks) reads any chunking");
        }
        Cmd::Info { path: None } => {
            let cores = std::thread::available_parallelism()
                .map(|p| p.get())
                .unwrap_or(1);
            println!("tessera {}", env!("CARGO_PKG_VERSION"));
            println!("cores: {cores}");
            println!(
                "memory: {:.1} GiB",
                gib(tessera::scheduler::host_memory_bytes())
            );
            println!("devices:");
            println!("  cpu      available ({cores} worker threads, tiled SIMD kernels)");
            {
                let adapters = tessera::backend::wgpu_adapters();
                if adapters.is_empty() {
                    if tessera::backend::wgpu_built() {
                        println!("  wgpu     no Vulkan adapter found (install a GPU driver, or mesa-vulkan-drivers for the software lavapipe)");
                    } else {
                        println!(
                            "  wgpu     not built (build with the `wgpu` feature, on by default)"
                        );
                    }
                }
                for a in &adapters {
                    println!(
                        "  wgpu:{}   {} [{} {}{}] f64: {}, f16: {}, i64: {}, max storage binding {} MiB, max buffer {} MiB",
                        a.index,
                        a.name,
                        a.backend,
                        a.device_type,
                        if a.software { ", software" } else { "" },
                        a.shader_f64,
                        a.shader_f16,
                        a.shader_i64,
                        a.max_storage_binding >> 20,
                        a.max_buffer >> 20
                    );
                }
                let cuda = tessera::backend::cuda_devices();
                match tessera::backend::cuda_missing() {
                    Some(why) => println!("  cuda     unavailable: {why}"),
                    None if cuda.is_empty() => {
                        println!("  cuda     driver and NVRTC present, but no CUDA device")
                    }
                    None => {}
                }
                for d in &cuda {
                    println!(
                        "  cuda:{}   {} (compute capability {}.{}, {:.1} GiB)",
                        d.ordinal,
                        d.name,
                        d.capability.0,
                        d.capability.1,
                        gib(d.memory)
                    );
                }
                let auto = cuda
                    .first()
                    .map(|d| format!("cuda:{}", d.ordinal))
                    .or_else(|| {
                        adapters
                            .iter()
                            .find(|a| !a.software)
                            .map(|a| format!("wgpu:{}", a.index))
                    })
                    .unwrap_or_else(|| "cpu (software adapters are used only when named)".into());
                println!("Device::Auto picks: {auto}");
            }
        }
        Cmd::Demo {
            size,
            chunk,
            threads,
            quiet,
            device,
            persist,
            to_npy,
            to_zarr,
            memory,
        } => {
            let set = tessera::backend::parse_devices(&device)?;
            let opts = memory.apply(ComputeOptions {
                scheduler: Scheduler::Threads(threads),
                device: set[0],
                devices: if set.len() > 1 { set.clone() } else { vec![] },
                progress: !quiet,
                ..ComputeOptions::default()
            });
            let resolved: Vec<Device> = set.iter().map(|&d| tessera::backend::resolve(d)).collect();
            let t = Instant::now();
            let mut x = tessera::random::uniform(&[size, size], &[chunk, chunk], 42)?;
            if tessera::distributed::launched().is_some_and(|n| n > 1) {
                if persist {
                    return Err(tessera::Error::arg(
                        "demo",
                        "--persist keeps chunks in one process; launch the demo without mpirun for it",
                    ));
                }
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
                for (path, zarr) in [(&to_npy, false), (&to_zarr, true)] {
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
                        tessera::from_npy(path, &[chunk, chunk][..])?
                    };
                    let w = world.compute_all(&[&back.sum_axis(0).mean()], &opts)?;
                    if let (Some(w), Some(v)) = (w, v) {
                        let w = w[0].to_f64()[[]];
                        println!(
                            "x + x.T written to {} by {} ranks in {secs:.3} s ({:.2} GB/s, rank 0 host peak {:.2} GiB); y from the file: {w} ({})",
                            path.display(),
                            world.size(),
                            (size * size * 8) as f64 / secs / 1e9,
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
                return Ok(());
            }
            println!("x = {x}");
            let mut persisted = None;
            if persist {
                let (p, s) = x.persist_stats(&opts)?;
                let stored = p.persisted().expect("persist returns a persisted array");
                println!(
                    "x persisted in {:.3} s: {:.2} GiB in memory, {:.2} GiB on disk (host peak {:.2} GiB, {:.2} GiB spilled)",
                    t.elapsed().as_secs_f64(),
                    gib(stored.bytes_in_memory()),
                    gib(stored.bytes_on_disk()),
                    gib(s.host.peak),
                    gib(s.host.spilled_bytes)
                );
                x = p.clone();
                persisted = Some(s);
            }
            let y = (&x + &x.t()).sum_axis(0).mean();
            println!("y = (x + x.T).sum(axis=0).mean()");
            println!("y = {y}");
            let t1 = Instant::now();
            let lowering = tessera::graph::Lowering::for_devices(&resolved);
            let g = tessera::graph::TaskGraph::build_with(&[&y], lowering)?;
            let r = tessera::scheduler::execute(&g, &opts)?;
            let v = r.outputs[0].to_f64()[[]];
            println!("result: {v}");
            if let Some(path) = &to_npy {
                let t2 = Instant::now();
                let st = (&x + &x.t()).to_npy_with(path, &opts)?;
                let secs = t2.elapsed().as_secs_f64();
                let bytes = (size * size * 8) as f64;
                println!(
                    "x + x.T written to {} in {secs:.3} s ({:.2} GB/s, host peak {:.2} GiB, {:.2} GiB spilled)",
                    path.display(),
                    bytes / secs / 1e9,
                    gib(st.host.peak),
                    gib(st.host.spilled_bytes)
                );
                let back = tessera::from_npy(path, &[chunk, chunk][..])?
                    .sum_axis(0)
                    .mean();
                let w = back.compute_with::<f64>(&opts)?[[]];
                println!(
                    "y from the file: {w} ({})",
                    if w == v { "identical" } else { "DIFFERS" }
                );
            }
            if let Some(path) = &to_zarr {
                let t2 = Instant::now();
                let z = tessera::storage::zarr::ZarrOptions {
                    overwrite: true,
                    ..Default::default()
                };
                let st = (&x + &x.t()).to_zarr_with(path, &z, &opts)?;
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
                let w = back.compute_with::<f64>(&opts)?[[]];
                println!(
                    "y from the Zarr array: {w} ({})",
                    if w == v { "identical" } else { "DIFFERS" }
                );
            }
            println!(
                "wall time: {:.3} s on {} workers{}",
                t.elapsed().as_secs_f64(),
                r.stats.workers,
                if persist {
                    format!(
                        " ({:.3} s for y from the stored chunks)",
                        t1.elapsed().as_secs_f64()
                    )
                } else {
                    String::new()
                }
            );
            // What `auto` chose, for the line below.
            if set.len() > 1 {
                let each: Vec<String> = r
                    .stats
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
                    r.stats.tasks,
                    each.join(", "),
                    r.stats.tasks - r.stats.device_tasks
                );
            } else {
                let ran_on = resolved[0];
                println!(
                    "tasks: {} ({} on {ran_on})",
                    r.stats.tasks,
                    if ran_on == Device::Cpu {
                        r.stats.tasks
                    } else {
                        r.stats.device_tasks
                    }
                );
            }
            println!(
                "peak chunk memory held: {:.1} MiB (array is {:.1} GiB)",
                r.stats.peak_bytes as f64 / (1 << 20) as f64,
                gib((size * size * 8) as u64)
            );
            let s = &r.stats;
            if let Some(p) = &persisted {
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
            if persist {
                // Dropping the persisted array removes its spill files (on a filesystem
                // with online discard that takes about a second per GB).
                let t2 = Instant::now();
                drop((x, y, g));
                println!(
                    "cleanup: {:.3} s (persisted chunks freed, spill files removed)",
                    t2.elapsed().as_secs_f64()
                );
            }
        }
        Cmd::Bench {
            size,
            chunk,
            tiny_chunks,
            repeats,
            json,
            only,
            device,
            memory,
        } => {
            if let Some(spec) = device {
                return device_table(&spec, repeats);
            }
            let cfg = BenchConfig {
                n: size,
                chunk,
                tiny_chunks,
                repeats,
                only,
            };
            let opts = memory.apply(ComputeOptions::default());
            // The triad allocates 480 MB. With --only (one workload in its own process, as
            // benches/compare_dask.py runs it) it is measured after the workload, whose own
            // peak RSS is read before it and printed with its row, so neither disturbs the
            // other; the rows wait for the triad to print their fraction of it.
            let cores = std::thread::available_parallelism()
                .map(|p| p.get())
                .unwrap_or(1);
            let print_rows = |lim: &bench::Limits, rows: &[(bench::BenchResult, Option<u64>)]| {
                if json {
                    println!(
                        "{{\"name\": \"limits\", \"triad_gbps\": {:.3}, \"philox_per_s\": {:.4e}, \"dgemm_gflops\": {:.2}}}",
                        lim.triad_gbps, lim.philox_per_s, lim.dgemm_gflops
                    );
                } else {
                    println!(
                        "machine: {cores} cores, STREAM triad {:.1} GB/s, Philox {:.2} G numbers/s, DGEMM {:.1} GFLOP/s (faer, 1024², one per core) — measured now",
                        lim.triad_gbps,
                        lim.philox_per_s / 1e9,
                        lim.dgemm_gflops
                    );
                    println!(
                        "device: cpu; arrays {size}² f64 in {chunk}² chunks; median of {repeats}; \"of limit\" = the least time its numbers (at the Philox rate) and FLOPs (at the DGEMM rate) take, over its time"
                    );
                    println!(
                        "{:<42} {:>9} {:>8} {:>8} {:>8} {:>8} {:>11}  note",
                        "workload", "time s", "GB/s", "of triad", "of limit", "tasks", "peak MiB"
                    );
                }
                for (r, rss) in rows {
                    print_row(r, *rss, lim, json);
                }
            };
            if cfg.only.is_some() {
                let mut rows = vec![];
                bench::run_suite(&cfg, &opts, |r| {
                    rows.push((r.clone(), tessera::scheduler::peak_rss_bytes()))
                })?;
                print_rows(&bench::Limits::measure(), &rows);
            } else {
                let lim = bench::Limits::measure();
                print_rows(&lim, &[]);
                bench::run_suite(&cfg, &opts, |r| print_row(r, None, &lim, json))?;
            }
        }
    }
    Ok(())
}

/// One row of `tessera bench`: text, or a JSON line (with the process's peak RSS right
/// after the workload, when it was read then).
fn print_row(r: &bench::BenchResult, peak_rss: Option<u64>, lim: &bench::Limits, json: bool) {
    let of_limit = r.of_limit(lim);
    if json {
        let rss = peak_rss.map_or("null".to_string(), |b| b.to_string());
        let lim_s = of_limit.map_or("null".to_string(), |f| format!("{f:.4}"));
        println!(
            "{{\"key\": \"{}\", \"name\": \"{}\", \"seconds\": {:.6}, \"gbps\": {:.3}, \"of_triad\": {:.4}, \"of_limit\": {lim_s}, \"tasks\": {}, \"peak_bytes\": {}, \"peak_rss_bytes\": {rss}, \"note\": \"{}\"}}",
            r.key, r.name, r.seconds, r.gbps(), r.gbps() / lim.triad_gbps, r.tasks, r.peak_bytes, r.note
        );
    } else {
        println!(
            "{:<42} {:>9.3} {:>8.2} {:>8.2} {:>8} {:>8} {:>11.1}  {}",
            r.name,
            r.seconds,
            r.gbps(),
            r.gbps() / lim.triad_gbps,
            of_limit.map_or("-".to_string(), |f| format!("{f:.2}")),
            r.tasks,
            r.peak_bytes as f64 / (1 << 20) as f64,
            r.note
        );
    }
}

fn parse_devices(spec: &str) -> tessera::Result<Vec<(Device, String)>> {
    let mut out = vec![(Device::Cpu, "cpu".to_string())];
    let adapters = tessera::backend::wgpu_adapters();
    match spec {
        "cpu" => {}
        "all" => {
            for a in &adapters {
                out.push((
                    Device::Wgpu(a.index),
                    format!(
                        "wgpu:{} {}{}",
                        a.index,
                        a.name,
                        if a.software { " (software)" } else { "" }
                    ),
                ));
            }
            for d in tessera::backend::cuda_devices() {
                out.push((
                    Device::Cuda(d.ordinal),
                    format!("cuda:{} {}", d.ordinal, d.name),
                ));
            }
        }
        s if s.starts_with("cuda:") => {
            let Device::Cuda(i) = s.parse::<Device>()? else {
                unreachable!("cuda: specs parse to CUDA devices")
            };
            let d = tessera::backend::cuda_devices()
                .into_iter()
                .find(|d| d.ordinal == i)
                .ok_or_else(|| {
                    let why = tessera::backend::cuda_missing()
                        .unwrap_or_else(|| format!("no CUDA device {i}"));
                    tessera::Error::arg("bench", format!("cuda:{i}: {why}"))
                })?;
            out.push((Device::Cuda(i), format!("cuda:{i} {}", d.name)));
        }
        s if s.starts_with("wgpu:") => {
            let Device::Wgpu(i) = s.parse::<Device>()? else {
                unreachable!("wgpu: specs parse to wgpu devices")
            };
            let a = adapters
                .get(i)
                .ok_or_else(|| tessera::Error::arg("bench", format!("no wgpu adapter {i}")))?;
            out.push((
                Device::Wgpu(i),
                format!(
                    "wgpu:{i} {}{}",
                    a.name,
                    if a.software { " (software)" } else { "" }
                ),
            ));
        }
        other => {
            return Err(tessera::Error::arg(
                "bench",
                format!("unknown device {other:?}; use cpu, wgpu:N, cuda:N or all"),
            ))
        }
    }
    Ok(out)
}

/// One table, a column per device: time (and the note) of each device workload.
fn device_table(spec: &str, repeats: usize) -> tessera::Result<()> {
    let devices = parse_devices(spec)?;
    let mut cols = vec![];
    for (d, name) in &devices {
        println!("device {name}");
        cols.push(bench::device_suite(*d, repeats)?);
    }
    print!("{:<42}", "workload (median s)");
    for (_, name) in &devices {
        print!(" | {:>28}", name.chars().take(28).collect::<String>());
    }
    println!();
    for (r, row) in cols[0].iter().enumerate() {
        print!("{:<42}", row.name);
        for c in &cols {
            let cell = format!("{:.4} s {}", c[r].seconds, c[r].note);
            print!(" | {cell:>28}");
        }
        println!();
    }
    // Kernels alone, data resident, against the device's own limits.
    for (d, name) in &devices {
        if *d == Device::Cpu {
            continue;
        }
        let r = bench::device_resident(*d, repeats.max(5))?;
        let bw = match d {
            Device::Cuda(i) => tessera::backend::cuda_devices()
                .into_iter()
                .find(|c| c.ordinal == *i)
                .map(|c| c.bandwidth)
                .filter(|&b| b > 0.0),
            _ => None,
        };
        let frac = bw.map_or_else(
            || "device bandwidth not reported".to_string(),
            |b| {
                format!(
                    "{:.0}% of the {:.0} GB/s the driver reports",
                    100.0 * r.map_gbps * 1e9 / b,
                    b / 1e9
                )
            },
        );
        println!(
            "{name}: resident a*2+b f32 2^24: {:.1} GB/s ({frac}); one 1024² f32 matmul call: {:.1} GFLOP/s; 64 MiB chunk up {:.1} GB/s, down {:.1} GB/s",
            r.map_gbps, r.matmul_tflops * 1e3, r.upload_gbps, r.download_gbps
        );
    }
    println!("(software adapters such as lavapipe run shaders on the CPU: their numbers show overhead, not GPU speed)");
    Ok(())
}
