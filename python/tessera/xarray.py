"""Tessera under xarray: the ``tessera`` chunk manager (xarray's ``ChunkManagerEntrypoint``,
registered by the ``xarray.chunkmanagers`` entry point).

>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset({"t": (("time", "x"), np.arange(12.0).reshape(4, 3))})
>>> tds = ds.chunk({"time": 2}, chunked_array_type="tessera")
>>> type(tds.t.data).__module__
'tessera._array'
>>> float((tds.t - tds.t.mean("time")).max())
4.5

Each method maps xarray's call onto the engine's own operation (``from_array`` reads
lazily block by block, ``store`` streams blocks into the target, reductions, scans,
``map_blocks``, ``blockwise`` and ``apply_gufunc`` are the engine's): nothing is
computed into NumPy behind the caller's back. This module is names and argument
parsing only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

from . import _dtypes, _native
from ._array import Array
from ._chunks import normalize
from ._creation import from_array
from ._custom import apply_gufunc, blockwise, map_blocks
from ._custom_reduce import cumreduction, reduction
from ._io import store
from ._sorting import take
from .routines import compute, persist


def _auto_multiples(
    chunks: tuple[Any, ...], shape: tuple[int, ...], itemsize: int, previous: Sequence[Any], limit: int
) -> tuple[Any, ...]:
    """``"auto"`` axes as whole multiples of ``previous`` (the stored chunks), grown
    together until a block reaches ``limit`` bytes, as dask does for Zarr data: a block
    never splits a stored chunk."""
    autos = [ax for ax, c in enumerate(chunks) if c == "auto"]
    fixed = 1
    base = {}
    for ax, c in enumerate(chunks):
        if ax in autos:
            p = previous[ax]
            base[ax] = max(int(p if isinstance(p, int) else max(p, default=1)), 1)
        elif isinstance(c, int) and c > 0:
            fixed *= min(c, shape[ax]) or 1
        elif isinstance(c, (tuple, list)):
            fixed *= max(c, default=1) or 1
        else:
            fixed *= shape[ax] or 1
    budget = max(limit // max(itemsize, 1) // fixed, 1)
    grow = {ax: 1 for ax in autos}
    while True:
        progressed = False
        for ax in autos:
            if base[ax] * (grow[ax] + 1) > max(shape[ax], base[ax]):
                continue
            if math.prod(base[a] * grow[a] for a in autos) // grow[ax] * (grow[ax] + 1) > budget:
                continue
            grow[ax] += 1
            progressed = True
        if not progressed:
            break
    return tuple(min(base[ax] * grow[ax], shape[ax]) or 1 if ax in autos else c for ax, c in enumerate(chunks))


def _breakpoints(chunks: Sequence[int]) -> set[int]:
    out, at = set(), 0
    for c in chunks:
        at += c
        out.add(at)
    return out


class TesseraManager(ChunkManagerEntrypoint["Array"]):
    """xarray's chunk manager for Tessera arrays (``chunked_array_type="tessera"``)."""

    available: bool = True

    def __init__(self) -> None:
        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, Array)

    def chunks(self, data: Array) -> tuple[tuple[int, ...], ...]:
        return data.chunks

    def normalize_chunks(
        self,
        chunks: Any,
        shape: tuple[int, ...] | None = None,
        limit: int | None = None,
        dtype: Any = None,
        previous_chunks: Any = None,
    ) -> tuple[tuple[int, ...], ...]:
        """dask's ``normalize_chunks``: ints, ``-1``/``None`` (whole axis), tuples,
        ``"auto"`` (in multiples of ``previous_chunks`` where given), byte sizes."""
        if shape is None:
            if isinstance(chunks, (tuple, list)) and all(isinstance(c, (tuple, list)) for c in chunks):
                return tuple(tuple(int(v) for v in c) for c in chunks)
            raise ValueError(f"normalize_chunks: chunks={chunks!r} needs shape= to be resolved")
        shape = tuple(int(s) for s in shape)
        dt = np.dtype(dtype if dtype is not None else "f8")
        if isinstance(chunks, dict):
            chunks = tuple(chunks.get(ax, chunks.get(ax - len(shape), -1)) for ax in range(len(shape)))
        if isinstance(chunks, str) and chunks == "auto":
            chunks = ("auto",) * len(shape)
        if isinstance(chunks, (tuple, list)) and previous_chunks is not None and "auto" in chunks:
            chunks = _auto_multiples(tuple(chunks), shape, dt.itemsize, previous_chunks, limit or self.get_auto_chunk_size())
        name = dt.name if dt.name in _dtypes.NAMES else "float64"
        spec = normalize(chunks, shape, auto=lambda: _native.full(list(shape), 0, "auto", name).chunks)
        if isinstance(spec, list) and all(isinstance(c, list) for c in spec):
            return tuple(tuple(c) for c in spec)
        # Ints and byte sizes: the engine resolves them as it would for an array.
        return tuple(tuple(c) for c in _native.full(list(shape), 0, spec, name).chunks)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Array:
        kw = {k: v for k, v in kwargs.items() if k in ("name", "lock", "getitem")}
        try:
            return from_array(data, chunks=chunks, **kw)
        except TypeError as e:
            if "is not one Tessera has" not in str(e):
                raise
            # Typically time bounds (datetime64) or strings beside the numeric data.
            raise TypeError(
                f"{e.args[0].split(';')[0]}, so an xarray variable of dtype {np.dtype(data.dtype)} cannot be "
                "a Tessera array: open the dataset with drop_variables=[its name] (and load it apart), "
                "or decode_times=False for times (they stay numbers), or chunk only the numeric variables"
            ) from None

    def rechunk(self, data: Array, chunks: Any, **kwargs: Any) -> Array:
        if isinstance(chunks, dict):
            chunks = {int(k): v for k, v in chunks.items()}
        return data.rechunk(chunks)

    def compute(self, *data: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        return compute(*data, **kwargs)

    def persist(self, *data: Any, **kwargs: Any) -> tuple[Array, ...]:
        return persist(*data, **kwargs)

    @property
    def array_api(self) -> Any:
        import tessera

        return tessera

    def reduction(
        self,
        arr: Array,
        func: Callable[..., Any],
        combine_func: Callable[..., Any] | None = None,
        aggregate_func: Callable[..., Any] | None = None,
        axis: Any = None,
        dtype: Any = None,
        keepdims: bool = False,
    ) -> Array:
        return reduction(
            arr,
            chunk=func,
            combine=combine_func,
            aggregate=aggregate_func if aggregate_func is not None else (combine_func or func),
            axis=axis,
            dtype=dtype,
            keepdims=keepdims,
        )

    def scan(
        self,
        func: Callable[..., Any],
        binop: Callable[..., Any],
        ident: float,
        arr: Array,
        axis: int | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> Array:
        return cumreduction(func, binop, ident, arr, axis=axis, dtype=dtype, **kwargs)

    def apply_gufunc(self, func: Callable[..., Any], signature: str, *args: Any, **kwargs: Any) -> Any:
        return apply_gufunc(func, signature, *args, **kwargs)

    def map_blocks(
        self,
        func: Callable[..., Any],
        *args: Any,
        dtype: Any = None,
        chunks: Any = None,
        drop_axis: Any = None,
        new_axis: Any = None,
        **kwargs: Any,
    ) -> Array:
        return map_blocks(func, *args, dtype=dtype, chunks=chunks, drop_axis=drop_axis, new_axis=new_axis, **kwargs)

    def blockwise(self, func: Callable[..., Any], out_ind: Iterable[Any], *args: Any, **kwargs: Any) -> Array:
        return blockwise(func, out_ind, *args, **kwargs)

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict[Any, tuple[int, ...]], list[Any]]:
        """dask's ``unify_chunks``: ``args`` alternate an array and its index; each index
        gets the common refinement of the chunks found on it (every block boundary of
        every array), and each array is rechunked to it (the engine's rechunk)."""
        pairs = list(zip(args[::2], args[1::2]))
        cuts: dict[Any, set[int]] = {}
        length: dict[Any, int] = {}
        for a, ind in pairs:
            if isinstance(a, Array) and ind is not None:
                for ax, i in enumerate(ind):
                    if a.shape[ax] == 1 and a.chunks[ax] == (1,):
                        continue  # broadcast: any chunking fits
                    cuts.setdefault(i, set()).update(_breakpoints(a.chunks[ax]))
                    length[i] = a.shape[ax]
        common: dict[Any, tuple[int, ...]] = {}
        for i, c in cuts.items():
            edges = sorted(c | {0})
            common[i] = tuple(b - a for a, b in zip(edges, edges[1:])) or (length[i],)
        out = []
        for a, ind in pairs:
            if isinstance(a, Array) and ind is not None:
                want = tuple(common.get(i, a.chunks[ax]) if a.shape[ax] != 1 else a.chunks[ax] for ax, i in enumerate(ind))
                out.append(a if want == a.chunks else a.rechunk(want))
            else:
                out.append(a)
        return common, out

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        return store(sources, targets, **kwargs)

    def shuffle(self, x: Array, indexer: list[list[int]], axis: int, chunks: Any) -> Array:
        """Groups made contiguous along ``axis`` (xarray's ``groupby(..., shuffle)``):
        the engine's ``take`` of the groups in order, one group per block."""
        if chunks not in (None, "auto"):
            raise NotImplementedError("shuffle: only chunks='auto' is supported, as in xarray's dask manager")
        flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in indexer]) if indexer else np.zeros(0, np.int64)
        y = take(x, flat, axis=axis)
        sizes = tuple(len(g) for g in indexer if len(g)) or (0,)
        return y.rechunk({axis: sizes})

    def get_auto_chunk_size(self) -> int:
        return int(_native.AUTO_CHUNK_BYTES)
