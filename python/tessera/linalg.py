"""``tessera.linalg``: dask.array.linalg's functions that the engine has (TSQR for tall
matrices, blocked Cholesky and triangular solves, lazy like the rest)."""

from __future__ import annotations

from typing import Any

from . import _native
from ._array import Array
from .routines import _arr

LinAlgError = _native.LinAlgError


def qr(a: Any, mode: str = "reduced") -> Any:
    """``Q, R``: by TSQR for a tall-and-skinny matrix in several chunks, per matrix for a
    stack or one chunk. ``mode`` is NumPy's: ``"reduced"``, ``"complete"`` or ``"r"``."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode={mode!r}: use 'reduced', 'complete' or 'r'")
    if mode == "complete":
        q, r = _native.qr_mode(_arr(a)._n, True)
    else:
        q, r = _native.qr(_arr(a)._n)
    return Array(r) if mode == "r" else (Array(q), Array(r))


def tsqr(data: Any, compute_svd: bool = False, _max_vchunk_size: Any = None) -> Any:
    """dask's ``tsqr``: ``Q, R``, or ``U, S, Vh`` with ``compute_svd=True``."""
    return svd(data) if compute_svd else qr(data)


def svd(a: Any, coerce_signs: bool = True, full_matrices: bool = False) -> tuple[Array, Array, Array]:
    """``U, S, Vh`` of a tall-and-skinny or short-and-fat matrix, by TSQR, or of each
    matrix of a stack (signs made chunking-independent for real input: the largest entry
    of each column of U is positive). ``full_matrices`` as NumPy (dask's is thin only)."""
    if full_matrices:
        u, s, vt = _native.svd_full(_arr(a)._n, True)
    else:
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
    if lower:
        return low
    # U = Lᴴ, per matrix of a stack.
    return low.mT.conj() if low.dtype.kind == "c" else low.mT


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


# --- NumPy's per-matrix functions, batched over stacks (``(..., M, N)``) --------------
def det(a: Any) -> Array:
    """The determinant of each matrix of a stack (LU with partial pivoting)."""
    return Array(_native.det(_arr(a)._n))


def slogdet(a: Any) -> tuple[Array, Array]:
    """``sign, logabsdet`` of each matrix: ``(0, -inf)`` for a singular one, as NumPy."""
    s, ld = _native.slogdet(_arr(a)._n)
    return Array(s), Array(ld)


def eigh(a: Any, UPLO: str = "L") -> tuple[Array, Array]:  # noqa: N803 - NumPy's name
    """Ascending eigenvalues and the eigenvectors (columns) of each Hermitian matrix."""
    x = _hermitian_side(a, UPLO)
    w, v = _native.eigh(x._n)
    return Array(w), Array(v)


def eigvalsh(a: Any, UPLO: str = "L") -> Array:  # noqa: N803 - NumPy's name
    return Array(_native.eigvalsh(_hermitian_side(a, UPLO)._n))


def _hermitian_side(a: Any, uplo: str) -> Array:
    x = _arr(a)
    if uplo not in ("L", "U"):
        raise ValueError(f"eigh: UPLO={uplo!r}: use 'L' or 'U'")
    # The kernels read the lower triangle; the upper one is the lower of the adjoint.
    return x if uplo == "L" else x.mT.conj()


def eig(a: Any) -> tuple[Array, Array]:
    """Complex eigenvalues and eigenvectors (columns) of each general square matrix."""
    w, v = _native.eig(_arr(a)._n)
    return Array(w), Array(v)


def eigvals(a: Any) -> Array:
    return Array(_native.eigvals(_arr(a)._n))


def svdvals(a: Any) -> Array:
    """The singular values of each matrix, largest first."""
    return Array(_native.svdvals(_arr(a)._n))


def matrix_power(a: Any, n: int) -> Array:
    return Array(_native.matrix_power(_arr(a)._n, int(n)))


def _rtol(rtol: Any, tol: Any = None) -> Any:
    if tol is not None:
        raise NotImplementedError("an absolute tol= is not supported; pass rtol= (relative to the largest singular value)")
    return None if rtol is None else _arr(rtol)._n


def matrix_rank(a: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Array:
    """The count of singular values above ``rtol * max(S)`` (default ``max(M, N) * eps``)."""
    return Array(_native.matrix_rank(_arr(a)._n, _rtol(rtol, tol)))


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Array:
    """The Moore-Penrose pseudo-inverse of each matrix, from its SVD."""
    return Array(_native.pinv(_arr(a)._n, _rtol(rtol if rtol is not None else rcond)))


def matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Array:
    return Array(_native.matrix_norm(_arr(x)._n, ord, bool(keepdims)))


def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Array:
    axes = None if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return Array(_native.vector_norm(_arr(x)._n, axes, bool(keepdims), float(ord)))


def cross(a: Any, b: Any, axis: int = -1) -> Array:
    return Array(_native.cross(_arr(a)._n, _arr(b)._n, int(axis)))


def trace(a: Any, offset: int = 0) -> Array:
    """The sum of the ``offset`` diagonal of each matrix (the last two axes)."""
    return Array(_native.trace(_arr(a)._n, int(offset)))
