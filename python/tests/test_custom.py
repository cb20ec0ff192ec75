"""map_blocks and map_overlap with Python callables, against NumPy on the whole array."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import tessera as ts


def rng(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_map_blocks_elementwise_kwargs_and_extra_args():
    a = rng((7, 9))
    x = ts.from_array(a, chunks=(3, 4))
    y = ts.map_blocks(lambda b, k, scale=1.0: (b + k) * scale, x, 2.0, scale=3.0, dtype="f8")
    np.testing.assert_array_equal(y.compute(), (a + 2.0) * 3.0)
    # Method form and dtype inference (dask's: call on one-element arrays).
    z = x.map_blocks(np.exp)
    assert z.dtype == np.float64
    np.testing.assert_array_equal(z.compute(), np.exp(a))
    i = ts.arange(10, chunks=4).map_blocks(lambda b: b > 4)
    assert i.dtype == np.bool_
    np.testing.assert_array_equal(i.compute(), np.arange(10) > 4)


def test_block_info_and_block_id_match_dasks():
    a = np.arange(20.0).reshape(4, 5)
    x = ts.from_array(a, chunks=(3, 2))
    seen = {}
    lock = threading.Lock()

    def f(b, block_info=None, block_id=None):
        with lock:
            seen[block_id] = block_info
        return b + 100 * block_id[0] + 10 * block_id[1]

    got = x.map_blocks(f, dtype=a.dtype).compute()
    want = a.copy()
    for i, rows in enumerate([(0, 3), (3, 4)]):
        for j, cols in enumerate([(0, 2), (2, 4), (4, 5)]):
            want[slice(*rows), slice(*cols)] += 100 * i + 10 * j
            info = seen[(i, j)]
            assert info[0]["array-location"] == [rows, cols]
            assert info[0]["chunk-location"] == (i, j)
            assert info[0]["num-chunks"] == (2, 3)
            assert info[0]["shape"] == (4, 5)
            assert info[None]["chunk-shape"] == (rows[1] - rows[0], cols[1] - cols[0])
            assert info[None]["dtype"] == np.float64
    np.testing.assert_array_equal(got, want)


def test_several_arrays_broadcast():
    a, b = rng((6, 8), 1), rng((8,), 2)
    x, y = ts.from_array(a, chunks=(4, 3)), ts.from_array(b, chunks=5)
    np.testing.assert_array_equal(ts.map_blocks(np.add, x, y, dtype="f8").compute(), a + b)


def test_shape_changing_outputs():
    a = rng((6, 9), 3)
    x = ts.from_array(a, chunks=(2, 4))
    rows = x.map_blocks(lambda b: b.sum(axis=1), drop_axis=1, dtype="f8")
    assert rows.shape == (6,)
    np.testing.assert_allclose(rows.compute(), a.sum(axis=1), rtol=1e-12)
    lifted = x.map_blocks(lambda b: b[None], new_axis=0, dtype="f8")
    assert lifted.shape == (1, 6, 9)
    np.testing.assert_array_equal(lifted.compute(), a[None])
    heads = x.map_blocks(lambda b: b[:1], chunks=(1, (4, 4, 1)), dtype="f8")
    assert heads.shape == (3, 9)
    np.testing.assert_array_equal(heads.compute(), a[::2])


def test_declared_dtype_casts_same_kind_and_refuses_truncation():
    x = ts.ones((4,), chunks=2, dtype="f8")
    y = x.map_blocks(lambda b: b * 1.5, dtype="f4")
    assert y.compute().dtype == np.float32
    with pytest.raises(TypeError, match="same_kind"):
        x.map_blocks(lambda b: b * 1.5, dtype="i4").compute()


def test_an_exception_is_reraised_with_the_block():
    x = ts.ones((6,), chunks=2)

    def boom(b, block_id=None):
        if block_id == (1,):
            raise KeyError("bad block")
        return b

    with pytest.raises(KeyError, match="bad block") as e:
        x.map_blocks(boom, dtype="f8").compute()
    assert any("block (1)" in n and "boom" in n for n in getattr(e.value, "__notes__", []))
    with pytest.raises(ValueError, match=r"returned shape \[1\].*chunks="):
        x.map_blocks(lambda b: b[:1], dtype="f8").compute()
    with pytest.raises(ValueError, match="dtype="):
        x.map_blocks(lambda b: b.no_such_attribute)


def laplacian_periodic(a):
    return np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1) - 4 * a


@pytest.mark.parametrize("chunks", [(5, 4), (3, 7), (12, 10)])
def test_map_overlap_periodic_laplacian(chunks):
    a = rng((12, 10), 4)
    x = ts.from_array(a, chunks=chunks)
    y = x.map_overlap(laplacian_periodic, depth=1, boundary="periodic")
    np.testing.assert_allclose(y.compute(), laplacian_periodic(a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "boundary,mode",
    [("periodic", "wrap"), ("reflect", "symmetric"), ("nearest", "edge"), (-1.5, "constant")],
)
@pytest.mark.parametrize("depth", [1, 3])
def test_map_overlap_moving_average_every_boundary(boundary, mode, depth):
    """A centred moving average along axis 0 (depth 3 > the chunk of 2)."""
    a = rng((11, 4), 5)
    w = 2 * depth + 1

    def avg(b):
        c = np.cumsum(np.pad(b, ((1, 0), (0, 0))), axis=0)
        out = np.zeros_like(b)
        out[depth:-depth] = (c[w:] - c[:-w]) / w
        return out

    x = ts.from_array(a, chunks=(2, 3))
    got = x.map_overlap(avg, depth={0: depth}, boundary=boundary).compute()
    kw = {"constant_values": boundary} if mode == "constant" else {}
    p = np.pad(a, ((depth, depth), (0, 0)), mode=mode, **kw)
    want = np.stack([p[i : i + w].mean(axis=0) for i in range(11)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("boundary", ["none", "periodic", "reflect", "nearest", 0.5])
def test_map_overlap_trim_false_matches_dasks_values(boundary):
    """With trim=False dask's metadata keeps the input's chunks while its blocks come back
    extended (its compute returns a larger array than its .shape); ours states the
    extended blocks, and the values are dask's."""
    dask_array = pytest.importorskip("dask.array")
    a = rng((10, 7), 6)
    for trim in (True, False):
        want = (
            dask_array.from_array(a, chunks=(4, 3)).map_overlap(lambda b: b * 2, depth=1, boundary=boundary, trim=trim).compute()
        )
        got = ts.from_array(a, chunks=(4, 3)).map_overlap(lambda b: b * 2, depth=1, boundary=boundary, trim=trim)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.compute(), want)


