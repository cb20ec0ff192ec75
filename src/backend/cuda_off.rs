//! Stand-in for the CUDA backend in builds without the `cuda` feature: the same names,
//! answering that CUDA is not built (as candle's `dummy_cuda_backend.rs`), so nothing
//! outside `backend/` needs a `cfg`.

/// Always false: this build has no CUDA backend.
///
/// ```
/// let _ = tessera::backend::cuda_nvrtc_present();
/// ```
pub fn nvrtc_present() -> bool {
    false
}
