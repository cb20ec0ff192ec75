//! The benchmark suite behind `tessera bench` (the CLI's own: no part of the library's
//! API): named workloads, a STREAM-style triad to
//! measure this machine's memory bandwidth, and one table of ratios.

use std::time::Instant;
use tessera::error::Result;
use tessera::graph::{Lowering, TaskGraph};
use tessera::scheduler::{self, ComputeOptions};
use tessera::{random, Array};

/// One measured workload.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// Short key (`seed`, `axpy`, `reductions`, `npy`, `zarr`, `tiny`, ...) for `--only`.
    pub key: &'static str,
    /// What was measured.
    pub name: String,
    /// Median wall time over the repeats.
    pub seconds: f64,
    /// Bytes of array data the workload reads or generates (its logical input size).
    pub bytes: f64,
    /// Tasks in the graph.
    pub tasks: usize,
    /// Most bytes of chunks the scheduler held at once.
    pub peak_bytes: u64,
    /// Extra note (e.g. µs per task).
    pub note: String,
    /// The work no implementation can skip (`None` where no bound is modelled): with
    /// [`Limits`] it gives the least time the workload could take here.
    pub work: Option<Work>,
}

/// Work a workload must do whatever the engine: values to generate, FLOPs to compute.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Work {
    /// Random numbers it must generate (each input value once).
    pub numbers: f64,
    /// Floating-point operations of its products and factorizations.
    pub flops: f64,
}

impl BenchResult {
    /// Logical throughput in GB/s.
    pub fn gbps(&self) -> f64 {
        self.bytes / self.seconds / 1e9
    }

    /// The time as a fraction of the workload's own limit on a machine with `limits`
    /// (1.0 = at the limit).
    pub fn of_limit(&self, limits: &Limits) -> Option<f64> {
        self.work.map(|w| limits.seconds(&w) / self.seconds)
    }
}

/// What this machine can do, measured at the start of a suite: the bounds each row is
/// compared with.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// STREAM triad bandwidth, GB/s.
    pub triad_gbps: f64,
    /// Philox uniform f64 values per second, every core generating.
    pub philox_per_s: f64,
    /// f64 matrix-product GFLOP/s: one 1024² faer product per core at once.
    pub dgemm_gflops: f64,
}

impl Limits {
    /// Measures all three (about a second).
    pub fn measure() -> Limits {
        Limits {
            triad_gbps: triad_gbps(20_000_000),
            philox_per_s: philox_rate(),
            dgemm_gflops: dgemm_gflops(),
        }
    }

    /// The least time `work` takes here: its numbers at the Philox rate plus its FLOPs
    /// at the DGEMM rate (generation and arithmetic do not overlap on one core).
    pub fn seconds(&self, work: &Work) -> f64 {
        work.numbers / self.philox_per_s + work.flops / (self.dgemm_gflops * 1e9)
    }
}

