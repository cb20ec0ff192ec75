"""The element-wise functions against NumPy on the same inputs: every dtype each takes,
the special values (signed zeros, infinities, NaN, the integer extremes), uneven
chunkings, on the CPU and on wgpu (conftest runs each test on both)."""

import itertools
import operator

import numpy as np
import pytest

import tessera as da

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 7.25, -7.25, 1e-30, 1e30, np.inf, -np.inf, np.nan]


def _pairs(dtype):
    """Every pair of special values, as two 1-d arrays of `dtype`."""
    if np.dtype(dtype).kind == "f":
        vals = SPECIAL
    else:
        info = np.iinfo(dtype)
        vals = sorted(
            {0, 1, 2, 3, 7, 31, 32, 63, 64, 100, info.max, info.max - 1}
            | ({-1, -2, -7, -64, info.min, info.min + 1} if info.min < 0 else set())
        )
    with np.errstate(all="ignore"):
        a, b = zip(*itertools.product(vals, vals))
        return np.array(a).astype(dtype), np.array(b).astype(dtype)


def _same(got, want, name, zero_signs=True):
    """Equal values, NaN where NumPy has NaN, and the sign of every zero."""
    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want, err_msg=name)
    if want.dtype.kind == "f" and zero_signs:
        zero = want == 0
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]), err_msg=f"{name}: sign of zero")


FLOATS = ["float16", "float32", "float64"]
INTS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "fmax", "fmin"])
def test_division_and_nan_ignoring_extremes_match_numpy_bit_for_bit(name, dtype):
    a, b = _pairs(dtype)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(a, b)
        if name == "floor_divide" and a.dtype.kind == "f":
            # With an infinite operand, the standard's floor(a / b) (NumPy: NaN for
            # ±inf // x, -1 for x // ∓inf); NumPy's answer everywhere else.
            want = np.where(np.isinf(a) | np.isinf(b), np.floor(a / b), want)
    got = getattr(da, name)(da.from_array(a, chunks=17), da.from_array(b, chunks=29)).compute()
    # NumPy's float16 fmax/fmin keep the first of two equal zeros, its float32/64 ones
    # (C's fmax) the second; Tessera computes float16 in float32 registers, the second.
    _same(got, want, f"{name}[{dtype}]", zero_signs=not (dtype == "float16" and name in ("fmax", "fmin")))


@pytest.mark.parametrize("dtype", INTS + ["bool"])
@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"])
def test_bitwise_match_numpy(name, dtype):
    if dtype == "bool" and "shift" in name:
        with pytest.raises(TypeError, match="integers"):
            getattr(da, name)(da.from_array(np.array([True]), chunks=1), True)
        return
    if dtype == "bool":
        a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    elif "shift" in name:
        a, _ = _pairs(dtype)
        counts = [c for c in [0, 1, 5, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 100] if c <= np.iinfo(dtype).max]
        a = np.repeat(np.unique(a), len(counts))
        b = np.tile(np.array(counts, dtype=dtype), len(a) // len(counts))
    else:
        a, b = _pairs(dtype)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(a, b)
    got = getattr(da, name)(da.from_array(a, chunks=13), da.from_array(b, chunks=29)).compute()
    _same(got, want, f"{name}[{dtype}]")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logaddexp_and_nextafter(dtype):
    a, b = _pairs(dtype)
    x, y = da.from_array(a, chunks=11), da.from_array(b, chunks=23)
    with np.errstate(all="ignore"):
        want = np.logaddexp(a, b)
    got = da.logaddexp(x, y).compute()
    assert got.dtype == want.dtype
    # exp and log1p from two libms: a few ulps apart at most.
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)
    _same(da.nextafter(x, y).compute(), np.nextafter(a, b), "nextafter")


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_sign_signbit_invert(dtype):
    a, _ = _pairs(dtype)
    a = np.unique(a) if np.dtype(dtype).kind != "f" else np.array(SPECIAL, dtype=dtype)
    x = da.from_array(a, chunks=5)
    _same(da.sign(x).compute(), np.sign(a), "sign")
    _same(da.signbit(x).compute(), np.signbit(a), "signbit")
    _same(da.isneginf(x).compute(), np.isneginf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool), "isneginf")
    _same(da.isposinf(x).compute(), np.isposinf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool), "isposinf")
    if a.dtype.kind == "f":
        with pytest.raises(TypeError, match="bitwise"):
            da.invert(x)
    else:
        _same((~x).compute(), ~a, "invert")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cbrt_exp2(dtype):
    a = np.array([-27.0, -8.0, -1e-3, -0.0, 0.0, 1e-3, 2.0, 27.0, 1e30, np.inf, -np.inf, np.nan, -1075, 1023.5], dtype=dtype)
    x = da.from_array(a, chunks=4)
    with np.errstate(all="ignore"):
        for name in ("cbrt", "exp2"):
            want = getattr(np, name)(a)
            got = getattr(da, name)(x).compute()
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=2 * np.finfo(dtype).eps, atol=0, err_msg=name)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=name)


