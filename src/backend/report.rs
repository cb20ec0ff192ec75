//! What this build can run on, in words: the lines `tessera info` and Python's
//! `tessera.info()` print under "devices:".

/// One line per device kind and adapter found (CPU, each wgpu adapter with its
/// capabilities, each CUDA device or why there is none) and what `Device::Auto` picks.
///
/// ```
/// let lines = tessera::backend::device_lines();
/// assert!(lines[0].starts_with("cpu"));
/// assert!(lines.last().unwrap().starts_with("Device::Auto picks"));
/// ```
pub fn device_lines() -> Vec<String> {
    let mut out = Vec::new();
    let cores = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1);
    out.push(format!(
        "cpu      available ({cores} worker threads, tiled SIMD kernels)"
    ));
    {
        let adapters = super::wgpu_adapters();
        if adapters.is_empty() {
            if super::wgpu_built() {
                out.push("wgpu     no Vulkan adapter found (install a GPU driver, or mesa-vulkan-drivers for the software lavapipe)".into());
            } else {
                out.push(
                    "wgpu     not built (build with the `wgpu` feature, on by default)".into(),
                );
            }
        }
        for a in &adapters {
            out.push(format!(
                "wgpu:{}   {} [{} {}{}] f64: {}, f16: {}, i64: {}, max storage binding {} MiB, max buffer {} MiB",
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
            ));
        }
        let cuda = super::cuda_devices();
        match super::cuda_missing() {
            Some(why) => out.push(format!("cuda     unavailable: {why}")),
            None if cuda.is_empty() => {
                out.push("cuda     driver and NVRTC present, but no CUDA device".into());
            }
            None => {}
        }
        for d in &cuda {
            out.push(format!(
                "cuda:{}   {} (compute capability {}.{}, {:.1} GiB)",
                d.ordinal,
                d.name,
                d.capability.0,
                d.capability.1,
                d.memory as f64 / (1u64 << 30) as f64
            ));
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
        out.push(format!("Device::Auto picks: {auto}"));
    }
    out
}
