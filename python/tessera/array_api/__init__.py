"""``tessera.array_api``: the Python array API standard (2025.12) over Tessera arrays,
with the standard's names and signatures (``concat``, ``permute_dims``, ``pow``,
``astype(x, dtype)``, ``std(correction=)``...), for libraries written against the
standard (``x.__array_namespace__()`` returns this module).

Functions the engine does not have yet are absent (not stubs), so array-api-compat and
the conformance suite see exactly what works; ``python/array-api-skips.txt`` lists them.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import numpy as np

from .. import _creation, _dtypes, _native, _selection, _sorting, routines
from .._array import Array

__array_api_version__ = "2025.12"

e = math.e
inf = math.inf
nan = math.nan
pi = math.pi
newaxis = None

bool = np.dtype("bool")  # noqa: A001
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
complex64 = np.dtype("complex64")
complex128 = np.dtype("complex128")

_SIGNED = ("int8", "int16", "int32", "int64")
_UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
_ALL = {
    "bool": bool,
    "int8": int8,
    "int16": int16,
    "int32": int32,
    "int64": int64,
    "uint8": uint8,
    "uint16": uint16,
    "uint32": uint32,
    "uint64": uint64,
    "float32": float32,
    "float64": float64,
    "complex64": complex64,
    "complex128": complex128,
}
_KINDS = {
    "bool": ("bool",),
    "signed integer": _SIGNED,
    "unsigned integer": _UNSIGNED,
    "integral": _SIGNED + _UNSIGNED,
    "real floating": ("float32", "float64"),
    "complex floating": ("complex64", "complex128"),
    "numeric": _SIGNED + _UNSIGNED + ("float32", "float64", "complex64", "complex128"),
}


def _check_device(device: Any) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"device={device!r}: results live on the host ('cpu'); choose where chunks run with tessera.config")


class _Info:
    """``__array_namespace_info__()``: what this namespace offers."""

    def capabilities(self) -> dict[str, Any]:
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": None}

    def default_device(self) -> str:
        return "cpu"

    def devices(self) -> tuple[str, ...]:
        return ("cpu",)

    def default_dtypes(self, *, device: Any = None) -> dict[str, Any]:
        _check_device(device)
        return {"real floating": float64, "complex floating": complex128, "integral": int64, "indexing": int64}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, Any]:
        _check_device(device)
        if kind is None:
            return dict(_ALL)
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        names = {n for k in kinds for n in _KINDS[k]}
        return {n: d for n, d in _ALL.items() if n in names}


def __array_namespace_info__() -> _Info:  # noqa: N807 - the standard's name
    return _Info()


def _dt(dtype: Any) -> str | None:
    return None if dtype is None else _dtypes.name_of(dtype)


# --- creation -----------------------------------------------------------------------
def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Array:
    _check_device(device)
    if isinstance(obj, Array):
        return obj if dtype is None else obj.astype(dtype)
    if copy is False and not isinstance(obj, Array):
        raise ValueError("asarray(copy=False): a NumPy or Python object is copied into Tessera's chunks")
    if isinstance(obj, (builtins.bool, int, float, complex)) and dtype is None:
        dtype = (
            "bool"
            if isinstance(obj, builtins.bool)
            else "int64"
            if isinstance(obj, int)
            else "float64"
            if isinstance(obj, float)
            else "complex128"
        )
    if isinstance(obj, int) and not isinstance(obj, builtins.bool) and not -(2**63) <= obj < 2**63:
        raise OverflowError(f"{obj} does not fit in int64")
    return _creation.asarray(obj, dtype=dtype)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    if stop is None:
        start, stop = 0, start
    return _creation.arange(start, stop, step, dtype=dtype)


def empty(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    return _creation.zeros(shape, dtype=dtype or float64)


def zeros(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    return _creation.zeros(shape, dtype=dtype or float64)


def ones(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    return _creation.ones(shape, dtype=dtype or float64)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    return _creation.full(shape, fill_value, dtype=dtype)


def empty_like(x: Array, /, *, dtype: Any = None, device: Any = None) -> Array:
    return zeros(x.shape, dtype=dtype or x.dtype, device=device)


def zeros_like(x: Array, /, *, dtype: Any = None, device: Any = None) -> Array:
    return zeros(x.shape, dtype=dtype or x.dtype, device=device)


def ones_like(x: Array, /, *, dtype: Any = None, device: Any = None) -> Array:
    return ones(x.shape, dtype=dtype or x.dtype, device=device)


def full_like(x: Array, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device)


def eye(n_rows: int, n_cols: Any = None, /, *, k: int = 0, dtype: Any = None, device: Any = None) -> Array:
    _check_device(device)
    return _creation.eye(n_rows, M=n_cols, k=k, dtype=dtype or float64)


def linspace(
    start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: Any = None, endpoint: builtins.bool = True
) -> Array:
    _check_device(device)
    return _creation.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def from_dlpack(x: Any, /, *, device: Any = None, copy: Any = None) -> Array:
    _check_device(device)
    return _creation.from_array(np.from_dlpack(x))


# --- data types ---------------------------------------------------------------------
def astype(x: Array, dtype: Any, /, *, copy: builtins.bool = True, device: Any = None) -> Array:
    _check_device(device)
    return x.astype(dtype)


def result_type(*arrays_and_dtypes: Any) -> Any:
    if not arrays_and_dtypes:
        raise TypeError("result_type needs at least one array or dtype")
    # Python scalars are weak (exactly those types: a NumPy float64 subclasses float but
    # is strong, NEP 50); arrays and NumPy scalars count by their dtype.
    names = [
        _dtypes.name_of(a.dtype if isinstance(a, (Array, np.ndarray, np.generic)) else a)
        for a in arrays_and_dtypes
        if type(a) not in (builtins.bool, int, float, complex)
    ]
    if not names:
        # TypeError: xarray probes result_type one value at a time and skips those
        # (NA, Python scalars) that raise it.
        raise TypeError("result_type needs at least one array or dtype (Python scalars alone have none)")
    out = names[0]
    for n in names[1:]:
        out = _native.promote_types(out, n)
    for a in arrays_and_dtypes:
        out = _weak(out, a)
    return np.dtype(out)


def _weak(dtype: str, v: Any) -> str:
    """``dtype`` met by a Python scalar ``v`` (NEP 50, as NumPy does): a scalar of the
    same or a lower kind keeps the dtype; a higher kind takes that kind's default (a
    bool array and ``nan`` give float64, float32 and ``1j`` give complex64). The
    standard leaves mixed kinds unspecified; xarray relies on NumPy's answer."""
    kinds = {builtins.bool: 0, int: 1, float: 2, complex: 3}
    k = kinds.get(type(v))
    if k is None:
        return dtype
    have = 0 if dtype == "bool" else 3 if dtype.startswith("complex") else 2 if dtype.startswith(("float", "bfloat")) else 1
    if k <= have:
        return dtype
    if k == 1:
        return "int64"
    if k == 2:
        return "float64"
    return "complex64" if dtype in ("float32", "float16", "bfloat16") else "complex128"


