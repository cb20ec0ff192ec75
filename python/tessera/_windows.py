"""``sliding_window_view`` (NumPy's and dask's ``lib.stride_tricks`` name): the engine's
window view, one per windowed axis. Nothing is copied: a consumer reads each window
element through a strided view of the input block and its ``window - 1`` next values, so
a reduction over the window axis (xarray's ``rolling``) never holds the windows."""

from __future__ import annotations

import operator
from typing import Any

from ._array import Array
from ._creation import asarray


def _one_axis(x: Array, w: int, ax: int) -> Array:
    count = x.shape[ax] - w + 1
    # Regular output chunks of the input's largest block along the axis (a padded
    # input's thin edge blocks do not survive; Zarr needs regular chunks).
    c = max(x.chunks[ax])
    sizes = [c] * (count // c) + ([count % c] if count % c else [])
    return Array(x._n.sliding_window(ax, w, sizes))


def sliding_window_view(
    x: Any, window_shape: Any, axis: Any = None, *, subok: bool = False, writeable: bool = False, **kwargs: Any
) -> Array:
    """Windows of ``window_shape`` along ``axis`` as trailing dimensions (NumPy's rule;
    a read-only result, as NumPy's default).

    >>> import numpy as np, tessera as da
    >>> x = da.from_array(np.arange(5.0), chunks=2)
    >>> da.lib.stride_tricks.sliding_window_view(x, 3).sum(axis=-1).compute()
    array([3., 6., 9.])
    """
    a = asarray(x)
    shape_w = [operator.index(w) for w in (window_shape if isinstance(window_shape, (tuple, list)) else [window_shape])]
    if axis is None:
        if len(shape_w) != a.ndim:
            raise ValueError(
                f"sliding_window_view: window_shape {tuple(shape_w)} needs one entry per axis of {a.shape} when axis is None"
            )
        axes = list(range(a.ndim))
    else:
        axes = [operator.index(v) for v in (axis if isinstance(axis, (tuple, list)) else [axis])]
        if len(axes) != len(shape_w):
            raise ValueError(f"sliding_window_view: {len(shape_w)} window sizes for {len(axes)} axes")
    out = a
    for w, ax in zip(shape_w, axes):
        if not -a.ndim <= ax < a.ndim:
            raise ValueError(f"sliding_window_view: axis {ax} is out of range for {a.ndim} dimensions")
        ax %= a.ndim
        if w < 1 or w > out.shape[ax]:
            raise ValueError(f"sliding_window_view: window {w} must be between 1 and the length of axis {ax} ({out.shape[ax]})")
        out = _one_axis(out, w, ax)
    return out
