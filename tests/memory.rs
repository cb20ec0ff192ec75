//! Memory tiers: limits that hold, spilling to disk and back, persisted arrays, and spill
//! files that never outlive their compute. Every spilled result is compared bit for bit
//! with the same graph run without limits.

use tessera::error::Tier;
use tessera::{Array, ComputeOptions, Device, Error, Scheduler};

/// A fresh, empty spill directory for one test, removed (if empty) when dropped.
struct TestDir(std::path::PathBuf);

impl std::ops::Deref for TestDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn spill_dir(name: &str) -> TestDir {
    let d = std::env::temp_dir().join(format!("tessera-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TestDir(d)
}

fn entries(d: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn limited(dir: &std::path::Path, host: u64) -> ComputeOptions {
    ComputeOptions {
        device: Device::Cpu,
        host_memory_limit: Some(host),
        spill_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

fn free() -> ComputeOptions {
    ComputeOptions {
        device: Device::Cpu,
        ..Default::default()
    }
}

fn bits(a: &tessera::HostArray) -> Vec<u64> {
    a.to_f64().iter().map(|v| v.to_bits()).collect()
}

fn run(y: &Array, opts: &ComputeOptions) -> tessera::scheduler::Executed {
    let g = tessera::graph::TaskGraph::build(&[y]).unwrap();
    tessera::scheduler::execute(&g, opts).unwrap()
}

/// 256² f64 from host memory, in 32² chunks.
fn source(seed: u64) -> Array {
    let x = tessera::random::uniform(&[256, 256], 256, seed).unwrap();
    let a = x.compute_with::<f64>(&free()).unwrap();
    tessera::from_ndarray(a, 32).unwrap()
}

/// [`source`] rechunked to blocks of the same size (64 x 16): an array whose chunks are
/// made from others, so under pressure they spill (a source's own chunks, and element-
/// wise views of them, are dropped and read from it again instead).
fn derived(seed: u64) -> Array {
    source(seed).rechunk(&[64, 16])
}

// 256² f64 is 512 KiB in 64 chunks of 8 KiB; the limits below hold a fraction of it.
const KIB: u64 = 1024;

#[test]
fn a_persisted_array_larger_than_the_limit_spills_and_later_computes_read_it_back() {
    let dir = spill_dir("persist");
    let x = tessera::random::uniform(&[256, 256], 32, 11).unwrap();
    let opts = limited(&dir, 128 * KIB);
    let (p, s) = x.persist_stats(&opts).unwrap();
    assert!(s.host.peak <= 128 * KIB, "persist peak {}", s.host.peak);
    assert!(s.host.spilled_bytes > 0 && s.host.spilled_chunks > 0);
    let stored = p.persisted().unwrap();
    assert_eq!(stored.blocks(), 64);
    assert!(stored.bytes_on_disk() > 0);
    assert_eq!(
        stored.bytes_in_memory() + stored.bytes_on_disk(),
        256 * 256 * 8
    );
    assert!(stored.bytes_in_memory() <= 128 * KIB);

    // x.T reads the spilled blocks in another order than they were made.
    let want = run(&(&x + &x.t()).sum_axis(0), &free());
    for sched in [Scheduler::Threads(2), Scheduler::Sync] {
        let o = ComputeOptions {
            scheduler: sched,
            ..opts.clone()
        };
        let got = run(&(&p + &p.t()).sum_axis(0), &o);
        assert_eq!(bits(&got.outputs[0]), bits(&want.outputs[0]), "{sched:?}");
        assert!(
            got.stats.host.peak <= 128 * KIB,
            "peak {}",
            got.stats.host.peak
        );
        assert!(got.stats.host.read_back_bytes > 0);
    }
    // The persisted array itself, computed back whole, is x.
    let whole = p.compute_with::<f64>(&limited(&dir, 1 << 20)).unwrap();
    assert_eq!(whole, x.compute_with::<f64>(&free()).unwrap());
    // Only the persisted array's own directory is left, and it goes with the array.
    let left = entries(&dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("tessera-persist"), "{left:?}");
    drop(p);
    assert!(entries(&dir).is_empty());
}

#[test]
fn centring_a_stored_array_under_a_limit_matches_the_unlimited_run() {
    let dir = spill_dir("centre");
    let y = tessera::random::normal(&[256, 256], &[32, 64][..], 5)
        .unwrap()
        .persist_with(&free())
        .unwrap();
    let c = &y - &y.mean_axis(0);
    let want = run(&c, &free());
    // The centred result is kept as chunks too (it is larger than the limit).
    let opts = limited(&dir, 160 * KIB);
    let (pc, s) = c.persist_stats(&opts).unwrap();
    assert!(s.host.peak <= 160 * KIB, "peak {}", s.host.peak);
    assert!(s.host.spilled_bytes > 0);
    let got = pc.compute_with::<f64>(&free()).unwrap();
    let want = want.outputs[0].to_f64();
    assert!(got
        .iter()
        .zip(want.iter())
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    drop(pc);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_chunk_read_by_two_consumers_far_apart_spills_within_one_compute() {
    let dir = spill_dir("scratch");
    // z's blocks are read twice: its mean needs every block before any centred block
    // can be made.
    let z = derived(3);
    let y = (&z - &z.mean()).abs().sum_axis(0);
    let want = run(&y, &free());
    let got = run(&y, &limited(&dir, 96 * KIB));
    assert_eq!(bits(&got.outputs[0]), bits(&want.outputs[0]));
    assert!(
        got.stats.host.peak <= 96 * KIB,
        "peak {}",
        got.stats.host.peak
    );
    assert!(got.stats.host.spilled_bytes > 0 && got.stats.host.read_back_bytes > 0);
    assert!(got.stats.disk.peak > 0);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_source_read_by_two_consumers_far_apart_is_read_again_instead_of_spilled() {
    let dir = spill_dir("remake");
    // The same workload on the source itself: its chunks are dropped and copied from it
    // again when the centred blocks need them, so nothing is written to disk.
    let z = source(3);
    let y = (&z - &z.mean()).abs().sum_axis(0);
    let want = run(&y, &free());
    for scheduler in [Scheduler::Threads(2), Scheduler::Sync] {
        let opts = ComputeOptions {
            scheduler,
            ..limited(&dir, 96 * KIB)
        };
        let got = run(&y, &opts);
        assert_eq!(bits(&got.outputs[0]), bits(&want.outputs[0]));
        let h = &got.stats.host;
        assert!(h.peak <= 96 * KIB, "peak {}", h.peak);
        assert_eq!((h.spilled_bytes, got.stats.disk.peak), (0, 0), "{h:?}");
        assert!(h.dropped_chunks > 0 && h.remade_chunks > 0, "{h:?}");
        assert!(h.remade_chunks <= h.dropped_chunks, "{h:?}");
    }
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn an_elementwise_view_of_a_source_read_by_several_consumers_is_never_stored() {
    // Stored, the centred blocks could only be spilled; recomputed in each consumer, the
    // blocks they share are the source's, which are dropped and read again.
    let stored = |z: &Array| {
        let c = z - &z.mean_axis(0);
        let y = &(&(&c * &c).sum_axis(0) + &c.abs().sum_axis(0)) + &c.max_axis(0);
        let g = tessera::graph::TaskGraph::build(&[&y]).unwrap();
        // Element-wise tasks of whole blocks (the mean's own are one row each).
        g.tasks
            .iter()
            .filter(|t| t.op.name().starts_with("map") && t.nbytes == 8 * KIB)
            .count()
    };
    assert_eq!(stored(&source(5)), 0);
    // Of a computed array (a rechunk's blocks) the centred blocks are stored, one per
    // block: recomputing them would hold the computed blocks for every consumer.
    assert_eq!(stored(&derived(5)), 64);
}

#[test]
fn a_disk_limit_too_small_is_out_of_memory_on_disk_and_leaves_no_file() {
    let dir = spill_dir("disk");
    let z = derived(4);
    let y = (&z - &z.mean()).sum();
    let opts = ComputeOptions {
        disk_limit: Some(16 * KIB),
        ..limited(&dir, 96 * KIB)
    };
    let e = y.compute_with::<f64>(&opts).unwrap_err();
    assert!(
        matches!(e, Error::OutOfMemory { tier: Tier::Disk, limit, .. } if limit == 16 * KIB),
        "{e}"
    );
    assert!(e.to_string().contains("disk_limit"), "{e}");
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_corrupted_or_deleted_spill_file_is_an_error_naming_the_chunk() {
    let dir = spill_dir("corrupt");
    let x = tessera::random::uniform(&[128, 128], 32, 1).unwrap();
    let p = x.persist_with(&limited(&dir, 48 * KIB)).unwrap();
    let pdir = p.persisted().unwrap().spill_dir().to_path_buf();
    let files: Vec<_> = std::fs::read_dir(&pdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    // Flip one byte of the data of every file: which of them hold a block that is only on
    // disk depends on timing, and one of those is read first.
    let good: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    for (f, g) in files.iter().zip(&good) {
        let mut b = g.clone();
        let k = b.len() / 2;
        b[k] ^= 0x10;
        std::fs::write(f, b).unwrap();
    }
    let e = p
        .sum()
        .compute_with::<f64>(&limited(&dir, 48 * KIB))
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("spilled chunk random-") && msg.contains("checksum"),
        "{msg}"
    );
    // Mended, it reads again; deleted, it is an error naming the file.
    for (f, g) in files.iter().zip(&good) {
        std::fs::write(f, g).unwrap();
    }
    let want = x.sum().compute_with::<f64>(&free()).unwrap();
    assert_eq!(
        p.sum()
            .compute_with::<f64>(&limited(&dir, 48 * KIB))
            .unwrap(),
        want
    );
    // Which blocks sit only on disk moves from compute to compute (read-ahead keeps a
    // block in memory when there is room), and released files stay in the directory to
    // be reused, so delete every file: the blocks held only on disk cannot be read.
    let p_store = p.persisted().unwrap();
    assert!(p_store.bytes_on_disk() > 0, "{}", p_store.bytes_on_disk());
    for f in std::fs::read_dir(&pdir).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let e = p
        .sum()
        .compute_with::<f64>(&limited(&dir, 48 * KIB))
        .unwrap_err();
    let msg = e.to_string();
    let name = pdir.display().to_string();
    assert!(
        msg.contains(&name) && msg.contains(".chunk") && msg.contains("failed"),
        "{msg}"
    );
    // No scratch directory of the failed computes is left behind.
    assert_eq!(entries(&dir).len(), 1, "{:?}", entries(&dir));
    drop(p);
    assert!(entries(&dir).is_empty());
}

#[test]
fn a_result_larger_than_the_host_limit_is_refused_before_running_and_names_persist() {
    let x = tessera::random::uniform(&[1000, 1000], 250, 0).unwrap();
    let e = (&x * 2.0)
        .compute_with::<f64>(&ComputeOptions {
            host_memory_limit: Some(4 << 20),
            ..free()
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfMemory {
                tier: Tier::Host,
                needed: 8_000_000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("persist()"), "{e}");
    // One task that cannot fit even alone is refused too, naming it.
    let e = source(1)
        .sum()
        .compute_with::<f64>(&ComputeOptions {
            host_memory_limit: Some(4_000),
            ..free()
        })
        .unwrap_err();
    assert!(e.to_string().contains("with its inputs"), "{e}");
}

#[test]
fn persisted_chunks_in_memory_count_against_a_later_smaller_limit() {
    let dir = spill_dir("shrink");
    let x = tessera::random::uniform(&[256, 256], 32, 8).unwrap();
    let p = x.persist_with(&free()).unwrap();
    assert_eq!(p.persisted().unwrap().bytes_on_disk(), 0);
    let got = run(&p.max_axis(1), &limited(&dir, 64 * KIB));
    assert!(
        got.stats.host.peak <= 64 * KIB,
        "peak {}",
        got.stats.host.peak
    );
    // What did not fit went to the array's own directory, and stays there for later.
    assert!(p.persisted().unwrap().bytes_on_disk() > 0);
    let want = run(&x.max_axis(1), &free());
    assert_eq!(bits(&got.outputs[0]), bits(&want.outputs[0]));
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn the_trace_has_a_row_per_worker_and_the_io_thread_with_spill_events() {
    let dir = spill_dir("trace");
    let path = dir.join("trace.json");
    let z = derived(9);
    let y = (&z - &z.mean()).sum();
    let opts = ComputeOptions {
        trace: Some(path.clone()),
        scheduler: Scheduler::Threads(2),
        ..limited(&dir, 96 * KIB)
    };
    y.compute_with::<f64>(&opts).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(text.starts_with("{\"traceEvents\":["), "{}", &text[..40]);
    assert!(text.trim_end().ends_with("]}"));
    for part in [
        "\"name\":\"worker 0\"",
        "\"name\":\"worker 1\"",
        "\"name\":\"I/O\"",
        "\"cat\":\"compute\"",
        "\"cat\":\"spill\"",
        "\"cat\":\"read-back\"",
    ] {
        assert!(text.contains(part), "the trace lacks {part}");
    }
    // Every event line is one complete JSON object.
    for line in text.lines().filter(|l| l.contains("\"ph\":\"X\"")) {
        let l = line.trim_start_matches(',').trim_end_matches(',');
        assert!(l.starts_with('{') && l.ends_with('}'), "{l}");
        assert_eq!(l.matches('{').count(), l.matches('}').count(), "{l}");
    }
}

#[test]
fn limits_and_sizes_parse_as_people_write_them() {
    use tessera::scheduler::parse_bytes;
    assert_eq!(parse_bytes("4GiB").unwrap(), 4 << 30);
    assert_eq!(parse_bytes("512 MiB").unwrap(), 512 << 20);
    assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
    assert_eq!(parse_bytes("1e6").unwrap(), 1_000_000);
    assert_eq!(parse_bytes("100").unwrap(), 100);
    for bad in ["", "4 GiBs", "-1GB", "lots"] {
        assert!(parse_bytes(bad).is_err(), "{bad}");
    }
    let host = tessera::scheduler::available_host_bytes();
    assert!(host > 0 && host <= tessera::scheduler::host_memory_bytes());
}

#[test]
fn an_array_persisted_from_a_persisted_one_outlives_it() {
    let dir = spill_dir("share");
    let x = tessera::random::uniform(&[128, 128], 32, 2).unwrap();
    let opts = limited(&dir, 48 * KIB);
    let p = x.persist_with(&opts).unwrap();
    // x.T.T of a persisted array is its own blocks: the new array shares their files.
    let same = p.t().t();
    let g = tessera::graph::TaskGraph::build(&[&same]).unwrap();
    assert_eq!(g.tasks.len(), 16, "the blocks are read, not copied");
    let q = same.persist_with(&opts).unwrap();
    assert!(q.persisted().unwrap().bytes_on_disk() > 0);
    // The last handles to p go (the view and its graph hold it too).
    drop((p, same, g));
    assert_eq!(
        entries(&dir).len(),
        1,
        "p's directory stays while q reads its files"
    );
    let want = x.compute_with::<f64>(&free()).unwrap();
    assert_eq!(
        q.compute_with::<f64>(&limited(&dir, 1 << 20)).unwrap(),
        want
    );
    drop(q);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}