def can_cast(from_: Any, to: Any, /) -> builtins.bool:
    src = _dtypes.name_of(from_.dtype if isinstance(from_, Array) else from_)
    return _native.promote_types(src, _dtypes.name_of(to)) == _dtypes.name_of(to)


class _FInfo:
    """The standard's finfo object: Python floats, as it requires (NumPy's are NumPy
    scalars)."""

    def __init__(self, name: str) -> None:
        f = np.finfo(name)
        self.bits, self.eps, self.max, self.min = int(f.bits), float(f.eps), float(f.max), float(f.min)
        # A complex dtype's finfo describes its parts (float32 for complex64), as the
        # standard and NumPy say.
        self.smallest_normal, self.dtype = float(f.smallest_normal), np.dtype(f.dtype)


class _IInfo:
    def __init__(self, name: str) -> None:
        i = np.iinfo(name)
        self.bits, self.max, self.min, self.dtype = int(i.bits), int(i.max), int(i.min), np.dtype(name)


def finfo(type: Any, /) -> Any:  # noqa: A002
    return _FInfo(_dtypes.name_of(type.dtype if isinstance(type, Array) else type))


def iinfo(type: Any, /) -> Any:  # noqa: A002
    return _IInfo(_dtypes.name_of(type.dtype if isinstance(type, Array) else type))


