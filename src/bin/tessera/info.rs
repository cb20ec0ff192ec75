//! `tessera info`: devices, cores and memory; or what a stored array holds.

use crate::memory::gib;
use clap::Args;
use std::path::Path;

/// Devices found, cores and memory; with a PATH, what a stored array holds.
#[derive(Args)]
pub struct InfoArgs {
    /// A `.npy` file or a Zarr array (directory) to describe (shape, dtype, chunks,
    /// bytes).
    pub path: Option<std::path::PathBuf>,
}

pub fn run(args: InfoArgs) -> tessera::Result<()> {
    match args.path {
        Some(p) if p.is_dir() => zarr(&p),
        Some(p) => npy(&p),
        None => {
            devices();
            Ok(())
        }
    }
}

fn zarr(path: &Path) -> tessera::Result<()> {
    let z = tessera::storage::zarr::info(path)?;
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
    Ok(())
}

fn npy(path: &Path) -> tessera::Result<()> {
    let h = tessera::storage::npy::read_header(path)?;
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
    Ok(())
}

fn devices() {
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
    for line in tessera::backend::device_lines() {
        println!("  {line}");
    }
}
