"""Manipulation routines against NumPy over uneven chunks, including generated input
(a flip or roll of random data generates the moved region)."""

import numpy as np
import pytest

import tessera as da

A = np.arange(7 * 9 * 4, dtype=np.float64).reshape(7, 9, 4) * 0.5 - 20


def x_(a=A, chunks=(3, 4, 3)):
    return da.from_array(a, chunks=chunks)


def test_flip_roll_moveaxis():
    for axis in (None, 0, 1, -1, (0, 2)):
        np.testing.assert_array_equal(da.flip(x_(), axis).compute(), np.flip(A, axis))
    np.testing.assert_array_equal(da.flipud(x_()).compute(), np.flipud(A))
    np.testing.assert_array_equal(da.fliplr(x_()).compute(), np.fliplr(A))
    for shift in (0, 1, -3, 9, 100):
        for axis in (None, 0, 1, 2):
            np.testing.assert_array_equal(
                da.roll(x_(), shift, axis).compute(), np.roll(A, shift, axis), err_msg=f"{shift} {axis}"
            )
    np.testing.assert_array_equal(da.roll(x_(), (2, -1), (0, 2)).compute(), np.roll(A, (2, -1), (0, 2)))
    for src, dst in ((0, -1), (-1, 0), ([0, 1], [2, 0])):
        np.testing.assert_array_equal(da.moveaxis(x_(), src, dst).compute(), np.moveaxis(A, src, dst))
    r = da.random.default_rng(1).random((50, 40), chunks=(7, 9))
    np.testing.assert_array_equal(da.roll(da.flip(r, 0), 5, 1).compute(), np.roll(np.flip(r.compute(), 0), 5, 1))


def test_repeat_tile_stack_split():
    for axis in (None, 0, 2):
        np.testing.assert_array_equal(da.repeat(x_(), 3, axis).compute(), np.repeat(A, 3, axis))
    for reps in (2, (1, 2), (2, 1, 3), (2, 1, 1, 2), (1, 0, 1)):
        np.testing.assert_array_equal(da.tile(x_(), reps).compute(), np.tile(A, reps), err_msg=str(reps))
    v = np.arange(5.0)
    for f in ("hstack", "vstack", "dstack"):
        np.testing.assert_array_equal(getattr(da, f)([x_(), x_()]).compute(), getattr(np, f)([A, A]), err_msg=f)
        np.testing.assert_array_equal(getattr(da, f)([v, v]).compute(), getattr(np, f)([v, v]), err_msg=f)
    for f in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for a in (np.float64(3.0), v, A[0]):
            np.testing.assert_array_equal(getattr(da, f)(da.asarray(a)).compute(), getattr(np, f)(a), err_msg=f)
    for sec in (3, [2, 5], [0, 9, 12]):
        got = da.array_split(x_(), sec, axis=1)
        want = np.array_split(A, sec, axis=1)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.compute(), w)
    with pytest.raises(ValueError, match="equal division"):
        da.split(x_(), 2, axis=1)
    xs, ys = da.meshgrid(np.arange(3.0), np.arange(4.0))
    wx, wy = np.meshgrid(np.arange(3.0), np.arange(4.0))
    np.testing.assert_array_equal(xs.compute(), wx)
    np.testing.assert_array_equal(ys.compute(), wy)
    np.testing.assert_array_equal(da.indices((3, 4)).compute(), np.indices((3, 4)))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad(mode):
    for width in (1, (2, 3), ((1, 0), (3, 2), (0, 4)), ((0, 6), (8, 1), (3, 3))):
        limit = np.array(A.shape) - (mode == "reflect")
        if (np.broadcast_to(np.asarray(width), (3, 2)).max(axis=1) > limit).any():
            continue
        want = np.pad(A, width, mode=mode)
        got = da.pad(x_(), width, mode=mode).compute()
        np.testing.assert_array_equal(got, want, err_msg=f"{mode} {width}")
    np.testing.assert_array_equal(da.pad(x_(), 2, constant_values=-1.5).compute(), np.pad(A, 2, constant_values=-1.5))
    with pytest.raises(ValueError, match="several steps"):
        da.pad(x_(), 20, mode="wrap" if mode != "constant" else "reflect")


def test_triangles():
    m = A[:, :, 0]
    for k in (-3, -1, 0, 2, 10):
        np.testing.assert_array_equal(da.tril(x_(m, (3, 4)), k).compute(), np.tril(m, k))
        np.testing.assert_array_equal(da.triu(x_(m, (3, 4)), k).compute(), np.triu(m, k))
    np.testing.assert_array_equal(da.triu(x_()).compute(), np.triu(A))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "uint8", "bool"])
def test_diagonal_matches_numpy(dtype):
    a = np.arange(7 * 9 * 4).reshape(7, 9, 4).astype(dtype)
    if dtype.startswith("float"):
        a[2, 2, 1] = np.nan
        a[3, 4, 0] = -0.0
    x = da.from_array(a, chunks=(3, 4, 3))
    for offset in (0, 1, 3, -2, -6, 8, -7, 20):
        for ax1, ax2 in ((0, 1), (1, 0), (0, 2), (2, 1), (-1, -3)):
            got = da.diagonal(x, offset, ax1, ax2).compute()
            want = np.diagonal(a, offset, ax1, ax2)
            assert got.shape == want.shape, (offset, ax1, ax2)
            np.testing.assert_array_equal(got, want, err_msg=f"{offset} {ax1} {ax2}")
            if dtype.startswith("float"):
                assert (np.signbit(got) == np.signbit(want)).all()
    with pytest.raises(ValueError):
        da.diagonal(x, 0, 1, 1)