def isdtype(dtype: Any, kind: Any) -> builtins.bool:
    name = _dtypes.name_of(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"isdtype: unknown kind {k!r}; one of {sorted(_KINDS)}")
            if name in _KINDS[k]:
                return True
        elif _dtypes.name_of(k) == name:
            return True
    return False


# --- element-wise -------------------------------------------------------------------
abs = routines.absolute  # noqa: A001
acos = routines.arccos
acosh = routines.arccosh
asin = routines.arcsin
asinh = routines.arcsinh
atan = routines.arctan
atan2 = routines.arctan2
atanh = routines.arctanh
copysign = routines.copysign
cosh = routines.cosh
expm1 = routines.expm1
hypot = routines.hypot
log1p = routines.log1p
log2 = routines.log2
log10 = routines.log10
reciprocal = routines.reciprocal
round = routines.rint  # noqa: A001
sinh = routines.sinh
tan = routines.tan
trunc = routines.trunc
add = routines.add
ceil = routines.ceil
cos = routines.cos
divide = routines.divide
equal = routines.equal
exp = routines.exp
floor = routines.floor
greater = routines.greater
greater_equal = routines.greater_equal
isfinite = routines.isfinite
isinf = routines.isinf
isnan = routines.isnan
less = routines.less
less_equal = routines.less_equal
log = routines.log
logical_and = routines.logical_and
logical_not = routines.logical_not
logical_or = routines.logical_or


logical_xor = routines.logical_xor
bitwise_and = routines.bitwise_and
bitwise_or = routines.bitwise_or
bitwise_xor = routines.bitwise_xor
bitwise_invert = routines.invert
bitwise_left_shift = routines.left_shift
bitwise_right_shift = routines.right_shift
floor_divide = routines.floor_divide
remainder = routines.remainder
logaddexp = routines.logaddexp
nextafter = routines.nextafter
sign = routines.sign
signbit = routines.signbit
real = routines.real
imag = routines.imag
conj = routines.conj
maximum = routines.maximum
minimum = routines.minimum
multiply = routines.multiply
negative = routines.negative
not_equal = routines.not_equal
positive = routines.positive
pow = routines.power  # noqa: A001
sin = routines.sin
sqrt = routines.sqrt
square = routines.square
subtract = routines.subtract
tanh = routines.tanh


def clip(x: Array, /, min: Any = None, max: Any = None) -> Array:  # noqa: A002
    return x.clip(min, max)


# --- linear algebra (main namespace) --------------------------------------------------
def matmul(x1: Array, x2: Array, /) -> Array:
    return x1 @ x2


def matrix_transpose(x: Array, /) -> Array:
    return x.mT


def tensordot(x1: Array, x2: Array, /, *, axes: Any = 2) -> Array:
    return routines.tensordot(x1, x2, axes)


def vecdot(x1: Array, x2: Array, /, *, axis: int = -1) -> Array:
    nd = builtins.max(x1.ndim, x2.ndim)
    s1 = (1,) * (nd - x1.ndim) + tuple(x1.shape)
    s2 = (1,) * (nd - x2.ndim) + tuple(x2.shape)
    if axis >= 0:
        axis -= nd
    if not -builtins.min(x1.ndim, x2.ndim) <= axis < 0 or s1[axis] != s2[axis]:
        # The standard contracts equal axes only (no broadcasting along the one summed).
        raise ValueError(
            f"vecdot: shapes {x1.shape} and {x2.shape} differ along axis {axis}; the contracted axis must match exactly"
        )
    # The standard conjugates the first operand (x1ᴴ x2).
    p = routines.multiply(x1.conj() if x1.dtype.kind == "c" else x1, x2)
    # The standard keeps the operands' dtype (no widening accumulator, unlike sum).
    return p.sum(axis=axis, dtype=p.dtype)


# --- manipulation -------------------------------------------------------------------
def broadcast_arrays(*arrays: Array) -> tuple[Array, ...]:
    return tuple(routines.broadcast_arrays(*arrays))


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*shapes))


def unstack(x: Array, /, *, axis: int = 0) -> tuple[Array, ...]:
    x = routines.moveaxis(x, axis, 0)
    return tuple(x[i] for i in range(x.shape[0]))


def flip(x: Array, /, *, axis: Any = None) -> Array:
    return routines.flip(x, axis)


def roll(x: Array, /, shift: Any, *, axis: Any = None) -> Array:
    return routines.roll(x, shift, axis)


