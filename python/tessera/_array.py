"""The lazy array type: dask.array's ``Array`` names and NumPy's protocols over the
engine's array (``tessera._native.Native``). Every computation is the engine's; this
class parses arguments and speaks Python's and NumPy's protocols."""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np

from . import _dtypes, _native, config, diagnostics
from ._chunks import normalize

Native = _native.Native


def _result(a: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bfloat16":
        bf = _dtypes.bfloat16()
        if bf is not None:
            return a.view(bf)
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a


def _compute_kw(kwargs: dict[str, Any], where: str) -> tuple[dict[str, Any], Any]:
    kw = dict(kwargs)
    kw.pop("optimize_graph", None)
    kw.pop("traverse", None)
    return config.merged(kw, where), diagnostics.callback()


def from_numpy(x: Any, chunks: Any = "auto") -> Array:
    """A NumPy array (any layout, byte order or read-only state) as a Tessera array."""
    a, bits = _dtypes.native_input(x)
    c = normalize(chunks, a.shape, auto=lambda: _auto_chunks(a.shape, a.dtype.name if not bits else "bfloat16"))
    return Array(_native.from_numpy(a, c, bits))


def _auto_chunks(shape: tuple[int, ...], dtype: str) -> list[list[int]]:
    return _native.full(list(shape), 0, "auto", dtype).chunks


def _operand(v: Any, like: Any = None) -> Any:
    """The engine operand for a binary op's other side (whose array has dtype ``like``),
    or NotImplemented."""
    if isinstance(v, Array):
        return v._n
    if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
        # Past int64: only a uint64 array holds it (NEP 50 keeps the array's dtype).
        if like is not None and np.dtype(like) == np.uint64 and 0 <= v < 2**64:
            return from_numpy(np.uint64(v), chunks=-1)._n
        raise ValueError(
            f"the integer {v} is out of bounds for {np.dtype(like) if like is not None else 'int64'}; NumPy 2 refuses it too: use a wider dtype or a NumPy scalar of the value's own dtype"
        )
    if isinstance(v, (np.generic, np.ndarray)):
        # NumPy scalars and arrays keep their dtype (NEP 50: they are not weak; note
        # np.float64 is a Python float too, so this test comes first).
        return from_numpy(v, chunks=-1)._n
    if isinstance(v, (bool, int, float, complex)):
        return v
    if isinstance(v, (list, tuple)):
        return from_numpy(np.asarray(v), chunks=-1)._n
    if isinstance(v, numbers.Number):
        return complex(v) if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real) else float(v)
    return NotImplemented


def _binop(name: str, reflected: bool = False):
    def op(self: Array, other: Any) -> Any:
        o = _operand(other, self.dtype)
        if o is NotImplemented:
            return NotImplemented
        return Array(self._n.binary(name, o, reflected))

    op.__name__ = name
    return op


def _axes(axis: Any, ndim: int) -> list[int] | None:
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return [operator.index(a) for a in axis]
    return [operator.index(axis)]


