"""``sliding_window_view`` (NumPy's and dask's ``lib.stride_tricks`` name) as one engine
``map_overlap`` per windowed axis: each block is read with the ``window - 1`` values
after it (its halo) and gives the windows that start in it, a new trailing axis of
window positions. Lazy and chunked; what xarray's ``rolling`` builds its windows with."""

from __future__ import annotations

import operator
from itertools import accumulate
from typing import Any

import numpy as np

from . import _native
from ._array import Array
from ._creation import asarray


def _one_axis(x: Array, w: int, ax: int) -> Array:
    n = x.shape[ax]
    count = n - w + 1
    # The output is chunked regularly by the input's largest block along the axis (a
    # padded input's thin edge blocks do not survive; Zarr needs regular chunks): each
    # input block holds the windows that start in it, the last one also the w - 1
    # values its windows run into.
    c = max(x.chunks[ax])
    out_sizes = [c] * (count // c) + ([count % c] if count % c else [])
    sizes = out_sizes[:-1] + [out_sizes[-1] + w - 1]
    if tuple(sizes) != x.chunks[ax]:
        x = x.rechunk({ax: tuple(sizes)})
    starts = [0, *accumulate(sizes)][:-1]
    depth = [w - 1 if k == ax else 0 for k in range(x.ndim)]
    out_chunks = [list(c) for c in x.chunks] + [[w]]
    out_chunks[ax] = out_sizes
    dtype = x._n.dtype

    def windows(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        ext = blocks[0]
        i = info["block"][ax]
        off = starts[i] - info["inputs"][0]["location"][ax][0]
        n_out = out_sizes[i]
        shape = list(ext.shape)
        shape[ax] = n_out
        r = np.empty(shape + [w], dtype=ext.dtype)
        # One window offset at a time: each reads a contiguous shifted slice (copying
        # NumPy's strided window view gathers across the 4 MB strides of the time axis,
        # several times slower).
        for k in range(w):
            src = [slice(None)] * ext.ndim
            src[ax] = slice(off + k, off + k + n_out)
            r[..., k] = ext[tuple(src)]
        return r

    return Array(
        _native.map_overlap(windows, [x._n], depth, "none", None, False, dtype, "sliding_window_view", out_chunks, [x.ndim])
    )


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
