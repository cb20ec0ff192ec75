//! MPI ranks under `mpirun` (Open MPI on loopback): every workload computed over 1, 2
//! and 4 ranks gives the bits one process gives, the demo prints its result once, and a
//! rank that panics or is killed ends the job, non-zero, in seconds — never a hang.
//!
//! MPI is a cargo feature that needs libmpi to build, so this test builds its own
//! `tessera` binary with it (and Zarr and wgpu; not CUDA; into `target/mpi`) and launches that. It
//! skips, saying why, where `mpirun` or the MPI headers are missing, unless
//! `TESSERA_REQUIRE_MPI=1` (as `.ci/run` sets).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn required() -> bool {
    std::env::var("TESSERA_REQUIRE_MPI").as_deref() == Ok("1")
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The MPI build of the CLI, built once per test process; `None` (after saying why)
/// where MPI is not installed.
fn binary() -> Option<&'static PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let missing = if !have("mpirun", "--version") {
            Some("mpirun not found (install openmpi-bin)")
        } else if !have("mpicc", "--showme") {
            Some("the MPI headers and libraries were not found (install libopenmpi-dev and libclang-dev)")
        } else {
            None
        };
        if let Some(why) = missing {
            assert!(!required(), "TESSERA_REQUIRE_MPI=1 but {why}");
            eprintln!("SKIPPED the MPI tests: {why}");
            return None;
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = root.join("target").join("mpi");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--release", "--no-default-features"])
            .args(["--features", "mpi,zarr,wgpu"])
            .args(["--bin", "tessera", "--target-dir"])
            .arg(&target)
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building tessera with --features mpi failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(target.join("release").join("tessera"))
    })
    .as_ref()
}

/// `mpirun -np N tessera ARGS` on loopback, as root if need be, under a timeout that
/// turns a hang into exit 124.
fn mpirun(np: usize, args: &[&str]) -> (Output, Duration) {
    let bin = binary().expect("checked by the caller");
    let t = Instant::now();
    let out = Command::new("timeout")
        .args(["--kill-after=10", "120", "mpirun", "-np", &np.to_string()])
        .arg(bin)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_oob_tcp_if_include", "lo")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .output()
        .expect("timeout and mpirun run");
    (out, t.elapsed())
}

/// `tessera ranks WORKLOAD` on 600² in 100² blocks, one thread per rank, over `np`
/// ranks, with `extra` arguments.
fn ranks(np: usize, workload: &str, extra: &[&str]) -> (Output, Duration) {
    let mut args = vec!["ranks", workload, "--size", "600", "--chunk", "100"];
    args.extend(["--threads", "1"]);
    args.extend(extra);
    mpirun(np, &args)
}

