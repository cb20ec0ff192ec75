"""Sorting, searching and membership: ``sort``, ``argsort``, ``searchsorted``, ``isin`` and
``take``. Names and arguments only; the engine sorts (a chunked axis included), searches
and gathers."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ._array import Array


def _arr(x: Any, dtype: Any = None) -> Array:
    if isinstance(x, Array):
        return x
    from ._creation import asarray

    return asarray(x, dtype=dtype)


def sort(a: Any, axis: Any = -1, *, descending: bool = False, stable: bool = True) -> Array:
    """``a`` sorted along ``axis`` (``None``: the flattened array), as ``numpy.sort``:
    stable, NaNs last (in either direction), ``descending`` reversing the order of the
    numbers. The axis may span many chunks; the result keeps the input's chunks."""
    del stable  # the sort is always stable, which satisfies either request
    x = _arr(a)
    if axis is None:
        x, axis = x.ravel(), 0
    return Array(x._n.sort_axis(operator.index(axis), bool(descending)))


def argsort(a: Any, axis: Any = -1, *, descending: bool = False, stable: bool = True) -> Array:
    """The int64 indices that sort ``a`` along ``axis``, as ``numpy.argsort(kind="stable")``:
    equal elements keep their order, NaNs last, ``descending`` as in :func:`sort`."""
    del stable
    x = _arr(a)
    if axis is None:
        x, axis = x.ravel(), 0
    return Array(x._n.argsort_axis(operator.index(axis), bool(descending)))


def _kth(kth: Any) -> list[int]:
    if isinstance(kth, (list, tuple)) or getattr(kth, "ndim", 0) == 1:
        return [operator.index(k) for k in kth]
    return [operator.index(kth)]


def _partition(name: str, a: Any, kth: Any, axis: Any, order: Any, indices: bool) -> Array:
    if order is not None:
        raise TypeError(f"{name}: order= applies to structured arrays, which Tessera does not have")
    x = _arr(a)
    if axis is None:
        x, axis = x.ravel(), 0
    return Array(x._n.partition(_kth(kth), operator.index(axis), indices))


def partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Array:
    """``a`` with the elements at positions ``kth`` where a sort puts them, smaller ones
    before and larger ones after, as ``numpy.partition``; the parts come back sorted
    (one of the orders NumPy allows). ``axis=None`` partitions the flattened array."""
    return _partition("partition", a, kth, axis, order, False)


def argpartition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Array:
    """The int64 indices that partition ``a`` (``numpy.argpartition``): the stable sort's."""
    return _partition("argpartition", a, kth, axis, order, True)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """Where each element of ``v`` goes in the sorted 1-d ``a`` (int64, ``v``'s shape), as
    ``numpy.searchsorted`` and dask's: ``side`` ``"left"`` or ``"right"``; ``sorter`` the
    indices that sort ``a`` (an argsort's result). ``a`` may span many chunks."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    x = _arr(a)
    if sorter is not None:
        x = take(x, sorter, axis=0)
    q = _arr(v, dtype=x.dtype if _is_scalar(v) and _fits(v, x.dtype) else None)
    return Array(x._n.searchsorted(q._n, side == "right"))


def isin(element: Any, test_elements: Any, assume_unique: bool = False, invert: bool = False) -> Array:
    """Whether each element of ``element`` is in ``test_elements`` (bool, ``element``'s
    shape), as ``numpy.isin`` and dask's: equality after promotion, so NaN is in nothing.
    ``assume_unique`` is accepted and changes nothing."""
    del assume_unique
    if isinstance(element, Array) or not isinstance(test_elements, Array):
        x = _arr(element)
        t = _arr(test_elements, dtype=x.dtype if _is_scalar(test_elements) and _fits(test_elements, x.dtype) else None)
    else:
        t = test_elements
        x = _arr(element, dtype=t.dtype if _is_scalar(element) and _fits(element, t.dtype) else None)
    return Array(x._n.isin(t._n, bool(invert)))


def take(a: Any, indices: Any, axis: Any = 0) -> Array:
    """The elements at ``indices`` along ``axis``, as dask's ``take`` (NumPy's with
    ``axis=None`` flattens first). ``indices``: a 1-d integer Tessera array (lazy: computed
    with the result), or a list/NumPy array (known now); negative ones count from the end."""
    x = _arr(a)
    if axis is None:
        x, axis = x.ravel(), 0
    axis = operator.index(axis)
    if isinstance(indices, Array):
        if np.dtype(indices.dtype).kind not in "iu":
            raise TypeError(f"take: indices must be integers, not {indices.dtype}")
        return Array(x._n.take_by(indices._n, axis))
    idx = np.asarray(indices)
    if idx.ndim != 1 or not (np.issubdtype(idx.dtype, np.integer) or idx.size == 0):
        raise TypeError(f"take: indices must be a 1-d list or array of integers, not {idx.dtype} of shape {idx.shape}")
    return Array(x._n.take(axis, [int(i) for i in idx]))


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, complex, np.generic))


def _fits(v: Any, dtype: Any) -> bool:
    """Whether the Python scalar ``v`` takes ``dtype`` under the standard's rule (a
    scalar adopts the array's dtype when its kind fits)."""
    kind = np.dtype(dtype).kind
    if isinstance(v, bool):
        return kind == "b"
    if isinstance(v, int):
        if kind in "iu":
            info = np.iinfo(dtype)
            return int(info.min) <= v <= int(info.max)
        return kind in "fc"
    if isinstance(v, float):
        return kind in "fc"
    return isinstance(v, complex) and kind == "c"
