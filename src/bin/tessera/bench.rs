//! `tessera bench`: the benchmark suite (see `suite`) as one table, and the device
//! comparison table.

use crate::memory::MemoryArgs;
use crate::suite::{self, BenchConfig};
use clap::Args;
use tessera::{ComputeOptions, Device};

/// Runs the benchmark suite and prints one table.
#[derive(Args)]
pub struct BenchArgs {
    /// Edge of the square arrays.
    #[arg(long, default_value_t = 20_000)]
    pub size: usize,
    /// Edge of the square chunks.
    #[arg(long, default_value_t = 2_000)]
    pub chunk: usize,
    /// Chunks in the scheduler-overhead probe.
    #[arg(long, default_value_t = 100_000)]
    pub tiny_chunks: usize,
    /// Block counts of the graph-building rows (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [100_000usize, 1_000_000])]
    pub graph_blocks: Vec<usize>,
    /// Repeats per workload (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Print JSON lines instead of a table (for benches/compare_dask.py).
    #[arg(long)]
    pub json: bool,
    /// Run one workload: seed, axpy, reductions, tiny, matmul, tsqr, svd, svd_compressed, npy, zarr or graph.
    #[arg(long)]
    pub only: Option<String>,
    /// Devices to compare on their own kernels: cpu, wgpu:N, wgpu:NAME or all (adds a table with a
    /// column per device; the main suite runs on the CPU).
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

pub fn run(args: BenchArgs, cancel: &tessera::CancelToken) -> tessera::Result<()> {
    let BenchArgs {
        size,
        chunk,
        tiny_chunks,
        graph_blocks,
        repeats,
        json,
        only,
        device,
        memory,
    } = args;
    if let Some(spec) = device {
        return device_table(&spec, repeats);
    }
    let cfg = BenchConfig {
        n: size,
        chunk,
        tiny_chunks,
        graph_blocks,
        repeats,
        only,
    };
    let opts = memory.apply(ComputeOptions {
        cancel: Some(cancel.clone()),
        ..ComputeOptions::default()
    });
    // The triad allocates 480 MB. With --only (one workload in its own process, as
    // benches/compare_dask.py runs it) it is measured after the workload, whose own
    // peak RSS is read before it and printed with its row, so neither disturbs the
    // other; the rows wait for the triad to print their fraction of it.
    let cores = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1);
    let print_rows = |lim: &suite::Limits, rows: &[(suite::BenchResult, Option<u64>)]| {
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
        suite::run_suite(&cfg, &opts, |r| {
            rows.push((r.clone(), tessera::scheduler::peak_rss_bytes()))
        })?;
        print_rows(&suite::Limits::measure(), &rows);
    } else {
        let lim = suite::Limits::measure();
        print_rows(&lim, &[]);
        suite::run_suite(&cfg, &opts, |r| print_row(r, None, &lim, json))?;
    }
    Ok(())
}

/// One row of `tessera bench`: text, or a JSON line (with the process's peak RSS right
/// after the workload, when it was read then).
fn print_row(r: &suite::BenchResult, peak_rss: Option<u64>, lim: &suite::Limits, json: bool) {
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

/// The devices `--device` names (`all`, or a set as `backend::parse_devices` reads it),
/// after the CPU, each with a name for the table's header.
fn parse_devices(spec: &str) -> tessera::Result<Vec<(Device, String)>> {
    let mut set = vec![Device::Cpu];
    if spec.trim() == "all" {
        set.extend(
            tessera::backend::wgpu_adapters()
                .iter()
                .map(|a| Device::Wgpu(a.index)),
        );
        set.extend(
            tessera::backend::cuda_devices()
                .iter()
                .map(|d| Device::Cuda(d.ordinal)),
        );
    } else {
        let named = tessera::backend::parse_devices(spec)
            .map_err(|e| tessera::Error::arg("bench", format!("{e}; or use all")))?;
        set.extend(named.into_iter().filter(|&d| d != Device::Cpu));
    }
    set.into_iter().map(|d| Ok((d, describe(d)?))).collect()
}

/// A device's column name, or an error if this machine has no such device.
fn describe(d: Device) -> tessera::Result<String> {
    match d {
        Device::Wgpu(i) => {
            let adapters = tessera::backend::wgpu_adapters();
            let a = adapters
                .get(i)
                .ok_or_else(|| tessera::Error::arg("bench", format!("no wgpu adapter {i}")))?;
            let soft = if a.software { " (software)" } else { "" };
            Ok(format!("wgpu:{i} {}{soft}", a.name))
        }
        Device::Cuda(i) => {
            let d = tessera::backend::cuda_devices()
                .into_iter()
                .find(|d| d.ordinal == i)
                .ok_or_else(|| {
                    let why = tessera::backend::cuda_missing()
                        .unwrap_or_else(|| format!("no CUDA device {i}"));
                    tessera::Error::arg("bench", format!("cuda:{i}: {why}"))
                })?;
            Ok(format!("cuda:{i} {}", d.name))
        }
        other => Ok(other.to_string()),
    }
}

/// One table, a column per device: time (and the note) of each device workload.
fn device_table(spec: &str, repeats: usize) -> tessera::Result<()> {
    let devices = parse_devices(spec)?;
    let mut cols = vec![];
    for (d, name) in &devices {
        println!("device {name}");
        cols.push(suite::device_suite(*d, repeats)?);
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
        let r = suite::device_resident(*d, repeats.max(5))?;
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
