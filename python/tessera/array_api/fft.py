"""``tessera.array_api.fft``: the array API standard's ``fft`` extension (2025.12)
over the engine's transforms, with the standard's keyword-only signatures."""

from __future__ import annotations

from typing import Any

from .. import fft as _f
from .._array import Array

__all__ = [
    "fft",
    "ifft",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]


def _device(device: Any) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"device={device!r}: results live on the host ('cpu'); choose where chunks run with tessera.config")


def fft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.fft(x, n, axis, norm)


def ifft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.ifft(x, n, axis, norm)


def fftn(x: Array, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Array:
    return _f.fftn(x, s, axes, norm)


def ifftn(x: Array, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Array:
    return _f.ifftn(x, s, axes, norm)


def rfft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.rfft(x, n, axis, norm)


def irfft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.irfft(x, n, axis, norm)


def rfftn(x: Array, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Array:
    return _f.rfftn(x, s, axes, norm)


def irfftn(x: Array, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Array:
    return _f.irfftn(x, s, axes, norm)


def hfft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.hfft(x, n, axis, norm)


def ihfft(x: Array, /, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Array:
    return _f.ihfft(x, n, axis, norm)


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Array:
    _device(device)
    return _f.fftfreq(n, d, dtype=dtype)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Array:
    _device(device)
    return _f.rfftfreq(n, d, dtype=dtype)


def fftshift(x: Array, /, *, axes: Any = None) -> Array:
    return _f.fftshift(x, axes)


def ifftshift(x: Array, /, *, axes: Any = None) -> Array:
    return _f.ifftshift(x, axes)