/// Uniform f64 values Philox generates per second with one thread per core, into
/// buffers that stay in cache (best of 5): what a generated workload cannot beat.
///
/// ```
/// assert!(suite::philox_rate() > 0.0);
/// ```
pub fn philox_rate() -> f64 {
    use rayon::prelude::*;
    let per = 1 << 15;
    let rounds = 64;
    let mut bufs = vec![vec![0.0f64; per]; rayon::current_num_threads()];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        bufs.par_iter_mut().enumerate().for_each(|(i, b)| {
            for r in 0..rounds {
                let g0 = ((i * rounds + r) * per) as u64;
                tessera::philox::fill_uniform_f64(7, 0, g0, b, 0.0, 1.0);
                std::hint::black_box(&b);
            }
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    (bufs.len() * per * rounds) as f64 / best
}

/// f64 matrix-product GFLOP/s with one 1024² faer product per core at once (each
/// sequential, as the scheduler runs them; best of 3).
///
/// ```
/// assert!(suite::dgemm_gflops() > 0.0);
/// ```
pub fn dgemm_gflops() -> f64 {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, Mat, Par};
    use rayon::prelude::*;
    let n = 1024;
    let threads = rayon::current_num_threads();
    let a = Mat::<f64>::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f64 * 0.1);
    let b = Mat::<f64>::from_fn(n, n, |i, j| ((i * 5 + j * 3) % 11) as f64 * 0.2);
    let mut outs: Vec<Mat<f64>> = (0..threads).map(|_| Mat::zeros(n, n)).collect();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        outs.par_iter_mut().for_each(|c| {
            matmul(
                c.as_mut(),
                Accum::Replace,
                a.as_ref(),
                b.as_ref(),
                1.0,
                Par::Seq,
            );
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&outs);
    2.0 * (n as f64).powi(3) * threads as f64 / best / 1e9
}

/// Sizes of the suite.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Edge of the square arrays (20,000 in the full suite).
    pub n: usize,
    /// Edge of the square chunks (2,000 in the full suite).
    pub chunk: usize,
    /// Chunks in the tiny-task probe (100,000 in the full suite).
    pub tiny_chunks: usize,
    /// Block counts of the graph-building rows (10⁵ and 10⁶ in the full suite).
    pub graph_blocks: Vec<usize>,
    /// Runs per workload (the median is reported).
    pub repeats: usize,
    /// Run only the workload with this key.
    pub only: Option<String>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            n: 20_000,
            chunk: 2_000,
            tiny_chunks: 100_000,
            graph_blocks: vec![100_000, 1_000_000],
            repeats: 3,
            only: None,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// STREAM triad `a = b + s·c` on f64 arrays with one thread per core; best of 5, in GB/s
/// (24 bytes moved per element, as STREAM counts them).
///
/// ```
/// let bw = suite::triad_gbps(1 << 16);
/// assert!(bw > 0.0);
/// ```
pub fn triad_gbps(n: usize) -> f64 {
    use rayon::prelude::*;
    let b = std::hint::black_box(vec![1.0f64; n]);
    let c = std::hint::black_box(vec![2.0f64; n]);
    let mut a = std::hint::black_box(vec![0.0f64; n]);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        a.par_chunks_mut(1 << 16)
            .zip(b.par_chunks(1 << 16))
            .zip(c.par_chunks(1 << 16))
            .for_each(|((a, b), c)| {
                for i in 0..a.len() {
                    a[i] = b[i] + 3.0 * c[i];
                }
                std::hint::black_box(a);
            });
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&a);
    24.0 * n as f64 / best / 1e9
}

fn time_compute(
    outputs: &[&Array],
    repeats: usize,
    opts: &ComputeOptions,
) -> Result<(f64, usize, u64)> {
    let mut times = vec![];
    let mut tasks = 0;
    let mut peak = 0;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let g = graph_for(outputs, opts)?;
        let r = scheduler::execute(&g, opts)?;
        times.push(t.elapsed().as_secs_f64());
        tasks = r.stats.tasks;
        peak = r.stats.peak_bytes;
        std::hint::black_box(r.outputs);
    }
    Ok((median(times), tasks, peak))
}

