"""Your own functions per block: dask's ``map_blocks`` and ``map_overlap`` signatures over
the engine's (``_native.map_blocks``, ``_native.map_overlap``). This module parses
arguments and adapts the callable (``block_info=``, ``block_id=``, extra arguments, the
declared dtype); the engine plans the blocks, reads each one's region (halo included)
and runs the callable on its workers, taking the GIL only around the call."""

from __future__ import annotations

import inspect
import numbers
import operator
from typing import Any, Callable

import numpy as np

from . import _dtypes, _native
from ._array import Array, _result
from ._creation import asarray


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _axes(v: Any, ndim: int, what: str) -> list[int]:
    if v is None:
        return []
    axes = [operator.index(a) for a in (v if isinstance(v, (list, tuple)) else [v])]
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"map_blocks: {what}={v!r} has an axis out of range for {ndim} dimensions")
        out.append(a % ndim)
    return out


def _block_info(info: dict[str, Any], positions: list[int]) -> dict[Any, dict[str, Any]]:
    """dask's ``block_info``: one entry per array argument (keyed by its position among
    the arguments) and ``None`` for the output."""
    out: dict[Any, dict[str, Any]] = {}
    for pos, i in zip(positions, info["inputs"]):
        out[pos] = {
            "shape": i["shape"],
            "num-chunks": i["num_blocks"],
            "chunk-location": i["block"],
            "array-location": [tuple(r) for r in i["location"]],
        }
    out[None] = {
        "shape": info["shape"],
        "num-chunks": info["num_blocks"],
        "chunk-location": info["block"],
        "array-location": [tuple(r) for r in info["location"]],
        "chunk-shape": tuple(e - s for s, e in info["location"]),
        "dtype": _dtypes.to_numpy(info["dtype"]),
    }
    return out


