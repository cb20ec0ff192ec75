"""Writing arrays: ``.npy``, Zarr, and dask's ``store`` into any array-like target."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from ._array import Array, _compute_kw, _result


def to_npy(x: Array, path: Any, **kwargs: Any) -> None:
    """Writes ``x`` to a ``.npy`` file block by block (it appears only once complete)."""
    cfg, progress = _compute_kw(kwargs, "to_npy")
    x._n.to_npy(os.fspath(path), cfg, progress)


def to_zarr(
    arr: Array,
    url: Any,
    component: str | None = None,
    storage_options: Any = None,
    overwrite: bool = False,
    region: Any = None,
    compute: bool = True,
    return_stored: bool = False,
    zarr_format: int = 3,
    codec: str = "zstd",
    level: int | None = None,
    **kwargs: Any,
) -> Any:
    """Writes ``arr`` as a Zarr array (v3 by default, zstd) at ``url``, each block by the
    task that made it; an existing array of the same shape is written into (wholly old or
    wholly new), ``overwrite=True`` replaces any array there."""
    if not isinstance(arr, Array):
        from ._creation import asarray

        arr = asarray(arr)
    if storage_options or region is not None:
        raise ValueError("to_zarr: storage_options and region are not supported; Tessera writes whole local arrays")
    if not compute or return_stored:
        raise ValueError("to_zarr(compute=False / return_stored=True): Tessera writes at once; call it when you want the write")
    path = os.fspath(url)
    if component:
        path = os.path.join(path, component)
        # A component is an array inside a group: its parent folders are the group.
        os.makedirs(os.path.dirname(path), exist_ok=True)
    cfg, progress = _compute_kw(kwargs, "to_zarr")
    arr._n.to_zarr(path, bool(overwrite), int(zarr_format), codec, level, None, cfg, progress)
    return None


def store(
    sources: Any,
    targets: Any,
    lock: Any = True,
    regions: Any = None,
    compute: bool = True,
    return_stored: bool = False,
    flush: bool = False,
    **kwargs: Any,
) -> Any:
    """Stores arrays into targets (dask's ``store``): a path (a Zarr array is written
    block by block by the engine) or an object with ``__setitem__`` (a NumPy,
    zarr-python or h5py array, a region of one), which gets each block assigned as soon
    as it is computed and then dropped, so a source larger than memory streams through.
    All sources are computed in one shared graph. ``lock``: ``True`` serialises the
    assignments (blocks that share a target chunk), a lock object is held around each,
    ``False``/``None`` lets them run concurrently. ``flush`` is accepted for xarray."""
    single = isinstance(sources, Array)
    srcs = [sources] if single else list(sources)
    tgts = [targets] if single else list(targets)
    if len(srcs) != len(tgts):
        raise ValueError(f"store: {len(srcs)} sources but {len(tgts)} targets")
    if not compute or return_stored:
        raise ValueError("store(compute=False / return_stored=True) is not supported; Tessera stores at once")
    regs = [None] * len(srcs) if regions is None else ([regions] if single else list(regions))
    if len(regs) != len(srcs):
        raise ValueError(f"store: {len(srcs)} sources but {len(regs)} regions")
    guard = threading.Lock() if lock is True else (lock if hasattr(lock, "__enter__") else None)
    writes: list[Array] = []
    for s, t, r in zip(srcs, tgts, regs):
        if not isinstance(s, Array):
            from ._creation import asarray

            s = asarray(s)
        if isinstance(t, (str, os.PathLike)):
            to_zarr(s, t, overwrite=True, **kwargs)
            continue
        writes.append(_writer(s, t, r, guard))
    if writes:
        from .routines import compute as _compute

        _compute(*writes, **kwargs)
    return None


def _writer(s: Array, t: Any, region: Any, guard: Any) -> Array:
    """An array of one element per block of ``s`` whose computing writes that block into
    ``t`` (at ``region``'s offset): the writes are tasks, so blocks stream to the target."""
    from . import _native

    tshape = tuple(getattr(t, "shape", ()))
    if region is None and tshape != s.shape:
        raise ValueError(
            f"store: source shape {s.shape} and target shape {tshape} differ; pass regions= to write into part of it"
        )
    region = tuple(region) if isinstance(region, (tuple, list)) else ((region,) if region is not None else ())
    offs = []
    for ax in range(s.ndim):
        r = region[ax] if ax < len(region) else slice(None)
        if isinstance(r, slice):
            start, stop, step = r.indices(tshape[ax]) if ax < len(tshape) else (r.start or 0, None, 1)
            if step != 1 or (stop is not None and stop - start != s.shape[ax]):
                raise ValueError(f"store: region {r} on axis {ax} does not hold the source's {s.shape[ax]} elements")
            offs.append(start)
        else:
            raise ValueError(f"store: regions are slices per axis, not {r!r}")

    def write(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        (inp,) = info["inputs"]
        sl = tuple(slice(a + o, b + o) for (a, b), o in zip(inp["location"], offs))
        value = _result(blocks[0], s._n.dtype)
        if guard is None:
            t[sl] = value
        else:
            with guard:
                t[sl] = value
        return np.zeros((1,) * s.ndim, dtype=bool)

    ones = [[1] * len(c) for c in s.chunks]
    return Array(_native.map_blocks(write, [s._n], "bool", ones, [], [], "store"))
