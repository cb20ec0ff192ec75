//! Many processes: one graph computed by MPI ranks (SPMD, launched by `mpirun` or
//! `srun`). Every rank builds the same arrays and calls [`World::compute_all`]; each
//! runs the tasks it owns on its own devices under its own memory limits, chunks move
//! rank to rank as non-blocking MPI messages (host-staged), and rank 0 gets the results.
//!
//! MPI is the `mpi` cargo feature (it needs libmpi and libclang to build); without it,
//! [`init`] gives a world of one process, and is an error when a launcher started
//! several (each would otherwise compute everything and print it N times).

#[cfg(feature = "mpi")]
mod mpi;
#[cfg(not(feature = "mpi"))]
#[path = "mpi_off.rs"]
mod mpi;
mod store;

use crate::array::Array;
use crate::dtype::HostArray;
use crate::error::Result;
use crate::scheduler::{ComputeOptions, Stats};

/// This process's place in the job: its rank among `size`.
///
/// ```
/// let world = tessera::distributed::init().unwrap(); // a world of one outside mpirun
/// let x = tessera::random::uniform(&[100, 100], 25, 0).unwrap().sum();
/// if let Some(v) = world.compute_all(&[&x], &Default::default()).unwrap() {
///     assert_eq!(v.len(), 1); // rank 0 gets the results
/// }
/// ```
pub struct World {
    inner: mpi::Inner,
}

/// Whether this build can run MPI ranks (the `mpi` feature).
///
/// ```
/// let _ = tessera::distributed::mpi_built();
/// ```
pub fn mpi_built() -> bool {
    cfg!(feature = "mpi")
}