/// Runs the named suite and returns one row per workload.
pub fn run_suite(
    cfg: &BenchConfig,
    opts: &ComputeOptions,
    mut on_row: impl FnMut(&BenchResult),
) -> Result<Vec<BenchResult>> {
    let (n, c) = (cfg.n, cfg.chunk);
    let bytes = (n * n * 8) as f64;
    let x = random::uniform(&[n, n], &[c, c], 42)?;
    let mut rows = vec![];
    let want = |k: &str| cfg.only.as_deref().is_none_or(|o| o == k);
    let mut push = |r: BenchResult, rows: &mut Vec<BenchResult>| {
        on_row(&r);
        rows.push(r);
    };
    let seed = (&x + &x.t()).sum_axis(0).mean();
    let axpy = (&x * 2.0 + 1.0).sum();
    let (r0, r1, r2, r3) = (x.sum_axis(0), x.mean_axis(1), x.std(0), x.max());
    let workloads: [(&'static str, &str, Vec<&Array>); 3] = [
        ("seed", "(x + x.T).sum(0).mean()", vec![&seed]),
        ("axpy", "(x * 2 + 1).sum()", vec![&axpy]),
        (
            "reductions",
            "sum(0), mean(1), std(), max() together",
            vec![&r0, &r1, &r2, &r3],
        ),
    ];
    for (key, name, outs) in workloads {
        if !want(key) {
            continue;
        }
        let (seconds, tasks, peak_bytes) = time_compute(&outs, cfg.repeats, opts)?;
        let r = BenchResult {
            key,
            name: name.into(),
            seconds,
            bytes,
            tasks,
            peak_bytes,
            note: String::new(),
            work: Some(Work {
                numbers: (n * n) as f64,
                flops: 0.0,
            }),
        };
        push(r, &mut rows);
    }
    linalg_suite(cfg, opts, &want, &mut |r| push(r, &mut rows))?;
    if want("npy") {
        for r in npy_rows(&x, cfg, opts)? {
            push(r, &mut rows);
        }
    }
    if want("zarr") && tessera::storage::zarr::BUILT {
        for r in zarr_rows(&x, cfg, opts)? {
            push(r, &mut rows);
        }
    }
    if want("graph") && tessera::storage::zarr::BUILT {
        for &blocks in &cfg.graph_blocks {
            push(graph_row(blocks, cfg.repeats, opts)?, &mut rows);
        }
    }
    if !want("tiny") {
        return Ok(rows);
    }
    // Scheduler overhead: tiny chunks of 100 values.
    let m = cfg.tiny_chunks;
    // Median of the repeats, as every other row (and dask's side in compare_dask.py).
    let (mut builds, mut execs, mut totals) = (vec![], vec![], vec![]);
    let (mut nt, mut peak) = (0, 0);
    for _ in 0..cfg.repeats.max(1) {
        let tiny = random::uniform(&[m * 100], 100, 1)?.sum();
        let t = Instant::now();
        let g = tessera::graph::TaskGraph::build(&[&tiny])?;
        let build = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = scheduler::execute(&g, opts)?;
        let exec = t.elapsed().as_secs_f64();
        nt = r.stats.tasks;
        peak = r.stats.peak_bytes;
        builds.push(build);
        execs.push(exec);
        totals.push(build + exec);
    }
    let (build, exec) = (median(builds), median(execs));
    push(
        BenchResult {
            key: "tiny",
            name: format!("sum over {m} chunks of 100"),
            seconds: median(totals),
            bytes: (m * 100 * 8) as f64,
            tasks: nt,
            peak_bytes: peak,
            note: format!(
                "{:.2} µs/task to run, {:.2} µs/task to build",
                exec / nt as f64 * 1e6,
                build / nt as f64 * 1e6
            ),
            work: None,
        },
        &mut rows,
    );
    Ok(rows)
}

/// Building the graph of `from_zarr(a).sum()` for a Zarr array of `blocks` one-element
/// chunks (metadata only: an absent chunk is the fill value, so nothing is read): the
/// cost per block of lowering and ordering, as `benches/graph_build.py` compares with
/// dask's `da.from_zarr(a).sum()`. Median of the repeats.
fn graph_row(blocks: usize, repeats: usize, opts: &ComputeOptions) -> Result<BenchResult> {
    let dir = opts.spill_parent().join(format!(
        "tessera-bench-graph-{}-{blocks}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| tessera::Error::arg("bench", e.to_string()))?;
    let meta = format!(
        r#"{{"zarr_format":3,"node_type":"array","shape":[{blocks}],"data_type":"float64","chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[1]}}}},"chunk_key_encoding":{{"name":"default","configuration":{{"separator":"/"}}}},"fill_value":0.0,"codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}],"attributes":{{}}}}"#
    );
    let result = std::fs::write(dir.join("zarr.json"), meta)
        .map_err(|e| tessera::Error::arg("bench", e.to_string()))
        .and_then(|_| {
            let y = tessera::from_zarr(&dir)?.sum();
            let mut times = vec![];
            let mut tasks = 0;
            for _ in 0..repeats.max(1) {
                let t = Instant::now();
                let g = graph_for(&[&y], opts)?;
                times.push(t.elapsed().as_secs_f64());
                tasks = g.tasks.len();
            }
            Ok((median(times), tasks))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let (seconds, tasks) = result?;
    Ok(BenchResult {
        key: "graph",
        name: format!("graph of from_zarr(a).sum(), {blocks} blocks"),
        seconds,
        bytes: 0.0,
        tasks,
        peak_bytes: 0,
        note: format!("{:.2} µs/block to build", seconds / blocks as f64 * 1e6),
        work: None,
    })
}

/// `x` written to a `.npy` file in the spill directory (each block as it is made), then
/// read back and summed (its pages dropped from the page cache first); the file is
/// removed after. Timed once each.
fn npy_rows(x: &Array, cfg: &BenchConfig, opts: &ComputeOptions) -> Result<Vec<BenchResult>> {
    let path = opts
        .spill_parent()
        .join(format!("tessera-bench-{}.npy", std::process::id()));
    let bytes = (x.size() * 8) as f64;
    let t = Instant::now();
    let stats = x.to_npy_with(&path, opts);
    let write = t.elapsed().as_secs_f64();
    let stats = stats?;
    // The written pages are clean (the store syncs before it renames): drop them from the
    // page cache so the read comes from the disk, as a later session's would.
    if let Ok(f) = std::fs::File::open(&path) {
        use std::os::fd::AsRawFd;
        // SAFETY: advice on a descriptor we own; it changes no memory of ours.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    // Row bands of the same bytes as a square chunk: in a C-ordered file each band is one
    // contiguous run (square blocks are `chunk` short runs each, which the disk's
    // read-ahead serves far worse).
    let band = (cfg.chunk * cfg.chunk / cfg.n).max(1);
    let y = tessera::from_npy(&path, &[band, cfg.n][..])?.sum();
    let read = time_compute(&[&y], 1, opts);
    let _ = std::fs::remove_file(&path);
    let (read, tasks, peak) = read?;
    Ok(vec![
        BenchResult {
            key: "npy",
            name: format!("random {0}² f64 to .npy (chunks {1}²)", cfg.n, cfg.chunk),
            seconds: write,
            bytes,
            tasks: stats.tasks,
            peak_bytes: stats.peak_bytes,
            note: format!(
                "{:.2} GB/s written (generation included)",
                bytes / write / 1e9
            ),
            work: None,
        },
        BenchResult {
            key: "npy",
            name: format!("from_npy {0}² f64 .sum() (chunks {band} × {0})", cfg.n),
            seconds: read,
            bytes,
            tasks,
            peak_bytes: peak,
            note: format!("{:.2} GB/s read", bytes / read / 1e9),
            work: None,
        },
    ])
}

/// Flushes and drops from the page cache every file under `dir`, so a later read comes
/// from the disk, as a later session's would.
fn drop_pages(dir: &std::path::Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(f) = std::fs::File::open(&p) {
                use std::os::fd::AsRawFd;
                let _ = f.sync_all();
                // SAFETY: advice on a descriptor we own; it changes no memory of ours.
                unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            }
        }
    }
}

/// `x` written to a new Zarr v3 array in the spill directory in its own chunks, zstd
/// (level 3) and uncompressed, each then read back and summed in the store's chunks (its
/// pages dropped from the page cache first); the arrays are removed after.
fn zarr_rows(x: &Array, cfg: &BenchConfig, opts: &ComputeOptions) -> Result<Vec<BenchResult>> {
    use tessera::storage::zarr::{ZarrCodec, ZarrOptions};
    let bytes = (x.size() * 8) as f64;
    let mut rows = vec![];
    for (tag, codec) in [
        ("zstd", ZarrCodec::Zstd { level: 3 }),
        ("none", ZarrCodec::None),
    ] {
        let path = opts
            .spill_parent()
            .join(format!("tessera-bench-{}-{tag}.zarr", std::process::id()));
        let z = ZarrOptions {
            codec,
            overwrite: true,
            ..Default::default()
        };
        let t = Instant::now();
        let stats = x.to_zarr_with(&path, &z, opts);
        let write = t.elapsed().as_secs_f64();
        let stats = stats?;
        let stored = tessera::storage::zarr::info(&path)?.stored_bytes as f64;
        drop_pages(&path);
        let y = tessera::from_zarr(&path)?.sum();
        let read = time_compute(&[&y], 1, opts);
        let _ = std::fs::remove_dir_all(&path);
        let (read, tasks, peak) = read?;
        rows.push(BenchResult {
            key: "zarr",
            name: format!(
                "random {0}² f64 to Zarr v3, {tag} (chunks {1}²)",
                cfg.n, cfg.chunk
            ),
            seconds: write,
            bytes,
            tasks: stats.tasks,
            peak_bytes: stats.peak_bytes,
            note: format!(
                "{:.2} GB/s of data written (generation included), {:.2} GB/s to disk",
                bytes / write / 1e9,
                stored / write / 1e9
            ),
            work: None,
        });
        rows.push(BenchResult {
            key: "zarr",
            name: format!("from_zarr {0}² f64 .sum(), {tag}", cfg.n),
            seconds: read,
            bytes,
            tasks,
            peak_bytes: peak,
            note: format!(
                "{:.2} GB/s of data read, {:.2} GB/s from disk",
                bytes / read / 1e9,
                stored / read / 1e9
            ),
            work: None,
        });
    }
    Ok(rows)
}

/// Linear-algebra workloads: matmul 8192² (chunks 2048), TSQR and thin SVD of
/// 2,000,000 × 100 (100,000-row chunks), svd_compressed(k = 10) of 20,000².
fn linalg_suite(
    cfg: &BenchConfig,
    opts: &ComputeOptions,
    want: &dyn Fn(&str) -> bool,
    push: &mut dyn FnMut(BenchResult),
) -> Result<()> {
    use tessera::linalg;
    let scale = cfg.n as f64 / 20_000.0;
    if want("matmul") {
        let n = ((8192.0 * scale) as usize).max(64);
        let c = (n / 4).max(1);
        let a = random::uniform(&[n, n], c, 1)?;
        let b = random::uniform(&[n, n], c, 2)?;
        let p = a.matmul(&b).sum();
        let (s, tasks, peak) = time_compute(&[&p], cfg.repeats, opts)?;
        let gflops = 2.0 * (n as f64).powi(3) / s / 1e9;
        push(BenchResult {
            key: "matmul",
            name: format!("matmul {n}² (chunks {c})"),
            seconds: s,
            bytes: (3 * n * n * 8) as f64,
            tasks,
            peak_bytes: peak,
            note: format!("{gflops:.1} GFLOP/s"),
            work: Some(Work {
                numbers: 2.0 * (n * n) as f64,
                flops: 2.0 * (n as f64).powi(3),
            }),
        });
    }
    let rows = ((2_000_000.0 * scale) as usize).max(1000);
    let rc = (rows / 20).max(100);
    if want("tsqr") {
        let x = random::uniform(&[rows, 100], &[rc, 100], 3)?;
        let (q, r) = linalg::qr(&x);
        let (s, tasks, peak) = time_compute(&[&q.sum_axis(0), &r], cfg.repeats, opts)?;
        push(BenchResult {
            key: "tsqr",
            name: format!("qr {rows} × 100 (chunks {rc})"),
            seconds: s,
            bytes: (rows * 100 * 8) as f64,
            tasks,
            peak_bytes: peak,
            note: String::new(),
            // Householder QR of rows × 100 (2mn² - 2n³/3) and forming Q (as much again).
            work: Some(Work {
                numbers: (rows * 100) as f64,
                flops: 4.0 * rows as f64 * 1e4,
            }),
        });
    }
    if want("svd") {
        let x = random::uniform(&[rows, 100], &[rc, 100], 3)?;
        let svd = linalg::svd(&x);
        let (s, tasks, peak) =
            time_compute(&[&svd.u.sum_axis(0), &svd.s, &svd.vt], cfg.repeats, opts)?;
        push(BenchResult {
            key: "svd",
            name: format!("svd {rows} × 100 (chunks {rc})"),
            seconds: s,
            bytes: (rows * 100 * 8) as f64,
            tasks,
            peak_bytes: peak,
            note: String::new(),
            // QR with Q formed, then U = Q·Ũ (2mn² more); the 100² SVD is negligible.
            work: Some(Work {
                numbers: (rows * 100) as f64,
                flops: 6.0 * rows as f64 * 1e4,
            }),
        });
    }
    if want("svd_compressed") {
        let (n, c) = (cfg.n, cfg.chunk);
        let x = random::uniform(&[n, n], c, 4)?;
        let svd = linalg::svd_compressed(&x, 10, linalg::CompressedSvd::default());
        let (s, tasks, peak) = time_compute(
            &[&svd.u.sum_axis(0), &svd.s, &svd.vt.sum_axis(1)],
            cfg.repeats,
            opts,
        )?;
        push(BenchResult {
            key: "svd_compressed",
            name: format!("svd_compressed k=10, {n}²"),
            seconds: s,
            bytes: (n * n * 8) as f64,
            tasks,
            peak_bytes: peak,
            note: String::new(),
            // A generated once; A·Ω and Aᵀ·Q with k = 10 columns (no power iterations
            // counted: a lower bound).
            work: Some(Work {
                numbers: (n * n) as f64,
                flops: 4.0 * (n * n) as f64 * 10.0,
            }),
        });
    }
    Ok(())
}

/// Picks the wgpu transpose kernel (`tiled`, `direct` or `auto`) on `device`; other
/// devices have only one.
fn set_transpose_kernel(device: tessera::Device, kind: &str) -> Result<()> {
    if let tessera::Device::Wgpu(i) = device {
        use tessera::backend::TransposeKernel as K;
        let k = match kind {
            "tiled" => K::Tiled,
            "direct" => K::Direct,
            _ => K::Auto,
        };
        tessera::backend::WgpuBackend::open(i)?.set_transpose_kernel(k);
    }
    Ok(())
}

/// Workloads that exercise a device's own kernels (fused maps; results downloaded),
/// run once per device by `tessera bench --device`.
pub fn device_suite(device: tessera::Device, repeats: usize) -> Result<Vec<BenchResult>> {
    use tessera::DType;
    let opts = ComputeOptions {
        device,
        ..ComputeOptions::default()
    };
    let n = 4096;
    let x = random::uniform_range(&[n, n], 1024, 1, 0.0, 1.0, DType::F32)?;
    let bytes = (n * n * 4) as f64;
    let mut rows = vec![];
    let y = random::uniform_range(&[1024, 1024], 512, 3, 0.0, 1.0, DType::F32)?;
    let work: [(&'static str, &str, Array); 5] = [
        ("gen", "random f32 4096² (generate + download)", &x * 1.0),
        (
            "map",
            "((x * 2 + 1) * x.T).sqrt() f32 4096²",
            ((&x * 2.0 + 1.0) * &x.t()).sqrt(),
        ),
        ("sum", "x.sum(axis=0) f32 4096²", x.sum_axis(0)),
        ("std", "x.std() f32 4096²", x.std(0)),
        ("matmul", "matmul f32 1024² (chunks 512)", y.matmul(&y)),
    ];
    let measure = |key: &'static str, name: String, a: &Array| -> Result<BenchResult> {
        let (seconds, tasks, peak_bytes) = time_compute(&[a], repeats, &opts)?;
        let g = graph_for(&[a], &opts)?;
        let on_device = tessera::scheduler::execute(&g, &opts)?.stats.device_tasks;
        let note = if device == tessera::Device::Cpu {
            String::new()
        } else {
            format!("{on_device}/{tasks} on device")
        };
        Ok(BenchResult {
            key,
            name,
            seconds,
            bytes,
            tasks,
            peak_bytes,
            note,
            work: None,
        })
    };
    for (key, name, a) in work {
        rows.push(measure(key, name.into(), &a)?);
    }
    // Transposes of stored data (uploaded from the host, as a loaded dataset would be),
    // once with each wgpu transpose kernel; the CPU runs the same workload twice.
    let stored = tessera::from_ndarray(
        ndarray::Array::from_shape_fn((n, n), |(i, j)| (i ^ j) as f32).into_dyn(),
        1024,
    )?;
    let transposed = &stored.t() * 2.0;
    for (key, kind) in [("transpose-tiled", "tiled"), ("transpose-direct", "direct")] {
        set_transpose_kernel(device, kind)?;
        let name = format!("stored x.T * 2 f32 4096², {kind} kernel");
        rows.push(measure(key, name, &transposed)?);
    }
    set_transpose_kernel(device, "auto")?;
    // Per-task overhead: many tiny map chunks (each output chunk is downloaded), and the
    // same chunks summed (partials stay on the device; only a scalar comes back).
    let m = 2_000;
    let tiny = random::uniform_range(&[m * 256], 256, 2, 0.0, 1.0, DType::F32)? * 2.0;
    let total = tiny.sum();
    for (key, name, a) in [
        ("dispatch", format!("{m} map chunks of 256 f32"), &tiny),
        (
            "dispatch-sum",
            format!("{m} map+sum chunks of 256 f32"),
            &total,
        ),
    ] {
        let (seconds, tasks, peak_bytes) = time_compute(&[a], repeats, &opts)?;
        rows.push(BenchResult {
            key,
            name,
            seconds,
            bytes: (m * 256 * 4) as f64,
            tasks,
            peak_bytes,
            note: format!("{:.1} µs/task", seconds / tasks as f64 * 1e6),
            work: None,
        });
    }
    Ok(rows)
}

/// Kernel speed with the data already on the device, no graph and no transfers in the
/// timing: what the device itself does, to set against the limits of the hardware.
#[derive(Debug, Clone)]
pub struct ResidentRow {
    /// `a * 2 + b` over 2²⁴ f32 (12 bytes moved per element), in GB/s.
    pub map_gbps: f64,
    /// One f32 matrix product of `n`² blocks (`n` = 1024) per call, in TFLOP/s: on CUDA,
    /// cuBLAS alone.
    pub matmul_tflops: f64,
    /// One 64 MiB f32 chunk from host memory to the device (through pinned staging on
    /// CUDA), in GB/s.
    pub upload_gbps: f64,
    /// The same chunk back into a new host array, in GB/s.
    pub download_gbps: f64,
}

/// Measures [`ResidentRow`] on `device` (a GPU backend): inputs are uploaded once, each
/// kernel runs `repeats` times back to back, and a one-element download after them waits
/// for the device, so the time is the kernels' alone. (Calls from one thread queue on one
/// stream: a CUDA worker gets back the lane it returned, and wgpu has one queue.)
///
/// ```no_run
/// let r = suite::device_resident(tessera::Device::Wgpu(0), 5).unwrap();
/// println!("{:.1} GB/s", r.map_gbps);
/// ```
pub fn device_resident(device: tessera::Device, repeats: usize) -> Result<ResidentRow> {
    use tessera::backend::Buffer;
    use tessera::kernel::{
        BinaryOp, Chunk, ChunkOp, FusedExpr, Instr, Leaf, LeafSource, LinalgOp, LinalgTask, MapOp,
    };
    use tessera::{DType, HostArray, Scalar};
    let backend = tessera::backend::open(device)?
        .into_iter()
        .next()
        .ok_or_else(|| tessera::Error::arg("bench", format!("{device} is not a GPU device")))?;
    let repeats = repeats.max(1);
    let upload = |v: Vec<f32>, shape: &[usize]| -> Result<Buffer> {
        let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v)
            .map_err(|e| tessera::Error::arg("bench", e.to_string()))?;
        backend.upload(Chunk::dense(HostArray::F32(a)))
    };
    let leaf = |slot| Leaf {
        source: LeafSource::Input(slot),
        dtype: DType::F32,
        offset: 0,
        strides: vec![1],
    };
    let axpy = |n: usize| {
        ChunkOp::Map(MapOp {
            expr: FusedExpr {
                leaves: vec![leaf(0), leaf(1)],
                instrs: vec![
                    (Instr::Leaf(0), DType::F32),
                    (Instr::Const(Scalar::F64(2.0)), DType::F32),
                    (Instr::Binary(BinaryOp::Mul, 0, 1), DType::F32),
                    (Instr::Leaf(1), DType::F32),
                    (Instr::Binary(BinaryOp::Add, 2, 3), DType::F32),
                ],
            },
            shape: vec![n],
        })
    };
    // Waits for everything queued before it: a one-element kernel, then its download.
    let one = upload(vec![1.0], &[1])?;
    let sync = || -> Result<()> {
        let out = backend.execute(&axpy(1), &[&one, &one])?;
        backend.download(&out).map(|_| ())
    };
    let time = |op: &ChunkOp, inputs: &[&Buffer]| -> Result<f64> {
        drop(backend.execute(op, inputs)?);
        sync()?;
        let t = Instant::now();
        for _ in 0..repeats {
            drop(backend.execute(op, inputs)?);
        }
        sync()?;
        Ok(t.elapsed().as_secs_f64() / repeats as f64)
    };
    let n = 1 << 24;
    let a = upload((0..n).map(|i| i as f32).collect(), &[n])?;
    let b = upload(vec![0.5; n], &[n])?;
    let map_s = time(&axpy(n), &[&a, &b])?;
    let m = 1024;
    let x = upload((0..m * m).map(|i| (i % 7) as f32).collect(), &[m, m])?;
    let product = ChunkOp::Linalg(LinalgTask {
        op: LinalgOp::MatMul {
            batch: 1,
            m,
            k: m,
            n: m,
        },
        dtype: DType::F32,
        shape: vec![m, m],
    });
    let mm_s = time(&product, &[&x, &x])?;
    // Transfers: the host chunks are made before the clock starts (an upload consumes
    // its chunk), and an upload's copy is done once the sync after it returns.
    let big = 16 << 20;
    let chunk = || {
        Chunk::dense(HostArray::F32(ndarray::ArrayD::from_elem(
            ndarray::IxDyn(&[big]),
            1.5f32,
        )))
    };
    let mut pending: Vec<Chunk> = (0..=repeats).map(|_| chunk()).collect();
    let on_device = backend.upload(pending.pop().expect("repeats + 1 made"))?;
    sync()?;
    let t = Instant::now();
    for c in pending {
        drop(backend.upload(c)?);
    }
    sync()?;
    let up_s = t.elapsed().as_secs_f64() / repeats as f64;
    drop(backend.download(&on_device)?);
    let t = Instant::now();
    for _ in 0..repeats {
        drop(backend.download(&on_device)?);
    }
    let down_s = t.elapsed().as_secs_f64() / repeats as f64;
    let bytes = 4.0 * big as f64;
    Ok(ResidentRow {
        map_gbps: 12.0 * n as f64 / map_s / 1e9,
        matmul_tflops: 2.0 * (m * m * m) as f64 / mm_s / 1e12,
        upload_gbps: bytes / up_s / 1e9,
        download_gbps: bytes / down_s / 1e9,
    })
}

/// The graph of `arrays` lowered for the devices `opts` runs on (as `compute` lowers it).
fn graph_for(arrays: &[&Array], opts: &ComputeOptions) -> Result<TaskGraph> {
    let devices: Vec<_> = opts
        .targets()
        .into_iter()
        .map(tessera::backend::resolve)
        .collect();
    TaskGraph::build_with(arrays, Lowering::for_devices(&devices))
}
