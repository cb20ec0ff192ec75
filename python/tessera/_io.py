"""Writing arrays: ``.npy``, Zarr, and dask's ``store`` into any array-like target."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._array import Array, _compute_kw


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
    lock: bool = True,
    regions: Any = None,
    compute: bool = True,
    return_stored: bool = False,
    **kwargs: Any,
) -> Any:
    """Stores arrays into targets: a path (a Zarr array is written block by block) or an
    object with ``__setitem__`` (a NumPy, zarr-python or h5py array), which gets the
    computed blocks assigned region by region (all sources computed in one shared graph)."""
    single = isinstance(sources, Array)
    srcs = [sources] if single else list(sources)
    tgts = [targets] if single else list(targets)
    if len(srcs) != len(tgts):
        raise ValueError(f"store: {len(srcs)} sources but {len(tgts)} targets")
    if not compute or return_stored:
        raise ValueError("store(compute=False / return_stored=True) is not supported; Tessera stores at once")
    regs = [None] * len(srcs) if regions is None else ([regions] if single else list(regions))
    blocks: list[Array] = []
    places: list[tuple[Any, Any]] = []
    for s, t, r in zip(srcs, tgts, regs):
        if isinstance(t, (str, os.PathLike)):
            to_zarr(s, t, overwrite=True, **kwargs)
            continue
        if tuple(getattr(t, "shape", ())) != s.shape and r is None:
            raise ValueError(f"store: source shape {s.shape} and target shape {getattr(t, 'shape', None)} differ")
        offs = [0 if r is None else (r[i].start or 0) for i in range(s.ndim)]
        for idx in np.ndindex(*s.numblocks):
            sl = []
            for ax, b in enumerate(idx):
                start = sum(s.chunks[ax][:b]) + offs[ax]
                sl.append(slice(start, start + s.chunks[ax][b]))
            blocks.append(s.blocks[idx])
            places.append((t, tuple(sl)))
    if blocks:
        from .routines import compute as _compute

        for (t, sl), v in zip(places, _compute(*blocks, **kwargs)):
            t[sl] = v
    return None
