//! The engine's lazy array as a Python object (`tessera._native.Native`), wrapped by the
//! Python `tessera.Array`, which adds the protocols. Each method checks the result at
//! once, so a bad shape or axis raises where the user wrote it (as in dask), not at
//! compute time.

use crate::compute;
use crate::convert::{dtype_from_name, host_to_numpy};
use crate::errors::IntoPy;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyDict, PyFloat, PyInt, PySlice, PyTuple};
use tessera::kernel::Reduction;
use tessera::{Array, Chunks, Index, Operand, Scalar};

/// One lazy engine array.
#[pyclass(module = "tessera._native", frozen)]
pub struct Native(pub Array);

/// The engine array, checked: a deferred error (bad shape, axis, dtype) raises now.
pub fn wrap(a: Array) -> PyResult<Native> {
    a.check().py()?;
    Ok(Native(a))
}

/// A Python scalar as an engine scalar: `bool` stays bool, `int` and `float` are weak
/// (they take the array's dtype, as NumPy 2 does with Python scalars); `complex` is weak
/// too (complex64 with float32 arrays, complex128 otherwise).
pub fn scalar(v: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if v.is_instance_of::<PyBool>() {
        return Ok(Scalar::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<i64>().map(Scalar::WeakInt).map_err(|_| {
            PyValueError::new_err(format!(
                "the Python int {v} does not fit in int64, Tessera's widest integer"
            ))
        });
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Scalar::WeakFloat(v.extract()?));
    }
    if let Ok(c) = v.cast::<PyComplex>() {
        return Ok(Scalar::WeakComplex(tessera::Complex64::new(
            c.real(),
            c.imag(),
        )));
    }
    Err(PyTypeError::new_err(format!(
        "expected a Tessera array or a Python bool, int, float or complex, got {}",
        v.get_type().name()?
    )))
}

fn operand(v: &Bound<'_, PyAny>) -> PyResult<Operand> {
    if let Ok(n) = v.cast::<Native>() {
        return Ok(Operand::Array(n.get().0.clone()));
    }
    scalar(v).map(Operand::Scalar)
}

fn reduction(name: &str, ddof: u32) -> PyResult<Reduction> {
    Ok(match name {
        "sum" => Reduction::Sum,
        "prod" => Reduction::Prod,
        "min" => Reduction::Min,
        "max" => Reduction::Max,
        "mean" => Reduction::Mean,
        "any" => Reduction::Any,
        "all" => Reduction::All,
        "argmin" => Reduction::ArgMin,
        "argmax" => Reduction::ArgMax,
        "var" => Reduction::Var { ddof },
        "std" => Reduction::Std { ddof },
        _ => {
            return Err(PyValueError::new_err(format!(
                "no reduction {name:?} in the engine"
            )))
        }
    })
}

/// A chunk request in the forms the Python layer passes on: an int, a string ("auto",
/// "64 MiB"), one int per axis, or one tuple of chunk lengths per axis (dask's `-1` and
/// `None` are already replaced by the axis length).
pub fn chunks(v: &Bound<'_, PyAny>) -> PyResult<Chunks> {
    if let Ok(s) = v.extract::<String>() {
        return Ok(Chunks::from(s.as_str()));
    }
    if let Ok(n) = v.extract::<usize>() {
        return Ok(Chunks::Uniform(n));
    }
    if let Ok(per) = v.extract::<Vec<usize>>() {
        return Ok(Chunks::PerAxis(per));
    }
    if let Ok(exp) = v.extract::<Vec<Vec<usize>>>() {
        return Ok(Chunks::Explicit(exp));
    }
    Err(PyValueError::new_err(format!(
        "chunks={}: give a positive int, a tuple of them (one per axis), a tuple of tuples, \"auto\" or a size such as \"128 MiB\"",
        v.repr()?
    )))
}

fn index(item: &Bound<'_, PyAny>) -> PyResult<Index> {
    if let Ok(s) = item.cast::<PySlice>() {
        let get = |name: &str| -> PyResult<Option<isize>> {
            let v = s.getattr(name)?;
            if v.is_none() {
                Ok(None)
            } else {
                v.extract().map(Some)
            }
        };
        return Ok(Index::slice(
            get("start")?,
            get("stop")?,
            get("step")?.unwrap_or(1),
        ));
    }
    Ok(Index::At(item.extract()?))
}