def test_operators_are_numpys():
    a = np.array([-7, -3, 0, 5, 9, 12], dtype=np.int64)
    b = np.array([2, -4, 3, -5, 0, 7], dtype=np.int64)
    x, y = da.from_array(a, chunks=4), da.from_array(b, chunks=3)
    with np.errstate(all="ignore"):
        for op in (operator.floordiv, operator.mod, operator.and_, operator.or_, operator.xor):
            _same(op(x, y).compute(), op(a, b), op.__name__)
            _same(op(x, 3).compute(), op(a, 3), op.__name__)
            _same(op(5, y).compute(), op(5, b), op.__name__)
        _same((x << 2).compute(), a << 2, "<<")
        _same((x >> 1).compute(), a >> 1, ">>")
        q, r = divmod(x, y)
        _same(q.compute(), a // b, "divmod")
        _same(r.compute(), a % b, "divmod")
    z = x
    z //= 2
    z %= 3
    assert z is not x
    np.testing.assert_array_equal(z.compute(), (a // 2) % 3)
    # On booleans & | ^ ~ are logical, as NumPy's.
    m = da.from_array(a > 0, chunks=4)
    _same((m & (y > 0)).compute(), (a > 0) & (b > 0), "&")
    _same((~m).compute(), ~(a > 0), "~")
    assert isinstance(np.floor_divide(x, y), da.Array) and isinstance(np.bitwise_xor(x, 3), da.Array)


def test_isclose_nan_to_num_round():
    a = np.array([1.0, 1.0 + 1e-9, np.inf, -np.inf, np.nan, 0.0, 1e-9, 2.0])
    b = np.array([1.0, 1.0, np.inf, np.inf, np.nan, 1e-9, 0.0, 2.1])
    x, y = da.from_array(a, chunks=3), da.from_array(b, chunks=5)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.0}):
        _same(da.isclose(x, y, **kw).compute(), np.isclose(a, b, **kw), str(kw))
    assert bool(da.allclose(x[:2], y[:2])) and not bool(da.allclose(x, y))
    assert np.allclose(x[:2], y[:2]) is True
    for kw in ({}, {"nan": -1.0, "posinf": 9.0}, {"neginf": -5.0}):
        _same(da.nan_to_num(x, **kw).compute(), np.nan_to_num(a, **kw), str(kw))
    f32 = a.astype(np.float32)
    _same(da.nan_to_num(da.from_array(f32, chunks=4)).compute(), np.nan_to_num(f32), "f32")
    v = np.array([1.2345, -2.5e-3, 1234.5, 15.0, 25.0, -35.0, np.nan])
    for d in (-2, -1, 0, 1, 2, 3):
        np.testing.assert_array_equal(da.round(da.from_array(v, chunks=3), d).compute(), np.round(v, d), err_msg=str(d))
    i = np.array([1234, -1250, 15, 0], dtype=np.int64)
    for d in (-2, -1, 0, 2):
        _same(da.from_array(i, chunks=3).round(d).compute(), np.round(i, d), f"int round {d}")


def test_refusals_name_the_fix():
    f = da.ones(3, chunks=2)
    for fn in (lambda: f & f, lambda: f << 1, lambda: ~f):
        with pytest.raises(TypeError, match="integer"):
            fn()
    with pytest.raises(TypeError, match="float32"):
        da.nextafter(f.astype("float16"), 1.0)
    with pytest.raises(TypeError, match="booleans"):
        da.floor_divide(f > 0, f > 0)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_frexp_and_ldexp_are_numpys_bits(dtype):
    special = [0.0, -0.0, 1.0, 0.75, -3.5, np.inf, -np.inf, np.nan, 5e-324, 1.7e308, 2.0**-1022 * (1 - 2**-52)]
    near_powers = [1 - 2**-53, 2 - 2**-52, 0.5 - 2**-54, 12345.678, -7e-310]
    with np.errstate(all="ignore"):
        a = np.array(special + near_powers, dtype=np.float64).astype(dtype)
        m, e = da.frexp(da.from_array(a, chunks=4))
        wm, we = np.frexp(a)
        assert m.dtype == wm.dtype and e.dtype == we.dtype
        np.testing.assert_array_equal(m.compute(), wm)
        np.testing.assert_array_equal(e.compute(), we)
        ex = np.array([0, 3, -2, 1074, -1074, 5, 2000, -5, 1074, -1, 1, 60, -30, 1, 2, -2100], dtype=np.int64)
        got = da.ldexp(da.from_array(a, chunks=4), da.from_array(ex, chunks=5)).compute()
        want = np.ldexp(a, ex)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(da.ldexp(da.from_array(a), 7).compute(), np.ldexp(a, 7))
    with pytest.raises(TypeError, match="integer"):
        da.ldexp(da.from_array(a), da.from_array(a))
