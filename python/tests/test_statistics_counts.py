"""bincount, histogram(2d/dd), digitize, cov, corrcoef and topk/argtopk against NumPy
over uneven chunks: NaNs and values outside the range, weights, density, "auto" bins."""

import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng(3)


def test_bincount():
    x = RNG.integers(0, 9, 101)
    w = RNG.normal(size=101)
    a = ts.from_array(x, chunks=17)
    np.testing.assert_array_equal(ts.bincount(a).compute(), np.bincount(x))
    np.testing.assert_array_equal(ts.bincount(a, minlength=20).compute(), np.bincount(x, minlength=20))
    np.testing.assert_allclose(
        ts.bincount(a, weights=ts.from_array(w, chunks=30)).compute(), np.bincount(x, weights=w), rtol=1e-12
    )
    assert ts.bincount(a).shape == (x.max() + 1,)
    with pytest.raises(ValueError, match="negative"):
        ts.bincount(ts.from_array(np.array([1, -1]), chunks=1))


@pytest.mark.parametrize("bins", [10, 7, [-2.0, -0.5, 0.0, 0.3, 2.0], "auto"])
def test_histogram_matches_numpy(bins):
    a = RNG.normal(size=(40, 30))
    x = ts.from_array(a, chunks=(13, 11))
    c, e = ts.histogram(x, bins=bins)
    ec, ee = np.histogram(a, bins=bins)
    np.testing.assert_array_equal(e, ee)
    np.testing.assert_array_equal(c.compute(), ec)
    c, e = ts.histogram(x, bins=bins if bins != "auto" else 5, range=(-1, 1.5), density=True)
    ec, ee = np.histogram(a, bins=bins if bins != "auto" else 5, range=(-1, 1.5), density=True)
    np.testing.assert_allclose(c.compute(), ec, rtol=1e-12)
    w = RNG.random((40, 30))
    c, _ = ts.histogram(x, bins=8, weights=ts.from_array(w, chunks=(20, 15)))
    np.testing.assert_allclose(c.compute(), np.histogram(a, bins=8, weights=w)[0], rtol=1e-12)


def test_histogram_ignores_nan_only_with_a_range_and_refuses_to_guess_one():
    a = np.array([0.1, np.nan, 0.5, 2.0, -1.0, 0.9])
    x = ts.from_array(a, chunks=4)
    np.testing.assert_array_equal(ts.histogram(x, bins=2, range=(0, 1))[0].compute(), np.histogram(a, bins=2, range=(0, 1))[0])
    with pytest.raises(ValueError, match="not finite"):
        ts.histogram(x, bins=3)


def test_histogram2d_and_dd():
    x, y, z = RNG.normal(size=(3, 500))
    c, xe, ye = ts.histogram2d(ts.from_array(x, chunks=120), ts.from_array(y, chunks=70), bins=(5, 4))
    ec, exe, eye = np.histogram2d(x, y, bins=(5, 4))
    np.testing.assert_array_equal(c.compute(), ec)
    np.testing.assert_array_equal(xe, exe)
    np.testing.assert_array_equal(ye, eye)
    s = np.stack([x, y, z], axis=1)
    c, edges = ts.histogramdd(ts.from_array(s, chunks=(100, 3)), bins=3)
    ec, eedges = np.histogramdd(s, bins=3)
    np.testing.assert_array_equal(c.compute(), ec)
    for a, b in zip(edges, eedges):
        np.testing.assert_array_equal(a, b)


def test_digitize():
    a = RNG.normal(size=50)
    a[3] = np.nan
    x = ts.from_array(a, chunks=9)
    for bins in ([-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]):
        for right in (False, True):
            np.testing.assert_array_equal(ts.digitize(x, bins, right=right).compute(), np.digitize(a, bins, right=right))


def test_cov_and_corrcoef():
    a = RNG.normal(size=(4, 60))
    x = ts.from_array(a, chunks=(3, 25))
    np.testing.assert_allclose(ts.cov(x).compute(), np.cov(a), rtol=1e-12)
    np.testing.assert_allclose(ts.cov(x.T, rowvar=False, bias=True).compute(), np.cov(a.T, rowvar=False, bias=True), rtol=1e-12)
    np.testing.assert_allclose(ts.cov(x[0], x[1]).compute(), np.cov(a[0], a[1]), rtol=1e-12)
    np.testing.assert_allclose(ts.cov(x[0]).compute(), np.cov(a[0]), rtol=1e-12)
    np.testing.assert_allclose(ts.corrcoef(x).compute(), np.corrcoef(a), rtol=1e-12, atol=1e-15)
    i = RNG.integers(0, 5, (3, 20))
    np.testing.assert_allclose(ts.cov(ts.from_array(i, chunks=(2, 7)), ddof=0).compute(), np.cov(i, ddof=0), rtol=1e-12)


def test_topk_and_argtopk():
    a = RNG.permutation(600).reshape(20, 30).astype(np.float64)
    x = ts.from_array(a, chunks=(7, 8))
    for axis in (0, 1):
        for k in (1, 3, 9, -4):
            got = ts.topk(x, k, axis=axis).compute()
            srt = np.sort(a, axis=axis)
            want = (
                np.flip(np.take(srt, np.arange(a.shape[axis] - k, a.shape[axis]), axis=axis), axis)
                if k > 0
                else np.take(srt, np.arange(-k), axis=axis)
            )
            np.testing.assert_array_equal(got, want)
            idx = ts.argtopk(x, k, axis=axis).compute()
            np.testing.assert_array_equal(np.take_along_axis(a, idx, axis=axis), want)
    with pytest.raises(ValueError, match="k"):
        ts.topk(x, 0)
