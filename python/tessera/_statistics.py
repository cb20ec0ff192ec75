"""Counting and co-variation: ``bincount``, ``histogram``, ``histogram2d``,
``histogramdd``, ``digitize``, ``cov``, ``corrcoef``, and dask's ``topk``/``argtopk``.
Names and arguments only; the engine counts per chunk and sums, and contracts."""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as np

from . import _native
from ._array import Array
from ._sorting import _arr


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """How many times each non-negative integer occurs, as ``numpy.bincount`` (the length
    is known here: the maximum is computed when this is called; dask's is NaN)."""
    w = None if weights is None else _arr(weights)._n
    return Array(_arr(x)._n.bincount(w, operator.index(minlength)))


def digitize(x: Any, bins: Any, right: bool = False) -> Array:
    """The index of each element's bin, as ``numpy.digitize`` (``bins`` known now)."""
    return Array(_arr(x)._n.digitize([float(b) for b in np.asarray(bins, dtype=np.float64).reshape(-1)], bool(right)))


def _bins(b: Any) -> Any:
    if isinstance(b, str):
        return b
    a = np.asarray(b)
    return int(a) if a.ndim == 0 else [float(v) for v in a.reshape(-1)]


def histogramdd(
    sample: Any, bins: Any = 10, range: Any = None, density: bool = False, weights: Any = None
) -> tuple[Array, list[np.ndarray]]:  # noqa: A002
    """A histogram of D-dimensional points, as ``numpy.histogramdd``: ``sample`` a sequence
    of D coordinate arrays or an ``(N, D)`` array; returns ``(counts, edges)`` with the
    counts lazy and the edges NumPy arrays (known when this is called)."""
    if isinstance(sample, (list, tuple)):
        coords = [_arr(s) for s in sample]
    else:
        s = _arr(sample)
        coords = [s[:, d] for d in builtins.range(s.shape[1])]
    d = len(coords)
    if isinstance(bins, (int, np.integer, str)):
        bins_per = [_bins(bins)] * d
    elif len(bins) != d:
        raise ValueError(f"histogramdd: {len(bins)} bin specifications for {d} dimensions; give one per dimension or one int")
    else:
        bins_per = [_bins(b) for b in bins]
    ranges = [None] * d if range is None else [None if r is None else (float(r[0]), float(r[1])) for r in range]
    w = None if weights is None else _arr(weights)._n
    c, e = _native.histogramdd([x._n for x in coords], bins_per, ranges, w, bool(density))
    return Array(c), [np.asarray(v) for v in e]


def histogram(a: Any, bins: Any = 10, range: Any = None, density: bool = False, weights: Any = None) -> tuple[Array, np.ndarray]:  # noqa: A002
    """A histogram of the flattened array, as ``numpy.histogram``: ``bins`` a count, edges
    or ``"auto"``; ``(counts, edges)``, the counts lazy. dask needs ``range=`` with a count;
    here the range is computed when it is not given."""
    c, e = histogramdd(
        [_arr(a).ravel()], bins=[_bins(bins)], range=None if range is None else [range], density=density, weights=weights
    )
    return c, e[0]


def histogram2d(
    x: Any, y: Any, bins: Any = 10, range: Any = None, density: bool = False, weights: Any = None
) -> tuple[Array, np.ndarray, np.ndarray]:  # noqa: A002
    """A 2-d histogram, as ``numpy.histogram2d``: ``(counts, xedges, yedges)``."""
    # NumPy's rule: a count or "auto" for both, two specifications (one per axis), or
    # one array of edges (of any other length) for both.
    if isinstance(bins, (int, np.integer, str)) or np.ndim(bins) == 0:
        b = [_bins(bins)] * 2
    elif len(bins) == 2:
        b = [_bins(v) for v in bins]
    else:
        b = [_bins(bins)] * 2
    c, e = histogramdd([_arr(x), _arr(y)], bins=b, range=range, density=density, weights=weights)
    return c, e[0], e[1]


def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None) -> Array:
    """The covariance matrix, as ``numpy.cov`` (no frequency or analytic weights)."""
    d = None if ddof is None and not bias else (0 if ddof is None else operator.index(ddof))
    return Array(_arr(m)._n.cov(None if y is None else _arr(y)._n, bool(rowvar), d))


def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Array:
    """Pearson correlation coefficients, as ``numpy.corrcoef``."""
    return Array(_arr(x)._n.corrcoef(None if y is None else _arr(y)._n, bool(rowvar)))


def topk(a: Any, k: int, axis: int = -1) -> Array:
    """The ``k`` largest elements along ``axis``, largest first (negative ``k``: the
    smallest, smallest first), as dask's ``topk``; NaNs rank after every number."""
    return Array(_arr(a)._n.topk(operator.index(k), operator.index(axis)))


def argtopk(a: Any, k: int, axis: int = -1) -> Array:
    """The int64 indices of :func:`topk`'s elements, as dask's ``argtopk``."""
    return Array(_arr(a)._n.argtopk(operator.index(k), operator.index(axis)))
