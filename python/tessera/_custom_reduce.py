"""Reductions and scans of your own: dask's ``reduction`` and ``cumreduction`` signatures
over the engine's (``_native.reduction``, ``_native.cumreduction``), which run them as
trees and chains of user-function blocks like the built-in reductions and scans."""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

from . import _dtypes, _native
from ._array import Array, _result
from ._custom import _declared, _name


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"reduction: axis {a} is out of bounds for an array of {ndim} dimensions")
        out.append(a % ndim)
    return tuple(out)


def reduction(
    x: Array,
    chunk: Callable[..., Any],
    aggregate: Callable[..., Any],
    axis: Any = None,
    keepdims: bool = False,
    dtype: Any = None,
    split_every: Any = None,
    combine: Callable[..., Any] | None = None,
    name: str | None = None,
    out: Any = None,
    concatenate: bool = True,
    output_size: int = 1,
    meta: Any = None,
    weights: Any = None,
) -> Array:
    """A reduction of your own (dask's ``reduction``): ``chunk(block, axis=, keepdims=True)``
    on every block, ``combine`` (default ``aggregate``) on up to ``split_every`` (default 4)
    neighbouring partials joined along the reduced axes, level after level, then
    ``aggregate``, all with ``keepdims=True`` (the reduced axes are dropped after unless
    ``keepdims``). ``dtype`` is required, as in dask; the partials' dtype is found by
    calling ``chunk`` on a one-element array.

    >>> import numpy as np, tessera as ts
    >>> x = ts.arange(10.0, chunks=3)
    >>> float(ts.reduction(x, np.sum, np.sum, dtype="f8").compute())
    45.0
    """
    if not isinstance(x, Array):
        raise TypeError("reduction: x must be a Tessera array (tessera.asarray(x) first)")
    if dtype is None:
        raise ValueError("reduction: dtype= is required (dask requires it too)")
    if not concatenate or weights is not None or out is not None:
        raise NotImplementedError(
            "reduction: concatenate=False, weights= and out= are not supported; combine receives the partials joined along the reduced axes"
        )
    axes = _axes(axis, x.ndim)
    combine = combine or aggregate
    dt = _dtypes.name_of(dtype)
    try:
        probe = np.asarray(chunk(np.ones((1,) * x.ndim, dtype=x.dtype), axis=axes, keepdims=True))
        partial = _dtypes.name_of(probe.dtype)
    except Exception:
        partial = dt
    src = x._n.dtype

    def step(f: Callable[..., Any], into: str, wrap: bool) -> Callable[[list[np.ndarray], dict[str, Any]], np.ndarray]:
        def call(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
            b = _result(blocks[0], src) if wrap else blocks[0]
            return _declared(f(b, axis=axes, keepdims=True), into)

        return call

    fan = 4 if split_every is None else (split_every if isinstance(split_every, int) else max(2, min(split_every.values())))
    return Array(
        _native.reduction(
            step(chunk, partial, True),
            step(combine, partial, False),
            step(aggregate, dt, False),
            x._n,
            list(axes),
            keepdims,
            dt,
            partial,
            fan,
            _name(chunk, name),
        )
    )


def cumreduction(
    func: Callable[..., Any],
    binop: Callable[[Any, Any], Any],
    ident: Any,
    x: Array,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    method: str = "sequential",
    preop: Any = None,
) -> Array:
    """A running reduction of your own (dask's ``cumreduction``, its ``sequential``
    method): ``func(block, axis=axis, dtype=dtype)`` scans each block (``np.cumsum``),
    ``binop(carry, scanned)`` continues it from the previous block's last slice
    (``np.add``). ``ident`` is ``binop``'s identity: the first block is ``func``'s alone.
    ``axis=None`` scans the flattened array.

    >>> import numpy as np, tessera as ts
    >>> ts.cumreduction(np.cumsum, np.add, 0, ts.arange(6.0, chunks=2), axis=0).compute()
    array([ 0.,  1.,  3.,  6., 10., 15.])
    """
    if method != "sequential" or preop is not None or out is not None:
        raise NotImplementedError("cumreduction: only method='sequential' without preop= or out= is built")
    if not isinstance(x, Array):
        raise TypeError("cumreduction: x must be a Tessera array (tessera.asarray(x) first)")
    if axis is None:
        x, axis = x.reshape(-1) if x.ndim != 1 else x, 0
    ax = _axes(axis, x.ndim)[0]
    dt = (
        _dtypes.name_of(dtype)
        if dtype is not None
        else _dtypes.name_of(np.asarray(func(np.ones(1, dtype=x.dtype), axis=0)).dtype)
    )
    src = x._n.dtype

    def scan(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        return _declared(func(_result(blocks[0], src), axis=ax, dtype=_dtypes.to_numpy(dt)), dt)

    def carry(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        return _declared(binop(blocks[0], blocks[1]), dt)

    return Array(_native.cumreduction(scan, carry, x._n, ax, dt, _name(func, None)))
