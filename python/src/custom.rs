//! Python callables as the engine's user functions (`map_blocks`, `map_overlap`).
//!
//! The callable receives `(blocks, info)`: a list of NumPy arrays and a dict describing
//! the block; the Python layer (`tessera/_custom.py`) adapts dask's signatures to that.
//! The GIL is taken only around the call: NumPy releases it in its own loops, so two
//! workers really run at once. What the callable raises travels back as the payload of
//! `Error::UserFunction` and is re-raised unchanged, with a note naming the block.

use crate::array::{scalar, wrap, Native};
use crate::convert::{dtype_from_name, host_from_numpy, host_to_numpy};
use crate::errors::IntoPy;
use numpy::PyUntypedArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::sync::Arc;
use tessera::array::{AxisChunks, Boundary, OutSpec, Overlap};
use tessera::error::UserPayload;
use tessera::userfn::{BlockFn, BlockInfo};
use tessera::{Array, DType, Error, HostArray};

fn ranges<'py>(py: Python<'py>, rs: &[std::ops::Range<usize>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, rs.iter().map(|r| (r.start, r.end)))
}

fn info_dict<'py>(py: Python<'py>, info: &BlockInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("block", PyTuple::new(py, &info.block)?)?;
    d.set_item("num_blocks", PyTuple::new(py, &info.num_blocks)?)?;
    d.set_item("location", ranges(py, &info.location)?)?;
    d.set_item("shape", PyTuple::new(py, &info.shape)?)?;
    d.set_item("dtype", info.dtype.to_string())?;
    let inputs = PyList::empty(py);
    for i in &info.inputs {
        let x = PyDict::new(py);
        x.set_item("shape", PyTuple::new(py, &i.shape)?)?;
        x.set_item("block", PyTuple::new(py, &i.block)?)?;
        x.set_item("num_blocks", PyTuple::new(py, &i.num_blocks)?)?;
        x.set_item("location", ranges(py, &i.location)?)?;
        inputs.append(x)?;
    }
    d.set_item("inputs", inputs)?;
    Ok(d)
}

/// The engine function that calls `func(blocks, info)` with the GIL held.
fn block_fn(func: Py<PyAny>, name: String, out: DType) -> BlockFn {
    let fname = name.clone();
    BlockFn::new(name, move |blocks: &[&HostArray], info: &BlockInfo| {
        Python::attach(|py| {
            let call = || -> PyResult<HostArray> {
                let arrays = PyList::empty(py);
                for b in blocks {
                    arrays.append(host_to_numpy(py, (*b).clone()))?;
                }
                let r = func.call1(py, (arrays, info_dict(py, info)?))?;
                let r = r.bind(py).cast::<PyUntypedArray>().map_err(|_| {
                    PyValueError::new_err(
                        "the function returned something that is not a NumPy array",
                    )
                })?;
                host_from_numpy(r, out == DType::BF16)
            };
            call().map_err(|e| Error::UserFunction {
                op: "map_blocks",
                name: fname.clone(),
                block: info.block.clone(),
                reason: format!("the function raised {e}"),
                payload: Some(UserPayload(Arc::new(e))),
            })
        })
    })
}

