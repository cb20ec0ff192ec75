"""Creation functions with dask.array's signatures and defaults."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from . import _dtypes, _native
from ._array import Array, _auto_chunks, from_numpy
from ._chunks import normalize


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (tuple, list)):
        out = tuple(operator.index(s) for s in shape)
    else:
        out = (operator.index(shape),)
    if any(s < 0 for s in out):
        raise ValueError(f"shape {out}: negative dimensions are not allowed")
    return out


def _chunks(chunks: Any, shape: tuple[int, ...], dtype: str) -> Any:
    return normalize(chunks, shape, auto=lambda: _auto_chunks(shape, dtype))


def from_array(
    x: Any,
    chunks: Any = "auto",
    name: Any = None,
    lock: bool = False,
    asarray: Any = None,
    fancy: bool = True,
    getitem: Any = None,
    meta: Any = None,
    inline_array: bool = False,
) -> Array:
    """A Tessera array from a NumPy array (copied in), a list, or any array-like with
    ``shape``, ``dtype`` and ``__getitem__`` (zarr-python, h5py, xarray's lazily indexed
    backend arrays, a ``np.memmap``): those are read lazily, one ``x[block's slices]``
    per block at compute time (``getitem(x, slices)`` if given; ``lock=True`` or a lock
    object serialises the reads), never whole, as dask's ``from_array`` does. Under a
    memory limit a block may be read again rather than spilled to disk (``x - x.mean()``
    reads ``x`` twice), so reads must return the same data each time. Another Tessera
    array is rechunked.

    >>> import numpy as np, tessera as da
    >>> class Lazy:  # any sliceable array-like
    ...     shape, dtype = (6,), np.dtype("f8")
    ...     def __getitem__(self, sl):
    ...         return np.arange(6.0)[sl]
    >>> float(da.from_array(Lazy(), chunks=4).sum().compute())
    15.0
    """
    if isinstance(x, Array):
        return x if chunks == "auto" else x.rechunk(chunks)
    if _lazily_read(x):
        return _from_sliceable(x, chunks, name, getitem, lock)
    return from_numpy(x, chunks)


def _lazily_read(x: Any) -> bool:
    """Whether ``from_array`` reads ``x`` block by block: an array-like that slices, not
    an in-memory NumPy array (a memmap is a file: read lazily)."""
    if isinstance(x, np.ndarray):
        return isinstance(x, np.memmap)
    return all(hasattr(x, a) for a in ("shape", "dtype", "__getitem__")) and not isinstance(x, (list, tuple, str, bytes))


def _from_sliceable(x: Any, chunks: Any, name: Any, getitem: Any, lock: Any) -> Array:
    import threading

    from ._custom import _declared

    shape = tuple(int(s) for s in x.shape)
    dtype = _dtypes.name_of(np.dtype(x.dtype))
    plain = getitem if getitem is not None else (lambda a, sl: a[sl])
    # dask's lock=: True serialises the reads (a source that is not thread-safe, such
    # as netCDF through HDF5), a lock object is held around each.
    guard = threading.Lock() if lock is True else (lock if hasattr(lock, "__enter__") else None)

    def get(a: Any, sl: Any) -> Any:
        if guard is None:
            return plain(a, sl)
        with guard:
            return plain(a, sl)

    def read(_blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        sl = tuple(slice(s, e) for s, e in info["location"])
        return _declared(np.asarray(get(x, sl)).reshape([e - s for s, e in info["location"]]), dtype)

    label = str(name) if isinstance(name, str) else f"from_array-{type(x).__name__}"
    return Array(_native.from_blocks(read, list(shape), _chunks(chunks, shape, dtype), dtype, label))


def asarray(
    a: Any,
    allow_unknown_chunksizes: bool = False,
    dtype: Any = None,
    order: Any = None,
    *,
    like: Any = None,
    chunks: Any = "auto",
    **kwargs: Any,
) -> Array:
    if isinstance(a, Array):
        return a if dtype is None else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(v, Array) for v in a):
        from .routines import stack

        return stack([asarray(v) for v in a])
    x = np.asarray(a, dtype=dtype) if dtype is not None else np.asarray(a)
    return from_numpy(x, chunks)


asanyarray = asarray
array = asarray


def full(shape: Any, fill_value: Any, *, dtype: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    shape = _shape(shape)
    if isinstance(fill_value, (np.generic, np.ndarray)):
        if np.ndim(fill_value) != 0:
            raise ValueError(f"fill_value must be a scalar, got an array of shape {np.shape(fill_value)}")
        if dtype is None:
            dtype = np.asarray(fill_value).dtype
        fill_value = fill_value.item()
    name = None if dtype is None else _dtypes.name_of(dtype)
    if name is None:
        name = "bool" if isinstance(fill_value, bool) else "int64" if isinstance(fill_value, int) else "float64"
    return Array(_native.full(list(shape), fill_value, _chunks(chunks, shape, name), name))


def zeros(shape: Any, dtype: Any = float, order: str = "C", *, chunks: Any = "auto", **kwargs: Any) -> Array:
    return full(shape, 0, dtype=dtype, chunks=chunks)


def ones(shape: Any, dtype: Any = float, order: str = "C", *, chunks: Any = "auto", **kwargs: Any) -> Array:
    return full(shape, 1, dtype=dtype, chunks=chunks)


def empty(shape: Any, dtype: Any = float, order: str = "C", *, chunks: Any = "auto", **kwargs: Any) -> Array:
    """Like dask's ``empty``, but filled with zeros (a fill costs nothing extra)."""
    return zeros(shape, dtype=dtype, chunks=chunks)


def _like(a: Any, shape: Any, dtype: Any, chunks: Any) -> tuple[Any, Any, Any]:
    shape = a.shape if shape is None else shape
    dtype = a.dtype if dtype is None else dtype
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and tuple(shape) == a.shape else "auto"
    return shape, dtype, chunks


def zeros_like(a: Any, dtype: Any = None, order: str = "C", chunks: Any = None, name: Any = None, shape: Any = None) -> Array:
    s, d, c = _like(a, shape, dtype, chunks)
    return zeros(s, dtype=d, chunks=c)


def ones_like(a: Any, dtype: Any = None, order: str = "C", chunks: Any = None, name: Any = None, shape: Any = None) -> Array:
    s, d, c = _like(a, shape, dtype, chunks)
    return ones(s, dtype=d, chunks=c)


def empty_like(a: Any, dtype: Any = None, order: str = "C", chunks: Any = None, name: Any = None, shape: Any = None) -> Array:
    return zeros_like(a, dtype=dtype, chunks=chunks, shape=shape)


def full_like(
    a: Any, fill_value: Any, order: str = "C", dtype: Any = None, chunks: Any = None, name: Any = None, shape: Any = None
) -> Array:
    s, d, c = _like(a, shape, dtype, chunks)
    return full(s, fill_value, dtype=d, chunks=c)


def arange(*args: Any, chunks: Any = "auto", like: Any = None, dtype: Any = None, **kwargs: Any) -> Array:
    """``arange([start,] stop[, step])`` with NumPy's result dtype (int64 for ints)."""
    if "start" in kwargs or "stop" in kwargs or "step" in kwargs:
        start = kwargs.pop("start", 0)
        stop = kwargs.pop("stop", None)
        step = kwargs.pop("step", 1)
        args = (start, stop, step) if stop is not None else (start,)
    if kwargs:
        raise TypeError(f"arange() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    elif len(args) == 2:
        (start, stop), step = args, 1
    elif len(args) == 3:
        start, stop, step = args
    else:
        raise TypeError(f"arange takes 1 to 3 positional arguments ([start,] stop[, step]), got {len(args)}")
    for v in (start, stop, step):
        if isinstance(v, complex):
            raise TypeError("arange: complex bounds are not supported")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    natural = np.result_type(
        *(
            np.asarray(v) if not isinstance(v, (int, float)) else (np.int64 if isinstance(v, int) else np.float64)
            for v in (start, stop, step)
        )
    )
    name = _dtypes.name_of(dtype if dtype is not None else natural)
    n = max(0, int(np.ceil((stop - start) / step)))
    a = Array(_native.arange(float(start), float(stop), float(step), _chunks(chunks, (n,), name)))
    return a if name == "float64" else a.astype(name)


def linspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False, chunks: Any = "auto", dtype: Any = None
) -> Any:
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: num={num} must be non-negative")
    name = _dtypes.name_of(dtype) if dtype is not None else "float64"
    a = Array(_native.linspace(float(start), float(stop), num, bool(endpoint), _chunks(chunks, (num,), "float64")))
    if name != "float64":
        a = a.astype(name)
    if retstep:
        div = (num - 1) if endpoint else num
        return a, ((stop - start) / div if div > 0 else float("nan"))
    return a


def eye(N: int, chunks: Any = "auto", M: Any = None, k: int = 0, dtype: Any = float) -> Array:
    rows = operator.index(N)
    cols = rows if M is None else operator.index(M)
    name = _dtypes.name_of(dtype)
    a = Array(_native.eye(rows, cols, operator.index(k), _chunks(chunks, (rows, cols), name)))
    return a if name == "float64" else a.astype(name)


def from_npy(path: Any, chunks: Any = "auto") -> Array:
    """A ``.npy`` file, read block by block at compute time (any dtype Tessera has,
    either byte order, C or Fortran order)."""
    import os

    return Array(_native.from_npy(os.fspath(path), chunks if isinstance(chunks, (int, str)) else _npy_chunks(path, chunks)))


def _npy_chunks(path: Any, chunks: Any) -> Any:
    import os

    shape = np.load(os.fspath(path), mmap_mode="r").shape
    return normalize(chunks, shape)


def from_zarr(
    url: Any,
    component: str | None = None,
    storage_options: Any = None,
    chunks: Any = None,
    name: Any = None,
    inline_array: bool = False,
    **kwargs: Any,
) -> Array:
    """A Zarr v2 or v3 array on the local filesystem, in its stored chunks unless
    ``chunks`` is given."""
    import os

    path = os.fspath(url)
    if component:
        path = os.path.join(path, component)
    if storage_options:
        raise ValueError("from_zarr: storage_options (remote stores) are not supported; Tessera reads local Zarr")
    if chunks is None:
        return Array(_native.from_zarr(path))
    if isinstance(chunks, (tuple, list, dict)):
        shape = Array(_native.from_zarr(path)).shape
        chunks = normalize(chunks, shape)
    return Array(_native.from_zarr(path, chunks))
