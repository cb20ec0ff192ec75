"""dask.array's functions for what the engine has: element-wise math, reductions,
manipulation, contraction, and computing several arrays at once."""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as np

from . import _native
from ._array import Array, _compute_kw, _operand, _result


def _arr(x: Any) -> Array:
    if isinstance(x, Array):
        return x
    from ._creation import asarray

    return asarray(x)


def _unary(name: str, doc: str):
    def f(x: Any, /) -> Array:
        return Array(_arr(x)._n.unary(name))

    f.__name__ = name
    f.__doc__ = doc
    return f


def _binary(name: str, doc: str):
    def f(x1: Any, x2: Any, /) -> Array:
        if isinstance(x1, Array):
            o = _operand(x2, x1.dtype)
            if o is NotImplemented:
                raise TypeError(f"{name}: unsupported operand {type(x2).__name__}")
            return Array(x1._n.binary(name, o))
        if isinstance(x2, Array):
            o = _operand(x1, x2.dtype)
            if o is NotImplemented:
                raise TypeError(f"{name}: unsupported operand {type(x1).__name__}")
            return Array(x2._n.binary(name, o, True))
        return Array(_arr(x1)._n.binary(name, _arr(x2)._n))

    f.__name__ = name
    f.__doc__ = doc
    return f


exp = _unary("exp", "e**x, element-wise.")
exp2 = _unary("exp2", "2**x, element-wise.")
log = _unary("log", "Natural logarithm, element-wise.")
sqrt = _unary("sqrt", "Square root, element-wise.")
cbrt = _unary("cbrt", "Real cube root, element-wise.")
sin = _unary("sin", "Sine, element-wise.")
cos = _unary("cos", "Cosine, element-wise.")
tanh = _unary("tanh", "Hyperbolic tangent, element-wise.")
floor = _unary("floor", "Round down, element-wise (integers unchanged).")
ceil = _unary("ceil", "Round up, element-wise (integers unchanged).")
negative = _unary("negative", "-x, element-wise.")
positive = _unary("positive", "+x, element-wise.")
absolute = _unary("absolute", "|x|, element-wise.")
abs = absolute  # noqa: A001 - dask's name
fabs = _unary("fabs", "|x|, element-wise.")
logical_not = _unary("logical_not", "not x, element-wise.")
tan = _unary("tan", "Tangent, element-wise.")
sinh = _unary("sinh", "Hyperbolic sine, element-wise.")
cosh = _unary("cosh", "Hyperbolic cosine, element-wise.")
arcsin = _unary("asin", "Inverse sine, element-wise (NaN outside [-1, 1]).")
arccos = _unary("acos", "Inverse cosine, element-wise (NaN outside [-1, 1]).")
arctan = _unary("atan", "Inverse tangent, element-wise.")
arcsinh = _unary("asinh", "Inverse hyperbolic sine, element-wise.")
arccosh = _unary("acosh", "Inverse hyperbolic cosine, element-wise (NaN below 1).")
arctanh = _unary("atanh", "Inverse hyperbolic tangent, element-wise.")
expm1 = _unary("expm1", "e**x - 1, accurate near 0.")
log1p = _unary("log1p", "log(1 + x), accurate near 0.")
log2 = _unary("log2", "Base-2 logarithm, element-wise.")
log10 = _unary("log10", "Base-10 logarithm, element-wise.")
trunc = _unary("trunc", "Round toward zero, element-wise (integers unchanged).")
fix = _unary("fix", "Round toward zero, element-wise (integers unchanged).")
rint = _unary("rint", "Round half to even, element-wise (integers unchanged).")
sign = _unary("sign", "-1, 0 or 1 by the sign (NaN stays NaN), element-wise.")
signbit = _unary("signbit", "Whether the sign bit is set (true for -0.0).")
invert = _unary("bitwise_invert", "Bitwise not of integers (logical not of booleans).")
bitwise_not = invert
square = _unary("square", "x * x, element-wise.")
reciprocal = _unary("reciprocal", "1 / x for floats.")
deg2rad = _unary("deg2rad", "Degrees to radians.")
rad2deg = _unary("rad2deg", "Radians to degrees.")
radians = deg2rad
degrees = rad2deg
isneginf = _unary("isneginf", "Whether each element is -inf.")
isposinf = _unary("isposinf", "Whether each element is +inf.")
real = _unary("real", "The real part (the array itself for real dtypes).")
imag = _unary("imag", "The imaginary part (zeros of the dtype for real dtypes).")
conj = _unary("conj", "The complex conjugate (the array itself for real dtypes).")
conjugate = conj
angle = _unary("angle", "The angle in the complex plane, in (-pi, pi] (pi for negative reals, else 0).")
isnan = _unary("isnan", "Whether each element is NaN.")
isinf = _unary("isinf", "Whether each element is +inf or -inf.")
isfinite = _unary("isfinite", "Whether each element is finite (not NaN, not infinite).")

