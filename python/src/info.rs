//! What this machine and build offer, as `tessera info` prints it.

use pyo3::prelude::*;

/// The CLI's `tessera info` text: version, cores, memory and one line per device.
#[pyfunction]
pub fn info() -> String {
    let cores = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1);
    let mut s = format!(
        "tessera {}\ncores: {cores}\nmemory: {:.1} GiB\ndevices:\n",
        env!("CARGO_PKG_VERSION"),
        tessera::scheduler::host_memory_bytes() as f64 / (1u64 << 30) as f64
    );
    for line in tessera::backend::device_lines() {
        s.push_str("  ");
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// Whether this build has the MPI feature (for `tessera.distributed`).
#[pyfunction]
pub fn mpi_built() -> bool {
    tessera::distributed::mpi_built()
}

/// The dtype of a binary op between arrays of two dtypes (the engine's promotion
/// table: the standard's, NumPy's where the standard leaves it open).
#[pyfunction]
pub fn promote_types(a: &str, b: &str) -> PyResult<&'static str> {
    let (a, b) = (
        crate::convert::dtype_from_name(a)?,
        crate::convert::dtype_from_name(b)?,
    );
    Ok(a.promote(b).name())
}
