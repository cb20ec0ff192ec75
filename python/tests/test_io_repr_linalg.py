import numpy as np
import pytest

import tessera as da

RNG = np.random.default_rng(11)


def test_npy_round_trip(tmp_path):
    a = RNG.standard_normal((50, 30)).astype(np.float32)
    p = tmp_path / "a.npy"
    np.save(p, a)
    x = da.from_npy(p, chunks=(20, 30))
    np.testing.assert_array_equal(x.compute(), a)
    out = tmp_path / "b.npy"
    (x * 2).to_npy(out)
    np.testing.assert_array_equal(np.load(out), a * 2)
    da.to_npy(x, tmp_path / "c.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), a)


def test_zarr_round_trip(tmp_path):
    a = RNG.standard_normal((40, 30))
    x = da.from_array(a, chunks=(16, 10))
    x.to_zarr(str(tmp_path / "z"))
    y = da.from_zarr(str(tmp_path / "z"))
    assert y.chunks == x.chunks
    np.testing.assert_array_equal(y.compute(), a)
    da.to_zarr(x + 1, str(tmp_path / "z"), overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "z"), chunks=20).compute(), a + 1)
    da.to_zarr(x, str(tmp_path / "g"), component="sub/arr", zarr_format=2, codec="gzip")
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "g"), component="sub/arr").compute(), a)


def test_zarr_python_reads_what_tessera_writes(tmp_path):
    zarr = pytest.importorskip("zarr", reason="zarr-python is not installed")
    a = RNG.standard_normal((20, 12))
    da.from_array(a, chunks=5).to_zarr(str(tmp_path / "z"))
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "z"), mode="r")[:], a)
    z = zarr.create_array(str(tmp_path / "w"), shape=(9, 7), chunks=(4, 4), dtype="int32")
    z[:] = np.arange(63, dtype=np.int32).reshape(9, 7)
    np.testing.assert_array_equal(da.from_zarr(str(tmp_path / "w")).compute(), np.arange(63).reshape(9, 7))


def test_store_into_numpy():
    a = RNG.standard_normal((10, 8))
    target = np.zeros((10, 8))
    da.store(da.from_array(a, chunks=3) * 2, target)
    np.testing.assert_array_equal(target, a * 2)