def test_map_overlap_3d_gaussian_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    a = rng((9, 8, 10), 7)
    x = ts.from_array(a, chunks=(4, 5, 3))
    got = x.map_overlap(lambda b: ndimage.gaussian_filter(b, 1.0, mode="wrap", truncate=2.0), depth=2, boundary="periodic")
    np.testing.assert_allclose(got.compute(), ndimage.gaussian_filter(a, 1.0, mode="wrap", truncate=2.0), rtol=1e-10, atol=1e-12)


def test_map_overlap_on_generated_data_matches_the_computed_array():
    x = ts.random.random((30, 20), chunks=(7, 6))
    a = x.compute()
    got = x.map_overlap(laplacian_periodic, depth=1, boundary="periodic").compute()
    np.testing.assert_allclose(got, laplacian_periodic(a), rtol=1e-12, atol=1e-12)


def test_callables_run_in_parallel_without_the_gil_held_between_calls():
    """Two workers each wait for the other inside the callable: with the GIL held for the
    whole compute (or calls serialised) this would time out."""
    if ts.config.get("num_workers", None) == 1:
        pytest.skip("one worker")
    barrier = threading.Barrier(2, timeout=20)

    def meet(b):
        barrier.wait()
        return b

    x = ts.ones((4,), chunks=2)
    np.testing.assert_array_equal(x.map_blocks(meet, dtype="f8").compute(), np.ones(4))


@pytest.mark.parametrize("axis,keepdims,split_every", [(0, False, 2), (1, True, None), (None, False, 3), ((0, 1), True, 16)])
def test_user_reduction_matches_numpy(axis, keepdims, split_every):
    a = rng((13, 11), 8)
    x = ts.from_array(a, chunks=(2, 3))
    got = ts.reduction(
        x,
        lambda b, axis, keepdims: (b * b).sum(axis=axis, keepdims=keepdims),
        lambda b, axis, keepdims: np.sqrt(b.sum(axis=axis, keepdims=keepdims)),
        combine=np.sum,
        axis=axis,
        keepdims=keepdims,
        split_every=split_every,
        dtype="f8",
    )
    want = np.sqrt((a * a).sum(axis=axis, keepdims=keepdims))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.compute(), want, rtol=1e-12)


def test_user_reduction_refuses_what_it_does_not_build():
    x = ts.ones((4,), chunks=2)
    with pytest.raises(ValueError, match="dtype= is required"):
        ts.reduction(x, np.sum, np.sum)
    with pytest.raises(NotImplementedError, match="concatenate=False"):
        ts.reduction(x, np.sum, np.sum, dtype="f8", concatenate=False)


def ffill_block(b, axis, dtype=None):
    """Forward fill along ``axis`` inside one block (what xarray's ffill does per chunk)."""
    b = np.moveaxis(b, axis, 0)
    idx = np.where(np.isnan(b), 0, np.arange(b.shape[0]).reshape((-1,) + (1,) * (b.ndim - 1)))
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = np.take_along_axis(b, idx, axis=0)
    return np.moveaxis(out, 0, axis)


def test_ffill_as_a_user_scan_matches_a_direct_forward_fill():
    a = rng((20, 6), 9)
    a[np.random.default_rng(1).random(a.shape) < 0.6] = np.nan
    x = ts.from_array(a, chunks=(3, 4))
    got = ts.cumreduction(ffill_block, lambda carry, b: np.where(np.isnan(b), carry, b), np.nan, x, axis=0, dtype="f8").compute()
    np.testing.assert_array_equal(got, ffill_block(a, 0))
    c = ts.cumreduction(np.cumsum, np.add, 0, ts.from_array(np.ones(20), chunks=7)).compute()
    np.testing.assert_array_equal(c, np.arange(1.0, 21.0))


