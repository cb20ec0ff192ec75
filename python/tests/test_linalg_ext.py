"""The linear-algebra extension (tessera.linalg and tessera.array_api.linalg) against
numpy.linalg on stacks of matrices: real and complex, f32 and f64, stacks chunked across
the stack and the matrix axes, singular and empty inputs, the standard's named tuples."""

import numpy as np
import pytest

import tessera as ts
import tessera.array_api as xp

RNG = np.random.default_rng(5)


def mats(shape, dtype=np.float64):
    a = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * RNG.standard_normal(shape)
    return a.astype(dtype)


def tol(dtype):
    return 2e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-9


def close(got, want, dtype=np.float64, scale=None):
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    s = scale if scale is not None else max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol(dtype) * s)


DTYPES = [np.float64, np.float32, np.complex128, np.complex64]
CHUNKS = [(3, 4, 4), (1, 2, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_det_slogdet_inv_solve_match_numpy(dtype, chunks):
    a = mats((3, 4, 4), dtype)
    x = ts.from_array(a, chunks=chunks)
    d = ts.linalg.det(x).compute()
    assert d.dtype == np.linalg.det(a).dtype
    close(d, np.linalg.det(a), dtype)
    s, ld = ts.linalg.slogdet(x)
    ws, wld = np.linalg.slogdet(a)
    assert s.compute().dtype == ws.dtype and ld.compute().dtype == wld.dtype
    close(s.compute(), ws, dtype)
    close(ld.compute(), wld, dtype)
    close(ts.linalg.inv(x).compute(), np.linalg.inv(a), dtype, scale=np.abs(np.linalg.inv(a)).max())
    b = mats((3, 4, 2), dtype)
    close(
        ts.linalg.solve(x, ts.from_array(b, chunks=(2, 4, 1))).compute(),
        np.linalg.solve(a, b),
        dtype,
        scale=np.abs(np.linalg.solve(a, b)).max(),
    )
    v = mats((4,), dtype)
    close(
        xp.linalg.solve(x, xp.asarray(v)).compute(),
        np.linalg.solve(a, v[None, :, None])[..., 0],
        dtype,
        scale=np.abs(np.linalg.solve(a, v[None, :, None])).max(),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_eigvalsh_svdvals_match_numpy(dtype):
    a = mats((2, 3, 5, 5), dtype)
    h = (a + np.conj(np.swapaxes(a, -1, -2))) / 2
    x = ts.from_array(h, chunks=(1, 2, 5, 3))
    w, v = ts.linalg.eigh(x)
    ww = np.linalg.eigvalsh(h)
    assert w.compute().dtype == ww.dtype and v.compute().dtype == h.dtype
    close(w.compute(), ww, dtype)
    close(ts.linalg.eigvalsh(x).compute(), ww, dtype)
    # Eigenvectors are defined up to a phase: check H V = V diag(w) instead.
    vv, wv = v.compute(), w.compute()
    close(h @ vv, vv * wv[..., None, :], dtype, scale=np.abs(ww).max())
    close(ts.linalg.svdvals(ts.from_array(a, chunks=(1, 3, 2, 5))).compute(), np.linalg.svd(a, compute_uv=False), dtype)
    # UPLO="U" reads the upper triangle, as NumPy.
    up = np.triu(h) + np.conj(np.swapaxes(np.triu(h, 1), -1, -2))
    close(
        ts.linalg.eigvalsh(ts.from_array(np.triu(h) + np.tril(mats(h.shape, dtype), -1), chunks=5), UPLO="U").compute(),
        np.linalg.eigvalsh(up),
        dtype,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eig_values_match_numpy(dtype):
    a = mats((4, 6, 6), dtype)
    w = ts.linalg.eigvals(ts.from_array(a, chunks=(2, 6, 6))).compute()
    want = np.linalg.eigvals(a)
    assert w.dtype == want.dtype
    # Eigenvalues come in no fixed order: compare sorted.
    close(np.sort_complex(w), np.sort_complex(want), dtype)
    wv, vv = (r.compute() for r in ts.linalg.eig(ts.from_array(a, chunks=2)))
    close(a.astype(want.dtype) @ vv, vv * wv[..., None, :], dtype, scale=np.abs(want).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 6, 4), (2, 4, 6), (3, 5, 5)])
def test_qr_and_svd_reconstruct_in_both_modes(dtype, shape):
    a = mats(shape, dtype)
    x = ts.from_array(a, chunks=(1, 3, 2))
    m, n = shape[-2:]
    k = min(m, n)
    for mode, qshape in (("reduced", (m, k)), ("complete", (m, m))):
        q, r = xp.linalg.qr(x, mode=mode)
        qv, rv = q.compute(), r.compute()
        assert qv.shape[-2:] == qshape and qv.dtype == a.dtype
        close(qv @ rv, a, dtype)
        assert np.all(np.tril(rv, -1) == 0)
        close(np.conj(np.swapaxes(qv, -1, -2)) @ qv, np.broadcast_to(np.eye(qshape[1]), qv.shape[:-2] + (qshape[1],) * 2), dtype)
    for full in (False, True):
        u, s, vh = xp.linalg.svd(x, full_matrices=full)
        uv, sv, vhv = u.compute(), s.compute(), vh.compute()
        assert sv.dtype == np.linalg.svd(a, compute_uv=False).dtype
        close(sv, np.linalg.svd(a, compute_uv=False), dtype)
        close((uv[..., :, :k] * sv[..., None, :]) @ vhv[..., :k, :], a, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_cholesky_both_triangles(dtype):
    a = mats((3, 4, 4), dtype)
    spd = a @ np.conj(np.swapaxes(a, -1, -2)) + 4 * np.eye(4)
    x = ts.from_array(spd, chunks=(1, 4, 4))
    low = xp.linalg.cholesky(x).compute()
    close(low, np.linalg.cholesky(spd), dtype, scale=np.abs(spd).max())
    up = xp.linalg.cholesky(x, upper=True).compute()
    close(up, np.conj(np.swapaxes(np.linalg.cholesky(spd), -1, -2)), dtype, scale=np.abs(spd).max())
    with pytest.raises(ts.linalg.LinAlgError, match="positive definite"):
        xp.linalg.cholesky(ts.from_array(-spd, chunks=4)).compute()


def test_norms_rank_pinv_power_trace_cross_outer_match_numpy():
    a = mats((2, 5, 3))
    x = ts.from_array(a, chunks=(1, 2, 3))
    for ord_ in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        for keep in (False, True):
            want = np.linalg.norm(a, ord=ord_, axis=(-2, -1), keepdims=keep)
            close(xp.linalg.matrix_norm(x, ord=ord_, keepdims=keep).compute(), want)
    for ord_ in (1, 2, 3.5, np.inf, -np.inf, 0):
        close(
            xp.linalg.vector_norm(x, axis=(0, 2), ord=ord_).compute(),
            np.linalg.norm(np.moveaxis(a, 1, 0).reshape(5, -1), ord=ord_, axis=1),
        )
    close(xp.linalg.vector_norm(x).compute(), np.asarray(np.linalg.norm(a.ravel())))
    low = a.copy()
    low[1] = np.outer(np.arange(1, 6), np.arange(2, 5))
    lx = ts.from_array(low, chunks=(1, 5, 3))
    assert list(xp.linalg.matrix_rank(lx).compute()) == list(np.linalg.matrix_rank(low))
    assert list(xp.linalg.matrix_rank(lx, rtol=0.9).compute()) == list(np.linalg.matrix_rank(low, rtol=0.9))
    close(xp.linalg.pinv(lx).compute(), np.linalg.pinv(low), scale=np.abs(np.linalg.pinv(low)).max())
    sq = mats((2, 3, 3))
    sx = ts.from_array(sq, chunks=(1, 3, 3))
    for n in (0, 1, 2, 5, -1, -3):
        want = np.linalg.matrix_power(sq, n)
        close(xp.linalg.matrix_power(sx, n).compute(), want, scale=np.abs(want).max())
    for off in (-1, 0, 2):
        close(xp.linalg.trace(x, offset=off).compute(), np.trace(a, offset=off, axis1=-2, axis2=-1))
    u, w = mats((4, 3)), mats((3,))
    close(xp.linalg.cross(xp.asarray(u), xp.asarray(w)).compute(), np.cross(u, w))
    close(xp.linalg.outer(xp.asarray(w), xp.asarray(u[0])).compute(), np.outer(w, u[0]))
    close(xp.linalg.diagonal(x, offset=1).compute(), np.diagonal(a, offset=1, axis1=-2, axis2=-1))


def test_named_tuples_singular_and_empty_inputs():
    a = mats((2, 3, 3))
    # Exactly singular in floating point too (elimination leaves an exact zero pivot).
    a[1] = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]
    x = xp.asarray(a)
    res = xp.linalg.slogdet(x)
    assert res._fields == ("sign", "logabsdet")
    assert res.sign.compute()[1] == 0 and res.logabsdet.compute()[1] == -np.inf
    assert xp.linalg.eigh(x)._fields == ("eigenvalues", "eigenvectors")
    assert xp.linalg.svd(x)._fields == ("U", "S", "Vh")
    assert xp.linalg.qr(x)._fields == ("Q", "R")
    with pytest.raises(ts.linalg.LinAlgError, match="singular"):
        xp.linalg.inv(x).compute()
    e = xp.zeros((0, 4, 4))
    assert xp.linalg.det(e).compute().shape == (0,)
    assert xp.linalg.svd(xp.zeros((2, 3, 0))).U.compute().shape == (2, 3, 3)
    np.testing.assert_array_equal(xp.linalg.det(xp.zeros((2, 0, 0))).compute(), [1.0, 1.0])
    with pytest.raises(ValueError, match="square"):
        xp.linalg.det(xp.zeros((3, 4))).compute()


def test_integer_input_computes_in_float64():
    a = RNG.integers(-5, 5, (2, 4, 4))
    x = xp.asarray(a)
    d = xp.linalg.det(x).compute()
    assert d.dtype == np.float64
    close(d, np.linalg.det(a))


def test_numpy_linalg_functions_dispatch_to_the_engine():
    a = mats((3, 4, 4))
    x = ts.from_array(a, chunks=(1, 4, 4))
    assert isinstance(np.linalg.det(x), ts.Array)
    close(np.asarray(np.linalg.det(x)), np.linalg.det(a))
    u, s, vh = np.linalg.svd(x)
    assert u.shape == (3, 4, 4) and vh.shape == (3, 4, 4)
    close(np.asarray(np.linalg.svd(x, compute_uv=False)), np.linalg.svd(a, compute_uv=False))
    close(
        np.asarray(np.linalg.matrix_power(x, 3)), np.linalg.matrix_power(a, 3), scale=np.abs(np.linalg.matrix_power(a, 3)).max()
    )
    q, r = np.linalg.qr(x, mode="complete")
    assert q.shape == (3, 4, 4) and r.shape == (3, 4, 4)