def _adapt(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], dtype: str
) -> tuple[Callable[..., Any], list[Array]]:
    """The engine's ``(blocks, info) -> ndarray`` from the user's ``func(*args, **kwargs)``
    where the Tessera arrays among ``args`` become their blocks."""
    positions = [k for k, a in enumerate(args) if isinstance(a, Array)]
    arrays = [args[k] for k in positions]
    wants_info = _accepts(func, "block_info")
    wants_id = _accepts(func, "block_id")

    def call(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        full = list(args)
        for k, b, a in zip(positions, blocks, arrays):
            full[k] = _result(b, a._n.dtype)
        kw = dict(kwargs)
        if wants_info:
            kw["block_info"] = _block_info(info, positions)
        if wants_id:
            kw["block_id"] = tuple(info["block"])
        return _declared(func(*full, **kw), dtype)

    return call, arrays


def _declared(r: Any, dtype: str) -> np.ndarray:
    """A block returned by a user function, in the engine's form of the declared dtype."""
    if isinstance(r, Array):
        # Computing it here would wait on the very workers running this function.
        raise TypeError(
            "the function returned a lazy Tessera array; a block function must return NumPy "
            "(it is called with NumPy blocks: use NumPy or the array's own methods inside it)"
        )
    r = np.asarray(r)
    out_dtype = _dtypes.to_numpy(dtype)
    if r.dtype != out_dtype:
        # The declared dtype holds: a same-kind cast (float64 to a declared float32),
        # never a silent float-to-int truncation (that raises TypeError here).
        r = r.astype(out_dtype, casting="same_kind")
    if dtype == "bfloat16":
        r = r.view(np.uint16)
    return r


def _infer_dtype(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], op: str) -> str:
    """dask's rule: run ``func`` on one-element arrays of the inputs' dtypes."""
    probe = [np.ones((1,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a for a in args]
    try:
        r = np.asarray(func(*probe, **kwargs))
    except Exception as e:
        raise ValueError(
            f"{op}: could not infer the output dtype by calling {getattr(func, '__name__', func)!r} on one-element arrays ({type(e).__name__}: {e}); pass dtype= (or meta=)"
        ) from e
    return _dtypes.name_of(r.dtype)


def _name(func: Callable[..., Any], name: Any) -> str:
    if name is not None:
        return str(name)
    return getattr(func, "__name__", type(func).__name__)


def map_blocks(
    func: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    token: str | None = None,
    dtype: Any = None,
    chunks: Any = None,
    drop_axis: Any = None,
    new_axis: Any = None,
    enforce_ndim: bool = False,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """``func`` on each block of the Tessera arrays among ``args`` (dask's
    ``map_blocks``): other arguments and ``kwargs`` go to every call unchanged; a
    ``block_info`` or ``block_id`` parameter of ``func`` receives dask's values.

    Arrays broadcast together (aligned from the last axis); ``chunks`` gives the output's
    blocks (an int per axis for every block, or the sizes), ``drop_axis`` axes are seen
    whole, ``new_axis`` axes are added with one block. Without ``dtype`` (or ``meta``)
    the output dtype is found by calling ``func`` on one-element arrays, as dask does.
    Each block must come back in the declared shape; its dtype is cast to the declared
    one by NumPy's ``same_kind`` rule (dask leaves a mismatch inconsistent instead).

    >>> import numpy as np, tessera as ts
    >>> x = ts.arange(6, chunks=3)
    >>> ts.map_blocks(lambda b: b * 10, x).compute()
    array([ 0, 10, 20, 30, 40, 50])
    """
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise ValueError(
            "map_blocks: no Tessera array among the arguments; pass at least one (tessera.asarray(x) for a NumPy one)"
        )
    if meta is not None and dtype is None:
        dtype = np.asarray(meta).dtype
    dt = _dtypes.name_of(dtype) if dtype is not None else _infer_dtype(func, args, kwargs, "map_blocks")
    ndim = max(a.ndim for a in arrays)
    drop = _axes(drop_axis, ndim, "drop_axis")
    out_ndim = ndim - len(drop) + (len(new_axis) if isinstance(new_axis, (list, tuple)) else int(new_axis is not None))
    new = _axes(new_axis, out_ndim, "new_axis")
    spec = None
    if chunks is not None:
        spec = [c if isinstance(c, numbers.Integral) else [operator.index(n) for n in c] for c in chunks]
        if len(spec) != out_ndim:
            raise ValueError(
                f"map_blocks: chunks={chunks!r} has {len(spec)} axes but the output has {out_ndim}; give one per output axis"
            )
    call, arrays = _adapt(func, args, kwargs, dt)
    return Array(_native.map_blocks(call, [a._n for a in arrays], dt, spec, drop, new, _name(func, name)))


def _depth(depth: Any, ndim: int) -> list[int]:
    if isinstance(depth, dict):
        d = [0] * ndim
        for k, v in depth.items():
            d[operator.index(k) % ndim] = operator.index(v)
    elif isinstance(depth, (list, tuple)):
        if len(depth) != ndim:
            raise ValueError(f"map_overlap: depth={depth!r} has {len(depth)} entries for {ndim} dimensions")
        d = []
        for v in depth:
            if isinstance(v, tuple):
                raise NotImplementedError(
                    "map_overlap: a different depth before and after is not supported; give one depth per axis"
                )
            d.append(operator.index(v))
    else:
        d = [operator.index(depth)] * ndim
    if any(v < 0 for v in d):
        raise ValueError(f"map_overlap: depth={depth!r} must not be negative")
    return d


def _boundary(boundary: Any, ndim: int) -> tuple[str, Any]:
    if isinstance(boundary, dict):
        kinds = {repr(boundary.get(k, "none")) for k in range(ndim)}
        if len(kinds) > 1:
            raise NotImplementedError("map_overlap: one boundary for every axis; a different one per axis is not supported yet")
        boundary = boundary.get(0, "none")
    if boundary is None:
        return "none", None
    if isinstance(boundary, str):
        if boundary not in ("none", "periodic", "reflect", "nearest"):
            raise ValueError(f"map_overlap: boundary={boundary!r} is not 'none', 'periodic', 'reflect', 'nearest' or a number")
        return boundary, None
    if isinstance(boundary, (numbers.Number, np.generic)):
        return "constant", boundary.item() if isinstance(boundary, np.generic) else boundary
    raise ValueError(f"map_overlap: boundary={boundary!r} is not 'none', 'periodic', 'reflect', 'nearest' or a number")


def map_overlap(
    func: Callable[..., Any],
    *args: Any,
    depth: Any = None,
    boundary: Any = None,
    trim: bool = True,
    align_arrays: bool = True,
    allow_rechunk: bool = True,
    name: str | None = None,
    dtype: Any = None,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """``func`` on each block with ``depth`` of its neighbours' values on each side
    (dask's ``map_overlap``): stencils, filters, rolling windows.

    The halo is read from the neighbouring blocks' regions (never a padded copy of the
    array; a depth deeper than a chunk spans several chunks, with no rechunk).
    ``boundary`` is what lies past the array's edges: ``"none"`` (dask's default: edge
    blocks get no halo there), ``"periodic"``, ``"reflect"`` (the edge value mirrored
    too), ``"nearest"`` or a constant. With ``trim`` the halo is cut off ``func``'s
    result, which must keep its input's shape.

    >>> import numpy as np, tessera as ts
    >>> x = ts.arange(8.0, chunks=3)
    >>> ts.map_overlap(lambda b: np.roll(b, 1) + b + np.roll(b, -1), x, depth=1, boundary="periodic").compute()
    array([ 8.,  3.,  6.,  9., 12., 15., 18., 13.])
    """
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise ValueError("map_overlap: no Tessera array among the arguments; pass at least one")
    ndim = arrays[0].ndim
    d = _depth(0 if depth is None else depth, ndim)
    kind, value = _boundary(boundary, ndim)
    if meta is not None and dtype is None:
        dtype = np.asarray(meta).dtype
    dt = _dtypes.name_of(dtype) if dtype is not None else _infer_dtype(func, args, kwargs, "map_overlap")
    call, arrays = _adapt(func, args, kwargs, dt)
    return Array(_native.map_overlap(call, [a._n for a in arrays], d, kind, value, trim, dt, _name(func, name)))


def apply_gufunc(
    func: Callable[..., Any],
    signature: str,
    *args: Any,
    axes: Any = None,
    axis: Any = None,
    keepdims: bool = False,
    output_dtypes: Any = None,
    output_sizes: dict[str, int] | None = None,
    vectorize: bool | None = None,
    allow_rechunk: bool = False,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """``func`` over the core dimensions of ``signature`` (``"(i),(i)->()"``), looped over
    the others, which broadcast together (dask's ``apply_gufunc``, one output).

    Core dimensions are made one chunk each (dask requires ``allow_rechunk=True`` for
    that; here it is always done, as a rechunk, never a silent wrong answer).
    ``vectorize=True`` wraps ``func`` in ``np.vectorize``; ``axis=`` moves the one core
    dimension of each input of a ``"(i)->()"``-like signature from there.

    >>> import numpy as np, tessera as ts
    >>> x = ts.ones((4, 3), chunks=2)
    >>> ts.apply_gufunc(lambda b: b.sum(-1), "(i)->()", x, output_dtypes="f8").compute()
    array([3., 3., 3., 3.])
    """
    if axes is not None or keepdims:
        raise NotImplementedError("apply_gufunc: axes= and keepdims= are not supported; moveaxis the core dimensions last first")
    if signature.partition("->")[2].count("(") > 1:
        raise NotImplementedError("apply_gufunc: one output only; call it once per output")
    arrays = [a if isinstance(a, Array) else asarray(a) for a in args]
    if axis is not None:
        from .routines import moveaxis

        arrays = [moveaxis(a, axis, -1) for a in arrays]
    if vectorize:
        otypes = (
            None
            if output_dtypes is None
            else [np.dtype(output_dtypes if not isinstance(output_dtypes, (list, tuple)) else output_dtypes[0])]
        )
        func = np.vectorize(func, signature=signature, otypes=otypes)
    if isinstance(output_dtypes, (list, tuple)):
        if len(output_dtypes) != 1:
            raise NotImplementedError("apply_gufunc: one output only; call it once per output")
        output_dtypes = output_dtypes[0]
    if meta is not None and output_dtypes is None:
        output_dtypes = np.asarray(meta).dtype
    dt = (
        _dtypes.name_of(output_dtypes) if output_dtypes is not None else _infer_dtype(func, tuple(arrays), kwargs, "apply_gufunc")
    )
    src = [a._n.dtype for a in arrays]

    def call(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        return _declared(func(*[_result(b, d) for b, d in zip(blocks, src)], **kwargs), dt)

    sizes = list((output_sizes or {}).items())
    return Array(_native.apply_gufunc(call, [a._n for a in arrays], signature, dt, sizes, _name(func, None)))


def blockwise(
    func: Callable[..., Any],
    out_ind: Any,
    *args: Any,
    name: str | None = None,
    token: str | None = None,
    dtype: Any = None,
    adjust_chunks: dict[Any, Any] | None = None,
    new_axes: dict[Any, int] | None = None,
    align_arrays: bool = True,
    concatenate: bool | None = None,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """``func`` on blocks matched by index (dask's ``blockwise``): ``args`` alternate an
    argument and its index (``x, "ij", y, "jk"``; ``None`` passes the argument as it is);
    output indices loop over blocks, indices only the arguments have are contracted
    (``func`` sees them whole: ``concatenate=True``, required when there are any; dask's
    lists of blocks are not built), ``new_axes`` adds indices of the given lengths, and
    ``adjust_chunks`` resizes an output index's blocks (an int, the sizes, or a function
    of each block's length).

    >>> import numpy as np, tessera as ts
    >>> x, y = ts.ones((4, 6), chunks=2), ts.ones((6, 3), chunks=3)
    >>> ts.blockwise(np.dot, "ik", x, "ij", y, "jk", dtype="f8", concatenate=True).compute()[0]
    array([6., 6., 6.])
    """
    if len(args) % 2:
        raise ValueError("blockwise: arguments come in pairs (array, index); give None as the index of a constant")
    pairs = [(args[k], args[k + 1]) for k in range(0, len(args), 2)]
    labels: dict[Any, str] = {}

    def label(i: Any) -> str:
        return labels.setdefault(i, f"i{len(labels)}")

    out = [label(i) for i in out_ind]
    arrays, indices, slots = [], [], []
    for k, (a, ind) in enumerate(pairs):
        if ind is None:
            continue
        a = a if isinstance(a, Array) else asarray(a)
        arrays.append(a)
        indices.append([label(i) for i in ind])
        slots.append(k)
    if not arrays:
        raise ValueError("blockwise: no array argument with an index")
    contracted = {i for ind in indices for i in ind} - set(out)
    if contracted and concatenate is not True:
        raise NotImplementedError(
            "blockwise: contracted indices need concatenate=True here (the function sees them whole); dask's lists of blocks are not supported"
        )
    probe_args = tuple(
        a if ind is None else np.ones((1,) * np.ndim(a), dtype=np.asarray(a).dtype if not isinstance(a, Array) else a.dtype)
        for a, ind in pairs
    )
    if meta is not None and dtype is None:
        dtype = np.asarray(meta).dtype
    dt = _dtypes.name_of(dtype) if dtype is not None else _infer_dtype(func, probe_args, kwargs, "blockwise")
    adjust = []
    for i, c in (adjust_chunks or {}).items():
        if callable(c):
            a, ind = next((a, ind) for a, ind in zip(arrays, indices) if label(i) in ind)
            c = [int(c(n)) for n in a.chunks[ind.index(label(i))]]
        adjust.append((label(i), c if isinstance(c, int) else [operator.index(n) for n in c]))
    sizes = [(label(i), operator.index(n)) for i, n in (new_axes or {}).items()]
    src = [a._n.dtype for a in arrays]

    def call(blocks: list[np.ndarray], info: dict[str, Any]) -> np.ndarray:
        full = [a for a, _ in pairs]
        for k, b, d in zip(slots, blocks, src):
            full[k] = _result(b, d)
        return _declared(func(*full, **kwargs), dt)

    return Array(_native.blockwise(call, out, [a._n for a in arrays], indices, dt, sizes, adjust, _name(func, name)))


def map_blocks_kernel(
    source: str | None,
    *args: Any,
    cuda: str | None = None,
    entry: str = "main",
    dtype: Any = None,
    cpu: Callable[..., Any] | None = None,
    depth: Any = None,
    boundary: Any = None,
    trim: bool = True,
    name: str | None = None,
) -> Array:
    """Your own WGSL kernel (``source``) on each block, run on a wgpu device (compiled
    once, cached), and its CUDA C form (``cuda=``, ``extern "C" __global__ void
    ENTRY(const int* dims, T* out, const T* in0, ...)``, grid-stride over ``dims[0]``) on
    a CUDA device; ``cpu`` (a ``map_blocks``/``map_overlap``-style function) runs where
    no device takes it, and without one that is an error saying so. With ``depth`` each input block
    arrives with its halo (``boundary`` as in ``map_overlap``) and the kernel writes the
    trimmed block itself. The bindings (group 0): ``dims: array<i32>`` at 0
    (``[total, ndim, out_shape..., halo_before..., in0_shape..., ...]``), the output at 1,
    the inputs at 2, 3, ...; ``@workgroup_size(256)``, element ``gid.x + gid.y * 256 *
    nwg.x``.
    """
    arrays = [a if isinstance(a, Array) else asarray(a) for a in args]
    if not arrays:
        raise ValueError("map_blocks_kernel: no array argument")
    dt = _dtypes.name_of(dtype) if dtype is not None else arrays[0]._n.dtype
    nm = name or entry
    fn = None
    if cpu is not None:
        fn, _ = _adapt(cpu, tuple(arrays), {}, dt)
    d, kind, value = None, "none", None
    if depth is not None:
        d = _depth(depth, arrays[0].ndim)
        kind, value = _boundary(boundary, arrays[0].ndim)
    return Array(_native.map_blocks_kernel(source, cuda, entry, fn, [a._n for a in arrays], dt, d, kind, value, trim, nm))