def test_apply_gufunc_matches_numpy():
    a, b = rng((3, 4, 5), 10), rng((5, 2), 11)
    x, y = ts.from_array(a, chunks=(2, 3, 2)), ts.from_array(b, chunks=(4, 1))
    got = ts.apply_gufunc(np.matmul, "(m,n),(n,p)->(m,p)", x, y, output_dtypes="f8")
    assert got.shape == (3, 4, 2)
    np.testing.assert_allclose(got.compute(), a @ b, rtol=1e-12)
    # axis= moves the core dimension; vectorize wraps a scalar-core function.
    n = ts.apply_gufunc(np.linalg.norm, "(i)->()", x, axis=1, vectorize=True, output_dtypes="f8")
    np.testing.assert_allclose(n.compute(), np.linalg.norm(np.moveaxis(a, 1, -1), axis=-1), rtol=1e-12)
    # A new output dimension needs its size.
    two = ts.apply_gufunc(
        lambda v: np.stack([v.min(-1), v.max(-1)], -1), "(i)->(k)", x, output_sizes={"k": 2}, output_dtypes="f8"
    )
    np.testing.assert_array_equal(two.compute(), np.stack([a.min(-1), a.max(-1)], -1))
    # dtype inferred, as dask does.
    assert ts.apply_gufunc(lambda v: v.sum(-1) > 0, "(i)->()", x).dtype == np.bool_
    with pytest.raises(ValueError, match="output_sizes"):
        ts.apply_gufunc(lambda v: v, "(i)->(j)", x, output_dtypes="f8")
    with pytest.raises(NotImplementedError, match="one output"):
        ts.apply_gufunc(np.divmod, "(),()->(),()", x, x)


def test_blockwise_matches_numpy():
    a, b = rng((5, 7), 12), rng((7, 4), 13)
    x, y = ts.from_array(a, chunks=(2, 3)), ts.from_array(b, chunks=(5, 3))
    p = ts.blockwise(np.dot, "ik", x, "ij", y, "jk", dtype="f8", concatenate=True)
    np.testing.assert_allclose(p.compute(), a @ b, rtol=1e-12)
    # Transposed output order, a constant argument, kwargs, dtype inference.
    t = ts.blockwise(lambda u, c, scale: (u * c * scale).T, "ji", x, "ij", 2.0, None, scale=3.0)
    np.testing.assert_array_equal(t.compute(), (a * 6.0).T)
    # Outer product: indices of different arguments meet.
    u, v = rng((6,), 14), rng((3,), 15)
    o = ts.blockwise(np.multiply.outer, "ij", ts.from_array(u, chunks=4), "i", ts.from_array(v, chunks=2), "j", dtype="f8")
    np.testing.assert_array_equal(o.compute(), np.multiply.outer(u, v))
    # new_axes and adjust_chunks (a function of each block's length).
    s = ts.blockwise(lambda w: np.stack([w.min(1), w.max(1)], 1), "ik", x, "ij", new_axes={"k": 2}, dtype="f8", concatenate=True)
    np.testing.assert_array_equal(s.compute(), np.stack([a.min(1), a.max(1)], 1))
    h = ts.blockwise(lambda w: w[:1], "ij", x, "ij", adjust_chunks={"i": lambda n: 1}, dtype="f8")
    np.testing.assert_array_equal(h.compute(), a[::2])
    with pytest.raises(NotImplementedError, match="concatenate=True"):
        ts.blockwise(np.dot, "ik", x, "ij", y, "jk", dtype="f8")


LAPLACIAN_WGSL = (Path(__file__).resolve().parents[2] / "tests" / "kernels" / "laplacian.wgsl").read_text()


def test_a_user_wgsl_kernel_and_its_cpu_form(device):
    a = np.random.default_rng(3).uniform(-1, 1, (40, 30)).astype(np.float32)
    x = ts.from_array(a, chunks=(16, 12))
    lap = ts.map_blocks_kernel(
        LAPLACIAN_WGSL,
        x,
        entry="laplacian",
        depth=1,
        boundary="periodic",
        cpu=lambda b: np.roll(b, 1, 0) + np.roll(b, -1, 0) + np.roll(b, 1, 1) + np.roll(b, -1, 1) - 4 * b,
    )
    want = laplacian_periodic(a)
    np.testing.assert_allclose(lap.compute(), want, rtol=0, atol=4e-6)
    bare = ts.map_blocks_kernel(LAPLACIAN_WGSL, x, entry="laplacian", depth=1, boundary="periodic")
    if device == "cpu":
        with pytest.raises(ValueError, match="no CPU form"):
            bare.compute()
    else:
        np.testing.assert_allclose(bare.compute(), want, rtol=0, atol=4e-6)


def test_a_block_function_returning_a_lazy_array_is_an_error_not_a_hang():
    x = ts.ones((4, 4), chunks=2)
    with pytest.raises(TypeError, match="lazy Tessera array"):
        ts.map_blocks(lambda b: ts.from_array(b), x, dtype="f8").compute()