add = _binary("add", "x1 + x2 with broadcasting.")
subtract = _binary("subtract", "x1 - x2 with broadcasting.")
multiply = _binary("multiply", "x1 * x2 with broadcasting.")
divide = _binary("divide", "x1 / x2 (true division) with broadcasting.")
true_divide = divide
floor_divide = _binary("floor_divide", "x1 // x2 (integers: 0 for a zero divisor, as NumPy).")
remainder = _binary("remainder", "x1 % x2 with the divisor's sign (Python's %).")
mod = remainder
fmod = _binary("fmod", "The remainder with the dividend's sign (C's fmod).")
power = _binary("power", "x1 ** x2 with broadcasting.")
maximum = _binary("maximum", "Element-wise maximum (NaN propagates).")
minimum = _binary("minimum", "Element-wise minimum (NaN propagates).")
fmax = _binary("fmax", "Element-wise maximum, ignoring a NaN.")
fmin = _binary("fmin", "Element-wise minimum, ignoring a NaN.")
equal = _binary("equal", "x1 == x2.")
not_equal = _binary("not_equal", "x1 != x2.")
less = _binary("less", "x1 < x2.")
less_equal = _binary("less_equal", "x1 <= x2.")
greater = _binary("greater", "x1 > x2.")
greater_equal = _binary("greater_equal", "x1 >= x2.")
logical_and = _binary("logical_and", "x1 and x2 (non-zero is true).")
logical_or = _binary("logical_or", "x1 or x2 (non-zero is true).")
logical_xor = _binary("logical_xor", "x1 xor x2 (non-zero is true).")
bitwise_and = _binary("bitwise_and", "x1 & x2 on integers (logical on booleans).")
bitwise_or = _binary("bitwise_or", "x1 | x2 on integers (logical on booleans).")
bitwise_xor = _binary("bitwise_xor", "x1 ^ x2 on integers and booleans.")
left_shift = _binary("bitwise_left_shift", "x1 << x2 (0 once x2 reaches the width).")
right_shift = _binary("bitwise_right_shift", "x1 >> x2, arithmetic for signed integers.")
arctan2 = _binary("atan2", "The angle of the point (x2, x1), quadrant-aware.")
hypot = _binary("hypot", "sqrt(x1**2 + x2**2) without undue overflow.")
copysign = _binary("copysign", "The magnitude of x1 with the sign of x2.")
logaddexp = _binary("logaddexp", "log(exp(x1) + exp(x2)) without overflow.")
nextafter = _binary("nextafter", "The next float after x1 toward x2 (float32, float64).")


def divmod(x1: Any, x2: Any, /) -> tuple[Array, Array]:  # noqa: A001 - dask's name
    """``(x1 // x2, x1 % x2)``."""
    return floor_divide(x1, x2), remainder(x1, x2)


def round(a: Any, decimals: int = 0) -> Array:  # noqa: A001 - dask's name
    """Round half to even at ``decimals`` digits (negative: left of the point), as NumPy."""
    return _arr(a).round(decimals)


around = round


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Array:
    """``|a - b| <= atol + rtol * |b|`` element-wise, as ``numpy.isclose``."""
    o = _operand(b)
    if o is NotImplemented:
        raise TypeError(f"isclose: unsupported operand {type(b).__name__}")
    return Array(_arr(a)._n.isclose(o, float(rtol), float(atol), bool(equal_nan)))


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Array:
    """Whether every element is close (a lazy 0-d bool array, as dask's)."""
    return isclose(a, b, rtol, atol, equal_nan).all()


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Array:
    """NaN to ``nan``, infinities to ``posinf``/``neginf`` (the dtype's extremes by default)."""
    return Array(
        _arr(x)._n.nan_to_num(float(nan), None if posinf is None else float(posinf), None if neginf is None else float(neginf))
    )


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Array:
    return _arr(a).clip(a_min, a_max)


