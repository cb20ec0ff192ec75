"""``lib.stride_tricks.sliding_window_view`` and ``einsum`` against NumPy's (xarray's
rolling and weighted reach them through the array namespace)."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as da

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("chunks", [5, 3, 23, ((3, 10, 10), 4)])
@pytest.mark.parametrize("w", [1, 2, 7, 23])
def test_sliding_window_view_one_axis(chunks, w):
    a = RNG.standard_normal((23, 4)).astype("f4")
    x = da.from_array(a, chunks=chunks if isinstance(chunks, tuple) else (chunks, 3))
    got = da.lib.stride_tricks.sliding_window_view(x, w, axis=0)
    want = np.lib.stride_tricks.sliding_window_view(a, w, axis=0)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.compute(), want)
    # Regular chunks along the windowed axis (Zarr writes need them).
    assert len(set(got.chunks[0][:-1])) <= 1 and got.chunks[0][-1] <= got.chunks[0][0]


def test_sliding_window_view_several_axes_and_errors():
    a = RNG.standard_normal((9, 8, 5))
    x = da.from_array(a, chunks=(4, 3, 5))
    got = da.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(0, 1))
    np.testing.assert_array_equal(got.compute(), np.lib.stride_tricks.sliding_window_view(a, (3, 2), axis=(0, 1)))
    got = da.lib.stride_tricks.sliding_window_view(x[..., 0], (2, 2))
    np.testing.assert_array_equal(got.compute(), np.lib.stride_tricks.sliding_window_view(a[..., 0], (2, 2)))
    with pytest.raises(ValueError, match="window 10"):
        da.lib.stride_tricks.sliding_window_view(x, 10, axis=0)
    with pytest.raises(ValueError, match="one entry per axis"):
        da.lib.stride_tricks.sliding_window_view(x, 2)


@pytest.mark.parametrize(
    "spec, shapes",
    [
        ("ij,jk->ik", [(6, 5), (5, 4)]),
        ("ij,jk", [(6, 5), (5, 4)]),
        ("ij->ji", [(6, 5)]),
        ("ij,ij->j", [(6, 5), (6, 5)]),
        ("...j,j->...", [(3, 6, 5), (5,)]),
        ("tyx,y->tx", [(7, 6, 5), (6,)]),
        ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
        ("i,j->ij", [(4,), (3,)]),
        ("ij->", [(6, 5)]),
        ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ],
)
def test_einsum_matches_numpy(spec, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    got = da.einsum(spec, *[da.from_array(a, chunks=2) for a in arrays])
    np.testing.assert_allclose(got.compute(), np.einsum(spec, *arrays), rtol=1e-12, atol=1e-12)
    # np.einsum on Tessera arrays dispatches here, lazily.
    assert isinstance(np.einsum(spec, *[da.from_array(a, chunks=2) for a in arrays]), da.Array)


def test_einsum_errors():
    x = da.ones((3, 3), chunks=2)
    with pytest.raises(ValueError, match="diagonal"):
        da.einsum("ii->i", x)
    with pytest.raises(ValueError, match="operands"):
        da.einsum("ij,jk->ik", x)
    with pytest.raises(ValueError, match="does not fit"):
        da.einsum("ijk->i", x)
