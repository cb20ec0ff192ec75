"""dask's own tutorial examples, unchanged but for the import."""

import numpy as np
import pytest

import tessera as da


def test_arange_chunks():
    x = da.arange(1, 50, 3, chunks=5)
    assert x.chunks == ((5, 5, 5, 2),)
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.compute(), np.arange(1, 50, 3))


def test_seed_expression_and_slicing():
    x = da.random.random((2000, 2000), chunks=(200, 200))
    assert x.numblocks == (10, 10)
    xn = x.compute()
    assert isinstance(xn, np.ndarray) and xn.shape == (2000, 2000)
    y = (x + x.T).sum(axis=0).mean()
    np.testing.assert_allclose(y.compute(), (xn + xn.T).sum(axis=0).mean(), rtol=1e-12)
    np.testing.assert_array_equal(x[:100, 500:100:-2].compute(), xn[:100, 500:100:-2])
    np.testing.assert_array_equal(x[:, [10, 1, 5]].compute(), xn[:, [10, 1, 5]])


def test_big_seed_is_lazy():
    x = da.random.random((20000, 20000), chunks=(2000, 2000))
    y = (x + x.T).sum(axis=0).mean()
    assert x.npartitions == 100 and y.shape == ()
    assert x.nbytes == 20000 * 20000 * 8


def test_tensordot_and_svd():
    rng = np.random.default_rng(1)
    a, b = rng.random((60, 40)), rng.random((40, 30))
    x, y = da.from_array(a, chunks=(20, 20)), da.from_array(b, chunks=(20, 10))
    np.testing.assert_allclose(da.tensordot(x, y, axes=1).compute(), np.tensordot(a, b, axes=1), rtol=1e-12)
    t = rng.random((400, 30))
    u, s, v = da.linalg.svd(da.from_array(t, chunks=(100, 30)))
    np.testing.assert_allclose(s.compute(), np.linalg.svd(t, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose((u * s) @ v, t, atol=1e-10)


@pytest.mark.cpu_only
def test_visualize(tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    x = da.ones((100, 100), chunks=50)
    out = tmp_path / "graph"
    (x + 1).sum().visualize(filename=str(out))
    assert (tmp_path / "graph.png").stat().st_size > 100