def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """``where(cond, x, y)``; with one argument, ``nonzero(cond)`` (NumPy's and dask's)."""
    if x is None and y is None:
        from ._selection import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise TypeError("where takes either one argument or three")
    c = _arr(condition)
    xo, yo = _operand(x), _operand(y)
    if xo is NotImplemented or yo is NotImplemented:
        raise TypeError("where: x and y must be arrays or numbers")
    return Array(_native.where_(c._n, xo, yo))


def _reduction(name: str):
    def f(a: Any, axis: Any = None, *args: Any, **kwargs: Any) -> Array:
        return getattr(_arr(a), name)(axis, *args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"dask.array.{name}: see Array.{name}."
    return f


sum = _reduction("sum")  # noqa: A001
prod = _reduction("prod")
mean = _reduction("mean")
var = _reduction("var")
std = _reduction("std")
min = _reduction("min")  # noqa: A001
max = _reduction("max")  # noqa: A001
amin = min
amax = max
any = _reduction("any")  # noqa: A001
all = _reduction("all")  # noqa: A001
argmin = _reduction("argmin")
argmax = _reduction("argmax")


builtins_max = builtins.max


def _axes_arg(axis: Any) -> list[int] | None:
    if axis is None:
        return None
    return [operator.index(a) for a in axis] if isinstance(axis, (tuple, list)) else [operator.index(axis)]


def _statistic(name: str, doc: str):
    def f(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0, **kwargs: Any) -> Array:
        x = _arr(a)
        if dtype is not None:
            x = x.astype(dtype)
        if kwargs.get("out") is not None:
            raise TypeError(f"{name}: out= is not supported (Tessera arrays are immutable)")
        return Array(x._n.statistic(name, _axes_arg(axis), bool(keepdims), operator.index(ddof)))

    f.__name__ = name
    f.__doc__ = doc
    return f


nansum = _statistic("nansum", "Sum ignoring NaNs (0 where all are NaN).")
nanprod = _statistic("nanprod", "Product ignoring NaNs (1 where all are NaN).")
nanmean = _statistic("nanmean", "Mean ignoring NaNs (NaN where all are NaN).")
nanvar = _statistic("nanvar", "Variance ignoring NaNs, with ddof (NaN where count <= ddof).")
nanstd = _statistic("nanstd", "Standard deviation ignoring NaNs, with ddof.")
nanmin = _statistic("nanmin", "Minimum ignoring NaNs (NaN where all are NaN).")
nanmax = _statistic("nanmax", "Maximum ignoring NaNs (NaN where all are NaN).")


def nanargmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Array:
    """Index of the minimum ignoring NaNs; an all-NaN slice raises ValueError at compute."""
    if out is not None:
        raise TypeError("nanargmin: out= is not supported (Tessera arrays are immutable)")
    return Array(_arr(a)._n.statistic("nanargmin", _axes_arg(axis), bool(keepdims)))


def nanargmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Array:
    """Index of the maximum ignoring NaNs; an all-NaN slice raises ValueError at compute."""
    if out is not None:
        raise TypeError("nanargmax: out= is not supported (Tessera arrays are immutable)")
    return Array(_arr(a)._n.statistic("nanargmax", _axes_arg(axis), bool(keepdims)))


def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Array:
    """How many elements are non-zero (int64)."""
    return Array(_arr(a)._n.statistic("count_nonzero", _axes_arg(axis), bool(keepdims)))


def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Peak to peak: max - min."""
    return Array(_arr(a)._n.statistic("ptp", _axes_arg(axis), bool(keepdims)))


def moment(a: Any, order: int, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0) -> Array:
    """The order-th central moment, mean((a - mean(a)) ** order), as dask's."""
    if ddof:
        raise ValueError("moment: ddof other than 0 is not supported")
    x = _arr(a) if dtype is None else _arr(a).astype(dtype)
    return Array(x._n.statistic("moment", _axes_arg(axis), bool(keepdims), operator.index(order)))


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False) -> Any:
    """The weighted mean sum(w * a) / sum(w), as ``numpy.average``."""
    x = _arr(a)
    w = None if weights is None else _arr(weights)
    if w is not None and w.shape != x.shape:
        if w.ndim != 1 or axis is None or isinstance(axis, (tuple, list)) or w.shape[0] != x.shape[axis]:
            raise ValueError(f"average: weights of shape {w.shape} need the shape {x.shape} or, 1-d, the length of axis {axis}")
        w = w.reshape([-1 if d == axis % x.ndim else 1 for d in range(x.ndim)])
    out = Array(x._n.average(None if w is None else w._n, _axes_arg(axis), bool(keepdims)))
    if returned:
        from ._creation import full_like

        if w is not None:
            scl = broadcast_to(w, x.shape).astype(out.dtype).sum(axis=axis, keepdims=keepdims)
        else:
            scl = full_like(out, x.size // builtins_max(out.size, 1))
        return out, scl
    return out


def _scan(kind: str, doc: str):
    def f(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, *, method: str = "sequential") -> Array:
        if out is not None:
            raise TypeError(f"{kind}: out= is not supported (Tessera arrays are immutable)")
        a = _arr(x) if dtype is None else _arr(x).astype(dtype)
        return Array(a._n.scan(kind, None if axis is None else operator.index(axis)))

    f.__name__ = kind
    f.__doc__ = doc
    return f


cumsum = _scan("cumsum", "Running sum along axis (flattened when None); NumPy's bits for any chunking.")
cumprod = _scan("cumprod", "Running product along axis (flattened when None).")
nancumsum = _scan("nancumsum", "Running sum treating NaN as 0.")
nancumprod = _scan("nancumprod", "Running product treating NaN as 1.")


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Array:
    """The n-th discrete difference along axis, as ``numpy.diff``."""
    if operator.index(n) < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")

    def edge(v: Any) -> Any:
        if v is None:
            return None
        o = _operand(v)
        if o is NotImplemented:
            raise TypeError(f"diff: unsupported prepend/append {type(v).__name__}")
        return o

    return Array(_arr(a)._n.diff(operator.index(n), operator.index(axis), edge(prepend), edge(append)))


def concatenate(seq: Any, axis: int = 0, allow_unknown_chunksizes: bool = False) -> Array:
    arrs = [_arr(a) for a in seq]
    if not arrs:
        raise ValueError("concatenate needs at least one array")
    if axis is None:
        arrs, axis = [a.ravel() for a in arrs], 0
    return Array(_native.concatenate([a._n for a in arrs], operator.index(axis)))


def stack(seq: Any, axis: int = 0) -> Array:
    arrs = [_arr(a) for a in seq]
    if not arrs:
        raise ValueError("stack needs at least one array")
    return Array(_native.stack([a._n for a in arrs], operator.index(axis)))


def transpose(a: Any, axes: Any = None) -> Array:
    return _arr(a).transpose() if axes is None else _arr(a).transpose(axes)


def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    return _arr(a).swapaxes(axis1, axis2)


def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    """Moves axes to new positions, the others keeping their order."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    return Array(_arr(a)._n.moveaxis([operator.index(v) for v in src], [operator.index(v) for v in dst]))


def flip(m: Any, axis: Any = None) -> Array:
    """Reverses the order along axis (all axes when None); a view, fused into consumers."""
    return Array(_arr(m)._n.flip(_axes_arg(axis)))


def flipud(m: Any) -> Array:
    return flip(m, 0)


def fliplr(m: Any) -> Array:
    return flip(m, 1)


def roll(array: Any, shift: Any, axis: Any = None) -> Array:
    """Shifts values along axis, wrapping around (the flattened array when axis is None)."""
    x = _arr(array)
    if isinstance(shift, (tuple, list)) or isinstance(axis, (tuple, list)):
        shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift] * len(axis)
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis] * len(shifts)
        if len(shifts) != len(axes):
            raise ValueError("roll: shift and axis must have the same length")
        for sh, ax in zip(shifts, axes):
            x = Array(x._n.roll(operator.index(sh), operator.index(ax)))
        return x
    return Array(x._n.roll(operator.index(shift), None if axis is None else operator.index(axis)))


def repeat(a: Any, repeats: Any, axis: Any = None) -> Array:
    """Each element repeated ``repeats`` times along axis (flattened when None): one count,
    or one per element (a list, NumPy array or Tessera array: the counts decide the
    shape, so a Tessera array of counts is computed here; dask refuses array counts)."""
    ax = None if axis is None else operator.index(axis)
    if isinstance(repeats, (int, np.integer)):
        if repeats < 0:
            raise ValueError(f"repeat: a negative count {repeats}")
        return Array(_arr(a)._n.repeat(operator.index(repeats), ax))
    if isinstance(repeats, Array):
        return Array(_arr(a)._n.repeat_by(repeats._n, ax))
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iub" or counts.ndim > 1:
        raise TypeError(f"repeat: counts must be integers, one or one per element (got {counts.dtype}, shape {counts.shape})")
    if (counts < 0).any():
        raise ValueError("repeat: a negative count; counts are at least 0")
    return Array(_arr(a)._n.repeat_counts([int(c) for c in counts.reshape(-1)], ax))


def tile(A: Any, reps: Any) -> Array:
    """The array repeated along each axis."""
    r = [reps] if isinstance(reps, (int, np.integer)) else list(reps)
    if builtins.any(operator.index(v) < 0 for v in r):
        raise ValueError(f"tile: negative repetitions {reps}")
    return Array(_arr(A)._n.tile([operator.index(v) for v in r]))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """Pads with ``mode`` constant (``constant_values``), edge, reflect, symmetric, wrap or
    linear_ramp (``end_values``)."""
    x = _arr(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)) if x.ndim else np.zeros((0, 2), np.int64)
    if (widths < 0).any():
        raise ValueError(f"pad: negative pad width {pad_width}")
    key = "end_values" if mode == "linear_ramp" else "constant_values"
    value = kwargs.get(key, 0)
    if np.ndim(value) != 0:
        values = np.broadcast_to(np.asarray(value), (x.ndim, 2))
        if not (values == values.flat[0]).all():
            raise NotImplementedError(f"pad: one {key} for every side is supported")
        value = values.flat[0]
    if isinstance(value, np.generic):
        value = value.item()
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: reflect_type='odd' is not supported")
    return Array(x._n.pad([(int(b), int(e)) for b, e in widths], mode, value))


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """The offset-th diagonal of axes axis1 and axis2, as the result's last axis."""
    return Array(_arr(a)._n.diagonal(operator.index(offset), operator.index(axis1), operator.index(axis2)))


def ldexp(x1: Any, x2: Any, /) -> Array:
    """``x1 * 2**x2`` for integer ``x2``, exact where representable, as ``numpy.ldexp``."""
    return Array(_arr(x1)._n.ldexp(x2._n if isinstance(x2, Array) else _arr(x2)._n if not isinstance(x2, int) else x2))


def frexp(x: Any, /) -> tuple[Array, Array]:
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent`` and the mantissa in
    [0.5, 1), as ``numpy.frexp`` (exponent int32)."""
    m, e = _arr(x)._n.frexp()
    return Array(m), Array(e)


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Array:
    """The elements at ``indices`` along ``axis``, as ``numpy.take_along_axis`` (``axis=None``
    gathers from the flattened array); an index out of range raises IndexError at compute."""
    a, i = _arr(arr), _arr(indices)
    if axis is None:
        if i.ndim != 1:
            raise ValueError(f"take_along_axis(axis=None) needs 1-d indices; these have shape {i.shape}")
        a, axis = a.ravel(), 0
    return Array(a._n.take_along_axis(i._n, operator.index(axis)))


def block(arrays: Any) -> Array:
    """An array assembled from nested lists of blocks (``numpy.block``): the innermost
    lists join along the last axis, each level out along the one before."""

    def depth(x: Any) -> int:
        if isinstance(x, tuple):
            raise TypeError("block: arrays is a tuple; numpy.block takes nested lists only")
        if isinstance(x, list):
            if not x:
                raise ValueError("block: an empty list of blocks")
            ds = {depth(e) for e in x}
            if len(ds) != 1:
                raise ValueError("block: list depths are mismatched; nest every block equally deep")
            return 1 + ds.pop()
        return 0

    d = depth(arrays)

    def leaves(x: Any) -> list[Array]:
        return [e for sub in x for e in leaves(sub)] if isinstance(x, list) else [_arr(x)]

    ndim = builtins.max(d, builtins.max(a.ndim for a in leaves(arrays)))

    def go(x: Any, level: int) -> Array:
        if not isinstance(x, list):
            a = _arr(x)
            return a.reshape((1,) * (ndim - a.ndim) + a.shape) if a.ndim < ndim else a
        parts = [go(e, level + 1) for e in x]
        return parts[0] if len(parts) == 1 else concatenate(parts, axis=ndim - d + level)

    return go(arrays, 0)


def tril(m: Any, k: int = 0) -> Array:
    """Zeros above the k-th diagonal of the last two axes."""
    return Array(_arr(m)._n.tril(operator.index(k)))


def triu(m: Any, k: int = 0) -> Array:
    """Zeros below the k-th diagonal of the last two axes."""
    return Array(_arr(m)._n.triu(operator.index(k)))


def atleast_1d(*arys: Any) -> Any:
    out = [_arr(a) if _arr(a).ndim >= 1 else _arr(a).reshape(1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    out = []
    for a in arys:
        x = _arr(a)
        out.append(x.reshape(1, 1) if x.ndim == 0 else x[None] if x.ndim == 1 else x)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    out = []
    for a in arys:
        x = _arr(a)
        out.append(
            x.reshape(1, 1, 1) if x.ndim == 0 else x[None, :, None] if x.ndim == 1 else x[:, :, None] if x.ndim == 2 else x
        )
    return out[0] if len(out) == 1 else out


def hstack(tup: Any) -> Array:
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if arrs and arrs[0].ndim == 1 else 1)


def vstack(tup: Any) -> Array:
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def dstack(tup: Any) -> Array:
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    """Splits into sections (of lengths differing by at most one) or at indices."""
    x = _arr(ary)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = operator.index(indices_or_sections)
        if k <= 0:
            raise ValueError("array_split: number of sections must be larger than 0")
        q, r = builtins.divmod(n, k)
        bounds = np.cumsum([0] + [q + 1] * r + [q] * (k - r))
    else:
        bounds = [0, *[builtins.min(builtins.max(operator.index(i), 0), n) for i in indices_or_sections], n]
    key = [slice(None)] * x.ndim
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key[axis] = slice(int(lo), int(builtins.max(lo, hi)))
        out.append(x[tuple(key)])
    return out


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    """Splits into equal sections (an error when they cannot be equal) or at indices."""
    x = _arr(ary)
    if isinstance(indices_or_sections, (int, np.integer)) and x.shape[axis] % operator.index(indices_or_sections):
        raise ValueError("array split does not result in an equal division")
    return array_split(x, indices_or_sections, axis)


def meshgrid(*xi: Any, indexing: str = "xy", sparse: bool = False) -> tuple[Array, ...]:
    """Coordinate arrays from 1-d coordinate vectors, as ``numpy.meshgrid``."""
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: indexing must be 'xy' or 'ij'")
    arrs = [_arr(x).ravel() for x in xi]
    n = len(arrs)
    shapes = []
    for i, a in enumerate(arrs):
        s = [1] * n
        s[i] = a.shape[0]
        shapes.append(s)
    if indexing == "xy" and n >= 2:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    out = [a.reshape(s) for a, s in zip(arrs, shapes)]
    if sparse:
        return tuple(out)
    # Axis k is the length of the vector that owns it (not a max over the shapes: a
    # length-0 vector owns a length-0 axis).
    lens = [a.shape[0] for a in arrs]
    if indexing == "xy" and n >= 2:
        lens[0], lens[1] = lens[1], lens[0]
    full_shape = tuple(lens)
    # A tuple, as NumPy 2 and the standard return.
    return tuple(broadcast_to(o, full_shape) for o in out)


def indices(dimensions: Any, dtype: Any = int, chunks: Any = "auto") -> Array:
    """The index grid: ``out[k]`` holds each element's index along axis k."""
    from ._creation import arange

    dims = tuple(operator.index(d) for d in dimensions)
    grids = meshgrid(*[arange(d, chunks=chunks, dtype=dtype) for d in dims], indexing="ij")
    return stack(grids) if grids else _arr(np.zeros((0,), dtype=dtype))


def squeeze(a: Any, axis: Any = None) -> Array:
    return _arr(a).squeeze(axis)


def expand_dims(a: Any, axis: Any) -> Array:
    a = _arr(a)
    axes = [axis] if isinstance(axis, int) else list(axis)
    out_ndim = a.ndim + len(axes)
    for x in axes:
        if not -out_ndim <= operator.index(x) < out_ndim:
            raise np.exceptions.AxisError(f"expand_dims: axis {x} is out of range for a result of {out_ndim} dimensions")
    norm = sorted(x % out_ndim for x in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"expand_dims: repeated axis in {tuple(axes)}")
    return Array(a._n.expand_dims_axes(norm))


def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    out = Array(_arr(x)._n.broadcast_to([operator.index(s) for s in shape]))
    return out if chunks is None else out.rechunk(chunks)


def broadcast_arrays(*args: Any) -> list[Array]:
    arrs = [_arr(a) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    return [a if a.shape == shape else broadcast_to(a, shape) for a in arrs]


def reshape(x: Any, shape: Any, merge_chunks: bool = True, limit: Any = None) -> Array:
    return _arr(x).reshape(shape)


def ravel(array_like: Any) -> Array:
    return _arr(array_like).ravel()


def tensordot(lhs: Any, rhs: Any, axes: Any = 2) -> Array:
    a, b = _arr(lhs), _arr(rhs)
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot: axes={axes} must be non-negative")
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    return Array(_native.tensordot(a._n, b._n, ax_a, ax_b))


def dot(a: Any, b: Any) -> Array:
    return _arr(a).dot(_arr(b))


def matmul(a: Any, b: Any) -> Array:
    return _arr(a) @ _arr(b)


def outer(a: Any, b: Any) -> Array:
    a, b = _arr(a).ravel(), _arr(b).ravel()
    return a[:, None] * b[None, :]


def _flatten(args: Any) -> tuple[list[Array], Any]:
    """The Arrays among ``args`` (top level, or inside lists/tuples/dicts one level
    down) and a function that rebuilds ``args`` with results in their place."""
    found: list[Array] = []

    def walk(v: Any) -> Any:
        if isinstance(v, Array):
            found.append(v)
            return ("__tessera__", len(found) - 1)
        if isinstance(v, (list, tuple)):
            return type(v)(walk(x) for x in v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    shape = [walk(a) for a in args]

    def rebuild(results: list[Any]) -> tuple[Any, ...]:
        def put(v: Any) -> Any:
            if isinstance(v, tuple) and len(v) == 2 and v[0] == "__tessera__":
                return results[v[1]]
            if isinstance(v, (list, tuple)):
                return type(v)(put(x) for x in v)
            if isinstance(v, dict):
                return {k: put(x) for k, x in v.items()}
            return v

        return tuple(put(v) for v in shape)

    return found, rebuild


def compute(*args: Any, traverse: bool = True, optimize_graph: bool = True, **kwargs: Any) -> tuple[Any, ...]:
    """Computes several arrays in one shared graph (work they share runs once), as
    ``dask.compute``: returns a tuple of NumPy arrays; other arguments pass through."""
    arrays, rebuild = _flatten(args)
    if not arrays:
        return tuple(args)
    cfg, progress = _compute_kw(kwargs, "compute")
    outs = _native.compute_all([a._n for a in arrays], cfg, progress)
    return rebuild([_result(o, a._n.dtype) for o, a in zip(outs, arrays)])


def persist(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """Persists each array (``dask.persist``): arrays backed by their computed chunks."""
    arrays, rebuild = _flatten(args)
    return rebuild([a.persist(**kwargs) for a in arrays])


def shape(a: Any) -> tuple[int, ...]:
    return _arr(a).shape


def ndim(a: Any) -> int:
    return _arr(a).ndim


def size(a: Any) -> int:
    return _arr(a).size