class Array:
    """A lazy chunked n-dimensional array (dask.array's ``Array``).

    >>> import tessera as da
    >>> x = da.arange(1, 50, 3, chunks=5)
    >>> x.chunks
    ((5, 5, 5, 2),)
    >>> int(x.sum().compute())
    392
    """

    __slots__ = ("_n", "__weakref__")
    __array_priority__ = 11

    def __init__(self, native: Native) -> None:
        self._n = native

    # --- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._n.shape

    @property
    def dtype(self) -> Any:
        return _dtypes.to_numpy(self._n.dtype)

    @property
    def ndim(self) -> int:
        return len(self._n.shape)

    @property
    def size(self) -> int:
        return math.prod(self._n.shape)

    @property
    def nbytes(self) -> int:
        return self._n.nbytes

    @property
    def itemsize(self) -> int:
        return 2 if self._n.dtype == "bfloat16" else np.dtype(self._n.dtype).itemsize

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(c) for c in self._n.chunks)

    @property
    def chunksize(self) -> tuple[int, ...]:
        return tuple(max(c) if c else 0 for c in self._n.chunks)

    @property
    def numblocks(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self._n.chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def device(self) -> str:
        """Where the array's results are returned: the host (results are NumPy arrays,
        whichever device computes the chunks)."""
        return "cpu"

    def to_device(self, device: Any, /, *, stream: Any = None) -> Array:
        if device not in ("cpu", None):
            raise ValueError(
                f"to_device({device!r}): results always come back to the host ('cpu'); "
                "choose where chunks run with tessera.config.set(device=...)"
            )
        return self

    @property
    def T(self) -> Array:
        return self.transpose()

    @property
    def mT(self) -> Array:
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dimensions; the array has shape {self.shape}")
        return self.swapaxes(-1, -2)

    @property
    def blocks(self) -> _BlockView:
        """Index by block: ``x.blocks[0, 1]`` is the array of that block."""
        return _BlockView(self)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # --- conversion -----------------------------------------------------------------
    def compute(self, **kwargs: Any) -> np.ndarray:
        """Computes the array into a NumPy array. Keywords are compute settings (see
        ``tessera.config``): ``device``, ``scheduler``, ``host_memory_limit``, ``trace``..."""
        cfg, progress = _compute_kw(kwargs, "compute")
        return _result(self._n.compute(cfg, progress), self._n.dtype)

    def persist(self, **kwargs: Any) -> Array:
        """Computes the chunks once and returns an array backed by them (in memory while
        they fit under the limit, the rest spilled to disk)."""
        cfg, progress = _compute_kw(kwargs, "persist")
        return Array(self._n.persist(cfg, progress))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a Tessera array has to be computed to become a NumPy array, which copies")
        a = self.compute()
        return a if dtype is None else a.astype(dtype, copy=False)

    def _scalar(self, kind: type) -> Any:
        if self.size != 1:
            raise TypeError(f"only arrays of one element convert to a Python {kind.__name__}; this one has shape {self.shape}")
        if kind in (int, float) and self._n.dtype.startswith("complex"):
            # The standard's rule: a complex number has no one real value to give.
            raise TypeError(f"a {self._n.dtype} array does not convert to a Python {kind.__name__}; take .real or abs() first")
        return kind(self.compute().reshape(()).item())

    def __bool__(self) -> bool:
        return self._scalar(bool)

    def __int__(self) -> int:
        return self._scalar(int)

    def __float__(self) -> float:
        return self._scalar(float)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        if not (self._n.dtype == "bool" or "int" in self._n.dtype):
            raise TypeError(f"only integer arrays can be indices; this one has dtype {self._n.dtype}")
        return self._scalar(int)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None) -> Any:
        """Computes, then hands the NumPy result over by DLPack (no further copy)."""
        a = self.compute()
        if max_version is None:
            return a.__dlpack__()
        return a.__dlpack__(max_version=max_version)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU: results are host arrays

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        from . import array_api

        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
            raise ValueError(f"api_version={api_version!r}: tessera.array_api implements 2025.12")
        return array_api

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from ._numpy import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from ._numpy import array_function

        return array_function(func, types, args, kwargs)

    # --- operators ------------------------------------------------------------------
    __add__ = _binop("add")
    __radd__ = _binop("add", True)
    __sub__ = _binop("subtract")
    __rsub__ = _binop("subtract", True)
    __mul__ = _binop("multiply")
    __rmul__ = _binop("multiply", True)
    __truediv__ = _binop("divide")
    __rtruediv__ = _binop("divide", True)
    __pow__ = _binop("power")
    __rpow__ = _binop("power", True)
    __eq__ = _binop("equal")  # type: ignore[assignment]
    __ne__ = _binop("not_equal")  # type: ignore[assignment]
    __lt__ = _binop("less")
    __le__ = _binop("less_equal")
    __gt__ = _binop("greater")
    __ge__ = _binop("greater_equal")
    __hash__ = None  # type: ignore[assignment]

    __floordiv__ = _binop("floor_divide")
    __rfloordiv__ = _binop("floor_divide", True)
    __mod__ = _binop("remainder")
    __rmod__ = _binop("remainder", True)
    # Bitwise on integers, logical on booleans, as NumPy.
    __and__ = _binop("bitwise_and")
    __rand__ = _binop("bitwise_and", True)
    __or__ = _binop("bitwise_or")
    __ror__ = _binop("bitwise_or", True)
    __xor__ = _binop("bitwise_xor")
    __rxor__ = _binop("bitwise_xor", True)
    __lshift__ = _binop("bitwise_left_shift")
    __rlshift__ = _binop("bitwise_left_shift", True)
    __rshift__ = _binop("bitwise_right_shift")
    __rrshift__ = _binop("bitwise_right_shift", True)

    def __divmod__(self, other: Any) -> Any:
        q = self.__floordiv__(other)
        return NotImplemented if q is NotImplemented else (q, self.__mod__(other))

    def __rdivmod__(self, other: Any) -> Any:
        q = self.__rfloordiv__(other)
        return NotImplemented if q is NotImplemented else (q, self.__rmod__(other))

    def __invert__(self) -> Array:
        return Array(self._n.unary("bitwise_invert"))

    def __matmul__(self, other: Any) -> Any:
        o = _operand(other)
        if o is NotImplemented or not isinstance(o, Native):
            return NotImplemented
        return Array(self._n.matmul(o))

    def __rmatmul__(self, other: Any) -> Any:
        o = _operand(other)
        if o is NotImplemented or not isinstance(o, Native):
            return NotImplemented
        return Array(o.matmul(self._n))

    def __neg__(self) -> Array:
        return Array(self._n.unary("negative"))

    def __pos__(self) -> Array:
        return self

    def __abs__(self) -> Array:
        return Array(self._n.unary("absolute"))

    # In-place operators rebind (arrays are immutable), as in dask.
    __iadd__ = __add__
    __isub__ = __sub__
    __imul__ = __mul__
    __itruediv__ = __truediv__
    __ipow__ = __pow__
    __imatmul__ = __matmul__
    __iand__ = __and__
    __ior__ = __or__
    __ixor__ = __xor__
    __ilshift__ = __lshift__
    __irshift__ = __rshift__
    __ifloordiv__ = __floordiv__
    __imod__ = __mod__

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("Tessera arrays are immutable; build the new array instead (tessera.where(mask, value, x))")

    # --- indexing -------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Array:
        from ._indexing import getitem

        return getitem(self, key)

    # --- methods --------------------------------------------------------------------
    def astype(self, dtype: Any, casting: str = "unsafe", copy: bool = True) -> Array:
        return Array(self._n.astype(_dtypes.name_of(dtype)))

    def map_blocks(self, func: Any, *args: Any, **kwargs: Any) -> Array:
        """``tessera.map_blocks(func, self, *args, **kwargs)``."""
        from ._custom import map_blocks

        return map_blocks(func, self, *args, **kwargs)

    def map_overlap(self, func: Any, depth: Any, boundary: Any = None, trim: bool = True, **kwargs: Any) -> Array:
        """``tessera.map_overlap(func, self, depth=depth, boundary=boundary, trim=trim, **kwargs)``."""
        from ._custom import map_overlap

        return map_overlap(func, self, depth=depth, boundary=boundary, trim=trim, **kwargs)

    def rechunk(self, chunks: Any = "auto", threshold: Any = None, block_size_limit: Any = None, balance: bool = False) -> Array:
        c = normalize(chunks, self.shape, auto=lambda: _auto_chunks(self.shape, self._n.dtype), current=self.chunks)
        return Array(self._n.rechunk(c))

    def reshape(self, *shape: Any, merge_chunks: bool = True, limit: Any = None) -> Array:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Array(self._n.reshape([operator.index(s) for s in shape]))

    def transpose(self, *axes: Any) -> Array:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.ndim))[::-1]
        n = self.ndim
        perm = []
        for a in axes:
            a = operator.index(a)
            if not -n <= a < n:
                raise np.exceptions.AxisError(f"transpose: axis {a} is out of bounds for array of dimension {n}")
            perm.append(a % n)
        if sorted(perm) != list(range(n)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the {n} axes")
        return Array(self._n.permute(perm))

    def swapaxes(self, axis1: int, axis2: int) -> Array:
        return Array(self._n.swapaxes(operator.index(axis1), operator.index(axis2)))

    def squeeze(self, axis: Any = None) -> Array:
        return Array(self._n.squeeze(_axes(axis, self.ndim)))

    def ravel(self) -> Array:
        return self.reshape(-1)

    flatten = ravel

    def _reduce(
        self, op: str, axis: Any, keepdims: bool, dtype: Any = None, split_every: Any = None, ddof: int = 0, out: Any = None
    ) -> Array:
        if out is not None:
            raise TypeError(f"{op}(out=...): Tessera arrays are immutable; use the returned array")
        x = self if dtype is None else self.astype(dtype)
        if isinstance(split_every, dict):
            split_every = max(split_every.values()) if split_every else None
        r = Array(x._n.reduce(op, _axes(axis, self.ndim), bool(keepdims), int(ddof), split_every))
        if dtype is not None and op in ("sum", "prod") and r.dtype != x.dtype:
            # NumPy and the standard accumulate in the dtype asked for; the engine's
            # 64-bit accumulator wraps to the same bits.
            r = r.astype(x.dtype)
        return r

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None, *, method: str = "sequential") -> Array:
        """Running sum along axis (flattened when None), NumPy's bits for any chunking."""
        from .routines import cumsum

        return cumsum(self, axis, dtype, out)

    def cumprod(self, axis: Any = None, dtype: Any = None, out: Any = None, *, method: str = "sequential") -> Array:
        """Running product along axis (flattened when None)."""
        from .routines import cumprod

        return cumprod(self, axis, dtype, out)

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._reduce("sum", axis, keepdims, dtype, split_every, out=out)

    def prod(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None
    ) -> Array:
        return self._reduce("prod", axis, keepdims, dtype, split_every, out=out)

    def mean(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None
    ) -> Array:
        return self._reduce("mean", axis, keepdims, dtype, split_every, out=out)

    def var(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None
    ) -> Array:
        return self._reduce("var", axis, keepdims, dtype, split_every, _ddof(ddof), out=out)

    def std(
        self, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, split_every: Any = None, out: Any = None
    ) -> Array:
        return self._reduce("std", axis, keepdims, dtype, split_every, _ddof(ddof), out=out)

    def min(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._reduce("min", axis, keepdims, None, split_every, out=out)

    def max(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._reduce("max", axis, keepdims, None, split_every, out=out)

    def any(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._reduce("any", axis, keepdims, None, split_every, out=out)

    def all(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._reduce("all", axis, keepdims, None, split_every, out=out)

    def argmin(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._arg("argmin", axis, keepdims, split_every, out)

    def argmax(self, axis: Any = None, keepdims: bool = False, split_every: Any = None, out: Any = None) -> Array:
        return self._arg("argmax", axis, keepdims, split_every, out)

    def _arg(self, op: str, axis: Any, keepdims: bool, split_every: Any, out: Any) -> Array:
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"{op}: axis must be an int or None (one axis), not {axis!r}")
        if axis is None and self.ndim > 1:
            # NumPy's flat index: of the C-ordered array.
            r = Array(self._n.reshape([-1]))._reduce(op, 0, False, None, split_every, out=out)
            return r.reshape((1,) * self.ndim) if keepdims else r
        return self._reduce(op, axis, keepdims, None, split_every, out=out)

    def dot(self, other: Any) -> Array:
        o = _operand(other)
        if not isinstance(o, Native):
            raise TypeError(f"dot needs an array, got {type(other).__name__}")
        return Array(self._n.dot(o))

    def clip(self, min: Any = None, max: Any = None) -> Array:
        x = self
        if min is not None:
            x = Array(x._n.binary("maximum", _operand(min), False))
        if max is not None:
            x = Array(x._n.binary("minimum", _operand(max), False))
        return x

    @property
    def real(self) -> Array:
        """The real part (the array itself for real dtypes), as ``numpy.ndarray.real``."""
        return Array(self._n.unary("real"))

    @property
    def imag(self) -> Array:
        """The imaginary part (zeros for real dtypes), as ``numpy.ndarray.imag``."""
        return Array(self._n.unary("imag"))

    def conj(self) -> Array:
        """The complex conjugate (the array itself for real dtypes)."""
        return Array(self._n.unary("conj"))

    conjugate = conj

    def round(self, decimals: int = 0) -> Array:
        """Round half to even at ``decimals`` digits, as ``numpy.round``."""
        return Array(self._n.round(operator.index(decimals)))

    def copy(self) -> Array:
        return self

    # Immutable and lazy: a copy is the same array (xarray deep-copies its data).
    def __copy__(self) -> Array:
        return self

    def __deepcopy__(self, memo: Any) -> Array:
        return self

    def visualize(self, filename: str = "mydask", format: str | None = None, **kwargs: Any) -> Any:
        """Draws the task graph with Graphviz (``dot`` must be installed) to
        ``filename`` (``.png`` unless it or ``format`` says otherwise); in IPython returns
        the image to display."""
        import os

        root, ext = os.path.splitext(filename)
        fmt = format or (ext[1:] if ext else "png")
        path = filename if ext else f"{filename}.{fmt}"
        self._n.visualize(path)
        try:
            from IPython.display import SVG, Image

            return SVG(filename=path) if fmt == "svg" else Image(filename=path)
        except ImportError:
            return None

    def to_zarr(
        self, url: str, component: str | None = None, overwrite: bool = False, compute: bool = True, **kwargs: Any
    ) -> Any:
        from ._io import to_zarr

        return to_zarr(self, url, component=component, overwrite=overwrite, compute=compute, **kwargs)

    def to_npy(self, path: str, **kwargs: Any) -> None:
        from ._io import to_npy

        to_npy(self, path, **kwargs)

    def store(self, target: Any, **kwargs: Any) -> Any:
        from ._io import store

        return store(self, target, **kwargs)

    # --- display --------------------------------------------------------------------
    def _repr_inline_(self, max_width: int) -> str:
        """One line for xarray's Dataset repr (dask's form: the block shape and type)."""
        text = f"tessera.Array<chunksize={self.chunksize}, dtype={self._n.dtype}>"
        return text if len(text) <= max_width else text[: max(max_width - 3, 0)] + "..."

    def __repr__(self) -> str:
        return (
            f"tessera.Array<shape={self.shape}, dtype={self._n.dtype}, "
            f"chunksize={self.chunksize}, numblocks={self.numblocks}, chunktype=numpy.ndarray>"
        )

    def _repr_html_(self) -> str:
        from ._repr import html

        return html(self)


def _ddof(ddof: Any) -> int:
    d = operator.index(ddof) if not isinstance(ddof, float) or not ddof.is_integer() else int(ddof)
    if d < 0:
        raise ValueError(f"ddof={ddof}: must be 0 or more")
    return d


class _BlockView:
    """``x.blocks[i, j]``: the sub-array of whole blocks (ints, slices of block indices,
    one list of them per axis)."""

    def __init__(self, x: Array) -> None:
        self._x = x

    @property
    def shape(self) -> tuple[int, ...]:
        return self._x.numblocks

    @property
    def size(self) -> int:
        return self._x.npartitions

    def __getitem__(self, key: Any) -> Array:
        x = self._x
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > x.ndim:
            raise IndexError(f"blocks[{key}]: {len(key)} indices for {x.ndim} axes")
        key = key + (slice(None),) * (x.ndim - len(key))
        # A block picked by an int keeps its axis, as in dask.
        out = x
        for ax, (k, sizes) in enumerate(zip(key, x.chunks)):
            bounds = [0]
            for s in sizes:
                bounds.append(bounds[-1] + s)
            nb = len(sizes)
            if isinstance(k, slice):
                idx = list(range(nb))[k]
            elif isinstance(k, (list, np.ndarray)):
                idx = [operator.index(i) for i in k]
            else:
                i = operator.index(k)
                if not -nb <= i < nb:
                    raise IndexError(f"blocks: block {i} is out of range for the {nb} blocks of axis {ax}")
                idx = [i % nb]
            idx = [i % nb for i in idx]
            if idx and idx == list(range(idx[0], idx[-1] + 1)):
                sl = [slice(None)] * x.ndim
                sl[ax] = slice(bounds[idx[0]], bounds[idx[-1] + 1])
                out = Array(out._n.slice(sl))
            else:
                from .routines import concatenate

                parts = []
                for i in idx:
                    sl = [slice(None)] * x.ndim
                    sl[ax] = slice(bounds[i], bounds[i + 1])
                    parts.append(Array(out._n.slice(sl)))
                out = concatenate(parts, axis=ax)
        return out
