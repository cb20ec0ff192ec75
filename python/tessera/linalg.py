"""``tessera.linalg``: dask.array.linalg's functions that the engine has (TSQR for tall
matrices, blocked Cholesky and triangular solves, lazy like the rest)."""

from __future__ import annotations

from typing import Any

from . import _native
from ._array import Array
from .routines import _arr

LinAlgError = _native.LinAlgError


def qr(a: Any) -> tuple[Array, Array]:
    """``Q, R`` of a tall-and-skinny (or one-chunk) matrix, by TSQR."""
    q, r = _native.qr(_arr(a)._n)
    return Array(q), Array(r)


def tsqr(data: Any, compute_svd: bool = False, _max_vchunk_size: Any = None) -> Any:
    """dask's ``tsqr``: ``Q, R``, or ``U, S, Vh`` with ``compute_svd=True``."""
    return svd(data) if compute_svd else qr(data)


def svd(a: Any, coerce_signs: bool = True) -> tuple[Array, Array, Array]:
    """``U, S, Vh`` of a tall-and-skinny or short-and-fat matrix, by TSQR (signs made
    chunking-independent: the largest entry of each column of U is positive)."""
    u, s, vt = _native.svd(_arr(a)._n)
    return Array(u), Array(s), Array(vt)


def svd_compressed(
    a: Any,
    k: int,
    iterator: str = "power",
    n_power_iter: int = 0,
    n_oversamples: int = 10,
    seed: Any = None,
    compute: bool = False,
    coerce_signs: bool = True,
) -> tuple[Array, Array, Array]:
    """Randomized rank-``k`` SVD (Halko et al.), as dask's ``svd_compressed``."""
    u, s, vt = _native.svd_compressed(_arr(a)._n, int(k), int(n_power_iter), int(n_oversamples), int(seed or 0))
    return Array(u), Array(s), Array(vt)


def cholesky(a: Any, lower: bool = False) -> Array:
    """Cholesky factor of a symmetric positive definite matrix with square chunks: upper
    ``U`` (``a = U.T @ U``) by default as in dask, lower with ``lower=True``."""
    low = Array(_native.cholesky(_arr(a)._n))
    return low if lower else low.T


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Array:
    return Array(_native.solve_triangular(_arr(a)._n, _arr(b)._n, bool(lower)))


def solve(a: Any, b: Any, sym_pos: Any = None, assume_a: str = "gen") -> Array:
    return Array(_native.solve(_arr(a)._n, _arr(b)._n))


def inv(a: Any) -> Array:
    return Array(_native.inv(_arr(a)._n))


def lstsq(a: Any, b: Any) -> tuple[Array, Array, Array, Array]:
    """``x, residuals, rank, s`` of ``min |a x - b|`` for tall ``a``, by TSQR."""
    x, res, rank, s = _native.lstsq(_arr(a)._n, _arr(b)._n)
    return Array(x), Array(res), Array(rank), Array(s)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:
    if isinstance(axis, (tuple, list)):
        if len(axis) == 1:
            axis = axis[0]
        elif sorted(a % _arr(x).ndim for a in axis) == [0, 1] and _arr(x).ndim == 2:
            axis = None
        else:
            raise ValueError(f"norm: axis={axis}: Tessera takes one axis, or both axes of a matrix")
    out = Array(_native.norm(_arr(x)._n, ord, axis))
    if keepdims:
        xa = _arr(x)
        shape = [1] * xa.ndim if axis is None else [1 if i == axis % xa.ndim else n for i, n in enumerate(xa.shape)]
        out = out.reshape(shape)
    return out
