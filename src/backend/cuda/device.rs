//! Finding and opening CUDA devices, without ever letting cudarc panic.
//!
//! cudarc loads `libcuda.so`, NVRTC and cuBLAS at run time and *panics* on the first call
//! into a library it cannot load, so every entry here asks `is_culib_present` first: on a
//! machine without a driver, `tessera info` says so and `Device::Cuda(0)` is an error
//! that names what is missing.

use super::compile::nvrtc_present;
use crate::backend::caps::CudaSummary;
use cudarc::driver::CudaContext;
use std::sync::Arc;

/// Whether the CUDA driver library (`libcuda.so`) can be loaded.
pub fn driver_present() -> bool {
    // SAFETY: only tries to open the library by its candidate names.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Whether cuBLAS (`libcublas.so`) can be loaded.
pub fn cublas_present() -> bool {
    // SAFETY: as above.
    unsafe { cudarc::cublas::sys::is_culib_present() }
}

/// Whether cuSOLVER (`libcusolver.so`) can be loaded.
pub fn cusolver_present() -> bool {
    // SAFETY: as above.
    unsafe { cudarc::cusolver::sys::is_culib_present() }
}

/// Why no CUDA device can be used here, or `None` when the libraries are present (asked
/// once per process: `Device::Auto` asks on every compute).
pub fn missing() -> Option<String> {
    static MISSING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MISSING.get_or_init(find_missing).clone()
}

fn find_missing() -> Option<String> {
    if !driver_present() {
        return Some("no CUDA driver (libcuda.so was not found on the library path)".into());
    }
    if !nvrtc_present() {
        return Some(
            "no NVRTC (libnvrtc.so.12 was not found; install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu12` and put its lib directory on LD_LIBRARY_PATH)".into(),
        );
    }
    None
}

/// The CUDA devices present (empty when the driver or NVRTC is missing, or no device);
/// found once per process.
pub fn devices() -> Vec<CudaSummary> {
    static DEVICES: std::sync::OnceLock<Vec<CudaSummary>> = std::sync::OnceLock::new();
    DEVICES.get_or_init(find_devices).clone()
}

fn find_devices() -> Vec<CudaSummary> {
    if missing().is_some() {
        return vec![];
    }
    let n = CudaContext::device_count().unwrap_or(0).max(0) as usize;
    (0..n)
        .filter_map(|i| {
            let ctx = CudaContext::new(i).ok()?;
            use cudarc::driver::sys::CUdevice_attribute as A;
            let attr = |a: A| ctx.attribute(a).unwrap_or(0).max(0) as f64;
            // kHz × bits: ×1000 for Hz, ×2 for double data rate, ÷8 for bytes.
            let bandwidth = attr(A::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
                * 1e3
                * 2.0
                * attr(A::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
                / 8.0;
            Some(CudaSummary {
                ordinal: i,
                name: ctx.name().unwrap_or_else(|_| "unknown".into()),
                capability: ctx.compute_capability().ok()?,
                memory: ctx.total_mem().ok()? as u64,
                bandwidth,
            })
        })
        .collect()
}

/// Opens device `ordinal`'s primary context, or says why it cannot. cudarc's per-slice
/// event tracking is switched off before anything is allocated: the lanes order work
/// between streams with their own events (`lane.rs` says why).
pub fn context(ordinal: usize) -> Result<Arc<CudaContext>, String> {
    if let Some(why) = missing() {
        return Err(why);
    }
    let n = CudaContext::device_count().map_err(|e| format!("cuDeviceGetCount: {e:?}"))?;
    if ordinal >= n.max(0) as usize {
        return Err(format!(
            "cuda:{ordinal} does not exist ({n} CUDA device(s) found); use cuda:0..cuda:{}",
            n.max(1) - 1
        ));
    }
    let ctx = CudaContext::new(ordinal).map_err(|e| format!("opening cuda:{ordinal}: {e:?}"))?;
    // SAFETY: nothing was allocated in this context object yet, and every buffer made in
    // it is ordered by the lanes' events (`lane.rs`).
    unsafe { ctx.disable_event_tracking() };
    Ok(ctx)
}
