"""Exact order statistics: ``quantile``, ``percentile``, ``median`` and their nan-forms,
with every ``method=`` NumPy has. Names and arguments only; the engine sorts the axis
(chunked) and interpolates as NumPy does. dask's ``percentile`` is approximate (it
merges per-chunk percentiles) and 1-d only; these are exact on any axis."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ._array import Array
from ._sorting import _arr


def _axis(axis: Any) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        if len(axis) != 1:
            raise NotImplementedError("quantile over several axes at once: move them together and reshape first")
        axis = axis[0]
    return operator.index(axis)


def _quantile(a: Any, q: Any, axis: Any, method: str, keepdims: bool, skip_nan: bool) -> Array:
    qa = np.asarray(q, dtype=np.float64)
    if qa.ndim > 1:
        raise ValueError(f"quantile: q must be a number or 1-d, not of shape {qa.shape}")
    x = _arr(a)
    if isinstance(axis, (tuple, list)) and len(axis) > 1:
        # Several axes: moved last and merged into one (NumPy's answer, one pass).
        axes = sorted({operator.index(v) % x.ndim for v in axis})
        rest = [i for i in range(x.ndim) if i not in axes]
        merged = x.transpose(rest + axes).reshape([x.shape[i] for i in rest] + [-1])
        r = _quantile(merged, q, -1, method, False, skip_nan)
        if keepdims:
            r = r.reshape(list(qa.shape) + [1 if i in axes else x.shape[i] for i in range(x.ndim)])
        return r
    n = x._n.quantiles([float(v) for v in qa.reshape(-1)], _axis(axis), method, bool(keepdims), skip_nan)
    out = Array(n)
    return out[0] if qa.ndim == 0 else out


def quantile(a: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Array:
    """Exact quantiles ``q`` (in [0, 1]) along ``axis``, as ``numpy.quantile``: a 1-d ``q``
    gives a leading axis; a lane with a NaN gives NaN; integers give float64."""
    return _quantile(a, q, axis, method, keepdims, False)


def nanquantile(a: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Array:
    """:func:`quantile` ignoring NaNs (an all-NaN lane is NaN), as ``numpy.nanquantile``."""
    return _quantile(a, q, axis, method, keepdims, True)


def percentile(a: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Array:
    """Exact percentiles ``q`` (in [0, 100]), as ``numpy.percentile`` (dask's is approximate)."""
    return _quantile(a, np.asarray(q, dtype=np.float64) / 100.0, axis, method, keepdims, False)


def nanpercentile(a: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Array:
    return _quantile(a, np.asarray(q, dtype=np.float64) / 100.0, axis, method, keepdims, True)


def median(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """The exact median along ``axis``, as ``numpy.median``."""
    return _quantile(a, 0.5, axis, "linear", keepdims, False)


def nanmedian(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return _quantile(a, 0.5, axis, "linear", keepdims, True)
