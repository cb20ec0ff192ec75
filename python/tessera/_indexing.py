"""``x[key]`` in NumPy's terms: ints, slices (any step), ``None``, ``Ellipsis`` and one
integer list or array (NumPy's or a lazy Tessera one), spelled as the engine's slice,
take and expand_dims; and vectorized indexing, where every index is an integer or an
integer array (they broadcast together), as a gather by the flat position."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


def _is_int(k: Any) -> bool:
    if isinstance(k, (bool, np.bool_)) or getattr(k, "ndim", 0) != 0:
        return False
    try:
        operator.index(k)
        return True
    except TypeError:
        return False


def getitem(x: Any, key: Any) -> Any:
    from ._array import Array

    if not isinstance(key, tuple):
        key = (key,)
    if _vectorized(x, key):
        return _gather_points(x, key)
    mask = _bool_mask(key)
    if mask is not None:
        return _masked(x, mask)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    real = [k for k in key if k is not None and k is not Ellipsis]
    if len(real) > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but {len(real)} were indexed")
    if any(k is Ellipsis for k in key):
        i = next(j for j, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - len(real)) + key[i + 1 :]
    else:
        key = key + (slice(None),) * (x.ndim - len(real))

    basic: list[Any] = []
    new_axes: list[int] = []  # output positions of None
    advanced: tuple[int, list[int]] | None = None  # (output axis, indices)
    out_pos = 0
    for k in key:
        if k is None:
            new_axes.append(out_pos)
            out_pos += 1
            continue
        ax = len(basic)
        if isinstance(k, slice):
            for v in (k.start, k.stop, k.step):
                if v is not None and not _is_int(v):
                    raise IndexError(f"slice {k}: slice bounds must be integers or None, not {type(v).__name__}")
            basic.append(slice(*(None if v is None else operator.index(v) for v in (k.start, k.stop, k.step))))
            out_pos += 1
        elif _is_int(k):
            basic.append(operator.index(k))
        elif isinstance(k, Array) and (k.ndim != 1 or np.dtype(k.dtype).kind not in "iu"):
            raise IndexError(
                "a boolean mask is taken alone or first with `...`/`:` after it (x[mask]); a "
                "multi-dimensional index array goes with integers and arrays only (vectorized indexing)"
            )
        elif isinstance(k, Array):
            if advanced is not None:
                raise IndexError("only one integer list or array per index is supported (as in dask); index in two steps")
            advanced = (out_pos, k)
            basic.append(slice(None))
            out_pos += 1
        elif isinstance(k, (list, np.ndarray)):
            idx = np.asarray(k)
            if idx.dtype == bool:
                raise IndexError("a boolean mask is taken alone or first with `...`/`:` after it (x[mask])")
            if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
                raise IndexError(
                    f"an index array must be one-dimensional and of integers (got dtype {idx.dtype}, "
                    f"{idx.ndim} dims); Tessera takes one such list per index"
                )
            if advanced is not None:
                raise IndexError("only one integer list or array per index is supported (as in dask); index in two steps")
            n = x.shape[ax]
            if idx.size and (idx.max() >= n or idx.min() < -n):
                bad = int(idx.max() if idx.max() >= n else idx.min())
                raise IndexError(f"index {bad} is out of bounds for axis {ax} with size {n}")
            advanced = (out_pos, [int(i) for i in idx])
            basic.append(slice(None))
            out_pos += 1
        else:
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and integer lists or arrays "
                f"are valid indices (got {type(k).__name__} {k!r})"
            )
    out = x._n
    if any(not (isinstance(b, slice) and b == slice(None)) for b in basic):
        out = out.slice(basic)
    if advanced is not None:
        axis_out, idx = advanced
        # Its output position counts the None axes before it, which come later.
        at = axis_out - sum(1 for p in new_axes if p < axis_out)
        out = out.take_by(idx._n, at) if isinstance(idx, Array) else out.take(at, idx)
    for p in new_axes:
        out = out.expand_dims(p)
    return Array(out)


def _int_array(k: Any) -> bool:
    from ._array import Array

    if isinstance(k, Array):
        return np.dtype(k.dtype).kind in "iu"
    if isinstance(k, (list, np.ndarray)):
        a = np.asarray(k)
        return a.size > 0 and a.dtype.kind in "iu"
    return False


def _vectorized(x: Any, key: tuple) -> bool:
    """Every axis indexed by an integer or an integer array, an array among them, and
    more than one array or an array of several dimensions (the one-array case is a take)."""
    if len(key) != x.ndim or not all(_is_int(k) or _int_array(k) for k in key):
        return False
    dims = [k.ndim if hasattr(k, "ndim") else np.ndim(k) for k in key if _int_array(k)]
    return len(dims) > 1 or (len(dims) == 1 and dims[0] != 1)


def _gather_points(x: Any, key: tuple) -> Any:
    """``out[p] = x[k0[p], k1[p], ...]`` with the keys broadcast together: the flat position
    computed lazily (it fuses), then one gather from the flattened array. The gather sees
    the flattened array whole per block of positions (as ``take_along_axis``)."""
    from . import routines
    from ._array import Array
    from ._creation import asarray
    from ._sorting import take

    keys = [k if isinstance(k, Array) else asarray(np.asarray(k)) for k in key]
    shape = tuple(np.broadcast_shapes(*(k.shape for k in keys)))
    flat, bad, stride = None, None, 1
    for k, n in zip(reversed(keys), reversed(x.shape)):
        k = k.astype(np.int64)
        out = (k < -n) | (k >= n)
        k = routines.where(k < 0, k + n, k)
        flat = k * stride if flat is None else flat + k * stride
        bad = out if bad is None else bad | out
        stride *= n
    # An index out of its axis's range must not land on another element: it becomes a
    # flat position out of range, which the gather reports as an IndexError.
    flat = routines.broadcast_to(routines.where(bad, -stride - 1, flat), shape)
    return take(x.ravel(), flat.ravel(), axis=0).reshape(shape)


def _bool_mask(key: tuple) -> Any:
    """The boolean array of ``x[mask]`` or ``x[mask, ...]`` (NumPy's or Tessera's), else None."""
    from ._array import Array

    if not key:
        return None
    first, rest = key[0], key[1:]
    if not all(k is Ellipsis or (isinstance(k, slice) and k == slice(None)) for k in rest):
        return None
    if isinstance(first, Array) and np.dtype(first.dtype).kind == "b":
        return first
    if isinstance(first, (np.ndarray, np.bool_)) and np.asarray(first).dtype == bool:
        return first
    return None


def _masked(x: Any, mask: Any) -> Any:
    """``x[mask]``: the elements (or sub-arrays) where the mask of ``x``'s leading shape is
    true, in C order; the engine counts them per chunk now and selects lazily."""
    from ._array import Array
    from ._creation import asarray

    m = mask if isinstance(mask, Array) else asarray(np.asarray(mask))
    if m.ndim == 0:
        return Array(x._n.expand_dims(0).mask(m._n.reshape([1])))
    if tuple(m.shape) != tuple(x.shape[: m.ndim]):
        raise IndexError(
            f"boolean index of shape {tuple(m.shape)} does not match the array's shape {tuple(x.shape)} "
            "(it must equal the array's shape or its leading axes)"
        )
    return Array(x._n.mask(m._n))