def repeat(x: Array, repeats: Any, /, *, axis: Any = None) -> Array:
    return routines.repeat(x, repeats, axis)


def tile(x: Array, repetitions: Any, /) -> Array:
    return routines.tile(x, repetitions)


def meshgrid(*arrays: Array, indexing: str = "xy") -> tuple[Array, ...]:
    return routines.meshgrid(*arrays, indexing=indexing)


def tril(x: Array, /, *, k: int = 0) -> Array:
    return routines.tril(x, k)


def triu(x: Array, /, *, k: int = 0) -> Array:
    return routines.triu(x, k)


def broadcast_to(x: Array, /, shape: Any) -> Array:
    return routines.broadcast_to(x, shape)


def concat(arrays: Any, /, *, axis: Any = 0) -> Array:
    return routines.concatenate(arrays, axis=axis)


def count_nonzero(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:
    return routines.count_nonzero(x, axis, keepdims=keepdims)


def _cumulative(kind: str, x: Array, axis: Any, dtype: Any, include_initial: builtins.bool) -> Array:
    if axis is None and x.ndim > 1:
        raise ValueError(f"cumulative_{kind}: axis is required for a {x.ndim}-d array")
    if dtype is not None:
        x = x.astype(dtype)
    out = Array(x._n.scan("cum" + kind, 0 if axis is None else axis, include_initial))
    want = _dt(dtype) if dtype is not None else None
    return out if want is None or out.dtype == np.dtype(want) else out.astype(want)


def cumulative_sum(x: Array, /, *, axis: Any = None, dtype: Any = None, include_initial: builtins.bool = False) -> Array:
    return _cumulative("sum", x, axis, dtype, include_initial)


def cumulative_prod(x: Array, /, *, axis: Any = None, dtype: Any = None, include_initial: builtins.bool = False) -> Array:
    return _cumulative("prod", x, axis, dtype, include_initial)


def diff(x: Array, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None) -> Array:
    return routines.diff(x, n, axis, prepend, append)


def expand_dims(x: Array, /, axis: Any = 0) -> Array:
    return routines.expand_dims(x, axis)


def moveaxis(x: Array, source: Any, destination: Any, /) -> Array:
    if isinstance(x, np.ndarray):
        # xarray captures the namespace and applies it to NumPy blocks inside
        # apply_ufunc(dask="parallelized") (its quantile): stay NumPy there, since a
        # Tessera array returned from a block would have to be computed inside it.
        return np.moveaxis(x, source, destination)
    return routines.moveaxis(x, source, destination)


def permute_dims(x: Array, /, axes: Any) -> Array:
    return x.transpose(tuple(axes))


def reshape(x: Array, /, shape: Any, *, copy: Any = None) -> Array:
    if copy is False:
        raise ValueError("reshape(copy=False): Tessera arrays are lazy; a reshape may need a copy of chunks")
    return x.reshape(tuple(shape))


def squeeze(x: Array, /, axis: Any) -> Array:
    return x.squeeze(axis)


def take_along_axis(x: Array, indices: Array, /, *, axis: int = -1) -> Array:
    return routines.take_along_axis(x, indices, axis=axis)


def stack(arrays: Any, /, *, axis: int = 0) -> Array:
    return routines.stack(arrays, axis=axis)


# --- sorting, searching, sets (known shapes) ---------------------------------------
def sort(x: Array, /, *, axis: int = -1, descending: builtins.bool = False, stable: builtins.bool = True) -> Array:
    return _sorting.sort(x, axis, descending=descending, stable=stable)


def argsort(x: Array, /, *, axis: int = -1, descending: builtins.bool = False, stable: builtins.bool = True) -> Array:
    return _sorting.argsort(x, axis, descending=descending, stable=stable)


def searchsorted(x1: Array, x2: Any, /, *, side: str = "left", sorter: Any = None) -> Array:
    return _sorting.searchsorted(x1, x2, side=side, sorter=sorter)


def isin(x1: Any, x2: Any, /, *, invert: builtins.bool = False) -> Array:
    return _sorting.isin(x1, x2, invert=invert)


def nonzero(x: Array, /) -> tuple[Array, ...]:
    return _selection.nonzero(x)


unique_all = _selection.unique_all
unique_counts = _selection.unique_counts
unique_inverse = _selection.unique_inverse
unique_values = _selection.unique_values


def take(x: Array, indices: Array, /, *, axis: Any = None) -> Array:
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"take: axis is required for an array of {x.ndim} dimensions (the standard's rule)")
        axis = 0
    return _sorting.take(x, indices, axis=axis)


