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

from . import config, diagnostics, fft, lib, linalg, random  # noqa: E402
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
from ._custom import apply_gufunc, blockwise, map_blocks, map_blocks_kernel, map_overlap  # noqa: E402
from ._custom_reduce import cumreduction, reduction  # noqa: E402
from ._einsum import einsum  # noqa: E402
from ._io import store, to_npy, to_zarr  # noqa: E402
from ._quantiles import median, nanmedian, nanpercentile, nanquantile, percentile, quantile  # noqa: E402
from ._selection import (  # noqa: E402
    argwhere,
    compress,
    extract,
    flatnonzero,
    intersect1d,
    nonzero,
    setdiff1d,
    union1d,
    unique,
)
from ._sorting import argpartition, argsort, isin, partition, searchsorted, sort, take  # noqa: E402
from ._statistics import (  # noqa: E402
    argtopk,
    bincount,
    corrcoef,
    cov,
    digitize,
    histogram,
    histogram2d,
    histogramdd,
    topk,
)
from .routines import (  # noqa: E402
    abs,
    absolute,
    add,
    all,
    allclose,
    amax,
    amin,
    angle,
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
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    average,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    block,
    broadcast_arrays,
    broadcast_to,
    cbrt,
    ceil,
    clip,
    compute,
    concatenate,
    conj,
    conjugate,
    copysign,
    cos,
    cosh,
    count_nonzero,
    cumprod,
    cumsum,
    deg2rad,
    degrees,
    diagonal,
    diff,
    divide,
    divmod,
    dot,
    dstack,
    equal,
    exp,
    exp2,
    expand_dims,
    expm1,
    fabs,
    fix,
    flip,
    fliplr,
    flipud,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frexp,
    greater,
    greater_equal,
    hstack,
    hypot,
    imag,
    indices,
    invert,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    ldexp,
    left_shift,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    max,
    maximum,
    mean,
    meshgrid,
    min,
    minimum,
    mod,
    moment,
    moveaxis,
    multiply,
    nan_to_num,
    nanargmax,
    nanargmin,
    nancumprod,
    nancumsum,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    ndim,
    negative,
    nextafter,
    not_equal,
    outer,
    pad,
    persist,
    positive,
    power,
    prod,
    ptp,
    rad2deg,
    radians,
    ravel,
    real,
    reciprocal,
    remainder,
    repeat,
    reshape,
    right_shift,
    rint,
    roll,
    round,
    shape,
    sign,
    signbit,
    sin,
    sinh,
    size,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    swapaxes,
    take_along_axis,
    tan,
    tanh,
    tensordot,
    tile,
    transpose,
    tril,
    triu,
    true_divide,
    trunc,
    var,
    vstack,
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
