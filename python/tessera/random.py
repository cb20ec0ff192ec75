"""``tessera.random``: counter-based (Philox) random arrays, as dask.array.random names
them. A seed gives the same values in any chunking and on any device."""

from __future__ import annotations

import os
from typing import Any

from . import _dtypes, _native
from ._array import Array
from ._creation import _chunks, _shape

_MASK = (1 << 64) - 1


def _mix(seed: int, n: int) -> int:
    """Independent stream seeds from one seed (splitmix64 of seed and call number)."""
    z = (seed + 0x9E3779B97F4A7C15 * (n + 1)) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _seed_of(seed: Any) -> int:
    if seed is None:
        return int.from_bytes(os.urandom(8), "little")
    if isinstance(seed, Generator):
        return seed._next()
    try:
        s = int(seed)
    except TypeError:
        raise TypeError(f"seed must be an int or None, not {type(seed).__name__}") from None
    if s < 0:
        raise ValueError(f"seed={seed}: must be non-negative")
    return s & _MASK


class Generator:
    """dask's ``default_rng(seed)`` generator: each call draws a fresh stream, so two
    calls differ and the same seed repeats the whole sequence."""

    def __init__(self, seed: Any = None) -> None:
        self._seed = _seed_of(seed)
        self._calls = 0

    def _next(self) -> int:
        self._calls += 1
        return _mix(self._seed, self._calls)

    def _draw(self, dist: str, a: float, b: float, size: Any, chunks: Any, dtype: Any, counts: bool = False) -> Array:
        if size is None:
            size = ()
        shape = _shape(size)
        name = _dtypes.name_of(dtype)
        floats = ("float16", "bfloat16", "float32", "float64")
        if name not in floats and not (counts and name not in ("bool", "complex64", "complex128")):
            kinds = "integers or floats" if counts else "floats (float16, bfloat16, float32 or float64)"
            raise TypeError(f"{dist}: dtype {name}; {dist} values are {kinds}")
        return Array(_native.random(dist, list(shape), _chunks(chunks, shape, name), self._next(), float(a), float(b), name))

    def random(self, size: Any = None, dtype: Any = "float64", out: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
        """Uniform on [0, 1)."""
        return self._draw("uniform", 0.0, 1.0, size, chunks, dtype)

    def uniform(
        self, low: float = 0.0, high: float = 1.0, size: Any = None, chunks: Any = "auto", dtype: Any = "float64", **kwargs: Any
    ) -> Array:
        return self._draw("uniform", low, high, size, chunks, dtype)

    def normal(
        self, loc: float = 0.0, scale: float = 1.0, size: Any = None, chunks: Any = "auto", dtype: Any = "float64", **kwargs: Any
    ) -> Array:
        return self._draw("normal", loc, scale, size, chunks, dtype)

    def standard_normal(self, size: Any = None, dtype: Any = "float64", chunks: Any = "auto", **kwargs: Any) -> Array:
        return self._draw("normal", 0.0, 1.0, size, chunks, dtype)

    def integers(
        self,
        low: int,
        high: Any = None,
        size: Any = None,
        dtype: Any = "int64",
        endpoint: bool = False,
        chunks: Any = "auto",
        **kwargs: Any,
    ) -> Array:
        """Uniform integers on ``[low, high)`` (``[0, low)`` with one bound;
        ``endpoint=True`` includes ``high``), each value exactly equally likely."""
        if high is None:
            low, high = 0, low
        hi = int(high) + (1 if endpoint else 0)
        if int(low) >= hi:
            raise ValueError(f"integers: low={low} must be below high={high}" + (" (inclusive)" if endpoint else ""))
        return self._draw("integers", int(low), hi, size, chunks, dtype, counts=True)

    def exponential(
        self, scale: float = 1.0, size: Any = None, chunks: Any = "auto", dtype: Any = "float64", **kwargs: Any
    ) -> Array:
        return self._draw("exponential", scale, 0.0, size, chunks, dtype)

    def standard_exponential(self, size: Any = None, dtype: Any = "float64", chunks: Any = "auto", **kwargs: Any) -> Array:
        return self._draw("exponential", 1.0, 0.0, size, chunks, dtype)

    def gamma(
        self, shape: float, scale: float = 1.0, size: Any = None, chunks: Any = "auto", dtype: Any = "float64", **kwargs: Any
    ) -> Array:
        return self._draw("gamma", shape, scale, size, chunks, dtype)

    def standard_gamma(
        self, shape: float, size: Any = None, dtype: Any = "float64", chunks: Any = "auto", **kwargs: Any
    ) -> Array:
        return self._draw("gamma", shape, 1.0, size, chunks, dtype)

    def beta(self, a: float, b: float, size: Any = None, chunks: Any = "auto", dtype: Any = "float64", **kwargs: Any) -> Array:
        return self._draw("beta", a, b, size, chunks, dtype)

    def poisson(self, lam: float = 1.0, size: Any = None, chunks: Any = "auto", dtype: Any = "int64", **kwargs: Any) -> Array:
        return self._draw("poisson", lam, 0.0, size, chunks, dtype, counts=True)

    def binomial(self, n: int, p: float, size: Any = None, chunks: Any = "auto", dtype: Any = "int64", **kwargs: Any) -> Array:
        return self._draw("binomial", n, p, size, chunks, dtype, counts=True)

    def permutation(self, x: Any, axis: int = 0, chunks: Any = "auto") -> Array:
        """A random permutation of ``range(x)`` (an int), or ``x`` with its ``axis``
        permuted (a new array: Tessera arrays are immutable)."""
        from . import _sorting
        from .routines import _arr

        if isinstance(x, int):
            return Array(_native.permutation(x, _chunks(chunks, (x,), "int64"), self._next()))
        a = _arr(x)
        n = a.shape[axis]
        idx = Array(_native.permutation(n, _chunks(chunks, (n,), "int64"), self._next()))
        return _sorting.take(a, idx, axis=axis)

    def shuffle(self, x: Any, axis: int = 0) -> None:
        raise TypeError(
            "shuffle: Tessera arrays are immutable (shuffle works in place); use x = rng.permutation(x, axis=...) instead"
        )

    def choice(
        self,
        a: Any,
        size: Any = None,
        replace: bool = True,
        p: Any = None,
        axis: int = 0,
        shuffle: bool = True,
        chunks: Any = "auto",
    ) -> Array:
        """Draws from ``a`` (an int n means ``arange(n)``): with or without replacement,
        optionally weighted by ``p``, as NumPy's ``Generator.choice`` (axis 0)."""
        from . import _creation
        from .routines import _arr

        if axis != 0:
            raise NotImplementedError("choice: only axis=0 is supported")
        pool = _creation.arange(int(a)) if isinstance(a, int) else _arr(a)
        if pool.ndim != 1:
            raise ValueError(f"choice: a must be 1-d or an int, got shape {pool.shape}")
        shape = () if size is None else _shape(size)
        weights = None if p is None else _arr(p)._n
        # One chunk size serves the index arrays of both lengths (k draws, n candidates).
        if isinstance(chunks, (tuple, list)) and len(chunks) == 1:
            chunks = chunks[0]
        if not (chunks == "auto" or isinstance(chunks, int)):
            raise ValueError(f"choice: chunks={chunks!r}: give one chunk size (an int) or 'auto'")
        return Array(_native.choice(pool._n, list(shape), chunks, self._next(), bool(replace), weights))

    # dask's RandomState spelling
    def random_sample(self, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
        return self.random(size, chunks=chunks)

    def randint(
        self, low: int, high: Any = None, size: Any = None, dtype: Any = "int64", chunks: Any = "auto", **kwargs: Any
    ) -> Array:
        return self.integers(low, high, size=size, dtype=dtype, chunks=chunks)


RandomState = Generator


def default_rng(seed: Any = None) -> Generator:
    """A generator seeded by ``seed`` (fresh entropy when None)."""
    return seed if isinstance(seed, Generator) else Generator(seed)


_global = Generator()


def seed(seed: Any = None) -> None:
    """Reseeds the module-level functions (``random``, ``uniform``, ``normal``)."""
    global _global
    _global = Generator(seed)


def random(size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.random(size, chunks=chunks, **kwargs)


random_sample = random


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.uniform(low, high, size, chunks=chunks, **kwargs)


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.normal(loc, scale, size, chunks=chunks, **kwargs)


def standard_normal(size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.standard_normal(size, chunks=chunks, **kwargs)


def randint(low: int, high: Any = None, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.randint(low, high, size=size, chunks=chunks, **kwargs)


def exponential(scale: float = 1.0, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.exponential(scale, size, chunks=chunks, **kwargs)


def gamma(shape: float, scale: float = 1.0, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.gamma(shape, scale, size, chunks=chunks, **kwargs)


def beta(a: float, b: float, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.beta(a, b, size, chunks=chunks, **kwargs)


def poisson(lam: float = 1.0, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.poisson(lam, size, chunks=chunks, **kwargs)


def binomial(n: int, p: float, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
    return _global.binomial(n, p, size, chunks=chunks, **kwargs)


def choice(a: Any, size: Any = None, replace: bool = True, p: Any = None, chunks: Any = "auto") -> Array:
    return _global.choice(a, size, replace=replace, p=p, chunks=chunks)


def permutation(x: Any) -> Array:
    return _global.permutation(x)
