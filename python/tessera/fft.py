"""``tessera.fft``: ``numpy.fft``/``dask.array.fft``'s functions on Tessera arrays.

Unlike dask, an axis spanning several chunks is transformed (the engine rechunks it into
one chunk per lane first, within the memory limits) instead of refused. Results keep that
chunking; ``.rechunk(x.chunks)`` restores the input's where it matters.
"""

from __future__ import annotations

import operator
from typing import Any

from . import _dtypes, _native
from ._array import Array
from .routines import _arr

__all__ = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]


def _norm(norm: Any) -> str:
    return "backward" if norm is None else str(norm)


def _n(n: Any) -> int | None:
    return None if n is None else operator.index(n)


def _no_out(out: Any) -> None:
    if out is not None:
        raise TypeError("out= is not supported: Tessera arrays are immutable; use the returned array")


def _one(kind: str, a: Any, n: Any, axis: Any, norm: Any, out: Any) -> Array:
    _no_out(out)
    return Array(_native.fft(_arr(a)._n, kind, _n(n), operator.index(axis), _norm(norm)))


def _seq(v: Any) -> list[int] | None:
    if v is None:
        return None
    return [operator.index(i) for i in (v if isinstance(v, (list, tuple)) else [v])]


def _nd(kind: str, a: Any, s: Any, axes: Any, norm: Any, out: Any) -> Array:
    _no_out(out)
    lengths = _seq(s)
    if lengths is not None:
        lengths = [None if v == -1 else v for v in lengths]
    return Array(_native.fftn(_arr(a)._n, kind, lengths, _seq(axes), _norm(norm)))


def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The discrete Fourier transform along ``axis`` (``numpy.fft.fft``)."""
    return _one("fft", a, n, axis, norm, out)


def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The inverse transform along ``axis`` (``numpy.fft.ifft``)."""
    return _one("ifft", a, n, axis, norm, out)


def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The ``n//2 + 1`` non-negative frequencies of a real signal (``numpy.fft.rfft``)."""
    return _one("rfft", a, n, axis, norm, out)


def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The ``n`` real values whose ``rfft`` is ``a`` (``numpy.fft.irfft``)."""
    return _one("irfft", a, n, axis, norm, out)


def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The real spectrum of a Hermitian signal given by its first half (``numpy.fft.hfft``)."""
    return _one("hfft", a, n, axis, norm, out)


def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Array:
    """The inverse of ``hfft`` (``numpy.fft.ihfft``)."""
    return _one("ihfft", a, n, axis, norm, out)


def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Array:
    """The transform over ``axes`` (all by default), one axis after another."""
    return _nd("fftn", a, s, axes, norm, out)


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Array:
    return _nd("ifftn", a, s, axes, norm, out)


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Array:
    return _nd("rfftn", a, s, axes, norm, out)


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Array:
    return _nd("irfftn", a, s, axes, norm, out)


def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Array:
    return _nd("fftn", a, s, axes, norm, out)


def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Array:
    return _nd("ifftn", a, s, axes, norm, out)


def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Array:
    return _nd("rfftn", a, s, axes, norm, out)


def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Array:
    return _nd("irfftn", a, s, axes, norm, out)


def _freq(real: bool, n: Any, d: Any, chunks: Any, dtype: Any) -> Array:
    from ._creation import _chunks

    n = operator.index(n)
    length = n // 2 + 1 if real else n
    f = Array(_native.fftfreq(n, float(d), real, _chunks(chunks, (length,), "float64")))
    name = "float64" if dtype is None else _dtypes.name_of(dtype)
    return f if name == "float64" else f.astype(name)


def fftfreq(n: Any, d: Any = 1.0, chunks: Any = "auto", dtype: Any = None, device: Any = None) -> Array:
    """Sample frequencies ``[0, 1, ..., -1] / (d n)`` (``numpy.fft.fftfreq``)."""
    return _freq(False, n, d, chunks, dtype)


def rfftfreq(n: Any, d: Any = 1.0, chunks: Any = "auto", dtype: Any = None, device: Any = None) -> Array:
    """The ``n//2 + 1`` non-negative sample frequencies (``numpy.fft.rfftfreq``)."""
    return _freq(True, n, d, chunks, dtype)


def fftshift(x: Any, axes: Any = None) -> Array:
    """The zero frequency moved to the middle of ``axes`` (all by default)."""
    return Array(_native.fftshift(_arr(x)._n, _seq(axes), False))


def ifftshift(x: Any, axes: Any = None) -> Array:
    """The inverse of ``fftshift``."""
    return Array(_native.fftshift(_arr(x)._n, _seq(axes), True))
