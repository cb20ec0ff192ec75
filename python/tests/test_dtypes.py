"""Every integer width (int8 to uint64) against NumPy: promotion between every pair of
dtypes and with Python scalars, the dtypes functions and reductions return, wrapping
arithmetic inside fused expressions, casts, reductions and scans; and the array API's
dtype functions (result_type, can_cast, iinfo, finfo, isdtype)."""

import itertools

import numpy as np
import pytest

import tessera as da
import tessera.array_api as xp

INTS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
NUMERIC = ["bool"] + INTS + ["float16", "float32", "float64"]


def _values(dtype, n=41):
    """Values spanning the dtype's range, its extremes included."""
    if dtype == "bool":
        return np.arange(n) % 3 == 0
    if np.dtype(dtype).kind == "f":
        return np.linspace(-50, 50, n).astype(dtype)
    info = np.iinfo(dtype)
    v = np.linspace(float(info.min), float(info.max), n - 4)
    ends = np.array([info.min, info.max, 0, 1], dtype=dtype)
    return np.concatenate([v.astype(dtype), ends])


@pytest.mark.cpu_only
@pytest.mark.parametrize("a,b", list(itertools.combinations_with_replacement(NUMERIC, 2)))
def test_promotion_of_every_pair_is_numpys(a, b):
    x = da.from_array(np.zeros(3, a))
    y = da.from_array(np.zeros(3, b))
    want = np.result_type(a, b)
    assert da.maximum(x, y).dtype == want, (a, b)
    assert xp.result_type(a, b) == want
    assert xp.can_cast(a, b) == np.can_cast(a, b), (a, b)


@pytest.mark.parametrize("dtype", INTS)
def test_wrapping_arithmetic_inside_one_fused_expression(dtype):
    a = _values(dtype)
    b = a[::-1].copy()
    x, y = da.from_array(a, chunks=7), da.from_array(b, chunks=9)
    with np.errstate(over="ignore"):
        # Wrapped between steps: (a + b) overflows before the comparison sees it.
        want = ((a + b) * np.array(3, dtype) - a) // np.array(5, dtype) > b
        got = (((x + y) * 3 - x) // 5 > y).compute()
        np.testing.assert_array_equal(got, want)
        for op in ["add", "subtract", "multiply", "maximum", "minimum", "bitwise_xor"]:
            g = getattr(da, op)(x, y).compute()
            w = getattr(np, op)(a, b)
            assert g.dtype == w.dtype, op
            np.testing.assert_array_equal(g, w, err_msg=op)
        np.testing.assert_array_equal((-x).compute(), -a)
        np.testing.assert_array_equal(abs(x).compute(), np.abs(a))
        np.testing.assert_array_equal((x**2).compute(), a**2)


@pytest.mark.parametrize("dtype", INTS + ["bool"])
def test_math_functions_take_numpys_float(dtype):
    a = np.abs(_values(dtype).astype(np.int64)).astype(dtype) if dtype != "bool" else _values(dtype)
    x = da.from_array(a, chunks=8)
    for name in ["sqrt", "exp", "sin", "log1p", "arctan"]:
        g = getattr(da, name)(x).compute()
        with np.errstate(all="ignore"):
            w = getattr(np, name)(a)
        assert g.dtype == w.dtype, (name, dtype, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=np.finfo(w.dtype).eps * 4, err_msg=name)
    g = (x / x).compute()
    with np.errstate(all="ignore"):
        w = a / a
    assert g.dtype == w.dtype
    np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", INTS + ["bool"])
def test_reductions_and_scans_accumulate_as_numpy(dtype):
    a = _values(dtype).reshape(-1)
    x = da.from_array(a, chunks=6)
    with np.errstate(over="ignore"):
        for name in ["sum", "prod", "cumsum", "cumprod"]:
            g, w = getattr(x, name)().compute(), getattr(a, name)()
            assert g.dtype == w.dtype, (name, g.dtype, w.dtype)
            np.testing.assert_array_equal(g, w, err_msg=name)
    for name in ["min", "max", "argmin", "argmax"]:
        g, w = np.asarray(getattr(x, name)().compute()), getattr(a, name)()
        assert g.dtype == np.asarray(w).dtype or name.startswith("arg"), name
        assert g == w, (name, g, w)
    # Cancellation: the error is relative to the values' size, not the mean's.
    scale = float(np.abs(a.astype(np.float64)).max())
    np.testing.assert_allclose(x.mean().compute(), a.mean(), rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("src,dst", list(itertools.product(INTS + ["float64", "bool"], INTS)))
def test_astype_between_widths_wraps_as_numpy(src, dst):
    a = _values(src)
    if np.dtype(src).kind == "f" and np.dtype(dst).kind == "u":
        # A negative float into an unsigned dtype is undefined in C (NumPy warns and
        # gives the platform's bits); Tessera saturates at 0, as Rust's `as`.
        a = a[a >= 0]
    got = da.from_array(a, chunks=5).astype(dst).compute()
    np.testing.assert_array_equal(got, a.astype(dst))


@pytest.mark.cpu_only
def test_dtype_info_functions():
    for name in INTS:
        i, w = xp.iinfo(getattr(xp, name)), np.iinfo(name)
        assert (i.bits, i.min, i.max) == (w.bits, int(w.min), int(w.max))
        assert xp.isdtype(getattr(xp, name), "integral")
        assert xp.isdtype(getattr(xp, name), "signed integer") == name.startswith("int")
        assert xp.isdtype(getattr(xp, name), "unsigned integer") == name.startswith("uint")
    assert set(xp.__array_namespace_info__().dtypes(kind="integral")) == set(INTS)
    assert not xp.can_cast(xp.uint64, xp.int64)
    assert xp.result_type(xp.int8, xp.uint8) == xp.int16


def test_uint64_past_int64_keeps_its_order_and_bits():
    a = np.array([2**64 - 1, 2**63, 5, 2**63 - 1, 0], dtype=np.uint64)
    x = da.from_array(a, chunks=2)
    assert x.max().compute() == a.max() and x.argmax().compute() == a.argmax()
    assert x.min().compute() == a.min() and x.argmin().compute() == a.argmin()
    np.testing.assert_array_equal((x >> 1).compute(), a >> np.uint64(1))
    np.testing.assert_array_equal((x // 3).compute(), a // np.uint64(3))
    np.testing.assert_array_equal(x.astype("float64").compute(), a.astype("float64"))


@pytest.mark.cpu_only
def test_a_python_integer_out_of_the_dtypes_range_is_refused_as_numpy_2_does():
    x = da.from_array(np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="out of bounds for uint8"):
        (x + 300).compute()
    with pytest.raises(ValueError, match="out of bounds for uint8"):
        (x * -1).compute()
    np.testing.assert_array_equal((x + 255).compute(), np.arange(4, dtype=np.uint8) + 255)


@pytest.mark.cpu_only
def test_python_integers_past_int64_meet_uint64_arrays():
    a = np.array([0, 1, 2**63], dtype=np.uint64)
    x = da.from_array(a)
    big = 2**64 - 2
    for got, want in [
        (x + 2**63, a + np.uint64(2**63)),
        (big - x, np.uint64(big) - a),
        (da.maximum(x, big), np.maximum(a, np.uint64(big))),
    ]:
        assert got.dtype == np.uint64
        np.testing.assert_array_equal(got.compute(), want)
    with pytest.raises(ValueError, match="out of bounds for int64"):
        da.from_array(np.arange(3)) + 2**63