/// How many processes the launcher started, from its environment (`mpirun`: Open MPI's
/// `OMPI_COMM_WORLD_SIZE`; `srun`, MPICH, Hydra: `PMI_SIZE`; PMIx: `PMIX_SIZE`), or
/// `None` when this process was not started by one.
///
/// ```
/// if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() && std::env::var_os("PMI_SIZE").is_none()
///     && std::env::var_os("PMIX_SIZE").is_none() {
///     assert_eq!(tessera::distributed::launched(), None);
/// }
/// ```
pub fn launched() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Joins the job: initialises MPI (once per process; the `World` finalises it when
/// dropped) and installs a panic hook that aborts every rank, so a panicking rank ends
/// the job instead of leaving the others waiting for it. Outside a launcher, or in a
/// build without MPI, a world of one process.
pub fn init() -> Result<World> {
    Ok(World {
        inner: mpi::Inner::init()?,
    })
}

impl World {
    /// This process's rank (0 is the root, which gets the results).
    pub fn rank(&self) -> usize {
        self.inner.rank()
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.inner.size()
    }

    /// Whether this is rank 0.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Computes `arrays` over every rank (each rank calls this with the same arrays):
    /// `Some(results)` on rank 0, `None` on the others. Bit-identical to one process:
    /// each task runs once, on one rank, with the same kernels and the same tree order.
    pub fn compute_all(
        &self,
        arrays: &[&Array],
        opts: &ComputeOptions,
    ) -> Result<Option<Vec<HostArray>>> {
        self.compute_stats(arrays, opts).map(|(r, _)| r)
    }

    /// Computes `arrays` over every rank, as [`World::compute_all`], and gives every
    /// rank the results (rank 0 broadcasts them: costs their bytes once per rank).
    pub fn compute_all_everywhere(
        &self,
        arrays: &[&Array],
        opts: &ComputeOptions,
    ) -> Result<Vec<HostArray>> {
        if arrays.len() > u8::MAX as usize {
            return Err(crate::error::Error::arg(
                "compute_all_everywhere",
                format!(
                    "{} arrays; at most 255 travel in one broadcast, so compute them in groups",
                    arrays.len()
                ),
            ));
        }
        let r = crate::array::compute_ranked(arrays, opts, self.inner.transport())?;
        let Some(t) = self.inner.transport().filter(|t| t.size() > 1) else {
            return Ok(r.outputs);
        };
        let mine = crate::kernel::Chunk { parts: r.outputs };
        let bytes = t.broadcast(if self.is_root() {
            crate::scheduler::encode_chunk(0, &mine)
        } else {
            vec![]
        })?;
        Ok(crate::scheduler::decode_chunk(&bytes)?.1.parts)
    }

    /// Computes `a` over every rank and keeps its blocks where they were made (each rank
    /// holds its own, in memory under its limit, the rest spilled to its disk), as
    /// [`Array::persist`] does in one process. Every rank gets the persisted array; later
    /// computes over the same ranks read each block on the rank holding it (blocks
    /// another rank's tasks need travel as any chunk does), so an iterative program
    /// persists its state once per step and never gathers it.
    ///
    /// ```
    /// let world = tessera::distributed::init().unwrap();
    /// let x = tessera::random::uniform(&[100, 100], 25, 1).unwrap();
    /// let p = world.persist(&x, &Default::default()).unwrap();
    /// let s = world.compute_all(&[&(&p + &p.t()).sum()], &Default::default()).unwrap();
    /// let want: f64 = (&x + &x.t()).sum().compute_scalar().unwrap();
    /// if let Some(s) = s {
    ///     assert_eq!(s[0].to_f64()[[]], want);
    /// }
    /// ```
    pub fn persist(&self, a: &Array, opts: &ComputeOptions) -> Result<Array> {
        Ok(a.persist_ranked(opts, self.inner.transport())?.0)
    }

    /// [`World::compute_all`] with this rank's statistics (tasks, bytes sent and
    /// received, memory tiers).
    pub fn compute_stats(
        &self,
        arrays: &[&Array],
        opts: &ComputeOptions,
    ) -> Result<(Option<Vec<HostArray>>, Stats)> {
        let r = crate::array::compute_ranked(arrays, opts, self.inner.transport())?;
        Ok((self.is_root().then_some(r.outputs), r.stats))
    }
}

/// The workloads the MPI tests and the scaling benchmark run, by name, on `size`²
/// arrays in `chunk`² blocks: `seed` ((x + x.T).sum(0).mean() and x + x.T itself),
/// `y` (the seed's scalar alone, as the demo computes it), `reductions` (x.sum(0), x.mean(1), x.std(), x.max() in one compute), `matmul`
/// (x @ y), `tsqr` (Q and R of a size×(size/8) array in row blocks), `tall` (the QR of a
/// tall-skinny (50·size)×(size/20) array in (50·chunk)-row blocks: Q's column sums and R).
///
/// ```
/// let w = tessera::distributed::workload("seed", 40, 10).unwrap();
/// assert_eq!(w.len(), 2);
/// assert!(tessera::distributed::workload("nope", 40, 10).is_err());
/// ```
pub fn workload(name: &str, size: usize, chunk: usize) -> Result<Vec<Array>> {
    let x = crate::random::uniform(&[size, size], chunk, 42)?;
    Ok(match name {
        "seed" => {
            let z = &x + &x.t();
            vec![z.sum_axis(0).mean(), z]
        }
        "y" => vec![(&x + &x.t()).sum_axis(0).mean()],
        "reductions" => vec![x.sum_axis(0), x.mean_axis(1), x.std(0), x.max()],
        "matmul" => {
            let y = crate::random::uniform(&[size, size], chunk, 7)? - 0.5;
            vec![x.matmul(&y)]
        }
        "tsqr" => {
            let cols = (size / 8).max(1);
            let a = crate::random::uniform(&[size, cols], &[chunk, cols][..], 3)?;
            let (q, r) = crate::linalg::qr(&a);
            vec![q, r]
        }
        "tall" => {
            let cols = (size / 20).max(1);
            let a = crate::random::uniform(&[size * 50, cols], &[chunk * 50, cols][..], 3)?;
            let (q, r) = crate::linalg::qr(&a);
            vec![q.sum_axis(0), r]
        }
        other => {
            return Err(crate::error::Error::arg(
                "workload",
                format!(
                    "unknown workload {other:?}; use seed, y, reductions, matmul, tsqr or tall"
                ),
            ))
        }
    })
}

/// A 64-bit digest of arrays' dtypes, shapes and bytes (FNV-1a): equal digests mean
/// bit-identical results, which is how ranked runs are compared with one process.
///
/// ```
/// let a = tessera::HostArray::from(ndarray::arr1(&[1.0, 2.0]).into_dyn());
/// let b = tessera::HostArray::from(ndarray::arr1(&[1.0, 2.000001]).into_dyn());
/// use tessera::distributed::digest;
/// assert_eq!(digest(&[a.clone()]), digest(&[a.clone()]));
/// assert_ne!(digest(&[a]), digest(&[b]));
/// ```
pub fn digest(arrays: &[HostArray]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for a in arrays {
        mix(a.dtype().name().as_bytes());
        for &n in a.shape() {
            mix(&(n as u64).to_le_bytes());
        }
        mix(&a.element_bytes());
    }
    h
}