# --- statistics, searching, utility -------------------------------------------------
def _whole(c: Any) -> builtins.bool:
    return not (isinstance(c, float) and not c.is_integer())


def _fractional_var(x: Array, axis: Any, correction: float, keepdims: builtins.bool) -> Array:
    """The variance with a fractional correction: the engine's (correction 0) rescaled by
    n / max(n - c, 0), which is the standard's divisor (inf, or NaN for zero spread, past
    the count, as NumPy)."""
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    n = math.prod(x.shape[a] for a in axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = float(np.float64(n) / np.float64(builtins.max(n - correction, 0.0)))
    return x.var(axis=axis, keepdims=keepdims, ddof=0) * scale


def sum(x: Array, /, *, axis: Any = None, dtype: Any = None, keepdims: builtins.bool = False) -> Array:  # noqa: A001
    return x.sum(axis=axis, dtype=dtype, keepdims=keepdims)


def prod(x: Array, /, *, axis: Any = None, dtype: Any = None, keepdims: builtins.bool = False) -> Array:
    return x.prod(axis=axis, dtype=dtype, keepdims=keepdims)


def mean(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:
    return x.mean(axis=axis, keepdims=keepdims)


def std(x: Array, /, *, axis: Any = None, correction: Any = 0.0, keepdims: builtins.bool = False, ddof: Any = None) -> Array:
    # ddof=: NumPy's name for correction, an extension (xarray passes it).
    correction = correction if ddof is None else ddof
    if not _whole(correction):
        return routines.sqrt(_fractional_var(x, axis, correction, keepdims))
    return x.std(axis=axis, keepdims=keepdims, ddof=int(correction))


def var(x: Array, /, *, axis: Any = None, correction: Any = 0.0, keepdims: builtins.bool = False, ddof: Any = None) -> Array:
    # ddof=: NumPy's name for correction, an extension (xarray passes it).
    correction = correction if ddof is None else ddof
    if not _whole(correction):
        return _fractional_var(x, axis, correction, keepdims)
    return x.var(axis=axis, keepdims=keepdims, ddof=int(correction))


def max(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:  # noqa: A001
    return x.max(axis=axis, keepdims=keepdims)


def min(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:  # noqa: A001
    return x.min(axis=axis, keepdims=keepdims)


def argmax(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:
    return x.argmax(axis=axis, keepdims=keepdims)


def argmin(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:
    return x.argmin(axis=axis, keepdims=keepdims)


def all(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:  # noqa: A001
    return x.all(axis=axis, keepdims=keepdims)


def any(x: Array, /, *, axis: Any = None, keepdims: builtins.bool = False) -> Array:  # noqa: A001
    return x.any(axis=axis, keepdims=keepdims)


def where(condition: Array, x1: Any, x2: Any, /) -> Array:
    return routines.where(condition, x1, x2)


del operator

# The standard's fft extension, as the submodule the standard names.
# Beyond the standard: what xarray calls on the namespace of the array it holds (its
# get_array_namespace) where for NumPy data it would call NumPy. Each is the dask-named
# function of the package, so xarray's rolling, weighted and quantile stay lazy.
from .. import lib as lib  # noqa: E402
from .._einsum import einsum as einsum  # noqa: E402
from .._quantiles import median as median  # noqa: E402
from .._quantiles import nanmedian as nanmedian  # noqa: E402
from .._quantiles import nanquantile as nanquantile  # noqa: E402
from .._quantiles import quantile as quantile  # noqa: E402
from ..routines import nanmax as nanmax  # noqa: E402
from ..routines import nanmean as nanmean  # noqa: E402
from ..routines import nanmin as nanmin  # noqa: E402
from ..routines import nanstd as nanstd  # noqa: E402
from ..routines import nansum as nansum  # noqa: E402
from ..routines import nanvar as nanvar  # noqa: E402
from ..routines import pad as pad  # noqa: E402
from ..routines import transpose as transpose  # noqa: E402
from . import fft as fft  # noqa: E402
from . import linalg as linalg  # noqa: E402
