//! No data lost: writes into existing arrays are wholly old or wholly new after an
//! injected failure or a kill at any instant, a second writer gets a clear error, what
//! killed writes and computes left is removed by the next one, SIGINT and SIGTERM end
//! the CLI cleanly, and a `CancelToken` stops a compute.
//!
//! Faults are injected in child processes (this test binary run again on one ignored
//! test, `child_write`), so the `TESSERA_FAILPOINT` hook of one test never reaches a
//! write of another running beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tessera::storage::zarr::ZarrOptions;
use tessera::{CancelToken, ComputeOptions, Error};

/// Above Linux's largest pid (2^22): never a live process.
const DEAD_PID: u32 = 4_194_305;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-safety-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file under `root` with its bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Names in `d` other than the targets.
fn debris(d: &Path, targets: &[&str]) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !targets.contains(&n.as_str()))
        .collect()
}

const SHAPE: [usize; 2] = [120, 90];
const CHUNKS: [usize; 2] = [30, 30];

/// The array of one value that writer `v` writes.
fn filled(v: f64) -> tessera::Array {
    tessera::full(&SHAPE, v, &CHUNKS[..]).unwrap()
}

/// The one value the array at `path` holds everywhere, or None for a mix.
fn uniform_value(path: &Path, zarr: bool) -> Option<f64> {
    let a = if zarr {
        tessera::from_zarr(path).unwrap()
    } else {
        tessera::from_npy(path, &CHUNKS[..]).unwrap()
    };
    let h = a.compute::<f64>().unwrap();
    assert_eq!(h.shape(), SHAPE, "{} has another shape", path.display());
    let first = h.iter().next().copied().unwrap();
    h.iter().all(|&x| x == first).then_some(first)
}

fn write_zarr(path: &Path, v: f64) -> tessera::Result<()> {
    filled(v)
        .to_zarr_with(path, &ZarrOptions::default(), &ComputeOptions::default())
        .map(|_| ())
}

/// Not a test on its own: what a child process runs (see the module's notes). Writes
/// `filled(TESSERA_CHILD_VALUE)` to `TESSERA_CHILD_PATH` (Zarr unless it ends in .npy)
/// and prints `child ok` or `child error: ...`.
#[test]
#[ignore]
fn child_write() {
    let Some(path) = std::env::var_os("TESSERA_CHILD_PATH") else {
        return;
    };
    let path = PathBuf::from(path);
    let v: f64 = std::env::var("TESSERA_CHILD_VALUE")
        .unwrap()
        .parse()
        .unwrap();
    let r = if path.extension().is_some_and(|e| e == "npy") {
        filled(v).to_npy(&path)
    } else {
        write_zarr(&path, v)
    };
    match r {
        Ok(()) => println!("child ok"),
        Err(e) => println!("child error: {e}"),
    }
}

fn child(path: &Path, v: f64, failpoint: Option<&str>) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "child_write",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("TESSERA_CHILD_PATH", path)
    .env("TESSERA_CHILD_VALUE", v.to_string())
    .env_remove("TESSERA_FAILPOINT")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(f) = failpoint {
        c.env("TESSERA_FAILPOINT", f);
    }
    c
}