#[pymethods]
impl Native {
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.shape())
    }

    #[getter]
    fn dtype(&self) -> &'static str {
        self.0.dtype().name()
    }

    #[getter]
    fn chunks(&self) -> Vec<Vec<usize>> {
        self.0
            .chunks()
            .map(|g| g.all().to_vec())
            .unwrap_or_default()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.0.nbytes()
    }

    /// Tasks in this array's graph after fusion (what a compute would run).
    fn num_tasks(&self) -> PyResult<usize> {
        self.0.num_tasks().py()
    }

    /// Whether the chunks are already held (a persisted array).
    fn is_persisted(&self) -> bool {
        self.0.persisted().is_some()
    }

    #[pyo3(signature = (op, other, reflected=false))]
    /// NumPy's (or the standard's) function `op` of this array and `other`, or of
    /// `other` and this array when `reflected`.
    fn binary(&self, op: &str, other: &Bound<'_, PyAny>, reflected: bool) -> PyResult<Native> {
        let rhs = operand(other)?;
        let me = Operand::Array(self.0.clone());
        let (a, b) = if reflected { (rhs, me) } else { (me, rhs) };
        wrap(tessera::array::binary_fn(op, a, b).py()?)
    }

    /// NumPy's (or the standard's) function `op` of this array.
    fn unary(&self, op: &str) -> PyResult<Native> {
        wrap(tessera::array::unary_fn(op, &self.0).py()?)
    }

    fn isclose(
        &self,
        other: &Bound<'_, PyAny>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> PyResult<Native> {
        wrap(self.0.isclose(operand(other)?, rtol, atol, equal_nan))
    }

    #[pyo3(signature = (nan, posinf=None, neginf=None))]
    fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> PyResult<Native> {
        wrap(self.0.nan_to_num(nan, posinf, neginf))
    }

    fn round(&self, decimals: i32) -> PyResult<Native> {
        wrap(self.0.round_decimals(decimals))
    }

    fn astype(&self, dtype: &str) -> PyResult<Native> {
        wrap(self.0.astype(dtype_from_name(dtype)?))
    }

    #[pyo3(signature = (op, axes=None, keepdims=false, ddof=0, split_every=None))]
    fn reduce(
        &self,
        op: &str,
        axes: Option<Vec<isize>>,
        keepdims: bool,
        ddof: u32,
        split_every: Option<usize>,
    ) -> PyResult<Native> {
        let r = reduction(op, ddof)?;
        let every = split_every.unwrap_or(tessera::array::SPLIT_EVERY);
        if every < 2 {
            return Err(PyValueError::new_err(format!(
                "split_every={every}: a reduction tree combines at least 2 chunks per step"
            )));
        }
        wrap(self.0.reduce(r, axes.as_deref(), keepdims, every))
    }

    /// A NaN-skipping reduction (`"nansum"`, ..., `"nanstd"`, `"nanargmin"`,
    /// `"nanargmax"`) or a statistic
    /// (`"count_nonzero"`, `"ptp"`, `"moment"` of order `ddof`).
    #[pyo3(signature = (op, axes=None, keepdims=false, ddof=0))]
    fn statistic(
        &self,
        op: &str,
        axes: Option<Vec<isize>>,
        keepdims: bool,
        ddof: u32,
    ) -> PyResult<Native> {
        let axes = axes.as_deref();
        wrap(match op {
            "count_nonzero" => self.0.count_nonzero(axes, keepdims),
            "ptp" => self.0.ptp(axes, keepdims),
            "moment" => self.0.moment(ddof, axes, keepdims),
            "nanargmin" | "nanargmax" => {
                let axis = match axes {
                    None => None,
                    Some([a]) => Some(*a),
                    Some(_) => {
                        return Err(PyValueError::new_err(format!(
                            "{op} takes one axis or None"
                        )))
                    }
                };
                if op == "nanargmin" {
                    self.0.nanargmin(axis, keepdims)
                } else {
                    self.0.nanargmax(axis, keepdims)
                }
            }
            _ => self.0.nan_reduce(
                tessera::array::nan_reduction(op, ddof).py()?,
                axes,
                keepdims,
            ),
        })
    }

    /// A running `"cumsum"`, `"cumprod"`, `"nancumsum"` or `"nancumprod"` along `axis`
    /// (flattened when `None`).
    #[pyo3(signature = (kind, axis=None, include_initial=false))]
    fn scan(&self, kind: &str, axis: Option<isize>, include_initial: bool) -> PyResult<Native> {
        use tessera::kernel::ScanKind;
        wrap(match kind {
            "cumsum" => self.0.cumulative(ScanKind::Sum, axis, include_initial),
            "cumprod" => self.0.cumulative(ScanKind::Prod, axis, include_initial),
            "nancumsum" => self.0.nancumsum(axis),
            "nancumprod" => self.0.nancumprod(axis),
            other => return Err(PyValueError::new_err(format!("no scan {other:?}"))),
        })
    }

    /// The `n`-th difference along `axis` (`numpy.diff`).
    #[pyo3(signature = (n, axis, prepend=None, append=None))]
    fn diff(
        &self,
        n: usize,
        axis: isize,
        prepend: Option<Bound<'_, PyAny>>,
        append: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Native> {
        let p = prepend.map(|v| operand(&v)).transpose()?;
        let a = append.map(|v| operand(&v)).transpose()?;
        wrap(self.0.diff(n, axis, p, a))
    }

    #[pyo3(signature = (axes=None))]
    fn flip(&self, axes: Option<Vec<isize>>) -> PyResult<Native> {
        wrap(self.0.flip(axes.as_deref()))
    }

    #[pyo3(signature = (shift, axis=None))]
    fn roll(&self, shift: isize, axis: Option<isize>) -> PyResult<Native> {
        wrap(self.0.roll(shift, axis))
    }

    fn moveaxis(&self, source: Vec<isize>, destination: Vec<isize>) -> PyResult<Native> {
        wrap(self.0.moveaxis(&source, &destination))
    }

    #[pyo3(signature = (repeats, axis=None))]
    fn repeat(&self, repeats: usize, axis: Option<isize>) -> PyResult<Native> {
        wrap(self.0.repeat(repeats, axis))
    }

    fn repeat_counts(&self, counts: Vec<usize>, axis: Option<isize>) -> PyResult<Native> {
        wrap(self.0.repeat_counts(&counts, axis))
    }

    fn repeat_by(&self, counts: &Native, axis: Option<isize>) -> PyResult<Native> {
        wrap(self.0.repeat_by(&counts.0, axis))
    }

    fn tile(&self, reps: Vec<usize>) -> PyResult<Native> {
        wrap(self.0.tile(&reps))
    }

    /// `numpy.pad` with `mode` one of constant, edge, reflect, symmetric, wrap,
    /// linear_ramp (`value` is the constant or the ramp's end value).
    fn pad(
        &self,
        widths: Vec<(usize, usize)>,
        mode: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Native> {
        use tessera::array::PadMode;
        let mode = match mode {
            "constant" => PadMode::Constant(scalar(value)?),
            "edge" => PadMode::Edge,
            "reflect" => PadMode::Reflect,
            "symmetric" => PadMode::Symmetric,
            "wrap" => PadMode::Wrap,
            "linear_ramp" => PadMode::LinearRamp(scalar(value)?),
            other => {
                return Err(PyValueError::new_err(format!(
                    "pad: mode={other:?} is not supported; Tessera pads with 'constant', 'edge', 'reflect', 'symmetric', 'wrap' or 'linear_ramp'"
                )))
            }
        };
        wrap(self.0.pad(&widths, mode))
    }

    #[pyo3(signature = (offset=0, axis1=0, axis2=1))]
    fn diagonal(&self, offset: i64, axis1: isize, axis2: isize) -> PyResult<Native> {
        wrap(self.0.diagonal(offset, axis1, axis2))
    }

    fn expand_dims_axes(&self, axes: Vec<isize>) -> PyResult<Native> {
        wrap(self.0.expand_dims_axes(&axes))
    }

    fn tril(&self, k: i64) -> PyResult<Native> {
        wrap(self.0.tril(k))
    }

    fn triu(&self, k: i64) -> PyResult<Native> {
        wrap(self.0.triu(k))
    }

    /// The weighted mean over `axes` (`numpy.average`).
    #[pyo3(signature = (weights=None, axes=None, keepdims=false))]
    fn average(
        &self,
        weights: Option<PyRef<'_, Native>>,
        axes: Option<Vec<isize>>,
        keepdims: bool,
    ) -> PyResult<Native> {
        wrap(
            self.0
                .average(weights.as_ref().map(|w| &w.0), axes.as_deref(), keepdims),
        )
    }

    /// Basic indexing: one int or slice per leading axis.
    fn slice(&self, items: Vec<Bound<'_, PyAny>>) -> PyResult<Native> {
        let ix = items.iter().map(index).collect::<PyResult<Vec<_>>>()?;
        wrap(self.0.slice(&ix))
    }

    fn take(&self, axis: isize, indices: Vec<isize>) -> PyResult<Native> {
        wrap(self.0.take(axis, &indices))
    }

    fn ldexp(&self, e: &Bound<'_, PyAny>) -> PyResult<Native> {
        wrap(self.0.ldexp(operand(e)?))
    }

    fn frexp(&self) -> PyResult<(Native, Native)> {
        let (m, e) = self.0.frexp();
        Ok((wrap(m)?, wrap(e)?))
    }

    fn take_along_axis(&self, indices: &Native, axis: isize) -> PyResult<Native> {
        wrap(self.0.take_along_axis(&indices.0, axis))
    }

    fn take_by(&self, indices: &Native, axis: isize) -> PyResult<Native> {
        wrap(self.0.take_by(&indices.0, axis))
    }

    fn sort_axis(&self, axis: isize, descending: bool) -> PyResult<Native> {
        wrap(self.0.sort_axis(axis, descending))
    }

    fn argsort_axis(&self, axis: isize, descending: bool) -> PyResult<Native> {
        wrap(self.0.argsort_axis(axis, descending))
    }

    fn partition(&self, kth: Vec<isize>, axis: isize, indices: bool) -> PyResult<Native> {
        wrap(if indices {
            self.0.argpartition(&kth, axis)
        } else {
            self.0.partition(&kth, axis)
        })
    }

    fn searchsorted(&self, v: &Native, right: bool) -> PyResult<Native> {
        let side = if right {
            tessera::array::Side::Right
        } else {
            tessera::array::Side::Left
        };
        wrap(self.0.searchsorted(&v.0, side))
    }

    fn isin(&self, test: &Native, invert: bool) -> PyResult<Native> {
        wrap(self.0.isin(&test.0, invert))
    }

    #[pyo3(signature = (condition, axis=None))]
    fn compress(&self, condition: &Native, axis: Option<isize>) -> PyResult<Native> {
        wrap(self.0.compress(&condition.0, axis))
    }

    fn mask(&self, mask: &Native) -> PyResult<Native> {
        wrap(self.0.mask(&mask.0))
    }

    fn flatnonzero(&self) -> PyResult<Native> {
        wrap(self.0.flatnonzero())
    }

    fn nonzero(&self) -> PyResult<Vec<Native>> {
        self.0.nonzero().into_iter().map(wrap).collect()
    }

    fn argwhere(&self) -> PyResult<Native> {
        wrap(self.0.argwhere())
    }

    /// (values, first indices, inverse, counts).
    fn unique_all(&self, equal_nan: bool) -> PyResult<(Native, Native, Native, Native)> {
        let u = self.0.unique_all(equal_nan);
        Ok((
            wrap(u.values)?,
            wrap(u.indices)?,
            wrap(u.inverse)?,
            wrap(u.counts)?,
        ))
    }

    fn quantiles(
        &self,
        qs: Vec<f64>,
        axis: Option<isize>,
        method: &str,
        keepdims: bool,
        skip_nan: bool,
    ) -> PyResult<Native> {
        let m = tessera::array::QuantileMethod::from_name(method).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "quantile: method {method:?} is not one of NumPy's (linear, lower, higher, midpoint, nearest, inverted_cdf, averaged_inverted_cdf, closest_observation, interpolated_inverted_cdf, hazen, weibull, median_unbiased, normal_unbiased)"
            ))
        })?;
        wrap(self.0.quantiles(&qs, axis, m, keepdims, skip_nan))
    }

    #[pyo3(signature = (weights=None, minlength=0))]
    fn bincount(&self, weights: Option<PyRef<'_, Native>>, minlength: usize) -> PyResult<Native> {
        wrap(self.0.bincount(weights.as_ref().map(|w| &w.0), minlength))
    }

    fn digitize(&self, bins: Vec<f64>, right: bool) -> PyResult<Native> {
        wrap(self.0.digitize(&bins, right))
    }

    fn topk(&self, k: isize, axis: isize) -> PyResult<Native> {
        wrap(self.0.topk(k, axis))
    }

    fn argtopk(&self, k: isize, axis: isize) -> PyResult<Native> {
        wrap(self.0.argtopk(k, axis))
    }

    #[pyo3(signature = (other=None, rowvar=true, ddof=None))]
    fn cov(
        &self,
        other: Option<PyRef<'_, Native>>,
        rowvar: bool,
        ddof: Option<usize>,
    ) -> PyResult<Native> {
        wrap(self.0.cov(other.as_ref().map(|o| &o.0), rowvar, ddof))
    }

    #[pyo3(signature = (other=None, rowvar=true))]
    fn corrcoef(&self, other: Option<PyRef<'_, Native>>, rowvar: bool) -> PyResult<Native> {
        wrap(self.0.corrcoef(other.as_ref().map(|o| &o.0), rowvar))
    }

    fn union1d(&self, other: &Native) -> PyResult<Native> {
        wrap(self.0.union1d(&other.0))
    }

    fn intersect1d(&self, other: &Native) -> PyResult<Native> {
        wrap(self.0.intersect1d(&other.0))
    }

    fn setdiff1d(&self, other: &Native) -> PyResult<Native> {
        wrap(self.0.setdiff1d(&other.0))
    }

    fn reshape(&self, shape: Vec<isize>) -> PyResult<Native> {
        wrap(self.0.reshape(&shape))
    }

    fn permute(&self, perm: Vec<usize>) -> PyResult<Native> {
        wrap(self.0.permute_axes(&perm))
    }

    fn swapaxes(&self, a: isize, b: isize) -> PyResult<Native> {
        wrap(self.0.swapaxes(a, b))
    }

    #[pyo3(signature = (axes=None))]
    fn squeeze(&self, axes: Option<Vec<isize>>) -> PyResult<Native> {
        wrap(self.0.squeeze(axes.as_deref()))
    }

    #[pyo3(signature = (axis, window, chunks=None))]
    fn sliding_window(
        &self,
        axis: isize,
        window: usize,
        chunks: Option<Vec<usize>>,
    ) -> PyResult<Native> {
        wrap(self.0.sliding_window_with(axis, window, chunks.as_deref()))
    }

    fn expand_dims(&self, axis: isize) -> PyResult<Native> {
        wrap(self.0.expand_dims(axis))
    }

    fn broadcast_to(&self, shape: Vec<usize>) -> PyResult<Native> {
        wrap(self.0.broadcast_to(&shape))
    }

    fn rechunk(&self, chunks: &Bound<'_, PyAny>) -> PyResult<Native> {
        wrap(self.0.rechunk(self::chunks(chunks)?))
    }

    fn matmul(&self, other: &Native) -> PyResult<Native> {
        wrap(self.0.matmul(&other.0))
    }

    fn dot(&self, other: &Native) -> PyResult<Native> {
        wrap(self.0.dot(&other.0))
    }

    /// The task graph in Graphviz dot.
    fn to_dot(&self) -> PyResult<String> {
        self.0.to_dot().py()
    }

    /// Renders the graph with Graphviz `dot` to `path` (format from its extension).
    fn visualize(&self, path: &str) -> PyResult<()> {
        self.0.visualize(path).py()
    }

    #[pyo3(signature = (config=None, progress=None))]
    fn compute<'py>(
        &self,
        py: Python<'py>,
        config: Option<&Bound<'py, PyDict>>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = compute::options(config)?;
        let a = &self.0;
        let h = compute::run(py, opts, progress, |o| a.compute_host_with(o))?;
        Ok(host_to_numpy(py, h))
    }

    #[pyo3(signature = (config=None, progress=None))]
    fn persist(
        &self,
        py: Python<'_>,
        config: Option<&Bound<'_, PyDict>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Native> {
        let opts = compute::options(config)?;
        let a = &self.0;
        compute::run(py, opts, progress, |o| a.persist_with(o)).map(Native)
    }

    #[pyo3(signature = (path, config=None, progress=None))]
    fn to_npy(
        &self,
        py: Python<'_>,
        path: &str,
        config: Option<&Bound<'_, PyDict>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let opts = compute::options(config)?;
        let a = &self.0;
        compute::run(py, opts, progress, |o| a.to_npy_with(path, o).map(drop))
    }

    #[pyo3(signature = (path, overwrite=false, zarr_format=3, codec="zstd", level=None, chunks=None, config=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn to_zarr(
        &self,
        py: Python<'_>,
        path: &str,
        overwrite: bool,
        zarr_format: u8,
        codec: &str,
        level: Option<i32>,
        chunks: Option<Vec<usize>>,
        config: Option<&Bound<'_, PyDict>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        use tessera::storage::zarr::{ZarrCodec, ZarrFormat, ZarrOptions};
        let zopts = ZarrOptions {
            format: match zarr_format {
                2 => ZarrFormat::V2,
                3 => ZarrFormat::V3,
                f => {
                    return Err(PyValueError::new_err(format!(
                        "zarr_format={f}: Tessera writes Zarr 2 or 3"
                    )))
                }
            },
            codec: match codec {
                "zstd" => ZarrCodec::Zstd {
                    level: level.unwrap_or(3),
                },
                "gzip" => ZarrCodec::Gzip {
                    level: level.unwrap_or(5).clamp(0, 9) as u32,
                },
                "none" => ZarrCodec::None,
                c => {
                    return Err(PyValueError::new_err(format!(
                        "codec={c:?}: Tessera writes 'zstd', 'gzip' or 'none'"
                    )))
                }
            },
            chunks,
            inner_chunks: None,
            overwrite,
        };
        let opts = compute::options(config)?;
        let a = &self.0;
        compute::run(py, opts, progress, |o| {
            a.to_zarr_with(path, &zopts, o).map(drop)
        })
    }
}