/// MiB every rank's line says it sent, summed.
fn sent_mib(all: &str) -> f64 {
    all.lines()
        .filter(|l| l.starts_with("rank "))
        .map(|l| {
            l.split("chunks (")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .map(|v| v.parse::<f64>().unwrap())
        .sum()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_workload_over_1_2_and_4_ranks_is_bit_identical_to_one_process() {
    if binary().is_none() {
        return;
    }
    let opts = common::opts(tessera::Device::Cpu);
    for w in ["seed", "reductions", "matmul", "tsqr", "tall"] {
        let arrays = tessera::distributed::workload(w, 600, 100).unwrap();
        let refs: Vec<&tessera::Array> = arrays.iter().collect();
        let want = tessera::distributed::digest(&tessera::compute_all_with(&refs, &opts).unwrap());
        for np in [1, 2, 4] {
            let (out, _) = ranks(np, w, &[]);
            let all = text(&out);
            assert!(out.status.success(), "{w} on {np} ranks:\n{all}");
            let results: Vec<&str> = all.lines().filter(|l| l.starts_with("result ")).collect();
            assert_eq!(results.len(), 1, "{w} on {np} ranks prints once:\n{all}");
            let digest = format!("digest {want:016x}");
            assert!(
                results[0].contains(&digest),
                "{w} on {np} ranks: {} (one process: {digest})",
                results[0]
            );
            // Every rank ran its share.
            let ranks = all.lines().filter(|l| l.starts_with("rank ")).count();
            assert_eq!(ranks, np, "{all}");
            if np > 1 {
                assert!(
                    all.lines()
                        .filter(|l| l.starts_with("rank "))
                        .all(|l| !l.contains(": 0 of")),
                    "{all}"
                );
            }
        }
    }
}

#[test]
fn results_can_be_given_to_every_rank() {
    if binary().is_none() {
        return;
    }
    let arrays = tessera::distributed::workload("tsqr", 400, 100).unwrap();
    let refs: Vec<&tessera::Array> = arrays.iter().collect();
    let opts = common::opts(tessera::Device::Cpu);
    let want = tessera::distributed::digest(&tessera::compute_all_with(&refs, &opts).unwrap());
    let args = [
        "ranks",
        "tsqr",
        "--size",
        "400",
        "--chunk",
        "100",
        "--threads",
        "1",
        "--everywhere",
    ];
    let (out, _) = mpirun(3, &args);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let digest = format!("digest {want:016x}");
    let lines: Vec<&str> = all.lines().filter(|l| l.starts_with("result ")).collect();
    assert_eq!(lines.len(), 3, "{all}");
    assert!(lines.iter().all(|l| l.contains(&digest)), "{all}");
}

#[test]
fn the_demo_under_mpirun_prints_its_result_once_and_traces_every_rank() {
    if binary().is_none() {
        return;
    }
    let trace = std::env::temp_dir().join(format!("tessera-mpi-trace-{}.json", std::process::id()));
    let args = [
        "demo",
        "--size",
        "2000",
        "--chunk",
        "250",
        "--quiet",
        "--threads",
        "1",
        "--trace",
    ];
    let mut args: Vec<&str> = args.to_vec();
    args.push(trace.to_str().unwrap());
    let (out, _) = mpirun(4, &args);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    // One trace, written by rank 0: a process per rank, with its sends and receives.
    let json = std::fs::read_to_string(&trace).unwrap();
    std::fs::remove_file(&trace).unwrap();
    for r in 0..4 {
        let named =
            format!("\"pid\":{r},\"name\":\"process_name\",\"args\":{{\"name\":\"rank {r}\"}}");
        assert!(json.contains(&named), "no process for rank {r}");
    }
    assert!(json.contains("\"cat\":\"send\"") && json.contains("\"cat\":\"receive\""));
    let results: Vec<&str> = all.lines().filter(|l| l.starts_with("result: ")).collect();
    assert_eq!(results.len(), 1, "{all}");
    let x = tessera::random::uniform(&[2000, 2000], 250, 42).unwrap();
    let y = (&x + &x.t()).sum_axis(0).mean();
    let v = y
        .compute_with::<f64>(&common::opts(tessera::Device::Cpu))
        .unwrap()[[]];
    assert_eq!(results[0], format!("result: {v}"), "{all}");
}

/// A rank that panics, or is killed by SIGKILL, mid-run: the job ends non-zero (not the
/// timeout's 124) within 10 s, instead of the others waiting for its chunks.
#[test]
fn a_rank_that_panics_or_dies_ends_the_job_in_seconds() {
    if binary().is_none() {
        return;
    }
    for fault in ["--panic-rank", "--kill-rank"] {
        let args = [
            "ranks",
            "matmul",
            "--size",
            "6000",
            "--chunk",
            "500",
            "--threads",
            "1",
            fault,
            "1",
        ];
        let (out, took) = mpirun(2, &args);
        let code = out.status.code();
        assert!(
            code.is_some_and(|c| c != 0 && c != 124) || code.is_none(),
            "{fault}: exit {code:?}\n{}",
            text(&out)
        );
        assert!(took < Duration::from_secs(10), "{fault}: took {took:?}");
        assert!(!text(&out).contains("result "), "{fault}: finished anyway");
    }
}

/// `tessera ranks seed --to-npy/--to-zarr PATH` over `np` ranks.
fn store_run(np: usize, flag: &str, path: &std::path::Path) -> (Output, Duration) {
    ranks(np, "seed", &[flag, path.to_str().unwrap()])
}

/// As [`store_run`], which must succeed: its output.
fn store_over(np: usize, flag: &str, path: &std::path::Path) -> String {
    let (out, _) = store_run(np, flag, path);
    let all = text(&out);
    assert!(out.status.success(), "{flag} on {np} ranks:\n{all}");
    all
}

/// Names in `dir` that start with a dot: staging left behind.
fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn every_rank_writes_its_own_blocks_of_one_npy_file_or_zarr_array() {
    if binary().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tessera-mpi-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = common::opts(tessera::Device::Cpu);
    let x = &tessera::distributed::workload("seed", 600, 100).unwrap()[1]; // x + x.T
    let want = tessera::distributed::digest(&[x.compute_host_with(&opts).unwrap()]);
    // .npy: the bytes one process writes, with no block sent anywhere.
    let one = dir.join("one.npy");
    x.to_npy_with(&one, &opts).unwrap();
    for np in [2, 3] {
        let path = dir.join(format!("ranks{np}.npy"));
        let all = store_over(np, "--to-npy", &path);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&one).unwrap(),
            "{all}"
        );
        let ranks: Vec<&str> = all.lines().filter(|l| l.starts_with("rank ")).collect();
        assert_eq!(ranks.len(), np, "{all}");
        assert!(
            ranks
                .iter()
                .all(|l| l.contains("sent 0 chunks") && !l.contains(": 0 of")),
            "every rank computes and writes its own blocks:\n{all}"
        );
        assert!(
            all.contains(&format!("stored seed digest {want:016x}")),
            "{all}"
        );
    }
    // Zarr: a new array, then into that array again with other chunks (every rank
    // rechunks to the store's chunks, read from the metadata rank 0 found).
    let z = dir.join("x.zarr");
    let all = store_over(3, "--to-zarr", &z);
    assert!(
        all.contains(&format!("stored seed digest {want:016x}")),
        "{all}"
    );
    let back = tessera::from_zarr(&z)
        .unwrap()
        .compute_host_with(&opts)
        .unwrap();
    assert_eq!(tessera::distributed::digest(&[back]), want);
    let other = dir.join("other.zarr");
    let zo = tessera::storage::zarr::ZarrOptions {
        chunks: Some(vec![150, 240]),
        ..Default::default()
    };
    tessera::zeros(&[600, 600], 600)
        .unwrap()
        .to_zarr_with(&other, &zo, &opts)
        .unwrap();
    let all = store_over(2, "--to-zarr", &other);
    assert!(
        all.contains(&format!("stored seed digest {want:016x}")),
        "{all}"
    );
    let info = tessera::storage::zarr::info(&other).unwrap();
    assert_eq!(
        info.chunks,
        vec![150, 240],
        "the existing array keeps its chunks"
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    // A target no rank can create: every rank fails, at once, and leaves nothing.
    let missing = dir.join("no-such-dir").join("x.npy");
    let (out, took) = store_run(3, "--to-npy", &missing);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.matches("rank 0 could not start writing").count() >= 1 && all.contains("no-such-dir"),
        "{all}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_array_persisted_over_the_ranks_stays_where_it_was_made_and_computes_bit_identically() {
    if binary().is_none() {
        return;
    }
    let opts = common::opts(tessera::Device::Cpu);
    for w in ["seed", "matmul"] {
        let arrays = tessera::distributed::workload(w, 600, 100).unwrap();
        let p = arrays.last().unwrap(); // the largest: x + x.T, x @ y
        let want = tessera::distributed::digest(
            &tessera::compute_all_with(&[&p.matmul(&p.t()), &p.sum_axis(0)], &opts).unwrap(),
        );
        for np in [2, 3] {
            let (out, _) = ranks(np, w, &["--persist"]);
            let all = text(&out);
            assert!(out.status.success(), "{w} on {np} ranks:\n{all}");
            assert!(
                all.contains(&format!("persisted {w} digest {want:016x}")),
                "{all}"
            );
            // Each rank holds its share of the blocks (no rank holds them all).
            let total = 600 * 600 * 8;
            let held: Vec<u64> = all
                .lines()
                .filter(|l| l.starts_with("rank "))
                .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(held.len(), np, "{all}");
            assert_eq!(held.iter().sum::<u64>(), total, "{all}");
            assert!(held.iter().all(|&h| h > 0 && h < total), "{all}");
            // One rank alone cannot compute from it, and says so.
            let alone = all
                .lines()
                .filter(|l| l.starts_with("alone on rank "))
                .count();
            assert_eq!(alone, np, "{all}");
            assert!(
                all.contains("persisted over") && all.contains("world.compute_all"),
                "{all}"
            );
        }
    }
}

#[test]
fn a_tall_skinny_qr_over_ranks_sends_the_r_factors_not_the_q_blocks() {
    if binary().is_none() {
        return;
    }
    // 30,000 × 30 in 5,000-row blocks: each block's Q is 1.14 MiB, its R 7 KiB. The
    // combine tree reads only the R's, so what crosses ranks is R's and Q's column sums.
    let (out, _) = ranks(4, "tall", &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let sent = sent_mib(&all);
    assert!(
        sent < 0.5,
        "the ranks sent {sent} MiB, less than one Q block would be:\n{all}"
    );
    // 100,000 × 100 in 5,000-row blocks: carrying Q down the tree, each child receives
    // only its own rows of its parent's Q, not the parent's whole stacked Q (measured:
    // 2.3 MiB sent in all, 5.8 MiB when the stacked Q's travelled).
    let args = "ranks tall --size 2000 --chunk 100 --threads 1";
    let (out, _) = mpirun(4, &args.split(' ').collect::<Vec<_>>());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let sent = sent_mib(&all);
    assert!(
        sent < 3.5,
        "the ranks sent {sent} MiB: the stacked Q's travel down the tree again?\n{all}"
    );
}

#[test]
fn every_rank_stays_under_its_host_limit_while_chunks_cross_ranks() {
    if binary().is_none() {
        return;
    }
    // TSQR of 2,000 × 250 in 250-row blocks on 4 ranks, each writing its own blocks of
    // Q: ranks 1-3 send rank 0 their stacked factors (8.6 MiB arrive there). Without a
    // limit rank 0 peaks near 16 MiB; under 9 MiB a message waits for room (idle chunks
    // spill) instead of landing over the limit, and the file is the same.
    let dir = std::env::temp_dir().join(format!("tessera-mpi-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |limit: Option<&str>| {
        let path = dir.join(format!("q-{}.npy", limit.unwrap_or("none")));
        let mut args = vec!["ranks", "tsqr", "--size", "2000", "--chunk", "250"];
        let p = path.to_str().unwrap().to_string();
        args.extend(["--threads", "1", "--to-npy", &p]);
        if let Some(l) = limit {
            args.extend(["--host-memory-limit", l]);
        }
        let (out, _) = mpirun(4, &args);
        let all = text(&out);
        assert!(out.status.success(), "limit {limit:?}:\n{all}");
        let peaks: Vec<f64> = all
            .lines()
            .filter(|l| l.starts_with("rank "))
            .map(|l| {
                l.split("host peak ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
            })
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(peaks.len(), 4, "{all}");
        let digest = all
            .lines()
            .find(|l| l.starts_with("stored "))
            .unwrap_or_else(|| panic!("no digest:\n{all}"))
            .split(" in ")
            .next()
            .unwrap()
            .to_string();
        (peaks, digest, all)
    };
    let (free, want, _) = run(None);
    let (peaks, got, all) = run(Some("9MiB"));
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        free.iter().any(|&p| p > 9.0),
        "the workload no longer needs more than the limit, so this tests nothing: {free:?}"
    );
    assert!(
        peaks.iter().all(|&p| p <= 9.0),
        "a rank went over its 9 MiB host limit: {peaks:?}\n{all}"
    );
    assert_eq!(got, want, "the limit changed the result");
}

#[test]
fn device_chunks_cross_ranks_and_give_the_bits_of_one_process_on_the_same_device() {
    if binary().is_none() {
        return;
    }
    // Each rank on the wgpu adapter (lavapipe here): chunks made on a device and read on
    // another rank cross through the host (no device link on wgpu). Device reductions sum
    // in another order than the CPU's, so the reference is one process on the device.
    if tessera::backend::wgpu_adapters().is_empty() {
        assert!(
            std::env::var("TESSERA_REQUIRE_WGPU").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_WGPU=1 but no wgpu adapter"
        );
        eprintln!("SKIPPED the MPI device test: no wgpu adapter (install mesa-vulkan-drivers)");
        return;
    }
    for w in ["seed", "reductions", "matmul"] {
        let digest = |out: &Output| -> String {
            let all = text(out);
            assert!(out.status.success(), "{w}:\n{all}");
            all.lines()
                .find(|l| l.starts_with("result "))
                .unwrap_or_else(|| panic!("{w}: no result:\n{all}"))
                .split(" in ")
                .next()
                .unwrap()
                .to_string()
        };
        let (one, _) = ranks(1, w, &["--device", "wgpu:0", "--single"]);
        let (two, _) = ranks(2, w, &["--device", "wgpu:0"]);
        let all = text(&two);
        let sent: usize = all
            .lines()
            .filter(|l| l.starts_with("rank "))
            .map(|l| l.split("sent ").nth(1).unwrap().split(' ').next().unwrap())
            .map(|v| v.parse::<usize>().unwrap())
            .sum();
        assert!(sent > 0, "{w}: nothing crossed ranks:\n{all}");
        assert_eq!(digest(&two), digest(&one), "{w} on 2 ranks on wgpu:0");
    }
}
