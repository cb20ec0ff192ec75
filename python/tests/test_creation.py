import numpy as np
import pytest

import tessera as da


@pytest.mark.parametrize(
    "chunks, expect",
    [
        (4, ((4, 4, 2), (4, 2))),
        ((5, 3), ((5, 5), (3, 3))),
        (((3, 7), (6,)), ((3, 7), (6,))),
        (-1, ((10,), (6,))),
        ((-1, 2), ((10,), (2, 2, 2))),
        ((None, 4), ((10,), (4, 2))),
        ({0: 5}, ((5, 5), (6,))),
        ("auto", ((10,), (6,))),
        ("128 MiB", ((10,), (6,))),
    ],
)
def test_chunk_forms(chunks, expect):
    a = np.arange(60.0).reshape(10, 6)
    x = da.from_array(a, chunks=chunks)
    assert x.chunks == expect
    np.testing.assert_array_equal(x.compute(), a)


def test_byte_size_chunks():
    x = da.from_array(np.zeros((100, 60)), chunks="1 kB")
    assert 0 < np.prod(x.chunksize) * 8 <= 1000
    assert da.ones((1000, 1000), chunks="800kB").chunksize == (316, 316)


def test_creation_functions():
    np.testing.assert_array_equal(da.zeros((3, 4), chunks=2).compute(), np.zeros((3, 4)))
    np.testing.assert_array_equal(da.ones(5, dtype="int32", chunks=2).compute(), np.ones(5, np.int32))
    assert da.ones(5, dtype="int32", chunks=2).dtype == np.int32
    np.testing.assert_array_equal(da.full((2, 3), 7, chunks=2).compute(), np.full((2, 3), 7))
    assert da.full((2,), 7).dtype == np.int64
    assert da.full((2,), 7.5, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(da.empty((2, 2)).shape, (2, 2))
    np.testing.assert_allclose(da.linspace(0, 1, 11, chunks=3).compute(), np.linspace(0, 1, 11))
    np.testing.assert_allclose(da.linspace(0, 1, 10, endpoint=False, chunks=3).compute(), np.linspace(0, 1, 10, endpoint=False))
    np.testing.assert_array_equal(da.eye(5, chunks=2, k=1).compute(), np.eye(5, k=1))
    np.testing.assert_array_equal(da.eye(4, chunks=2, M=6, dtype="int32").compute(), np.eye(4, 6, dtype=np.int32))
    np.testing.assert_array_equal(da.arange(10, chunks=3).compute(), np.arange(10))
    np.testing.assert_allclose(da.arange(0.5, 3.0, 0.25, chunks=3).compute(), np.arange(0.5, 3.0, 0.25))
    np.testing.assert_array_equal(da.arange(10, 0, -3, chunks=2).compute(), np.arange(10, 0, -3))
    z = da.zeros_like(da.ones((3, 3), chunks=2))
    assert z.chunks == ((2, 1), (2, 1)) and float(z.sum()) == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.asfortranarray(np.arange(24.0).reshape(4, 6)),
        lambda: np.arange(48.0).reshape(8, 6)[::2, ::-1],
        lambda: np.arange(24, dtype=">f8").reshape(4, 6),
        lambda: np.arange(24, dtype=">i4").reshape(4, 6),
        lambda: np.arange(24, dtype=np.float32).reshape(4, 6).T,
    ],
    ids=["fortran", "strided", "big-endian-f8", "big-endian-i4", "transposed-view"],
)
def test_numpy_layouts(make):
    a = make()
    x = da.from_array(a, chunks=3)
    out = x.compute()
    np.testing.assert_array_equal(out, a)
    assert out.dtype == a.dtype.newbyteorder("=")


def test_read_only_input():
    a = np.arange(10.0)
    a.setflags(write=False)
    np.testing.assert_array_equal(da.from_array(a, chunks=4).compute(), a)


@pytest.mark.parametrize("dtype", ["bool", "uint32", "int32", "int64", "float16", "float32", "float64"])
def test_dtypes_round_trip(dtype):
    a = (np.arange(12) % 5).astype(dtype).reshape(3, 4)
    x = da.from_array(a, chunks=2)
    assert x.dtype == np.dtype(dtype)
    out = x.compute()
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, a)


def test_asarray_and_lists():
    x = da.asarray([[1, 2], [3, 4]])
    assert x.dtype == np.int64 and x.shape == (2, 2)
    np.testing.assert_array_equal(da.asarray([1.5, 2.5], dtype="float32").compute(), np.array([1.5, 2.5], np.float32))
    y = da.asarray(x)
    assert y is x
