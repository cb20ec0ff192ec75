//! Running a compute from Python: the options a `tessera.config` dict names, the GIL
//! released while the engine works, Ctrl-C turned into a cancel, and a progress
//! callback polled from the caller's thread.

use crate::errors::{interrupted, IntoPy};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::mpsc;
use std::time::Duration;
use tessera::scheduler::{parse_bytes, Progress};
use tessera::{CancelToken, ComputeOptions, Scheduler};

/// How often the waiting caller looks for Ctrl-C and redraws progress.
const POLL: Duration = Duration::from_millis(50);

/// Compute options from the `tessera.config` keys (already merged: global settings, the
/// innermost `config.set` block, then the call's keywords). Unknown keys are a
/// TypeError naming them.
pub fn options(cfg: Option<&Bound<'_, PyDict>>) -> PyResult<ComputeOptions> {
    let mut o = ComputeOptions::default();
    let Some(cfg) = cfg else { return Ok(o) };
    for (k, v) in cfg.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        match key.as_str() {
            "device" => {
                let s: String = v.extract()?;
                if s.contains(',') || s.ends_with(":*") {
                    o.devices = tessera::backend::parse_devices(&s).py()?;
                } else {
                    o.device = s.parse().py()?;
                }
            }
            "scheduler" => {
                let s: String = v.extract()?;
                o.scheduler = match s.as_str() {
                    "threads" | "threading" => Scheduler::Threads(0),
                    "sync" | "synchronous" | "single-threaded" => Scheduler::Sync,
                    _ => {
                        return Err(PyValueError::new_err(format!(
                            "scheduler={s:?}: Tessera runs 'threads' (the default) or 'sync' (one thread, the caller's); dask's 'processes' and 'distributed' have no counterpart (for several processes run under mpirun with tessera.distributed)"
                        )))
                    }
                };
            }
            "num_workers" => o.scheduler = Scheduler::Threads(v.extract()?),
            "host_memory_limit" => o.host_memory_limit = Some(bytes(&key, &v)?),
            "device_memory_limit" => o.device_memory_limit = Some(bytes(&key, &v)?),
            "disk_limit" => o.disk_limit = Some(bytes(&key, &v)?),
            "spill_dir" => o.spill_dir = Some(v.str()?.to_string().into()),
            "trace" => o.trace = Some(v.str()?.to_string().into()),
            "cpu_fallback" => o.cpu_fallback = v.extract()?,
            "progress" => {}
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "unknown compute option {key:?}; Tessera takes device, scheduler, num_workers, host_memory_limit, device_memory_limit, disk_limit, spill_dir, trace, cpu_fallback"
                )))
            }
        }
    }
    Ok(o)
}

fn bytes(key: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(n) = v.extract::<u64>() {
        return Ok(n);
    }
    if let Ok(s) = v.extract::<String>() {
        return parse_bytes(&s).map_err(|e| PyValueError::new_err(format!("{key}: {e}")));
    }
    Err(PyTypeError::new_err(format!(
        "{key} takes a number of bytes or a size such as '4GiB', not {}",
        v.get_type().name()?
    )))
}

/// Runs `work` with the GIL released, on a thread of its own, while the caller's thread
/// wakes every 50 ms to run Python's signal handlers (a Ctrl-C there cancels the compute,
/// waits for it to clean up and raises KeyboardInterrupt) and to call `progress(done,
/// total)` when given.
pub fn run<T: Send>(
    py: Python<'_>,
    mut opts: ComputeOptions,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&ComputeOptions) -> tessera::Result<T> + Send,
) -> PyResult<T> {
    let token = CancelToken::new();
    opts.cancel = Some(token.clone());
    let watch = Progress::new();
    if progress.is_some() {
        opts.watch = Some(watch.clone());
    }
    let opts = &opts;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        // A receiver is not Sync; the mutex lets the GIL-free wait borrow it.
        let rx = std::sync::Mutex::new(rx);
        s.spawn(move || {
            // A panic must not reach Python as a PanicException (or abort the scope):
            // it becomes an exception naming it.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(opts)));
            let _ = tx.send(r.map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into())
            }));
        });
        loop {
            let got = py.detach(|| {
                rx.lock()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)?
                    .recv_timeout(POLL)
            });
            match got {
                Ok(Ok(r)) => {
                    if let Some(cb) = progress {
                        cb.call1((watch.done(), watch.total()))?;
                    }
                    return r.py();
                }
                Ok(Err(panic)) => {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                        "internal error in the engine (a panic: {panic}); the compute was abandoned, please report it"
                    )))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "the compute thread ended without a result; please report it",
                    ))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let stop = py
                .check_signals()
                .err()
                .or_else(|| progress.and_then(|cb| cb.call1((watch.done(), watch.total())).err()));
            if let Some(err) = stop {
                token.cancel();
                // The engine removes its spill files and partial outputs before it returns.
                py.detach(|| {
                    if let Ok(r) = rx.lock() {
                        let _ = r.recv();
                    }
                });
                return Err(
                    if err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                        interrupted()
                    } else {
                        err
                    },
                );
            }
        }
    })
}

/// Makes the `tessera.config` settings the engine's defaults, for the computes it runs
/// while building an operation (the counting pass of a mask, the range of a histogram):
/// they follow the same device and memory limits as the user's computes. The trace is
/// left out, so a build-time pass never overwrites the user's trace file.
#[pyfunction]
#[pyo3(signature = (cfg=None))]
pub fn set_default_options(cfg: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    // From the built-in options: a setting no longer in the config must not linger.
    let before = ComputeOptions::default();
    tessera::set_default_options(ComputeOptions::builtin());
    let mut o = match options(cfg) {
        Ok(o) => o,
        Err(e) => {
            tessera::set_default_options(before);
            return Err(e);
        }
    };
    o.trace = None;
    tessera::set_default_options(o);
    Ok(())
}
