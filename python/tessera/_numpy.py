"""NumPy's protocols: ``np.exp(x)`` and ``np.add(x, 1)`` stay lazy Tessera arrays
(``__array_ufunc__``); ``np.sum(x)``, ``np.concatenate``, ``np.linalg.qr``... call
Tessera's functions (``__array_function__``). Anything Tessera lacks returns
NotImplemented, so NumPy raises its own TypeError instead of computing silently."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _creation, _einsum, _quantiles, _sorting, fft, linalg, routines

_UFUNCS = {
    "add": routines.add,
    "subtract": routines.subtract,
    "multiply": routines.multiply,
    "divide": routines.divide,
    "true_divide": routines.divide,
    "power": routines.power,
    "maximum": routines.maximum,
    "minimum": routines.minimum,
    "equal": routines.equal,
    "not_equal": routines.not_equal,
    "less": routines.less,
    "less_equal": routines.less_equal,
    "greater": routines.greater,
    "greater_equal": routines.greater_equal,
    "logical_and": routines.logical_and,
    "logical_or": routines.logical_or,
    "logical_not": routines.logical_not,
    "isnan": routines.isnan,
    "tan": routines.tan,
    "sinh": routines.sinh,
    "cosh": routines.cosh,
    "arcsin": routines.arcsin,
    "arccos": routines.arccos,
    "arctan": routines.arctan,
    "arcsinh": routines.arcsinh,
    "arccosh": routines.arccosh,
    "arctanh": routines.arctanh,
    "expm1": routines.expm1,
    "log1p": routines.log1p,
    "log2": routines.log2,
    "log10": routines.log10,
    "trunc": routines.trunc,
    "rint": routines.rint,
    "arctan2": routines.arctan2,
    "hypot": routines.hypot,
    "copysign": routines.copysign,
    "deg2rad": routines.deg2rad,
    "rad2deg": routines.rad2deg,
    "radians": routines.deg2rad,
    "degrees": routines.rad2deg,
    "reciprocal": routines.reciprocal,
    "isinf": routines.isinf,
    "isfinite": routines.isfinite,
    "negative": routines.negative,
    "positive": routines.positive,
    "absolute": routines.absolute,
    "exp": routines.exp,
    "log": routines.log,
    "sqrt": routines.sqrt,
    "sin": routines.sin,
    "cos": routines.cos,
    "tanh": routines.tanh,
    "floor": routines.floor,
    "ceil": routines.ceil,
    "square": routines.square,
    "matmul": routines.matmul,
    "exp2": routines.exp2,
    "cbrt": routines.cbrt,
    "fabs": routines.fabs,
    "sign": routines.sign,
    "signbit": routines.signbit,
    "invert": routines.invert,
    "bitwise_not": routines.invert,
    "bitwise_and": routines.bitwise_and,
    "bitwise_or": routines.bitwise_or,
    "bitwise_xor": routines.bitwise_xor,
    "left_shift": routines.left_shift,
    "right_shift": routines.right_shift,
    "bitwise_left_shift": routines.left_shift,
    "bitwise_right_shift": routines.right_shift,
    "floor_divide": routines.floor_divide,
    "remainder": routines.remainder,
    "mod": routines.remainder,
    "fmod": routines.fmod,
    "fmax": routines.fmax,
    "fmin": routines.fmin,
    "logaddexp": routines.logaddexp,
    "nextafter": routines.nextafter,
    "logical_xor": routines.logical_xor,
    "conjugate": routines.conj,
}


def array_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    f = _UFUNCS.get(ufunc.__name__)
    if f is None or method != "__call__" or kwargs.get("out") is not None:
        return NotImplemented
    extra = {k: v for k, v in kwargs.items() if k not in ("out",)}
    if extra:
        return NotImplemented
    try:
        return f(*inputs)
    except TypeError:
        return NotImplemented


def _reduce(name: str):
    def f(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **kw: Any) -> Any:
        x = routines._arr(a)
        if name in ("sum", "prod", "mean"):
            return getattr(x, name)(axis=axis, dtype=dtype, keepdims=bool(keepdims), out=out)
        if name in ("std", "var"):
            return getattr(x, name)(axis=axis, dtype=dtype, keepdims=bool(keepdims), ddof=kw.get("ddof", 0), out=out)
        return getattr(x, name)(axis=axis, keepdims=bool(keepdims), out=out)

    return f


_FUNCTIONS: dict[Any, Any] = {
    np.sum: _reduce("sum"),
    np.prod: _reduce("prod"),
    np.mean: _reduce("mean"),
    np.std: _reduce("std"),
    np.var: _reduce("var"),
    np.min: _reduce("min"),
    np.max: _reduce("max"),
    np.amin: _reduce("min"),
    np.amax: _reduce("max"),
    np.any: _reduce("any"),
    np.all: _reduce("all"),
    np.argmin: lambda a, axis=None, out=None, keepdims=False: routines._arr(a).argmin(axis, keepdims=keepdims, out=out),
    np.argmax: lambda a, axis=None, out=None, keepdims=False: routines._arr(a).argmax(axis, keepdims=keepdims, out=out),
    np.concatenate: lambda arrays, axis=0, out=None, **kw: routines.concatenate(arrays, axis),
    np.stack: lambda arrays, axis=0, out=None, **kw: routines.stack(arrays, axis),
    np.where: lambda condition, *xy: routines.where(condition, *xy),
    np.transpose: routines.transpose,
    np.swapaxes: routines.swapaxes,
    np.moveaxis: routines.moveaxis,
    np.squeeze: routines.squeeze,
    np.expand_dims: routines.expand_dims,
    np.reshape: lambda a, shape=None, order="C", **kw: routines.reshape(a, shape if shape is not None else kw["newshape"]),
    np.ravel: lambda a, order="C": routines.ravel(a),
    np.broadcast_to: lambda array, shape, subok=False: routines.broadcast_to(array, shape),
    np.broadcast_arrays: lambda *args, subok=False: routines.broadcast_arrays(*args),
    np.tensordot: routines.tensordot,
    np.dot: lambda a, b, out=None: routines.dot(a, b),
    np.matmul: lambda a, b, **kw: routines.matmul(a, b),
    np.outer: lambda a, b, out=None: routines.outer(a, b),
    np.clip: lambda a, a_min=None, a_max=None, out=None, **kw: routines.clip(a, a_min, a_max),
    np.round: lambda a, decimals=0, out=None: routines.round(a, decimals),
    np.around: lambda a, decimals=0, out=None: routines.round(a, decimals),
    np.fix: lambda x, out=None: routines.fix(x),
    np.isclose: routines.isclose,
    np.flip: lambda m, axis=None: routines.flip(m, axis),
    np.flipud: routines.flipud,
    np.fliplr: routines.fliplr,
    np.roll: lambda a, shift, axis=None: routines.roll(a, shift, axis),
    np.repeat: lambda a, repeats, axis=None: routines.repeat(a, repeats, axis),
    np.tile: routines.tile,
    np.pad: routines.pad,
    np.diagonal: lambda a, offset=0, axis1=0, axis2=1: routines.diagonal(a, offset, axis1, axis2),
    np.block: routines.block,
    np.tril: lambda m, k=0: routines.tril(m, k),
    np.triu: lambda m, k=0: routines.triu(m, k),
    np.hstack: lambda tup, **kw: routines.hstack(tup),
    np.vstack: lambda tup, **kw: routines.vstack(tup),
    np.dstack: lambda tup: routines.dstack(tup),
    np.split: routines.split,
    np.array_split: routines.array_split,
    np.atleast_1d: routines.atleast_1d,
    np.atleast_2d: routines.atleast_2d,
    np.atleast_3d: routines.atleast_3d,
    np.meshgrid: routines.meshgrid,
    np.cumsum: lambda a, axis=None, dtype=None, out=None: routines.cumsum(a, axis, dtype, out),
    np.cumprod: lambda a, axis=None, dtype=None, out=None: routines.cumprod(a, axis, dtype, out),
    np.nancumsum: lambda a, axis=None, dtype=None, out=None: routines.nancumsum(a, axis, dtype, out),
    np.nancumprod: lambda a, axis=None, dtype=None, out=None: routines.nancumprod(a, axis, dtype, out),
    np.diff: lambda a, n=1, axis=-1, prepend=None, append=None: routines.diff(a, n, axis, prepend, append),
    np.nansum: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: routines.nansum(
        a, axis, dtype, keepdims, out=out
    ),
    np.nanprod: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: routines.nanprod(
        a, axis, dtype, keepdims, out=out
    ),
    np.nanmean: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: routines.nanmean(
        a, axis, dtype, keepdims, out=out
    ),
    np.nanvar: lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: routines.nanvar(
        a, axis, dtype, keepdims, ddof, out=out
    ),
    np.nanstd: lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: routines.nanstd(
        a, axis, dtype, keepdims, ddof, out=out
    ),
    np.nanmin: lambda a, axis=None, out=None, keepdims=False, **kw: routines.nanmin(a, axis, None, keepdims, out=out),
    np.nanmax: lambda a, axis=None, out=None, keepdims=False, **kw: routines.nanmax(a, axis, None, keepdims, out=out),
    np.nanargmin: lambda a, axis=None, out=None, *, keepdims=False: routines.nanargmin(a, axis, out, keepdims=keepdims),
    np.nanargmax: lambda a, axis=None, out=None, *, keepdims=False: routines.nanargmax(a, axis, out, keepdims=keepdims),
    np.count_nonzero: lambda a, axis=None, *, keepdims=False: routines.count_nonzero(a, axis, keepdims=keepdims),
    np.ptp: lambda a, axis=None, out=None, keepdims=False: routines.ptp(a, axis, keepdims),
    np.average: lambda a, axis=None, weights=None, returned=False, *, keepdims=False: routines.average(
        a, axis, weights, returned, keepdims=keepdims
    ),
    np.allclose: lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: bool(routines.allclose(a, b, rtol, atol, equal_nan)),
    np.nan_to_num: lambda x, copy=True, nan=0.0, posinf=None, neginf=None: routines.nan_to_num(x, copy, nan, posinf, neginf),
    np.isneginf: lambda x, out=None: routines.isneginf(x),
    np.isposinf: lambda x, out=None: routines.isposinf(x),
    np.real: routines.real,
    np.imag: routines.imag,
    np.angle: lambda z, deg=False: routines.rad2deg(routines.angle(z)) if deg else routines.angle(z),
    np.shape: routines.shape,
    np.ndim: routines.ndim,
    np.size: lambda a, axis=None: routines.size(a) if axis is None else routines.shape(a)[axis],
    np.linalg.qr: lambda a, mode="reduced": linalg.qr(a, mode=mode),
    np.linalg.svd: lambda a, full_matrices=True, compute_uv=True, hermitian=False: (
        linalg.svd(a, full_matrices=full_matrices) if compute_uv else linalg.svdvals(a)
    ),
    np.linalg.svdvals: linalg.svdvals,
    np.linalg.det: linalg.det,
    np.linalg.slogdet: linalg.slogdet,
    np.linalg.eigh: lambda a, UPLO="L": linalg.eigh(a, UPLO=UPLO),
    np.linalg.eigvalsh: lambda a, UPLO="L": linalg.eigvalsh(a, UPLO=UPLO),
    np.linalg.eig: linalg.eig,
    np.linalg.eigvals: linalg.eigvals,
    np.linalg.matrix_power: linalg.matrix_power,
    np.linalg.matrix_rank: lambda A, tol=None, hermitian=False, *, rtol=None: linalg.matrix_rank(A, tol=tol, rtol=rtol),
    np.linalg.pinv: lambda a, rcond=None, hermitian=False, *, rtol=None: linalg.pinv(a, rcond=rcond, rtol=rtol),
    np.linalg.matrix_norm: lambda x, /, *, keepdims=False, ord="fro": linalg.matrix_norm(x, keepdims=keepdims, ord=ord),
    np.linalg.vector_norm: lambda x, /, *, axis=None, keepdims=False, ord=2: linalg.vector_norm(
        x, axis=axis, keepdims=keepdims, ord=ord
    ),
    np.linalg.cross: lambda x1, x2, /, *, axis=-1: linalg.cross(x1, x2, axis=axis),
    np.linalg.trace: lambda x, /, *, offset=0, dtype=None: linalg.trace(x, offset=offset),
    np.linalg.norm: lambda x, ord=None, axis=None, keepdims=False: linalg.norm(x, ord, axis, keepdims),
    np.linalg.solve: linalg.solve,
    np.linalg.inv: linalg.inv,
    np.linalg.cholesky: lambda a, upper=False: linalg.cholesky(a, lower=not upper),
    np.linalg.lstsq: lambda a, b, rcond=None: linalg.lstsq(a, b),
    np.median: lambda a, axis=None, out=None, overwrite_input=False, keepdims=False: _quantiles.median(a, axis, keepdims),
    np.nanmedian: lambda a, axis=None, out=None, overwrite_input=False, keepdims=False: _quantiles.nanmedian(a, axis, keepdims),
    np.quantile: lambda a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **kw: (
        _quantiles.quantile(a, q, axis, method, keepdims)
    ),
    np.nanquantile: lambda a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **kw: (
        _quantiles.nanquantile(a, q, axis, method, keepdims)
    ),
    np.percentile: lambda a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **kw: (
        _quantiles.percentile(a, q, axis, method, keepdims)
    ),
    np.nanpercentile: lambda a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **kw: (
        _quantiles.nanpercentile(a, q, axis, method, keepdims)
    ),
    np.zeros_like: lambda a, dtype=None, order="K", subok=True, shape=None, **kw: _creation.zeros_like(
        a, dtype=dtype, shape=shape
    ),
    np.ones_like: lambda a, dtype=None, order="K", subok=True, shape=None, **kw: _creation.ones_like(a, dtype=dtype, shape=shape),
    np.empty_like: lambda a, dtype=None, order="K", subok=True, shape=None, **kw: _creation.empty_like(
        a, dtype=dtype, shape=shape
    ),
    np.full_like: lambda a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw: _creation.full_like(
        a, fill_value, dtype=dtype, shape=shape
    ),
    np.einsum: _einsum.einsum,
    np.partition: _sorting.partition,
    np.argpartition: _sorting.argpartition,
    np.sort: lambda a, axis=-1, kind=None, order=None, *, stable=None: _sorting.sort(a, axis),
    np.argsort: lambda a, axis=-1, kind=None, order=None, *, stable=None: _sorting.argsort(a, axis),
    **{getattr(np.fft, name): getattr(fft, name) for name in fft.__all__},
}


def array_function(func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    from ._array import Array

    if not all(issubclass(t, (Array, np.ndarray)) for t in types):
        return NotImplemented
    f = _FUNCTIONS.get(func)
    if f is None:
        return NotImplemented
    return f(*args, **kwargs)
