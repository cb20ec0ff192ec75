//! `tessera._native`: the engine as a Python extension module. Thin by design: argument
//! conversion, the GIL and signals, errors by kind; every computation is the engine's.
//! The Python package `tessera` (python/tessera) gives it dask's and the array API's
//! names and NumPy's protocols.

mod array;
mod compute;
mod convert;
mod creation;
mod custom;
mod distributed;
mod errors;
mod fft;
mod info;
mod linalg;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("AUTO_CHUNK_BYTES", tessera::chunks::AUTO_CHUNK_BYTES)?;
    // As the CLI does: chunk-sized buffers stay in the process instead of going back to
    // the OS and faulting in again page by page (measured: TSQR 2,000,000 x 100 from
    // Python took 25% longer than the CLI without it). TESSERA_TUNE_ALLOCATOR=0 keeps
    // glibc's defaults for a process that must return memory between computes.
    let tuned = std::env::var("TESSERA_TUNE_ALLOCATOR").as_deref() != Ok("0")
        && tessera::scheduler::tune_allocator();
    m.add("allocator_tuned", tuned)?;
    m.add_class::<array::Native>()?;
    m.add_class::<distributed::World>()?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(array::compute_all, m)?)?;
    m.add_function(wrap_pyfunction!(array::where_, m)?)?;
    m.add_function(wrap_pyfunction!(array::concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(array::stack, m)?)?;
    m.add_function(wrap_pyfunction!(array::histogramdd, m)?)?;
    m.add_function(wrap_pyfunction!(compute::set_default_options, m)?)?;
    m.add_function(wrap_pyfunction!(array::tensordot, m)?)?;
    for f in [
        wrap_pyfunction!(creation::full, m)?,
        wrap_pyfunction!(creation::arange, m)?,
        wrap_pyfunction!(creation::linspace, m)?,
        wrap_pyfunction!(creation::eye, m)?,
        wrap_pyfunction!(creation::from_numpy, m)?,
        wrap_pyfunction!(creation::from_npy, m)?,
        wrap_pyfunction!(creation::from_zarr, m)?,
        wrap_pyfunction!(creation::random, m)?,
        wrap_pyfunction!(creation::permutation, m)?,
        wrap_pyfunction!(creation::choice, m)?,
        wrap_pyfunction!(custom::map_blocks, m)?,
        wrap_pyfunction!(custom::from_blocks, m)?,
        wrap_pyfunction!(custom::map_overlap, m)?,
        wrap_pyfunction!(custom::reduction, m)?,
        wrap_pyfunction!(custom::cumreduction, m)?,
        wrap_pyfunction!(custom::apply_gufunc, m)?,
        wrap_pyfunction!(custom::blockwise, m)?,
        wrap_pyfunction!(custom::map_blocks_kernel, m)?,
        wrap_pyfunction!(fft::fft, m)?,
        wrap_pyfunction!(fft::fftn, m)?,
        wrap_pyfunction!(fft::fftshift, m)?,
        wrap_pyfunction!(fft::fftfreq, m)?,
        wrap_pyfunction!(linalg::qr, m)?,
        wrap_pyfunction!(linalg::svd, m)?,
        wrap_pyfunction!(linalg::svd_compressed, m)?,
        wrap_pyfunction!(linalg::cholesky, m)?,
        wrap_pyfunction!(linalg::solve, m)?,
        wrap_pyfunction!(linalg::solve_triangular, m)?,
        wrap_pyfunction!(linalg::inv, m)?,
        wrap_pyfunction!(linalg::lstsq, m)?,
        wrap_pyfunction!(linalg::norm, m)?,
        wrap_pyfunction!(linalg::det, m)?,
        wrap_pyfunction!(linalg::slogdet, m)?,
        wrap_pyfunction!(linalg::eigh, m)?,
        wrap_pyfunction!(linalg::eigvalsh, m)?,
        wrap_pyfunction!(linalg::eig, m)?,
        wrap_pyfunction!(linalg::eigvals, m)?,
        wrap_pyfunction!(linalg::svdvals, m)?,
        wrap_pyfunction!(linalg::qr_mode, m)?,
        wrap_pyfunction!(linalg::svd_full, m)?,
        wrap_pyfunction!(linalg::cholesky_upper, m)?,
        wrap_pyfunction!(linalg::matrix_power, m)?,
        wrap_pyfunction!(linalg::matrix_rank, m)?,
        wrap_pyfunction!(linalg::pinv, m)?,
        wrap_pyfunction!(linalg::matrix_norm, m)?,
        wrap_pyfunction!(linalg::vector_norm, m)?,
        wrap_pyfunction!(linalg::trace, m)?,
        wrap_pyfunction!(linalg::cross, m)?,
        wrap_pyfunction!(info::info, m)?,
        wrap_pyfunction!(info::mpi_built, m)?,
        wrap_pyfunction!(info::promote_types, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
