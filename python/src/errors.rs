//! Engine errors as Python exceptions, chosen by kind (never by searching the message):
//! the message is always the engine's own, which names the op, the shapes and the fix.

use pyo3::exceptions::{
    PyIndexError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use tessera::Error;

pyo3::create_exception!(
    _native,
    OutOfMemoryError,
    PyMemoryError,
    "A memory tier (a device, host memory or the spill disk) would pass its limit; the message names the tier, the limit and the fix."
);
pyo3::create_exception!(
    _native,
    LinAlgError,
    PyValueError,
    "A linear-algebra failure: a singular or non-finite matrix, or no convergence."
);
pyo3::create_exception!(
    _native,
    CancelledError,
    PyRuntimeError,
    "A compute stopped by its cancel token (Ctrl-C raises KeyboardInterrupt instead)."
);
pyo3::create_exception!(
    _native,
    BackendError,
    PyRuntimeError,
    "A device (wgpu, CUDA) failed while running a task."
);

/// The Python exception for an engine error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::UserFunction {
            op,
            name,
            block,
            payload,
            ..
        } => user_error(op, &name, &block, payload, msg),
        Error::ShapeMismatch { .. }
        | Error::InvalidChunks { .. }
        | Error::InvalidArgument { .. } => PyValueError::new_err(msg),
        Error::AxisOutOfRange { .. } => axis_error(msg),
        Error::BadIndex { .. } => PyIndexError::new_err(msg),
        Error::UnsupportedDType { .. } | Error::DTypeMismatch { .. } => PyTypeError::new_err(msg),
        Error::OutOfMemory { .. } => OutOfMemoryError::new_err(msg),
        Error::LinAlg { .. } => LinAlgError::new_err(msg),
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Cancelled { .. } => CancelledError::new_err(msg),
        Error::Backend { .. } => BackendError::new_err(msg),
    }
}

/// What a user function raised, re-raised as itself with a note naming the block; an
/// engine-side failure of it (wrong shape or dtype, a panic) as a ValueError.
fn user_error(
    op: &str,
    name: &str,
    block: &[usize],
    payload: Option<tessera::error::UserPayload>,
    msg: String,
) -> PyErr {
    let raised = payload.and_then(|p| {
        p.0.downcast_ref::<PyErr>()
            .map(|e| Python::attach(|py| e.clone_ref(py)))
    });
    match raised {
        Some(e) => Python::attach(|py| {
            let index: Vec<String> = block.iter().map(|b| b.to_string()).collect();
            let note = format!(
                "raised by tessera.{op} `{name}` on block ({})",
                index.join(", ")
            );
            // add_note is Python 3.11's; on older Pythons the exception goes as it is.
            let _ = e.value(py).call_method1("add_note", (note,));
            e
        }),
        None => PyValueError::new_err(msg),
    }
}

/// NumPy's `AxisError` (a ValueError and an IndexError), as NumPy raises for a bad axis.
fn axis_error(msg: String) -> PyErr {
    Python::attach(|py| {
        py.import("numpy.exceptions")
            .and_then(|m| m.getattr("AxisError"))
            .and_then(|cls| cls.call1((msg.clone(),)))
            .map(PyErr::from_value)
            .unwrap_or_else(|_| PyValueError::new_err(msg))
    })
}

/// Ctrl-C during a compute: the compute was cancelled and has cleaned up.
pub fn interrupted() -> PyErr {
    PyKeyboardInterrupt::new_err(
        "compute cancelled by Ctrl-C (its memory and spill files are released)",
    )
}

/// Extension trait: `engine_result.py()?`.
pub trait IntoPy<T> {
    /// The value, or the engine error as its Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for tessera::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("OutOfMemoryError", py.get_type::<OutOfMemoryError>())?;
    m.add("LinAlgError", py.get_type::<LinAlgError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    Ok(())
}
