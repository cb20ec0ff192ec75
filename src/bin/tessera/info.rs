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
    println!("  cpu      available ({cores} worker threads, tiled SIMD kernels)");
    {
        let adapters = tessera::backend::wgpu_adapters();
        if adapters.is_empty() {
            if tessera::backend::wgpu_built() {
                println!("  wgpu     no Vulkan adapter found (install a GPU driver, or mesa-vulkan-drivers for the software lavapipe)");
            } else {
                println!("  wgpu     not built (build with the `wgpu` feature, on by default)");
            }
        }
        for a in &adapters {
            println!(
                "  wgpu:{}   {} [{} {}{}] f64: {}, f16: {}, i64: {}, max storage binding {} MiB, max buffer {} MiB",
                a.index,
                a.name,
                a.backend,
                a.device_type,
                if a.software { ", software" } else { "" },
                a.shader_f64,
                a.shader_f16,
                a.shader_i64,
                a.max_storage_binding >> 20,
                a.max_buffer >> 20
            );
        }
        let cuda = tessera::backend::cuda_devices();
        match tessera::backend::cuda_missing() {
            Some(why) => println!("  cuda     unavailable: {why}"),
            None if cuda.is_empty() => {
                println!("  cuda     driver and NVRTC present, but no CUDA device")
            }
            None => {}
        }
        for d in &cuda {
            println!(
                "  cuda:{}   {} (compute capability {}.{}, {:.1} GiB)",
                d.ordinal,
                d.name,
                d.capability.0,
                d.capability.1,
                gib(d.memory)
            );
        }
        let auto = cuda
            .first()
            .map(|d| format!("cuda:{}", d.ordinal))
            .or_else(|| {
                adapters
                    .iter()
                    .find(|a| !a.software)
                    .map(|a| format!("wgpu:{}", a.index))
            })
            .unwrap_or_else(|| "cpu (software adapters are used only when named)".into());
        println!("Device::Auto picks: {auto}");
    }
}
