//! MPI ranks from Python (`mpirun -np 4 python script.py`): every rank builds the same
//! graph and calls the same compute; rank 0 gets the results, bit-identical to one
//! process. Needs the extension built with the `mpi` feature; otherwise `World()` says so.

use crate::array::Native;
use crate::compute;
use crate::convert::host_to_numpy;
use crate::errors::IntoPy;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tessera::Array;

/// The MPI world this process belongs to.
#[pyclass(module = "tessera._native", frozen)]
pub struct World(Shared);

/// The engine's world, shared with the compute thread. MPI was initialised with
/// `MPI_THREAD_SERIALIZED` and the caller blocks (GIL released) while that thread uses
/// it, so only one thread ever calls MPI at a time.
struct Shared(tessera::distributed::World);
// SAFETY: see above: access is serialised by the caller waiting on the compute thread.
unsafe impl Send for Shared {}
// SAFETY: as for Send.
unsafe impl Sync for Shared {}

#[pymethods]
impl World {
    /// Joins the MPI world (initialising MPI once per process).
    #[new]
    fn new() -> PyResult<World> {
        Ok(World(Shared(tessera::distributed::init().py()?)))
    }

    #[getter]
    fn rank(&self) -> usize {
        self.0 .0.rank()
    }

    #[getter]
    fn size(&self) -> usize {
        self.0 .0.size()
    }

    /// Computes `arrays` over every rank: NumPy arrays on rank 0 (or on every rank with
    /// `everywhere`), None on the others.
    #[pyo3(signature = (arrays, everywhere=false, config=None))]
    fn compute<'py>(
        &self,
        py: Python<'py>,
        arrays: Vec<PyRef<'py, Native>>,
        everywhere: bool,
        config: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
        let opts = compute::options(config)?;
        let arrs: Vec<Array> = arrays.iter().map(|a| a.0.clone()).collect();
        let refs: Vec<&Array> = arrs.iter().collect();
        let w = &self.0;
        let out = compute::run(py, opts, None, |o| {
            if everywhere {
                w.0.compute_all_everywhere(&refs, o).map(Some)
            } else {
                w.0.compute_all(&refs, o)
            }
        })?;
        Ok(out.map(|v| v.into_iter().map(|h| host_to_numpy(py, h)).collect()))
    }

    /// Persists over the ranks (each rank keeps the blocks it computed).
    #[pyo3(signature = (array, config=None))]
    fn persist(
        &self,
        py: Python<'_>,
        array: &Native,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Native> {
        let opts = compute::options(config)?;
        let (w, a) = (&self.0, &array.0);
        compute::run(py, opts, None, |o| w.0.persist(a, o)).map(Native)
    }
}
