"""``tessera.array_api.linalg``: the array API standard's linear-algebra extension
(2025.12) over the engine's functions, batched over stacks of matrices, with the
standard's keyword-only signatures and named-tuple results."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import linalg as _la
from .. import routines
from .._array import Array

__all__ = [
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]


class EighResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


class EigResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SlogdetResult(NamedTuple):
    sign: Array
    logabsdet: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def cholesky(x: Array, /, *, upper: bool = False) -> Array:
    return _la.cholesky(x, lower=not upper)


def cross(x1: Array, x2: Array, /, *, axis: int = -1) -> Array:
    return _la.cross(x1, x2, axis)


def det(x: Array, /) -> Array:
    return _la.det(x)


def diagonal(x: Array, /, *, offset: int = 0) -> Array:
    return routines.diagonal(x, offset, -2, -1)


def eig(x: Array, /) -> EigResult:
    return EigResult(*_la.eig(x))


def eigh(x: Array, /) -> EighResult:
    return EighResult(*_la.eigh(x))


def eigvals(x: Array, /) -> Array:
    return _la.eigvals(x)


def eigvalsh(x: Array, /) -> Array:
    return _la.eigvalsh(x)


def inv(x: Array, /) -> Array:
    return _la.inv(x)


def matmul(x1: Array, x2: Array, /) -> Array:
    return x1 @ x2


def matrix_norm(x: Array, /, *, keepdims: bool = False, ord: Any = "fro") -> Array:  # noqa: A002
    return _la.matrix_norm(x, keepdims=keepdims, ord=ord)


def matrix_power(x: Array, n: int, /) -> Array:
    return _la.matrix_power(x, n)


def matrix_rank(x: Array, /, *, rtol: Any = None) -> Array:
    return _la.matrix_rank(x, rtol=rtol)


def matrix_transpose(x: Array, /) -> Array:
    return x.mT


def outer(x1: Array, x2: Array, /) -> Array:
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: needs two 1-d arrays, got shapes {x1.shape} and {x2.shape}")
    return routines.outer(x1, x2)


def pinv(x: Array, /, *, rtol: Any = None) -> Array:
    return _la.pinv(x, rtol=rtol)


def qr(x: Array, /, *, mode: str = "reduced") -> QRResult:
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode={mode!r}: use 'reduced' or 'complete'")
    return QRResult(*_la.qr(x, mode=mode))


def slogdet(x: Array, /) -> SlogdetResult:
    return SlogdetResult(*_la.slogdet(x))


def solve(x1: Array, x2: Array, /) -> Array:
    return _la.solve(x1, x2)


def svd(x: Array, /, *, full_matrices: bool = True) -> SVDResult:
    return SVDResult(*_la.svd(x, full_matrices=full_matrices))


def svdvals(x: Array, /) -> Array:
    return _la.svdvals(x)


def tensordot(x1: Array, x2: Array, /, *, axes: Any = 2) -> Array:
    return routines.tensordot(x1, x2, axes)


def trace(x: Array, /, *, offset: int = 0, dtype: Any = None) -> Array:
    t = _la.trace(x, offset)
    return t if dtype is None else t.astype(dtype)


def vecdot(x1: Array, x2: Array, /, *, axis: int = -1) -> Array:
    from . import vecdot as _vecdot

    return _vecdot(x1, x2, axis=axis)


def vector_norm(x: Array, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Array:  # noqa: A002
    return _la.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
