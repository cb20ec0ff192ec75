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

    def _draw(self, dist: str, a: float, b: float, size: Any, chunks: Any, dtype: Any) -> Array:
        if size is None:
            size = ()
        shape = _shape(size)
        name = _dtypes.name_of(dtype)
        if name not in ("float16", "bfloat16", "float32", "float64"):
            raise TypeError(f"{dist}: dtype {name}; random values are floats (float16, bfloat16, float32 or float64)")
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

    # dask's RandomState spelling
    def random_sample(self, size: Any = None, chunks: Any = "auto", **kwargs: Any) -> Array:
        return self.random(size, chunks=chunks)


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
