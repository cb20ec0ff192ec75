"""Tessera: lazy chunked n-dimensional arrays computed per chunk on GPUs (wgpu, CUDA) or
the CPU, under memory limits that hold. dask.array's API: change the import.

>>> import tessera as da
>>> x = da.random.random((2000, 2000), chunks=(500, 500))
>>> y = (x + x.T).sum(axis=0).mean()
>>> float(y.compute()) > 0
True
"""

from __future__ import annotations

from . import _native

__version__ = _native.__version__

from . import config, diagnostics, linalg, random  # noqa: E402
from ._array import Array  # noqa: E402
from ._creation import (  # noqa: E402
    arange,
    array,
    asanyarray,
    asarray,
    empty,
    empty_like,
    eye,
    from_array,
    from_npy,
    from_zarr,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from ._io import store, to_npy, to_zarr  # noqa: E402
from .routines import (  # noqa: E402
    abs,
    absolute,
    add,
    all,
    amax,
    amin,
    any,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argmax,
    argmin,
    around,
    broadcast_arrays,
    broadcast_to,
    ceil,
    clip,
    compute,
    concatenate,
    copysign,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    dot,
    equal,
    exp,
    expand_dims,
    expm1,
    fix,
    floor,
    greater,
    greater_equal,
    hypot,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    moveaxis,
    multiply,
    ndim,
    negative,
    not_equal,
    outer,
    persist,
    positive,
    power,
    prod,
    rad2deg,
    radians,
    ravel,
    reciprocal,
    reshape,
    rint,
    round,
    shape,
    sin,
    sinh,
    size,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    swapaxes,
    tan,
    tanh,
    tensordot,
    transpose,
    true_divide,
    trunc,
    var,
    where,
)

OutOfMemoryError = _native.OutOfMemoryError
LinAlgError = _native.LinAlgError
CancelledError = _native.CancelledError
BackendError = _native.BackendError


def info() -> str:
    """Devices, cores and memory, as ``tessera info`` prints them (also printed)."""
    text = _native.info()
    print(text, end="")
    return text


def from_dlpack(x: object, chunks: object = "auto") -> Array:
    """A Tessera array from any DLPack producer on the host (NumPy, PyTorch CPU tensors,
    ...), read without an intermediate copy."""
    import numpy as np

    return from_array(np.from_dlpack(x), chunks=chunks)


def __getattr__(name: str) -> object:
    # Imported on first use: the MPI world and the standard's namespace cost nothing
    # until asked for.
    if name in ("distributed", "array_api"):
        import importlib

        return importlib.import_module(f"tessera.{name}")
    raise AttributeError(f"module 'tessera' has no attribute {name!r}")