def test_block_matches_numpy():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(4.0).reshape(2, 2)
    c, d = np.ones((3, 3)), np.zeros((3, 2))
    got = da.block([[da.from_array(a, chunks=1), b], [c, da.from_array(d, chunks=2)]]).compute()
    np.testing.assert_array_equal(got, np.block([[a, b], [c, d]]))
    np.testing.assert_array_equal(da.block([a[0], b[0]]).compute(), np.block([a[0], b[0]]))
    np.testing.assert_array_equal(da.block([[a[0]], [a[1]]]).compute(), np.block([[a[0]], [a[1]]]))
    with pytest.raises(ValueError, match="depths"):
        da.block([[a], b])


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_pad_linear_ramp_matches_numpy(dtype):
    a = (np.arange(20).reshape(4, 5) * 3 - 7).astype(dtype)
    x = da.from_array(a, chunks=(3, 2))
    for widths, end in (((2, 3), 0), (((1, 4), (0, 2)), 5.5), (3, -2)):
        got = da.pad(x, widths, mode="linear_ramp", end_values=end).compute()
        want = np.pad(a, widths, mode="linear_ramp", end_values=end)
        assert got.dtype == want.dtype
        # NumPy picks one of two formulas by whether any step is 0 (data-dependent);
        # Tessera always uses the first: floats agree to the last bits, integers exactly.
        tol = {"float32": 1e-6, "float64": 1e-14}.get(dtype, 0)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10, err_msg=f"{widths} {end}")


def test_expand_dims_with_several_axes():
    a = np.arange(6).reshape(2, 3)
    x = da.from_array(a)
    for axes in ((0, 1), (-1, 0), (1, 3), (0, 2, 4)):
        assert da.expand_dims(x, axes).shape == np.expand_dims(a, axes).shape
    with pytest.raises(ValueError):
        da.expand_dims(x, (1, 1))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take_along_axis_matches_numpy(axis):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((13, 11))
    x = da.from_array(a, chunks=(4, 5))
    order = np.argsort(a, axis=axis)
    # A chunked gathered axis, negative indices, and indices chunked unlike the array.
    for idx in [order, order - a.shape[axis], order[:3] if axis == 0 else order[:, :3]]:
        got = da.take_along_axis(x, da.from_array(idx, chunks=3), axis=axis).compute()
        np.testing.assert_array_equal(got, np.take_along_axis(a, idx, axis=axis))
    # The values at an argmax, kept as a length-1 axis; broadcasting on the other axes.
    i = np.expand_dims(np.argmax(a, axis=axis), axis)
    got = da.take_along_axis(x, da.from_array(i), axis=axis).compute()
    np.testing.assert_array_equal(got, np.take_along_axis(a, i, axis=axis))
    b = np.zeros((1, 4), dtype=np.int64) if axis == 0 else np.zeros((13, 1), dtype=np.int64)
    with pytest.raises(ValueError):
        da.take_along_axis(x, da.from_array(b[:, :2] if axis == 0 else b[:2]), axis=axis)


def test_take_along_axis_errors_and_flat_form():
    a = np.arange(6.0).reshape(2, 3)
    x = da.from_array(a, chunks=1)
    with pytest.raises(IndexError, match="out of bounds"):
        da.take_along_axis(x, da.from_array(np.array([[3]])), axis=1).compute()
    with pytest.raises(TypeError, match="integers"):
        da.take_along_axis(x, da.from_array(np.array([[1.0]])), axis=1)
    with pytest.raises(ValueError, match="dimensions"):
        da.take_along_axis(x, da.from_array(np.array([1])), axis=1)
    flat = np.array([5, 0, -1])
    np.testing.assert_array_equal(da.take_along_axis(x, flat, axis=None).compute(), np.take_along_axis(a, flat, axis=None))
    empty = np.zeros((2, 0), dtype=np.int64)
    assert da.take_along_axis(x, empty, axis=1).compute().shape == (2, 0)


def test_repeat_with_a_count_per_element_matches_numpy():
    a = np.arange(12.0).reshape(3, 4)
    x = da.from_array(a, chunks=(2, 3))
    counts = [2, 0, 1, 3]
    np.testing.assert_array_equal(da.repeat(x, counts, axis=1).compute(), np.repeat(a, counts, axis=1))
    np.testing.assert_array_equal(da.repeat(x, np.array([1, 2, 0]), axis=0).compute(), np.repeat(a, [1, 2, 0], axis=0))
    flat = np.arange(12) % 3
    got = da.repeat(x, da.from_array(flat, chunks=5)).compute()
    np.testing.assert_array_equal(got, np.repeat(a, flat))
    np.testing.assert_array_equal(da.repeat(x, [2], axis=0).compute(), np.repeat(a, [2], axis=0))
    with pytest.raises(ValueError):
        da.repeat(x, [1, 2], axis=1)
    with pytest.raises(ValueError, match="negative"):
        da.repeat(x, [1, -1, 0, 0], axis=1)
    with pytest.raises(ValueError, match="negative"):
        da.repeat(x, da.from_array(np.array([1, -1, 0, 0])), axis=1)
