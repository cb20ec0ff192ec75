"""``einsum`` (NumPy's and dask's signature) spelled in the engine's operations: each
operand is transposed and broadcast onto one label order, multiplied, and summed over
the labels the output drops; a plain two-operand contraction is the engine's
``tensordot``. This module parses subscripts; the arithmetic is the engine's."""

from __future__ import annotations

import string
from typing import Any

from ._array import Array
from ._creation import asarray


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    s = subscripts.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands but {len(ndims)} were given")
    used = set(c for c in s if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell = max((n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t), default=0)
    ell_labels = "".join(free[:ell])
    out_terms = []
    for t, n in zip(terms, ndims):
        if "..." in t:
            k = n - len(t.replace("...", ""))
            t = t.replace("...", ell_labels[ell - k :] if k else "")
        if len(t) != n or not all(c.isalpha() for c in t):
            raise ValueError(f"einsum: subscript {t!r} does not fit an operand of {n} dimensions")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell_labels)
    else:
        counts: dict[str, int] = {}
        for t in out_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell_labels + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell_labels))
    for c in out:
        if not any(c in t for t in out_terms):
            raise ValueError(f"einsum: output label {c!r} is on no operand")
    return out_terms, out


def einsum(subscripts: str, *operands: Any, dtype: Any = None, optimize: Any = False, **kwargs: Any) -> Array:
    """Einstein summation (``np.einsum``'s subscripts, ellipsis included) on Tessera
    arrays, lazily.

    >>> import numpy as np, tessera as da
    >>> a = da.from_array(np.arange(6.0).reshape(2, 3), chunks=2)
    >>> da.einsum("ij,j->i", a, da.ones(3, chunks=2)).compute()
    array([ 3., 12.])
    """
    from . import routines

    arrs = [asarray(o) for o in operands]
    terms, out = _parse(subscripts, [a.ndim for a in arrs])
    for t in terms:
        if len(set(t)) != len(t):
            # A repeated label on one operand is a diagonal (np.einsum("ii->i")).
            raise ValueError(f"einsum: repeated label in {t!r} (a diagonal) is not supported; use tessera.diagonal first")
    if len(arrs) == 2 and not (set(terms[0]) & set(terms[1]) & set(out)):
        shared = [c for c in terms[0] if c in terms[1]]
        r = routines.tensordot(arrs[0], arrs[1], axes=([terms[0].index(c) for c in shared], [terms[1].index(c) for c in shared]))
        have = [c for c in terms[0] if c not in shared] + [c for c in terms[1] if c not in shared]
        drop = [i for i, c in enumerate(have) if c not in out]
        if drop:
            r = r.sum(axis=tuple(drop))
            have = [c for c in have if c in out]
        r = r.transpose([have.index(c) for c in out]) if have != list(out) else r
        return r if dtype is None else r.astype(dtype)
    order = list(out) + sorted({c for t in terms for c in t} - set(out))
    prod = None
    for t, a in zip(terms, arrs):
        present = [c for c in order if c in t]
        b = a.transpose([t.index(c) for c in present]) if list(t) != present else a
        shape = [b.shape[present.index(c)] if c in present else 1 for c in order]
        b = b.reshape(shape)
        prod = b if prod is None else prod * b
    assert prod is not None
    summed = tuple(range(len(out), len(order)))
    r = prod.sum(axis=summed) if summed else prod
    return r if dtype is None else r.astype(dtype)