/// Runs a child to its end: (exited normally, what it printed).
fn run_child(path: &Path, v: f64, failpoint: Option<&str>) -> (bool, String) {
    let out = child(path, v, failpoint).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn an_injected_failure_in_the_last_steps_into_an_existing_zarr_array_leaves_it_byte_for_byte_old() {
    let d = dir("inject");
    let path = d.join("arr");
    write_zarr(&path, 1.0).unwrap();
    let before = snapshot(&path);
    for point in [
        "zarr-after-take-over",
        "replace-before-swap",
        "exchange,replace-between-renames",
    ] {
        let (_, text) = run_child(&path, 2.0, Some(point));
        assert!(
            text.contains("child error") && text.contains("injected failure"),
            "{point}: {text}"
        );
        assert!(snapshot(&path) == before, "{point}: the array changed");
        assert_eq!(debris(&d, &["arr"]), Vec::<String>::new(), "{point}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_kill_in_any_step_of_a_write_into_an_existing_array_leaves_it_wholly_old_or_new() {
    let d = dir("kill-points");
    let path = d.join("arr");
    let npy = d.join("arr.npy");
    write_zarr(&path, 1.0).unwrap();
    filled(1.0).to_npy(&npy).unwrap();
    let points = [
        ("zarr-after-take-over:abort", &path, 1.0),
        ("replace-before-swap:abort", &path, 1.0),
        ("replace-after-swap:abort", &path, 2.0),
        ("exchange,replace-between-renames:abort", &path, 1.0),
        ("exchange,replace-after-swap:abort", &path, 2.0),
        ("npy-rename:abort", &npy, 1.0),
    ];
    let mut next = 3.0;
    for (point, target, expect) in points {
        let zarr = target == &path;
        // Each round starts from an array of 1.0.
        if zarr {
            write_zarr(&path, 1.0).unwrap();
        } else {
            filled(1.0).to_npy(&npy).unwrap();
        }
        let (ok, text) = run_child(target, 2.0, Some(point));
        assert!(
            !ok && !text.contains("child ok"),
            "{point}: the child was not killed: {text}"
        );
        // A kill between the two renames leaves the path missing: the next write (or
        // storage::recover) puts the old array back first.
        tessera::storage::recover(target).unwrap();
        assert_eq!(uniform_value(target, zarr), Some(expect), "{point}");
        // The next write succeeds and leaves nothing else behind.
        if zarr {
            write_zarr(&path, next).unwrap();
        } else {
            filled(next).to_npy(&npy).unwrap();
        }
        assert_eq!(
            uniform_value(target, zarr),
            Some(next),
            "{point}: the next write"
        );
        assert_eq!(
            debris(&d, &["arr", "arr.npy"]),
            Vec::<String>::new(),
            "{point}"
        );
        next += 1.0;
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn sigkill_at_spread_instants_of_a_write_leaves_the_array_wholly_old_or_new() {
    let d = dir("kill-times");
    let path = d.join("arr");
    write_zarr(&path, 1.0).unwrap();
    // How long one write takes here, to spread the kills over it.
    let t = Instant::now();
    let (ok, text) = run_child(&path, 1.0, None);
    assert!(ok && text.contains("child ok"), "{text}");
    let whole = t.elapsed();
    let mut seen = BTreeMap::new();
    for k in 0..12u32 {
        let old = if k % 2 == 0 { 1.0 } else { 2.0 };
        let new = 3.0 - old;
        let mut c = child(&path, new, None).spawn().unwrap();
        std::thread::sleep(whole.mul_f64(f64::from(k) / 10.0));
        let _ = c.kill();
        let status = c.wait().unwrap();
        let v = uniform_value(&path, true);
        assert!(v == Some(old) || v == Some(new), "kill {k}: a mix ({v:?})");
        *seen
            .entry(if v == Some(new) { "new" } else { "old" })
            .or_insert(0) += 1;
        // Leave the array at `new` for the next round, through the next write.
        write_zarr(&path, new).unwrap();
        assert_eq!(
            debris(&d, &["arr"]),
            Vec::<String>::new(),
            "kill {k} ({status})"
        );
    }
    println!("12 kills over a {whole:?} write: {seen:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn two_processes_writing_into_one_existing_array_end_with_one_writers_data_or_a_clear_error() {
    let d = dir("two-writers");
    let path = d.join("arr");
    write_zarr(&path, 1.0).unwrap();
    // The first writer holds its lock a second longer, at its last step; the second
    // starts once the first has staged (it takes the lock before staging).
    let first = child(&path, 2.0, Some("zarr-after-take-over:sleep"))
        .spawn()
        .unwrap();
    let staged = format!(".arr.partial-{}-", first.id());
    let t = Instant::now();
    while !debris(&d, &["arr"]).iter().any(|n| n.starts_with(&staged)) {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the first writer never staged"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, second) = run_child(&path, 3.0, None);
    let first = first.wait_with_output().unwrap();
    let first = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(first.contains("child ok"), "{first}");
    assert!(
        second.contains("child error") && second.contains("another write into it is in progress"),
        "{second}"
    );
    assert_eq!(uniform_value(&path, true), Some(2.0));
    assert_eq!(debris(&d, &["arr"]), Vec::<String>::new());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn of_two_to_npy_calls_to_one_path_the_one_that_returned_ok_has_its_data_in_the_file() {
    let d = dir("two-npy");
    let path = d.join("a.npy");
    for round in 0..6 {
        let good = filled(f64::from(round) + 10.0);
        // A compute that fails part-way: the Cholesky of a matrix that is not positive
        // definite, written to the same path at the same time.
        let bad = tessera::linalg::cholesky(&(-tessera::eye(90, None, 0, &[30, 30][..]).unwrap()));
        let (ok, failed) = std::thread::scope(|s| {
            let a = s.spawn(|| good.to_npy(&path));
            let b = s.spawn(|| bad.to_npy(&path));
            (a.join().unwrap(), b.join().unwrap())
        });
        assert!(
            failed.is_err(),
            "round {round}: the failing write returned Ok"
        );
        ok.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            uniform_value(&path, false),
            Some(f64::from(round) + 10.0),
            "round {round}"
        );
        assert_eq!(debris(&d, &["a.npy"]), Vec::<String>::new());
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn stale_old_copies_and_dead_writers_staging_are_removed_by_the_next_write() {
    let d = dir("stale");
    let path = d.join("arr");
    write_zarr(&path, 1.0).unwrap();
    // What earlier releases and killed processes left: an `.old` of a finished replace
    // (which made every later overwrite fail), staging of a dead writer, for both kinds.
    for name in [
        format!(".arr.partial-{DEAD_PID}-0.old"),
        format!(".arr.partial-{DEAD_PID}-1"),
        format!(".arr.partial-{DEAD_PID}"),
    ] {
        std::fs::create_dir(d.join(&name)).unwrap();
        std::fs::write(d.join(&name).join("c"), b"x").unwrap();
    }
    std::fs::write(d.join(format!(".a.npy.partial-{DEAD_PID}")), b"x").unwrap();
    // A live writer's staging (this process's) is never touched, nor another machine's.
    let host = tessera::storage::host_tag();
    let live = d.join(format!(".arr.partial-{}-999999-{host}", std::process::id()));
    let elsewhere = d.join(format!(".arr.partial-{DEAD_PID}-7-00000000"));
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir(&live).unwrap();
    let z = ZarrOptions {
        overwrite: true,
        ..Default::default()
    };
    filled(5.0)
        .to_zarr_with(&path, &z, &ComputeOptions::default())
        .unwrap();
    filled(6.0).to_npy(d.join("a.npy")).unwrap();
    assert_eq!(uniform_value(&path, true), Some(5.0));
    let mut left = debris(&d, &["arr", "a.npy"]);
    left.sort();
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    let mut want = vec![name(&live), name(&elsewhere)];
    want.sort();
    assert_eq!(left, want);
    std::fs::remove_dir(&elsewhere).unwrap();
    // An old copy moved aside by a replace killed before the new one came in (the
    // path missing) comes back instead of being removed.
    std::fs::remove_dir(&live).unwrap();
    std::fs::rename(&path, d.join(format!(".arr.old-{DEAD_PID}-3-{host}"))).unwrap();
    filled(7.0).to_npy(d.join("b.npy")).unwrap();
    assert!(!path.exists());
    let back = tessera::from_zarr(&path);
    assert!(back.is_err(), "nothing restored it yet");
    tessera::storage::recover(&path).unwrap();
    assert_eq!(uniform_value(&path, true), Some(5.0));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_dead_computes_spill_directory_is_removed_by_the_next_compute_that_spills_there() {
    let d = dir("spill");
    let host = tessera::storage::host_tag();
    let dead = d.join(format!("tessera-spill-{DEAD_PID}-0-{host}"));
    // Another machine's (a shared spill directory): its pid means nothing here.
    let elsewhere = d.join(format!("tessera-persist-{DEAD_PID}-1-00000000"));
    let other = d.join("tessera-spill-unrelated");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("0.chunk"), vec![0u8; 4096]).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let opts = ComputeOptions {
        host_memory_limit: Some(2 << 20),
        spill_dir: Some(d.clone()),
        ..Default::default()
    };
    let x = tessera::random::uniform(&[1000, 1000], 100, 3).unwrap();
    let (_, s) = x.persist_stats(&opts).unwrap();
    assert!(
        s.host.spilled_bytes > 0,
        "the compute must spill for this test"
    );
    assert!(
        !dead.exists(),
        "the dead process's spill directory is still there"
    );
    assert!(other.exists(), "a directory of another name was removed");
    assert!(
        elsewhere.exists(),
        "another machine's directory was removed"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_cancel_token_stops_a_compute_and_leaves_no_spill_files() {
    let d = dir("cancel");
    let token = CancelToken::new();
    let opts = ComputeOptions {
        host_memory_limit: Some(64 << 20),
        spill_dir: Some(d.clone()),
        cancel: Some(token.clone()),
        ..Default::default()
    };
    // About 20 s of work on two cores: far longer than a cancel may take.
    let x = tessera::random::uniform(&[30_000, 30_000], 1000, 3).unwrap();
    let y = (&x + &x.t()).sum_axis(0);
    let (r, latency) = std::thread::scope(|s| {
        let run = s.spawn(|| y.compute_with::<f64>(&opts));
        std::thread::sleep(Duration::from_millis(500));
        let t = Instant::now();
        token.cancel();
        let r = run.join().unwrap();
        (r, t.elapsed())
    });
    println!("cancelled after 0.5 s; the compute returned {latency:?} after the cancel");
    match r {
        Err(Error::Cancelled { .. }) => {}
        other => panic!("expected Cancelled, got {:?}", other.map(|a| a.len())),
    }
    assert_eq!(debris(&d, &[]), Vec::<String>::new(), "spill files left");
    // A token stays cancelled: the next compute with it stops at once.
    assert!(matches!(
        tessera::ones(&[10], 5)
            .unwrap()
            .sum()
            .compute_with::<f64>(&opts),
        Err(Error::Cancelled { .. })
    ));
    std::fs::remove_dir_all(&d).unwrap();
}

/// SIGINT and SIGTERM to `tessera demo --persist` while it spills: exit 130 / 143, and
/// neither the spill directory nor the temp dir keeps anything of it.
#[test]
fn sigint_and_sigterm_to_the_cli_while_it_spills_exit_cleanly_and_leave_nothing() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let d = dir(&format!("signal-{sig}"));
        let spill = d.join("spill");
        let tmp = d.join("tmp");
        std::fs::create_dir_all(&spill).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "demo",
                "--persist",
                "--quiet",
                "--device",
                "cpu",
                "--size",
                "8000",
            ])
            .args(["--chunk", "500", "--host-memory-limit", "64MiB"])
            .arg("--spill-dir")
            .arg(&spill)
            .env("TMPDIR", &tmp)
            .env_remove("XDG_RUNTIME_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until it has spilled something.
        let t = Instant::now();
        let spilled = |p: &Path| {
            std::fs::read_dir(p)
                .unwrap()
                .flatten()
                .any(|e| std::fs::read_dir(e.path()).is_ok_and(|mut f| f.next().is_some()))
        };
        while !spilled(&spill) {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "the demo never spilled"
            );
            assert!(
                c.try_wait().unwrap().is_none(),
                "the demo ended before spilling"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: signals the child this test started.
        unsafe { libc::kill(c.id() as i32, sig) };
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "signal {sig}: {err}");
        assert!(err.contains("cancelled"), "signal {sig}: {err}");
        assert_eq!(
            debris(&spill, &[]),
            Vec::<String>::new(),
            "signal {sig}: spill left"
        );
        assert_eq!(
            debris(&tmp, &[]),
            Vec::<String>::new(),
            "signal {sig}: temp left"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
