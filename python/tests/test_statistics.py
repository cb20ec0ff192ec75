"""NaN-skipping reductions and the small statistics against NumPy: NaNs scattered, whole
slices of NaN, every axis combination, uneven chunks, float32 and float64, integers."""

import warnings

import numpy as np
import pytest

import tessera as da

RNG = np.random.default_rng(3)
A = RNG.standard_normal((9, 11))
A[RNG.random(A.shape) < 0.3] = np.nan
A[2, :] = np.nan  # an all-NaN row
A[:, 4] = np.nan  # an all-NaN column
NAMES = ["nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_nan_reductions_match_numpy(dtype, axis, keepdims):
    a = A.astype(dtype)
    x = da.from_array(a, chunks=(4, 3))
    tol = 2e-5 if dtype == "float32" else 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in NAMES:
            want = getattr(np, name)(a, axis=axis, keepdims=keepdims)
            got = getattr(da, name)(x, axis=axis, keepdims=keepdims).compute()
            assert got.dtype == want.dtype, name
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
        for ddof in (1, 5):
            for name in ("nanvar", "nanstd"):
                want = getattr(np, name)(a, axis=axis, keepdims=keepdims, ddof=ddof)
                got = getattr(da, name)(x, axis=axis, keepdims=keepdims, ddof=ddof).compute()
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{name} ddof={ddof}")
        lazy = np.nanmean(x, axis=axis)
        assert isinstance(lazy, da.Array)


def test_integers_have_no_nan():
    a = np.arange(24, dtype=np.int64).reshape(4, 6) - 7
    x = da.from_array(a, chunks=(3, 4))
    for name in NAMES:
        got = getattr(da, name)(x, axis=1).compute()
        np.testing.assert_allclose(got, getattr(np, name)(a, axis=1), err_msg=name)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_statistics(axis):
    a = np.where(np.isnan(A), 0.0, A)
    x = da.from_array(a, chunks=(4, 3))
    np.testing.assert_array_equal(da.count_nonzero(x, axis=axis).compute(), np.count_nonzero(a, axis=axis))
    np.testing.assert_allclose(da.ptp(x, axis=axis).compute(), np.ptp(a, axis=axis))
    for order in (0, 1, 2, 3):
        mean = a.mean(axis=axis, keepdims=True)
        want = ((a - mean) ** order).mean(axis=axis)
        np.testing.assert_allclose(da.moment(x, order, axis=axis).compute(), want, rtol=1e-12, atol=1e-14)
    w = RNG.random(a.shape)
    np.testing.assert_allclose(da.average(x, axis=axis, weights=w).compute(), np.average(a, axis=axis, weights=w), rtol=1e-12)
    np.testing.assert_allclose(da.average(x, axis=axis).compute(), np.average(a, axis=axis), rtol=1e-12)
    if axis is not None:
        w1 = RNG.random(a.shape[axis])
        avg, scl = da.average(x, axis=axis, weights=w1, returned=True)
        want_avg, want_scl = np.average(a, axis=axis, weights=w1, returned=True)
        np.testing.assert_allclose(avg.compute(), want_avg, rtol=1e-12)
        np.testing.assert_allclose(scl.compute(), want_scl, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "uint32", "bool"])
@pytest.mark.parametrize("chunks", [(1, 1), (4, 3), (9, 11), (2, 7)])
def test_scans_give_numpys_bits_for_any_chunking(dtype, chunks):
    a = (RNG.standard_normal((9, 11)) * 3).astype(dtype) if dtype != "bool" else RNG.random((9, 11)) > 0.5
    x = da.from_array(a, chunks=chunks)
    for axis in (None, 0, 1, -1):
        for name in ("cumsum", "cumprod"):
            want = getattr(np, name)(a, axis=axis)
            got = getattr(da, name)(x, axis=axis).compute()
            assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
            np.testing.assert_array_equal(got, want, err_msg=f"{name} axis={axis}")


def test_nan_scans_and_diff():
    x = da.from_array(A, chunks=(4, 3))
    for axis in (0, 1):
        np.testing.assert_array_equal(da.nancumsum(x, axis=axis).compute(), np.nancumsum(A, axis=axis))
        np.testing.assert_array_equal(da.nancumprod(x, axis=axis).compute(), np.nancumprod(A, axis=axis))
        assert isinstance(np.cumsum(x, axis=axis), da.Array)
    b = np.where(np.isnan(A), 1.5, A)
    y = da.from_array(b, chunks=(4, 3))
    for n in (0, 1, 2, 3):
        for axis in (0, 1, -1):
            np.testing.assert_array_equal(da.diff(y, n=n, axis=axis).compute(), np.diff(b, n=n, axis=axis))
    np.testing.assert_array_equal(da.diff(y, prepend=0.0, append=b[:, :2]).compute(), np.diff(b, prepend=0.0, append=b[:, :2]))
    m = b > 0
    np.testing.assert_array_equal(da.diff(da.from_array(m, chunks=4)).compute(), np.diff(m))
    xp = da.array_api
    v = xp.asarray(np.arange(1, 8, dtype=np.int32))
    np.testing.assert_array_equal(
        np.asarray(xp.cumulative_sum(v, include_initial=True)), np.cumulative_sum(np.arange(1, 8), include_initial=True)
    )
    np.testing.assert_array_equal(np.asarray(xp.cumulative_prod(v)), np.cumprod(np.arange(1, 8)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8"])
def test_nanargmin_nanargmax_match_numpy_and_raise_on_an_all_nan_slice(dtype):
    if dtype.startswith("float"):
        a = (RNG.standard_normal((9, 6)) * 5).astype(dtype)
        a[RNG.random((9, 6)) < 0.4] = np.nan
        a[:, 0] = a[0, :] = 1.0  # no slice all NaN along either axis
    else:
        a = RNG.integers(0, 50, (9, 6)).astype(dtype)
    x = da.from_array(a, chunks=(4, 4))
    for name in ("nanargmin", "nanargmax"):
        f = getattr(da, name)
        for axis in (None, 0, 1):
            np.testing.assert_array_equal(f(x, axis=axis).compute(), getattr(np, name)(a, axis=axis), err_msg=f"{name} {axis}")
        np.testing.assert_array_equal(f(x, axis=1, keepdims=True).compute(), getattr(np, name)(a, axis=1, keepdims=True))
        assert isinstance(getattr(np, name)(x, axis=0), da.Array)
        if dtype.startswith("float"):
            b = a.copy()
            b[:, 3] = np.nan
            y = da.from_array(b, chunks=(4, 4))
            np.testing.assert_array_equal(f(y, axis=1).compute(), getattr(np, name)(b, axis=1))
            with pytest.raises(ValueError, match="All-NaN slice"):
                f(y, axis=0).compute()
