"""Data-dependent shapes against NumPy: masks, compress, nonzero and friends, and the set
functions, over uneven chunks, every kind of dtype, NaNs and infinities, ties, empty
results and all-true/all-false masks; results independent of the chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts
import tessera.array_api as xp

RNG = np.random.default_rng(11)


def sample(shape, dtype=np.float64):
    a = RNG.integers(-3, 4, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        flat = a.reshape(-1)
        flat[2::9] = np.nan
        flat[4::13] = np.inf
    return a


@pytest.mark.parametrize("chunks", [(3, 4), (1, 13), (7, 13), ((2, 4, 1), (5, 1, 7))])
def test_mask_indexing_matches_numpy(chunks):
    a = sample((7, 13))
    x = ts.from_array(a, chunks=chunks)
    for m in (a > 0.5, np.zeros(a.shape, bool), np.ones(a.shape, bool), np.isnan(a)):
        got = x[ts.from_array(m, chunks=chunks)]
        assert got.shape == a[m].shape
        np.testing.assert_array_equal(got.compute(), a[m])
        np.testing.assert_array_equal(x[m].compute(), a[m])  # a NumPy mask
    rows = a[:, 0] > 0
    np.testing.assert_array_equal(x[ts.from_array(rows, chunks=3)].compute(), a[rows])
    np.testing.assert_array_equal(x[rows, ...].compute(), a[rows, ...])
    # The mask's sum, fused after the selection, as the benchmark runs it.
    np.testing.assert_allclose(x[x > 0.5].sum().compute(), a[a > 0.5].sum())
    with pytest.raises(IndexError, match="shape"):
        x[np.ones((7, 12), bool)]


def test_mask_of_generated_data_and_zero_d_masks():
    r = ts.random.default_rng(5).random((300, 200), chunks=(70, 60))
    a = r.compute()
    np.testing.assert_array_equal(r[r > 0.9].compute(), a[a > 0.9])
    s = ts.from_array(np.array(2.5), chunks=())
    np.testing.assert_array_equal(s[np.array(True)].compute(), np.array(2.5)[np.array(True)])
    assert s[np.array(False)].shape == (0,)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.float32, np.float64, bool, np.complex128])
def test_nonzero_flatnonzero_argwhere(dtype):
    a = sample((5, 6, 4)).astype(dtype) if dtype in (np.float32, np.float64, np.complex128) else sample((5, 6, 4)) > 0
    if dtype in (np.int8, np.uint16, np.int64):
        a = RNG.integers(0, 3, (5, 6, 4)).astype(dtype)
    x = ts.from_array(a, chunks=(2, 4, 3))
    for got, want in zip(ts.nonzero(x), np.nonzero(a)):
        np.testing.assert_array_equal(got.compute(), want)
    np.testing.assert_array_equal(ts.flatnonzero(x).compute(), np.flatnonzero(a))
    np.testing.assert_array_equal(ts.argwhere(x).compute(), np.argwhere(a))
    for got, want in zip(ts.where(x), np.where(a)):
        np.testing.assert_array_equal(got.compute(), want)
    z = ts.zeros((4, 3), chunks=2)
    assert [n.shape for n in ts.nonzero(z)] == [(0,), (0,)]
    with pytest.raises(ValueError, match="0-d"):
        ts.nonzero(ts.from_array(np.array(1.0), chunks=()))


def test_compress_and_extract():
    a = sample((6, 9))
    x = ts.from_array(a, chunks=(4, 4))
    c = np.array([True, False, True, True, False, False, True])
    np.testing.assert_array_equal(ts.compress(c, x, axis=1).compute(), np.compress(c, a, axis=1))
    np.testing.assert_array_equal(ts.compress(c[:4], x, axis=0).compute(), np.compress(c[:4], a, axis=0))
    np.testing.assert_array_equal(ts.compress(a.ravel() > 0, x).compute(), np.compress(a.ravel() > 0, a))
    np.testing.assert_array_equal(ts.extract(x > 1, x).compute(), np.extract(a > 1, a))
    with pytest.raises(ValueError, match="condition"):
        ts.compress(np.ones(10, bool), x, axis=1)


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.int64, np.float32, np.float64])
def test_unique_matches_numpy(dtype):
    a = sample((8, 11), dtype) if np.dtype(dtype).kind == "f" else RNG.integers(0, 9, (8, 11)).astype(dtype)
    x = ts.from_array(a, chunks=(3, 4))
    v, i, inv, c = ts.unique(x, return_index=True, return_inverse=True, return_counts=True)
    ev, ei, einv, ec = np.unique(a, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(v.compute(), ev)
    np.testing.assert_array_equal(i.compute(), ei)
    np.testing.assert_array_equal(inv.compute(), einv)
    np.testing.assert_array_equal(c.compute(), ec)
    # The standard's forms: every NaN its own value.
    u = xp.unique_all(x)
    e = np.unique_all(a)
    np.testing.assert_array_equal(u.values.compute(), e.values)
    np.testing.assert_array_equal(u.counts.compute(), e.counts)
    np.testing.assert_array_equal(u.indices.compute(), e.indices)
    np.testing.assert_array_equal(np.asarray(u.values)[np.asarray(u.inverse_indices)], a)
    np.testing.assert_array_equal(xp.unique_values(x).compute(), np.sort(np.unique_values(a)))  # NumPy 2.3+ leaves it unsorted
    np.testing.assert_array_equal(xp.unique_counts(x).counts.compute(), np.unique_counts(a).counts)
    inv, einv = xp.unique_inverse(x).inverse_indices.compute(), np.unique_inverse(a).inverse_indices
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    np.testing.assert_array_equal(inv[~nan], einv[~nan])
    # Which NaN goes where is NumPy's sort's choice; here, the order they occur in, each its own.
    assert sorted(inv[nan].tolist()) == list(range(len(e.values) - nan.sum(), len(e.values)))


def test_set_functions_and_empty_input():
    a, b = RNG.integers(0, 20, 30), RNG.integers(10, 30, 17)
    x, y = ts.from_array(a, chunks=7), ts.from_array(b, chunks=5)
    np.testing.assert_array_equal(ts.union1d(x, y).compute(), np.union1d(a, b))
    np.testing.assert_array_equal(ts.intersect1d(x, y).compute(), np.intersect1d(a, b))
    np.testing.assert_array_equal(ts.setdiff1d(x, y).compute(), np.setdiff1d(a, b))
    e = ts.from_array(np.array([], dtype=np.float64), chunks=1)
    assert ts.unique(e).shape == (0,)
    assert xp.unique_counts(e).counts.shape == (0,)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 50), c1=st.integers(1, 50), c2=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_selection_does_not_depend_on_the_chunking(n, c1, c2, seed):
    a = np.random.default_rng(seed).integers(-2, 3, n).astype(np.float64)
    for c in (c1, c2):
        x = ts.from_array(a, chunks=c)
        np.testing.assert_array_equal(x[x > 0].compute(), a[a > 0])
        np.testing.assert_array_equal(ts.unique(x, return_counts=True)[1].compute(), np.unique(a, return_counts=True)[1])


def test_unique_of_wide_and_narrow_integer_ranges():
    # A range under 2**20 is counted, a wider one sorted: the same answers as NumPy.
    for a in (RNG.integers(-50, 50, 1000), np.array([0, 2**40, 5, 5, -(2**33), 2**40]), RNG.integers(0, 2, 99).astype(bool)):
        x = ts.from_array(a, chunks=7)
        got = ts.unique(x, return_index=True, return_inverse=True, return_counts=True)
        for g, w in zip(got, np.unique(a, return_index=True, return_inverse=True, return_counts=True)):
            np.testing.assert_array_equal(g.compute(), w)


@pytest.mark.cpu_only
def test_build_time_passes_follow_the_config_and_nothing_lingers():
    x = ts.from_array(np.arange(10.0), chunks=3)
    with ts.config.set(device="cuda:7", cpu_fallback=False):
        with pytest.raises(Exception, match="cuda"):
            x[x > 4]  # the counting pass runs where the config says
    np.testing.assert_array_equal(x[x > 4].compute(), np.arange(5.0, 10.0))
