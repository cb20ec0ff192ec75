//! NVRTC: CUDA C to machine code at run time, for the device's own architecture.
//!
//! Why at run time: fused kernels are generated per expression structure, which no
//! build can know, and the driver, not the build machine, knows the GPU. NVRTC compiles
//! for `sm_XY` (a cubin the driver loads as is); when this NVRTC does not know the
//! device's architecture (a GPU newer than the library), PTX for the newest one it knows
//! is the fallback, which the driver JIT-compiles.
//!
//! Options every kernel gets: `--fmad=false`, so `a * b + c` is never contracted into an
//! FMA the CPU does not do (bit-identical results depend on it); IEEE division and
//! square root (NVRTC's defaults, stated); no denormal flushing.
//!
//! cudarc *panics* when a dynamically loaded library is missing, so
//! [`nvrtc_present`] is asked before any call.

use cudarc::nvrtc::{result, sys};
use std::ffi::{CStr, CString};

/// Whether the NVRTC library can be loaded (`libnvrtc.so.12` on the library path).
///
/// ```
/// // Never panics: false on a machine without CUDA.
/// let _ = tessera::backend::cuda_nvrtc_present();
/// ```
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to open the library by its candidate names.
    unsafe { sys::is_culib_present() }
}

/// What NVRTC made of a program.
#[derive(Debug, Clone)]
pub enum Image {
    /// Machine code for one `sm_XY`.
    Cubin(Vec<u8>),
    /// PTX text (JIT-compiled by the driver at load).
    Ptx(String),
}

/// Why a program did not compile: NVRTC's error and its log.
#[derive(Debug, Clone)]
pub struct CompileFailure {
    /// The architecture option it was compiled for.
    pub arch: String,
    /// NVRTC's error code and log.
    pub log: String,
}

impl std::fmt::Display for CompileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NVRTC ({}): {}", self.arch, self.log)
    }
}

/// Compiles `src` for `arch` (`sm_80` gives a cubin, `compute_80` PTX).
pub fn compile(src: &str, arch: &str) -> Result<Image, CompileFailure> {
    let fail = |log: String| CompileFailure {
        arch: arch.to_string(),
        log,
    };
    if !nvrtc_present() {
        return Err(fail(
            "the NVRTC library (libnvrtc.so.12) is not on the library path".into(),
        ));
    }
    let csrc = CString::new(src).map_err(|_| fail("the source holds a NUL byte".into()))?;
    let name = c"tessera.cu";
    let prog = result::create_program(&csrc, Some(name)).map_err(|e| fail(format!("{e:?}")))?;
    let options = [
        format!("--gpu-architecture={arch}"),
        "--fmad=false".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--ftz=false".into(),
        "--std=c++17".into(),
        "-default-device".into(),
    ];
    // SAFETY: `prog` was just created and is destroyed once, below; the buffers passed
    // to NVRTC are sized by its own size queries.
    let out = unsafe {
        let r = result::compile_program(prog, &options).map_err(|e| {
            let log = result::get_program_log(prog)
                .map(|l| CStr::from_ptr(l.as_ptr()).to_string_lossy().into_owned())
                .unwrap_or_default();
            fail(format!("{e:?}\n{log}"))
        });
        let image = r.and_then(|_| {
            if arch.starts_with("sm_") {
                let mut size = 0usize;
                sys::nvrtcGetCUBINSize(prog, &mut size)
                    .result()
                    .map_err(|e| fail(format!("{e:?}")))?;
                let mut bin = vec![0u8; size];
                sys::nvrtcGetCUBIN(prog, bin.as_mut_ptr().cast())
                    .result()
                    .map_err(|e| fail(format!("{e:?}")))?;
                Ok(Image::Cubin(bin))
            } else {
                let ptx = result::get_ptx(prog).map_err(|e| fail(format!("{e:?}")))?;
                Ok(Image::Ptx(
                    CStr::from_ptr(ptx.as_ptr()).to_string_lossy().into_owned(),
                ))
            }
        });
        let _ = result::destroy_program(prog);
        image
    }?;
    Ok(out)
}

/// The architectures this NVRTC can compile for (`sm_XY` numbers such as 80, 90).
pub fn supported_archs() -> Vec<i32> {
    if !nvrtc_present() {
        return vec![];
    }
    let mut n = 0i32;
    // SAFETY: NVRTC fills exactly `n` entries after reporting `n`.
    unsafe {
        if sys::nvrtcGetNumSupportedArchs(&mut n).result().is_err() || n <= 0 {
            return vec![];
        }
        let mut v = vec![0i32; n as usize];
        if sys::nvrtcGetSupportedArchs(v.as_mut_ptr())
            .result()
            .is_err()
        {
            return vec![];
        }
        v
    }
}

/// The option to compile for a device of compute capability `major.minor`: its own
/// `sm_XY` when this NVRTC knows it, else PTX for the newest architecture it knows.
pub fn arch_for(major: i32, minor: i32) -> String {
    let want = major * 10 + minor;
    let known = supported_archs();
    if known.contains(&want) || known.is_empty() {
        format!("sm_{want}")
    } else {
        let best = known
            .iter()
            .copied()
            .filter(|&a| a <= want)
            .max()
            .unwrap_or(want);
        format!("compute_{best}")
    }
}
