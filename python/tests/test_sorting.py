"""sort, argsort, searchsorted, isin and take against NumPy: every real dtype, NaNs and
infinities, ties, chunked sort axes with many chunks (uneven ones too), both directions;
and the property that the result does not depend on the chunking."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts
import tessera.array_api as xp

RNG = np.random.default_rng(7)


def tied(shape, dtype=np.float64, nans=True):
    a = RNG.integers(-4, 5, size=shape).astype(dtype)
    if nans and np.dtype(dtype).kind == "f":
        flat = a.reshape(-1)
        flat[3::7] = np.nan
        flat[5::11] = np.inf
        flat[6::13] = -np.inf
    return a


def stable_desc(a, axis):
    """NumPy has no descending sort: the stable order of the negated keys, NaNs last."""
    key = np.where(np.isnan(a), np.inf, -a) if a.dtype.kind == "f" else -a.astype(np.float64)
    order = np.argsort(key, axis=axis, kind="stable")
    if a.dtype.kind == "f":
        # NaN and -(-inf) = inf tie on the key: put every NaN after every number.
        nan_key = np.take_along_axis(np.isnan(a), order, axis)
        order = np.take_along_axis(order, np.argsort(nan_key, axis=axis, kind="stable"), axis)
    return order


@pytest.mark.parametrize("chunks", [(3, 4), (1, 13), (7, 13), ((2, 4, 1), (5, 1, 7))])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_sort_and_argsort_match_numpy(chunks, axis):
    a = tied((7, 13))
    x = ts.from_array(a, chunks=chunks)
    np.testing.assert_array_equal(ts.sort(x, axis).compute(), np.sort(a, axis))
    np.testing.assert_array_equal(ts.argsort(x, axis).compute(), np.argsort(a, axis, kind="stable"))
    d = stable_desc(a, axis)
    np.testing.assert_array_equal(ts.argsort(x, axis, descending=True).compute(), d)
    np.testing.assert_array_equal(ts.sort(x, axis, descending=True).compute(), np.take_along_axis(a, d, axis))
    assert ts.sort(x, axis).chunks == x.chunks


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.float16, np.float32, bool]
)
def test_every_real_dtype(dtype):
    a = tied((40,), dtype, nans=False) if dtype is not bool else RNG.integers(0, 2, 40).astype(bool)
    if np.dtype(dtype).kind == "u":
        a = RNG.integers(0, 9, 40).astype(dtype)
    x = ts.from_array(a, chunks=6)
    s = ts.sort(x).compute()
    assert s.dtype == a.dtype
    np.testing.assert_array_equal(s, np.sort(a))
    np.testing.assert_array_equal(ts.argsort(x).compute(), np.argsort(a, kind="stable"))


def test_a_long_axis_in_many_chunks_and_the_flattened_form():
    a = RNG.normal(size=(3, 500))
    x = ts.from_array(a, chunks=(2, 17))
    np.testing.assert_array_equal(ts.sort(x, axis=1).compute(), np.sort(a, axis=1))
    np.testing.assert_array_equal(ts.sort(x, axis=None).compute(), np.sort(a, axis=None))
    np.testing.assert_array_equal(ts.argsort(x, axis=None).compute(), np.argsort(a, axis=None, kind="stable"))


def test_sorting_generated_data_and_a_consumer():
    r = ts.random.default_rng(3).random((200,), chunks=30)
    got = (ts.sort(r) * 2).sum().compute()
    np.testing.assert_allclose(got, 2 * np.sort(r.compute()).sum())
    top = ts.sort(r, descending=True)[:5].compute()
    np.testing.assert_array_equal(top, np.sort(r.compute())[::-1][:5])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    c1=st.integers(1, 60),
    c2=st.integers(1, 60),
    desc=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_argsort_does_not_depend_on_the_chunking(n, c1, c2, desc, seed):
    a = np.random.default_rng(seed).integers(-3, 4, n).astype(np.float64)
    one = ts.argsort(ts.from_array(a, chunks=c1), descending=desc).compute()
    two = ts.argsort(ts.from_array(a, chunks=c2), descending=desc).compute()
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(a[one], np.sort(a)[::-1] if desc else np.sort(a))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(side):
    s = np.sort(tied((50,)))
    v = tied((6, 7))
    got = ts.searchsorted(ts.from_array(s, chunks=9), ts.from_array(v, chunks=(4, 3)), side=side)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.compute(), np.searchsorted(s, v, side=side))
    # With a sorter, and scalars.
    u = tied((30,), nans=False)
    sorter = np.argsort(u, kind="stable")
    got = ts.searchsorted(
        ts.from_array(u, chunks=7), ts.from_array(v, chunks=3), side=side, sorter=ts.argsort(ts.from_array(u, chunks=4))
    )
    np.testing.assert_array_equal(got.compute(), np.searchsorted(u, v, side=side, sorter=sorter))
    assert int(ts.searchsorted(ts.from_array(s, chunks=9), 1.5, side=side).compute()) == np.searchsorted(s, 1.5, side=side)
    with pytest.raises(ValueError, match="side"):
        ts.searchsorted(ts.from_array(s, chunks=9), 1.0, side="middle")


def test_isin_matches_numpy():
    a = tied((9, 8))
    t = tied((5, 3))
    x = ts.from_array(a, chunks=(4, 3))
    for invert in (False, True):
        np.testing.assert_array_equal(
            ts.isin(x, ts.from_array(t, chunks=2), invert=invert).compute(), np.isin(a, t, invert=invert)
        )
    np.testing.assert_array_equal(ts.isin(x, [1, 2.5, np.nan]).compute(), np.isin(a, [1, 2.5, np.nan]))
    np.testing.assert_array_equal(ts.isin(x, np.array([], dtype=float)).compute(), np.zeros(a.shape, bool))
    i = np.arange(20, dtype=np.int16)
    np.testing.assert_array_equal(
        ts.isin(ts.from_array(i, chunks=6), np.array([3, 300, -1], np.int64)).compute(), np.isin(i, [3, 300, -1])
    )
    assert bool(xp.isin(3, xp.asarray([1, 3]))) is True
    assert xp.isin(xp.asarray([1, 5]), 5).dtype == xp.bool


def test_take_with_lazy_and_known_indices():
    a = tied((6, 9))
    x = ts.from_array(a, chunks=(4, 4))
    idx = np.array([8, 0, -1, 3, 3])
    for axis in (0, 1):
        i = idx[idx < a.shape[axis]] if axis == 0 else idx
        np.testing.assert_array_equal(ts.take(x, ts.from_array(i, chunks=2), axis=axis).compute(), np.take(a, i, axis=axis))
        np.testing.assert_array_equal(ts.take(x, list(i), axis=axis).compute(), np.take(a, i, axis=axis))
    np.testing.assert_array_equal(ts.take(x, ts.from_array(np.array([50]), chunks=1), axis=None).compute(), np.take(a, [50]))
    with pytest.raises(IndexError):
        ts.take(x, ts.from_array(np.array([9]), chunks=1), axis=1).compute()
    with pytest.raises(ValueError, match="axis is required"):
        xp.take(x, xp.asarray([0]))
    with pytest.raises(TypeError, match="integers"):
        ts.take(x, ts.from_array(np.array([0.0]), chunks=1), axis=1)


def test_indexing_by_integer_arrays_numpy_and_lazy():
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4) * 1.5
    x = ts.from_array(a, chunks=(1, 2, 3))
    i, j = np.array([[0, 1], [1, 0]]), np.array([2, -1])
    np.testing.assert_array_equal(x[ts.from_array(i, chunks=1), 1, ts.from_array(j, chunks=1)].compute(), a[i, 1, j])
    np.testing.assert_array_equal(x[i, [0, 2], j].compute(), a[i, [0, 2], j])
    np.testing.assert_array_equal(x[:, ts.from_array(np.array([2, 0]), chunks=1)].compute(), a[:, [2, 0]])
    np.testing.assert_array_equal(x[ts.from_array(np.array([1]), chunks=1)].compute(), a[[1]])
    # An index past its own axis is an error, never another element.
    with pytest.raises(IndexError):
        x[np.array([0, 1]), 0, np.array([4, 0])].compute()


@pytest.mark.parametrize("kth", [0, 3, -1, [1, 7], (0, 5, 11)])
def test_partition_and_argpartition_put_kth_in_place(kth):
    a = tied((12, 5))
    x = ts.from_array(a, chunks=(4, 2))
    for axis in (0, -1, None):
        flat = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else axis
        if max(np.atleast_1d(kth)) >= flat.shape[ax]:
            continue
        want = np.partition(flat, kth, axis=ax)
        got = ts.partition(x, kth, axis=axis).compute()
        idx = np.atleast_1d(kth)
        np.testing.assert_array_equal(np.take(got, idx, axis=ax), np.take(want, idx, axis=ax))
        # Every element is in the right part: sorted order is one NumPy allows.
        np.testing.assert_array_equal(got, np.sort(flat, axis=ax))
        order = ts.argpartition(x, kth, axis=axis).compute()
        np.testing.assert_array_equal(np.take_along_axis(flat, order, axis=ax), got)


def test_partition_out_of_bounds_names_the_range():
    x = ts.from_array(np.arange(6.0), chunks=4)
    with pytest.raises(ValueError, match=r"kth 6 is out of bounds.*-6 <= kth < 6"):
        ts.partition(x, 6).compute()
    assert np.partition(x, 2).shape == (6,)
