//! One kernel cache for every GPU backend: generated kernels (or the reason a structure
//! is declined) by a typed key, so a chunk of a known structure skips generating and
//! compiling source, and a declined structure is not generated again for every chunk.
//!
//! Why typed keys: a key says what a kernel depends on (the fused program's
//! [`ExprKey`], the op family, the reduction, the dtypes), so two backends build their
//! keys the same way and a reader sees what makes two kernels differ.

use crate::backend::Decline;
use crate::dtype::DType;
use crate::error::Result;
use crate::kernel::{ExprKey, Reduction};
use std::collections::HashMap;
use std::sync::Mutex;

/// What a generated kernel depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KernelKey {
    /// A fused elementwise map.
    Map {
        /// Dimensions of the chunk.
        ndim: usize,
        /// Inputs staged through workgroup tiles: the contiguous output axis and the
        /// tiled leaves.
        tiling: Option<(usize, Vec<usize>)>,
        /// The program.
        expr: ExprKey,
        /// Backend-specific: whether the program's constants have the form the source
        /// needs (wgpu: exact three-f32 forms of f64 parameters).
        exact: bool,
    },
    /// A reduction partial of a fused program.
    Reduce {
        /// Dimensions of the chunk.
        ndim: usize,
        /// A thread per output (else a workgroup tree per output).
        serial: bool,
        /// What is reduced.
        reduction: Reduction,
        /// The finalized dtype when this partial is the result.
        finalize: Option<DType>,
        /// The program.
        expr: ExprKey,
        /// As for maps.
        exact: bool,
    },
    /// A user's kernel, by its source and entry point.
    User {
        /// The source.
        source: String,
        /// The entry point.
        entry: String,
    },
    /// A combine of `take` partials.
    Combine {
        /// What is combined.
        reduction: Reduction,
        /// The dtype of the reduced values.
        dtype: DType,
        /// Partials merged by one kernel.
        take: usize,
        /// The finalized dtype when this combine is the result.
        finalize: Option<DType>,
    },
}

/// Distinct structures are few; past this many the cache starts over (it only bounds
/// a pathological stream of distinct programs).
const MAX_ENTRIES: usize = 4096;

/// Kernels of type `K` (a compiled pipeline, a loaded function) by [`KernelKey`].
///
/// ```
/// use tessera::backend::{KernelCache, KernelKey};
/// use tessera::kernel::Reduction;
/// let cache: KernelCache<u32> = KernelCache::default();
/// let key = KernelKey::Combine { reduction: Reduction::Sum, dtype: tessera::DType::F32, take: 2, finalize: None };
/// assert_eq!(cache.get_or_build(key.clone(), || Ok(Ok(7))).unwrap().unwrap(), 7);
/// // Known now: the builder is not called again.
/// assert_eq!(cache.get_or_build(key, || unreachable!()).unwrap().unwrap(), 7);
/// ```
#[derive(Debug)]
pub struct KernelCache<K> {
    entries: Mutex<HashMap<KernelKey, std::result::Result<K, Decline>>>,
}

impl<K> Default for KernelCache<K> {
    fn default() -> Self {
        KernelCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Clone> KernelCache<K> {
    /// The kernel for `key`, or `build` it: a decline (`Err`) and a kernel (`Ok(Ok)`) are
    /// remembered; a failure to compile (`Ok(Err)`) is not, and goes back to the caller.
    pub fn get_or_build(
        &self,
        key: KernelKey,
        build: impl FnOnce() -> std::result::Result<Result<K>, Decline>,
    ) -> std::result::Result<Result<K>, Decline> {
        if let Some(known) = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return known.clone().map(Ok);
        }
        let built = build();
        let remembered = match &built {
            Err(d) => Some(Err(d.clone())),
            Ok(Ok(k)) => Some(Ok(k.clone())),
            Ok(Err(_)) => None,
        };
        if let Some(v) = remembered {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, v);
        }
        built
    }
}
