//! The Python package (`python/`): builds the extension with maturin into a private
//! virtualenv (`target/python-venv`), runs its pytest suite (NumPy the reference, every
//! test on the CPU and on wgpu), then the array API standard's own conformance suite
//! (`../shared/array-api-tests`, unmodified, run from a copy) with the skips file
//! `python/array-api-skips.txt`.
//!
//! It skips, saying why, where no Python 3.9+ with venv is found or PyPI cannot be
//! reached, unless `TESSERA_REQUIRE_PYTHON=1` (as `.ci/run` sets). Where MPI is
//! installed the extension is built with the `mpi` feature (sharing `target/mpi` with
//! tests/mpi.rs, so the engine compiles once for both) and the suite's MPI test runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn required() -> bool {
    std::env::var("TESSERA_REQUIRE_PYTHON").as_deref() == Ok("1")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Says why the Python tests cannot run: a failure under TESSERA_REQUIRE_PYTHON=1, a
/// plain skip otherwise.
fn skip(why: &str) -> Option<PathBuf> {
    assert!(!required(), "TESSERA_REQUIRE_PYTHON=1 but {why}");
    eprintln!("SKIPPED the Python tests: {why}");
    None
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{cmd:?} did not start: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({}):\n{text}", out.status))
    }
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether to build with MPI: the same test as tests/mpi.rs (mpirun and the headers).
fn with_mpi() -> bool {
    have("mpirun", "--version") && have("mpicc", "--showme")
}

/// The venv's python with the extension installed, built once per test process.
fn venv_python() -> Option<&'static PathBuf> {
    static PY: OnceLock<Option<PathBuf>> = OnceLock::new();
    PY.get_or_init(|| {
        let base = std::env::var("TESSERA_PYTHON").unwrap_or_else(|_| "python3".into());
        let ok = Command::new(&base)
            .args(["-c", "import sys, venv; assert sys.version_info >= (3, 9)"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return skip(&format!("no Python 3.9+ with the venv module ({base})"));
        }
        let venv = root().join("target").join("python-venv");
        let py = venv.join("bin").join("python");
        if !py.exists() {
            if let Err(e) = run(Command::new(&base).args(["-m", "venv"]).arg(&venv)) {
                return skip(&format!("could not make a virtualenv: {e}"));
            }
        }
        // Pinned where the conformance suite's draws depend on them (a fixed seed gives
        // the same cases only with the same hypothesis), so its skips file stays exact.
        let deps = [
            "maturin>=1.16,<2",
            "numpy==2.4.6",
            "pytest==9.2.0",
            "hypothesis==6.170.27",
            "ndindex==1.10.1",
            "pytest-json-report",
            "zarr>=3.1,<4",
            // The reference distributions of test_random.py's KS and chi-square tests
            // (and xarray's interp).
            "scipy",
            // test_xarray.py: the chunk manager under xarray, against xarray on NumPy
            // (bottleneck: xarray's ffill reference).
            "xarray>=2025.1",
            "bottleneck",
        ];
        let have_deps = run(Command::new(&py).args([
            "-c",
            "import maturin, numpy, pytest, hypothesis, ndindex, zarr, pytest_jsonreport, scipy, xarray, bottleneck",
        ]))
        .is_ok();
        if !have_deps {
            if let Err(e) = run(Command::new(&py)
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(deps))
            {
                return skip(&format!(
                    "could not install the test packages from PyPI: {e}"
                ));
            }
        }
        // Built as a user would (maturin, release profile), into target/mpi where the
        // MPI CLI's build already compiled the engine with the same features.
        let mut build = Command::new(venv.join("bin").join("maturin"));
        build
            .current_dir(root().join("python"))
            .args(["develop", "--release"])
            .args(["--no-default-features"])
            .env("VIRTUAL_ENV", &venv)
            .env("CARGO_TARGET_DIR", root().join("target").join("mpi"));
        if with_mpi() {
            build.args(["--features", "mpi"]);
        }
        let _ = build.args(["--quiet"]);
        if let Err(e) = run(&mut build) {
            panic!("building the Python extension failed: {e}");
        }
        Some(py)
    })
    .as_ref()
}

/// One suite at a time: both use every core.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn pytest_suite_passes_on_cpu_and_wgpu() {
    let Some(py) = venv_python() else { return };
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(py)
        .current_dir(root().join("python"))
        .args([
            "-m",
            "pytest",
            "tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
        ])
        .output()
        .expect("pytest starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Vec<&str> = text.lines().rev().take(25).collect();
    eprintln!(
        "{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(out.status.success(), "the Python suite failed:\n{text}");
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

#[test]
fn array_api_conformance_suite_passes_with_the_skips_file() {
    let suite = std::env::var_os("TESSERA_ARRAY_API_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared").join("array-api-tests"));
    if !suite.join("array_api_tests").is_dir() {
        assert!(
            !required(),
            "TESSERA_REQUIRE_PYTHON=1 but the array API test suite is not at {} (set TESSERA_ARRAY_API_TESTS)",
            suite.display()
        );
        eprintln!(
            "SKIPPED the array API suite: not found at {}",
            suite.display()
        );
        return;
    }
    let Some(py) = venv_python() else { return };
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let work = std::env::temp_dir().join(format!("tessera-array-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&suite, &work).expect("copy the suite");
    // Each line of the skips file says why after "  # "; the suite would read that as
    // part of the test id, so it gets the ids alone.
    let listed = std::fs::read_to_string(root().join("python").join("array-api-skips.txt"))
        .expect("python/array-api-skips.txt");
    let ids: String = listed
        .lines()
        .filter(|l| l.starts_with("array_api_tests"))
        .map(|l| {
            let (id, why) = l.split_once("  # ").unwrap_or((l, ""));
            assert!(!why.trim().is_empty(), "skip without a reason: {l}");
            format!("{}\n", id.trim_end())
        })
        .collect();
    let skips = work.join("tessera-skips.txt");
    std::fs::write(&skips, ids).expect("write the skip ids");
    let out = Command::new(py)
        .current_dir(&work)
        .env("ARRAY_API_TESTS_MODULE", "tessera.array_api")
        .env("ARRAY_API_TESTS_VERSION", "2025.12")
        .args([
            "-m",
            "pytest",
            "array_api_tests/",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .args(["--max-examples", "20", "--hypothesis-disable-deadline"])
        .args(["--hypothesis-seed", "0", "--skips-file"])
        .arg(&skips)
        .output()
        .expect("pytest starts");
    let _ = std::fs::remove_dir_all(&work);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(out.status.success(), "array-api-tests failed:\n{text}");
}