/// A boundary by dask's name (`constant` with its value).
fn boundary_of(boundary: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Boundary> {
    Ok(match (boundary, value) {
        ("none", _) => Boundary::None,
        ("periodic", _) => Boundary::Periodic,
        ("reflect", _) => Boundary::Reflect,
        ("nearest", _) => Boundary::Nearest,
        ("constant", Some(v)) => Boundary::Constant(scalar(v)?),
        (other, _) => {
            return Err(PyValueError::new_err(format!(
                "map_overlap: boundary {other:?} is not one of 'none', 'periodic', 'reflect', 'nearest' or a number"
            )))
        }
    })
}

fn axis_chunks(v: &Bound<'_, PyAny>) -> PyResult<Vec<AxisChunks>> {
    let mut out = vec![];
    for c in v.try_iter()? {
        let c = c?;
        out.push(match c.extract::<usize>() {
            Ok(n) => AxisChunks::Each(n),
            Err(_) => AxisChunks::Sizes(c.extract()?),
        });
    }
    Ok(out)
}

/// `map_blocks(func, arrays, dtype, chunks, drop_axis, new_axis, name)`: `func(blocks,
/// info)` on each block; `chunks` per output axis, an int (every block) or the sizes.
#[pyfunction]
#[pyo3(signature = (func, arrays, dtype, chunks, drop_axis, new_axis, name))]
pub fn map_blocks(
    func: Py<PyAny>,
    arrays: Vec<PyRef<'_, Native>>,
    dtype: &str,
    chunks: Option<&Bound<'_, PyAny>>,
    drop_axis: Vec<usize>,
    new_axis: Vec<usize>,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let mut spec = OutSpec::new(dtype)
        .drop_axis(&drop_axis)
        .new_axis(&new_axis);
    if let Some(c) = chunks {
        spec = spec.chunks(axis_chunks(c)?);
    }
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    let f = block_fn(func, name, dtype);
    wrap(tessera::array::map_blocks_fn(&refs, f, spec))
}

/// `from_blocks(func, shape, chunks, dtype, name)`: a leaf array whose blocks
/// `func([], info)` reads at compute time (from a lazily indexed array, a file, another
/// library), one call per block.
#[pyfunction]
#[pyo3(signature = (func, shape, chunks, dtype, name))]
pub fn from_blocks(
    func: Py<PyAny>,
    shape: Vec<usize>,
    chunks: &Bound<'_, PyAny>,
    dtype: &str,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let grid = crate::array::chunks(chunks)?
        .resolve("from_array", &shape, dtype.size())
        .py()?;
    let f = block_fn(func, name, dtype);
    wrap(tessera::array::from_blocks_fn(grid, dtype, f))
}

/// `map_overlap(func, arrays, depth, boundary, value, trim, dtype, name)`: boundary is
/// `none`, `periodic`, `reflect`, `nearest` or `constant` (with `value`).
#[pyfunction]
#[pyo3(signature = (func, arrays, depth, boundary, value, trim, dtype, name, chunks=None, new_axis=vec![]))]
#[allow(clippy::too_many_arguments)]
pub fn map_overlap(
    func: Py<PyAny>,
    arrays: Vec<PyRef<'_, Native>>,
    depth: Vec<usize>,
    boundary: &str,
    value: Option<&Bound<'_, PyAny>>,
    trim: bool,
    dtype: &str,
    name: String,
    chunks: Option<&Bound<'_, PyAny>>,
    new_axis: Vec<usize>,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let boundary = boundary_of(boundary, value)?;
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    let ov = Overlap {
        depth,
        boundary,
        trim,
    };
    let f = block_fn(func, name, dtype);
    let mut spec = OutSpec::new(dtype).new_axis(&new_axis);
    if let Some(c) = chunks {
        spec = spec.chunks(axis_chunks(c)?);
    }
    wrap(tessera::array::map_overlap_fn(&refs, f, ov, spec))
}

/// `reduction(chunk, combine, aggregate, x, axes, keepdims, dtype, partial_dtype,
/// split_every, name)`: each function `f(blocks, info)` returns the block with the
/// reduced axes of length 1.
#[pyfunction]
#[pyo3(signature = (chunk, combine, aggregate, x, axes, keepdims, dtype, partial_dtype, split_every, name))]
#[allow(clippy::too_many_arguments)]
pub fn reduction(
    chunk: Py<PyAny>,
    combine: Py<PyAny>,
    aggregate: Py<PyAny>,
    x: &Native,
    axes: Vec<usize>,
    keepdims: bool,
    dtype: &str,
    partial_dtype: &str,
    split_every: usize,
    name: String,
) -> PyResult<Native> {
    let (dtype, partial) = (dtype_from_name(dtype)?, dtype_from_name(partial_dtype)?);
    let mut spec = tessera::array::ReductionSpec::new(&axes, dtype);
    spec.keepdims = keepdims;
    spec.partial_dtype = Some(partial);
    spec.split_every = split_every;
    wrap(tessera::array::reduction_fn(
        &x.0,
        block_fn(chunk, format!("{name}-chunk"), partial),
        block_fn(combine, format!("{name}-combine"), partial),
        block_fn(aggregate, format!("{name}-aggregate"), dtype),
        spec,
    ))
}

/// `cumreduction(func, binop, x, axis, dtype, name)`: `func(blocks, info)` scans a
/// block; `binop([carry, scanned], info)` continues it from the previous block's last
/// slice.
#[pyfunction]
pub fn cumreduction(
    func: Py<PyAny>,
    binop: Py<PyAny>,
    x: &Native,
    axis: usize,
    dtype: &str,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    wrap(tessera::array::cumreduction_fn(
        &x.0,
        block_fn(func, format!("{name}-scan"), dtype),
        block_fn(binop, format!("{name}-carry"), dtype),
        axis,
        dtype,
    ))
}

/// `apply_gufunc(func, arrays, signature, dtype, output_sizes, name)`: `func(blocks,
/// info)` gets each input in its own layout and returns the loop dimensions, then the
/// output's core dimensions.
#[pyfunction]
pub fn apply_gufunc(
    func: Py<PyAny>,
    arrays: Vec<PyRef<'_, Native>>,
    signature: &str,
    dtype: &str,
    output_sizes: Vec<(String, usize)>,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let mut spec = tessera::array::GufuncSpec::new(dtype);
    spec.output_sizes = output_sizes;
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    wrap(tessera::array::apply_gufunc_fn(
        signature,
        &refs,
        block_fn(func, name, dtype),
        spec,
    ))
}

/// `blockwise(func, out, arrays, indices, dtype, new_axes, adjust_chunks, name)`: each
/// adjusted chunk is an int (every block) or the sizes.
#[pyfunction]
#[pyo3(signature = (func, out, arrays, indices, dtype, new_axes, adjust_chunks, name))]
#[allow(clippy::too_many_arguments)]
pub fn blockwise(
    func: Py<PyAny>,
    out: Vec<String>,
    arrays: Vec<PyRef<'_, Native>>,
    indices: Vec<Vec<String>>,
    dtype: &str,
    new_axes: Vec<(String, usize)>,
    adjust_chunks: Vec<(String, Bound<'_, PyAny>)>,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let mut spec = tessera::array::BlockwiseSpec::new(dtype);
    spec.new_axes = new_axes;
    for (index, c) in adjust_chunks {
        let c = match c.extract::<usize>() {
            Ok(n) => AxisChunks::Each(n),
            Err(_) => AxisChunks::Sizes(c.extract()?),
        };
        spec.adjust_chunks.push((index, c));
    }
    let args: Vec<(&Array, Vec<String>)> = arrays.iter().map(|a| &a.0).zip(indices).collect();
    wrap(tessera::array::blockwise_fn(
        &out,
        &args,
        block_fn(func, name, dtype),
        spec,
    ))
}

/// `map_blocks_kernel(wgsl, cuda, entry, cpu, arrays, dtype, depth, boundary, value,
/// trim, name)`: the user's WGSL on wgpu devices, CUDA C on CUDA devices, `cpu(blocks,
/// info)` (or an error saying there is none) elsewhere; with `depth`, a halo as in
/// `map_overlap`.
#[pyfunction]
#[pyo3(signature = (wgsl, cuda, entry, cpu, arrays, dtype, depth, boundary, value, trim, name))]
#[allow(clippy::too_many_arguments)]
pub fn map_blocks_kernel(
    wgsl: Option<String>,
    cuda: Option<String>,
    entry: String,
    cpu: Option<Py<PyAny>>,
    arrays: Vec<PyRef<'_, Native>>,
    dtype: &str,
    depth: Option<Vec<usize>>,
    boundary: &str,
    value: Option<&Bound<'_, PyAny>>,
    trim: bool,
    name: String,
) -> PyResult<Native> {
    let dtype = dtype_from_name(dtype)?;
    let kernel = tessera::userfn::UserKernel { wgsl, cuda, entry };
    let cpu = cpu.map(|f| block_fn(f, name.clone(), dtype));
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    let spec = OutSpec::new(dtype).name(&name);
    wrap(match depth {
        None => tessera::array::map_blocks_kernel(&refs, kernel, cpu, spec),
        Some(depth) => {
            let ov = Overlap {
                depth,
                boundary: boundary_of(boundary, value)?,
                trim,
            };
            tessera::array::map_overlap_kernel(&refs, kernel, cpu, ov, spec)
        }
    })
}
