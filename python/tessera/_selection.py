"""Shapes that depend on the data: ``compress``, ``extract``, ``nonzero``,
``flatnonzero``, ``argwhere`` and the set functions (``unique`` and the standard's
``unique_*``, ``union1d``, ``intersect1d``, ``setdiff1d``). Names and arguments only: the
engine counts the selected elements per chunk when the operation is built (so shapes
are exact, never ``nan``), then selects lazily."""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

from ._array import Array
from ._sorting import _arr


def compress(condition: Any, a: Any, axis: Any = None) -> Array:
    """The slices of ``a`` along ``axis`` where the 1-d ``condition`` is true, as
    ``numpy.compress`` (``axis=None``: the flattened array)."""
    c = _arr(condition)
    return Array(_arr(a)._n.compress(c._n, None if axis is None else operator.index(axis)))


def extract(condition: Any, arr: Any) -> Array:
    """The elements of ``arr`` where ``condition`` is true, flattened, as ``numpy.extract``."""
    c = _arr(condition).astype(bool).ravel()
    return compress(c, _arr(arr).ravel(), axis=0)


def nonzero(a: Any) -> tuple[Array, ...]:
    """One int64 array of positions per axis where ``a`` is non-zero, as ``numpy.nonzero``
    (a 0-d array is an error, as in NumPy 2)."""
    return tuple(Array(n) for n in _arr(a)._n.nonzero())


def flatnonzero(a: Any) -> Array:
    """The positions of the non-zero elements of the flattened array (int64)."""
    return Array(_arr(a)._n.flatnonzero())


def argwhere(a: Any) -> Array:
    """The positions of the non-zero elements, one row each: ``(count, ndim)`` int64."""
    return Array(_arr(a)._n.argwhere())


class UniqueAll(NamedTuple):
    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCounts(NamedTuple):
    values: Array
    counts: Array


class UniqueInverse(NamedTuple):
    values: Array
    inverse_indices: Array


def _unique(x: Any, equal_nan: bool) -> UniqueAll:
    return UniqueAll(*(Array(n) for n in _arr(x)._n.unique_all(equal_nan)))


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False) -> Any:
    """The sorted unique values of ``ar``, as ``numpy.unique`` and dask's (one NaN),
    with the first indices, the inverse (``ar``'s shape, as NumPy 2) and the counts on
    request; exact and chunked (dask's ``unique`` has no ``return_index`` on chunks)."""
    u = _unique(ar, True)
    extra = [u.indices] * return_index + [u.inverse_indices] * return_inverse + [u.counts] * return_counts
    return (u.values, *extra) if extra else u.values


def unique_values(x: Any, /) -> Array:
    """The sorted unique values, each NaN its own (the standard's rule)."""
    return _unique(x, False).values


def unique_counts(x: Any, /) -> UniqueCounts:
    u = _unique(x, False)
    return UniqueCounts(u.values, u.counts)


def unique_inverse(x: Any, /) -> UniqueInverse:
    u = _unique(x, False)
    return UniqueInverse(u.values, u.inverse_indices)


def unique_all(x: Any, /) -> UniqueAll:
    return _unique(x, False)


def union1d(ar1: Any, ar2: Any) -> Array:
    """The sorted unique values of both arrays, as ``numpy.union1d``."""
    return Array(_arr(ar1)._n.union1d(_arr(ar2)._n))


def intersect1d(ar1: Any, ar2: Any) -> Array:
    """The sorted unique values in both arrays, as ``numpy.intersect1d``."""
    return Array(_arr(ar1)._n.intersect1d(_arr(ar2)._n))


def setdiff1d(ar1: Any, ar2: Any) -> Array:
    """The sorted unique values of ``ar1`` not in ``ar2``, as ``numpy.setdiff1d``."""
    return Array(_arr(ar1)._n.setdiff1d(_arr(ar2)._n))