/// Computes several arrays in one shared graph (common work runs once).
#[pyfunction]
#[pyo3(signature = (arrays, config=None, progress=None))]
pub fn compute_all<'py>(
    py: Python<'py>,
    arrays: Vec<PyRef<'py, Native>>,
    config: Option<&Bound<'py, PyDict>>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let opts = compute::options(config)?;
    let arrs: Vec<Array> = arrays.iter().map(|a| a.0.clone()).collect();
    let refs: Vec<&Array> = arrs.iter().collect();
    let out = compute::run(py, opts, progress, |o| tessera::compute_all_with(&refs, o))?;
    Ok(out.into_iter().map(|h| host_to_numpy(py, h)).collect())
}

/// `where(cond, a, b)` with broadcasting and promotion.
#[pyfunction]
pub fn where_(cond: &Native, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<Native> {
    wrap(tessera::where_(&cond.0, operand(a)?, operand(b)?))
}

#[pyfunction]
pub fn concatenate(arrays: Vec<PyRef<'_, Native>>, axis: isize) -> PyResult<Native> {
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    wrap(tessera::concatenate(&refs, axis))
}

/// `bins`: per dimension an int (a count), the string "auto", or a list of edges.
#[pyfunction]
#[pyo3(signature = (sample, bins, ranges, weights=None, density=false))]
pub fn histogramdd(
    sample: Vec<PyRef<'_, Native>>,
    bins: Vec<Bound<'_, PyAny>>,
    ranges: Vec<Option<(f64, f64)>>,
    weights: Option<PyRef<'_, Native>>,
    density: bool,
) -> PyResult<(Native, Vec<Vec<f64>>)> {
    use tessera::array::Bins;
    let bins = bins
        .iter()
        .map(|b| {
            if let Ok(s) = b.extract::<String>() {
                return if s == "auto" {
                    Ok(Bins::Auto)
                } else {
                    Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "histogram: bins={s:?}; Tessera has \"auto\", a count or the edges"
                    )))
                };
            }
            if let Ok(n) = b.extract::<usize>() {
                return Ok(Bins::Count(n));
            }
            b.extract::<Vec<f64>>().map(Bins::Edges).map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "histogram: bins must be a positive int, \"auto\" or a sequence of edges",
                )
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let refs: Vec<&Array> = sample.iter().map(|a| &a.0).collect();
    let (c, e) = tessera::array::histogramdd(
        &refs,
        &bins,
        &ranges,
        weights.as_ref().map(|w| &w.0),
        density,
    );
    Ok((wrap(c)?, e))
}

#[pyfunction]
pub fn stack(arrays: Vec<PyRef<'_, Native>>, axis: isize) -> PyResult<Native> {
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.0).collect();
    wrap(tessera::stack(&refs, axis))
}

#[pyfunction]
pub fn tensordot(
    a: &Native,
    b: &Native,
    axes_a: Vec<isize>,
    axes_b: Vec<isize>,
) -> PyResult<Native> {
    wrap(tessera::linalg::tensordot(&a.0, &b.0, &axes_a, &axes_b))
}
