"""NumPy dtypes for the engine's dtype names, and back."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

#: The engine's dtypes, by NumPy name.
NAMES = (
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

_NEAREST = {
    "longdouble": "float64",
    "float128": "float64",
    "clongdouble": "complex128",
    "complex256": "complex128",
}


@functools.cache
def bfloat16() -> Any:
    """``ml_dtypes.bfloat16`` when that package is installed, else None."""
    try:
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    except ImportError:
        return None


def name_of(dtype: Any) -> str:
    """The engine's name for a dtype-like (``np.float32``, ``"f4"``, ``float``, ...)."""
    if isinstance(dtype, str) and dtype == "bfloat16":
        return dtype
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{dtype!r} is not a dtype: {e}") from None
    name = d.name
    bf = bfloat16()
    if bf is not None and d == bf:
        return "bfloat16"
    if name not in NAMES:
        near = _NEAREST.get(name, "float64")
        raise TypeError(
            f"dtype {name} is not one Tessera has (it has {', '.join(NAMES)}); the nearest it has is {near}: astype it first"
        )
    return name


def to_numpy(name: str) -> Any:
    """The NumPy dtype for an engine dtype name (bfloat16 needs ml_dtypes)."""
    if name == "bfloat16":
        bf = bfloat16()
        return bf if bf is not None else "bfloat16"
    return np.dtype(name)


def native_input(x: Any) -> tuple[np.ndarray, bool]:
    """A NumPy array the engine reads: native byte order, a dtype it has. Returns the
    array and whether it holds bfloat16 bits (as uint16)."""
    a = np.asarray(x)
    if a.dtype.hasobject:
        raise TypeError(
            "object arrays cannot become Tessera arrays (it holds numbers only); convert with .astype('float64') or similar first"
        )
    bf = bfloat16()
    if bf is not None and a.dtype == bf:
        return a.view(np.uint16), True
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    name_of(a.dtype)
    return a, False
