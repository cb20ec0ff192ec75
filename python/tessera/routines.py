"""dask.array's functions for what the engine has: element-wise math, reductions,
manipulation, contraction, and computing several arrays at once."""

from __future__ import annotations

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
            o = _operand(x2)
            if o is NotImplemented:
                raise TypeError(f"{name}: unsupported operand {type(x2).__name__}")
            return Array(x1._n.binary(name, o))
        if isinstance(x2, Array):
            o = _operand(x1)
            if o is NotImplemented:
                raise TypeError(f"{name}: unsupported operand {type(x1).__name__}")
            return Array(x2._n.binary(name, o, True))
        return Array(_arr(x1)._n.binary(name, _arr(x2)._n))

    f.__name__ = name
    f.__doc__ = doc
    return f


exp = _unary("exp", "e**x, element-wise.")
log = _unary("log", "Natural logarithm, element-wise.")
sqrt = _unary("sqrt", "Square root, element-wise.")
sin = _unary("sin", "Sine, element-wise.")
cos = _unary("cos", "Cosine, element-wise.")
tanh = _unary("tanh", "Hyperbolic tangent, element-wise.")
floor = _unary("floor", "Round down, element-wise.")
ceil = _unary("ceil", "Round up, element-wise.")
negative = _unary("negative", "-x, element-wise.")
absolute = _unary("absolute", "|x|, element-wise.")
abs = absolute  # noqa: A001 - dask's name
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
fix = trunc
rint = _unary("round", "Round half to even, element-wise (integers unchanged).")
arctan2 = _binary("atan2", "The angle of the point (x2, x1), quadrant-aware.")
hypot = _binary("hypot", "sqrt(x1**2 + x2**2) without undue overflow.")
copysign = _binary("copysign", "The magnitude of x1 with the sign of x2.")


def round(a: Any, decimals: int = 0) -> Array:  # noqa: A001 - dask's name
    """Round half to even, as NumPy; ``decimals`` other than 0 is not supported yet."""
    if decimals != 0:
        raise ValueError(f"round(decimals={decimals}): only decimals=0 is supported yet")
    return rint(a)


around = round


def deg2rad(x: Any, /) -> Array:
    return multiply(x, 0.017453292519943295)


def rad2deg(x: Any, /) -> Array:
    return multiply(x, 57.29577951308232)


radians = deg2rad
degrees = rad2deg


def reciprocal(x: Any, /) -> Array:
    """1 / x for floats (NumPy's integer reciprocal is not provided)."""
    x = _arr(x)
    if x.dtype.kind != "f":
        raise TypeError(f"reciprocal of {x.dtype}: Tessera provides it for floats (NumPy's integer form truncates)")
    return divide(1.0, x)


isnan = _unary("isnan", "Whether each element is NaN.")
isinf = _unary("isinf", "Whether each element is +inf or -inf.")
isfinite = _unary("isfinite", "Whether each element is finite (not NaN, not infinite).")

add = _binary("add", "x1 + x2 with broadcasting.")
subtract = _binary("subtract", "x1 - x2 with broadcasting.")
multiply = _binary("multiply", "x1 * x2 with broadcasting.")
divide = _binary("divide", "x1 / x2 (true division) with broadcasting.")
true_divide = divide
power = _binary("power", "x1 ** x2 with broadcasting.")
maximum = _binary("maximum", "Element-wise maximum (NaN propagates).")
minimum = _binary("minimum", "Element-wise minimum (NaN propagates).")
equal = _binary("equal", "x1 == x2.")
not_equal = _binary("not_equal", "x1 != x2.")
less = _binary("less", "x1 < x2.")
less_equal = _binary("less_equal", "x1 <= x2.")
greater = _binary("greater", "x1 > x2.")
greater_equal = _binary("greater_equal", "x1 >= x2.")
logical_and = _binary("logical_and", "x1 and x2 (non-zero is true).")
logical_or = _binary("logical_or", "x1 or x2 (non-zero is true).")


def positive(x: Any, /) -> Array:
    return _arr(x)


def square(x: Any, /) -> Array:
    x = _arr(x)
    return x * x


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Array:
    return _arr(a).clip(a_min, a_max)


def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """``where(cond, x, y)``; the one-argument form (``nonzero``) needs data-dependent
    shapes, not in the engine yet."""
    if x is None and y is None:
        raise TypeError(
            "where(condition) with one argument needs data-dependent shapes, not in the engine yet; use where(condition, x, y)"
        )
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
    a = _arr(a)
    src = [s % a.ndim for s in ([source] if isinstance(source, int) else source)]
    dst = [d % a.ndim for d in ([destination] if isinstance(destination, int) else destination)]
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return a.transpose(order)


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
    n = a._n
    for ax in norm:
        n = n.expand_dims(ax)
    return Array(n)


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
