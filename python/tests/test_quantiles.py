"""Exact quantiles against NumPy: every method, NaN and nan-forms, every axis, keepdims,
scalar and 1-d q, integers and floats, chunked axes."""

import numpy as np
import pytest

import tessera as ts

METHODS = [
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]
RNG = np.random.default_rng(5)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_matches_numpy(method):
    a = RNG.normal(size=(9, 14))
    a[2, 3] = np.nan
    x = ts.from_array(a, chunks=(4, 5))
    q = [0.0, 0.1, 0.25, 0.5, 0.77, 1.0]
    for axis in (0, 1, None):
        np.testing.assert_allclose(
            ts.quantile(x, q, axis=axis, method=method).compute(), np.quantile(a, q, axis=axis, method=method), rtol=1e-13
        )
        np.testing.assert_allclose(
            ts.nanquantile(x, q, axis=axis, method=method).compute(), np.nanquantile(a, q, axis=axis, method=method), rtol=1e-13
        )
    i = RNG.integers(0, 50, 23)
    got = ts.quantile(ts.from_array(i, chunks=6), 0.3, method=method).compute()
    np.testing.assert_allclose(got, np.quantile(i, 0.3, method=method), rtol=1e-14)


def test_median_percentile_keepdims_and_all_nan_lanes():
    a = RNG.normal(size=(6, 7, 5)).astype(np.float32)
    a[:, 2, 1] = np.nan
    x = ts.from_array(a, chunks=(4, 3, 2))
    for axis in (0, 1, 2, -1):
        np.testing.assert_allclose(ts.median(x, axis=axis).compute(), np.median(a, axis=axis), rtol=1e-6, atol=1e-6)
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) if axis == 0 else _nothing():
            want = np.nanmedian(a, axis=axis)
        np.testing.assert_allclose(ts.nanmedian(x, axis=axis).compute(), want, rtol=1e-6, atol=1e-6)
    got = ts.percentile(x, [5, 50, 95], axis=1, keepdims=True)
    # Interpolated in float64 and rounded once; NumPy interpolates in float32.
    np.testing.assert_allclose(got.compute(), np.percentile(a, [5, 50, 95], axis=1, keepdims=True), rtol=1e-6, atol=1e-6)
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        ts.nanpercentile(x, 50, keepdims=True).compute(), np.nanpercentile(a, 50, keepdims=True), rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match="method"):
        ts.quantile(x, 0.5, method="fancy")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ts.quantile(x, 1.5)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_whole_array_selection_on_repeated_values_and_infinities(device):
    # More than the selection keeps of one value (a bin refined until it holds one
    # value), a spike among spread values, small integers, and infinities (sorted).
    cases = [
        np.repeat(np.arange(3.0), 1_600_000)[:4_500_001],
        np.concatenate([np.zeros(300_000), RNG.normal(size=1000)]),
        RNG.integers(0, 3, 10**5).astype(np.int16),
        np.array([-1.5e308, 0.0, 1.7e308, 2.0, -3.0]),  # max - min overflows: sorted instead
    ]
    if device == "cpu":
        # NumPy's lerp of an infinity gives NaN through inf * 0; lavapipe folds x * 0 to
        # 0 (Vulkan's float rules allow it; see the README), so this case is the CPU's.
        cases.append(np.array([1.0, np.inf, 2.0, -np.inf]))
    q = [0, 0.1, 0.5, 0.77, 1]
    for a in cases:
        x = ts.from_array(a, chunks=max(1, len(a) // 7 + 1))
        # The refined case is large: two methods (one interpolating, one not) cover it.
        methods = ("linear", "nearest", "midpoint", "inverted_cdf", "weibull") if a.size < 10**6 else ("linear", "inverted_cdf")
        for m in methods:
            with np.errstate(invalid="ignore"):
                want = np.quantile(a, q, method=m)
            np.testing.assert_array_equal(ts.quantile(x, q, method=m).compute(), want)