class _Sliceable:
    """An array-like that is not NumPy and records every read (what from_array sees of
    a zarr, h5py or xarray lazily indexed array)."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.reads = a, a.shape, a.dtype, []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.a[key]


def test_from_array_reads_block_by_block():
    a = RNG.standard_normal((10, 8)).astype(">f4")  # big-endian: converted per block
    src = _Sliceable(a)
    x = da.from_array(src, chunks=(4, 3))
    assert src.reads == [] and x.chunks == ((4, 4, 2), (3, 3, 2))
    np.testing.assert_array_equal(x[:4, :3].compute(), a[:4, :3])
    assert src.reads == [(slice(0, 4), slice(0, 3))]  # one block read, never the whole
    np.testing.assert_array_equal((x * 2).compute(), a.astype("f4") * 2)
    assert len(src.reads) == 1 + 9
    lock_src = _Sliceable(a)
    np.testing.assert_allclose(da.from_array(lock_src, chunks=5, lock=True).sum().compute(), a.sum(dtype="f8"), rtol=1e-5)
    assert len(lock_src.reads) == 4


def test_from_array_under_a_limit_reads_blocks_again_instead_of_spilling(tmp_path, device):
    # x - x.mean(axis=0) needs every block for the mean before the first centred block:
    # under a limit of half the data the blocks are dropped and read from the source
    # again (the trace shows remakes), never written to disk; only the small partial
    # means and sums may spill. (On wgpu, which sets no device limit, the blocks stay on
    # the device: read once.)
    a = RNG.standard_normal((1000, 100))
    src = _Sliceable(a)
    x = da.from_array(src, chunks=(100, 100))
    trace = tmp_path / "trace.json"
    opts = dict(host_memory_limit="400KiB", spill_dir=str(tmp_path / "spill"), trace=str(trace), num_workers=2)
    got = (x - x.mean(axis=0)).sum(axis=0).compute(**opts)
    np.testing.assert_allclose(got, (a - a.mean(axis=0)).sum(axis=0), atol=1e-9)
    events = trace.read_text()
    assert '"name":"spill from_array' not in events
    if device == "cpu":
        assert len(src.reads) > 10  # some of the 10 blocks were read twice
        assert '"remake ' in events


def test_store_streams_blocks_into_regions():
    a = RNG.standard_normal((10, 8))
    target = np.full((12, 8), -1.0)
    seen = []

    class Target:
        shape = target.shape

        def __setitem__(self, key, value):
            seen.append(key)
            target[key] = value

    da.store([da.from_array(a, chunks=(3, 8)) + 1], [Target()], regions=[(slice(2, 12),)], lock=False)
    np.testing.assert_array_equal(target[2:], a + 1)
    assert (target[:2] == -1).all() and len(seen) == 4  # one assignment per block
    with pytest.raises(ValueError, match="regions"):
        da.store(da.ones((3, 3), chunks=2), np.zeros((4, 4)))


@pytest.mark.cpu_only
def test_repr_and_html():
    x = da.ones((1000, 800, 3), chunks=(100, 400, 3))
    r = repr(x)
    assert "shape=(1000, 800, 3)" in r and "float64" in r and "chunksize=(100, 400, 3)" in r
    h = x._repr_html_()
    assert "<svg" in h and "<table" in h and "20 chunks" in h and "tasks" in h and "18.31 MiB" in h
    for shape, chunks in [((50,), 7), ((50, 30), 7), ((5, 50, 30), 7), ((2, 3, 4, 5), 2)]:
        assert "<svg" in da.ones(shape, chunks=chunks)._repr_html_()


def test_linalg_against_numpy():
    t = RNG.standard_normal((300, 20))
    x = da.from_array(t, chunks=(60, 20))
    q, r = da.linalg.qr(x)
    np.testing.assert_allclose((q @ r).compute(), t, atol=1e-12)
    np.testing.assert_allclose((q.T @ q).compute(), np.eye(20), atol=1e-12)
    b = RNG.standard_normal(300)
    sol, res, rank, s = da.linalg.lstsq(x, da.from_array(b, chunks=60))
    ref = np.linalg.lstsq(t, b, rcond=None)
    np.testing.assert_allclose(sol.compute(), ref[0], rtol=1e-10)
    assert int(rank.compute()) == ref[2]
    m = RNG.standard_normal((30, 30))
    spd = m @ m.T + 30 * np.eye(30)
    xs = da.from_array(spd, chunks=10)
    np.testing.assert_allclose(da.linalg.cholesky(xs, lower=True).compute(), np.linalg.cholesky(spd), atol=1e-12)
    np.testing.assert_allclose(da.linalg.cholesky(xs).compute(), np.linalg.cholesky(spd).T, atol=1e-12)
    rhs = RNG.standard_normal(30)
    np.testing.assert_allclose(
        da.linalg.solve(xs, da.from_array(rhs, chunks=10)).compute(), np.linalg.solve(spd, rhs), rtol=1e-10
    )
    np.testing.assert_allclose(da.linalg.inv(xs).compute(), np.linalg.inv(spd), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(da.linalg.norm(x).compute(), np.linalg.norm(t), rtol=1e-12)
    np.testing.assert_allclose(da.linalg.norm(x, axis=0).compute(), np.linalg.norm(t, axis=0), rtol=1e-12)
    u, s, v = da.linalg.svd_compressed(x, k=5, seed=1)
    np.testing.assert_allclose(s.compute(), np.linalg.svd(t, compute_uv=False)[:5], rtol=0.2)
