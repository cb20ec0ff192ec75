"""complex64 and complex128 against NumPy: every element-wise function over uneven
chunks, special values (signed zeros, infinities, NaN), arithmetic with Python complex
scalars, promotion with every dtype, reductions and scans, NumPy round trips, and the
errors for what has no complex meaning."""

import itertools

import numpy as np
import pytest

import tessera as da
import tessera.array_api as xp

COMPLEX = ["complex64", "complex128"]
UNARY = [
    "exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos",
    "arctan", "arcsinh", "arccosh", "arctanh", "expm1", "log1p", "log2", "log10", "sign",
    "abs", "angle", "real", "imag", "conj", "square", "reciprocal", "isnan", "isinf",
    "isfinite", "negative", "positive",
]  # fmt: skip


def _rtol(dtype):
    return 2e-5 if dtype == "complex64" else 1e-13


def _values(dtype, shape=(23, 19), seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * 3 + 1j * rng.standard_normal(shape) * 3
    return z.astype(dtype)


def _special(dtype):
    """Every pairing of the awkward parts: signed zeros, ones, infinities and NaN."""
    big = float(np.finfo(np.dtype(dtype).char.lower()).max) / 2
    parts = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, big]
    return np.array([complex(a, b) for a, b in itertools.product(parts, parts)], dtype=dtype)


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", UNARY)
def test_unary_functions_match_numpy(name, dtype):
    z = _values(dtype)
    got = getattr(da, name)(da.from_array(z, chunks=(7, 5))).compute()
    with np.errstate(all="ignore"):
        want = getattr(np, name)(z)
    assert got.dtype == want.dtype, name
    np.testing.assert_allclose(got, want, rtol=_rtol(dtype), atol=0, err_msg=name)


@pytest.mark.cpu_only
@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sinh", "cosh", "tanh", "arcsinh", "arctanh", "sin", "cos"])
def test_special_values_are_the_c_librarys(name, dtype):
    # NumPy calls the platform's C99 complex functions too: the same special values.
    z = _special(dtype)
    got = getattr(da, name)(da.from_array(z, chunks=10)).compute()
    with np.errstate(all="ignore"):
        want = getattr(np, name)(z)
    np.testing.assert_array_equal(np.isnan(got.real), np.isnan(want.real), err_msg=name)
    np.testing.assert_array_equal(np.isnan(got.imag), np.isnan(want.imag), err_msg=name)
    finite = np.isfinite(want.real) & np.isfinite(want.imag)
    np.testing.assert_allclose(got[finite], want[finite], rtol=_rtol(dtype), atol=1e-300)
    inf = np.isinf(want.real)
    np.testing.assert_array_equal(got.real[inf], want.real[inf], err_msg=name)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_arithmetic_and_python_complex_scalars(dtype):
    a, b = _values(dtype, seed=1), _values(dtype, seed=2)
    x, y = da.from_array(a, chunks=(5, 19)), da.from_array(b, chunks=(23, 4))
    with np.errstate(all="ignore"):
        cases = {
            "add": (x + y, a + b),
            "sub": (x - y, a - b),
            "mul": (x * y, a * b),
            "div": (x / y, a / b),
            "pow": (x**y, a**b),
            "scalar": ((2 - 1j) * x + 1j, (2 - 1j) * a + 1j),
            "int pow": (x**3, a**3),
            "eq": (x == x.conj(), a == a.conj()),
            "ne": (x != y, a != b),
        }
    for name, (g, w) in cases.items():
        got = g.compute()
        assert got.dtype == w.dtype, name
        np.testing.assert_allclose(got, w, rtol=10 * _rtol(dtype), err_msg=name)


@pytest.mark.cpu_only
@pytest.mark.parametrize(
    "other", ["bool", "int8", "uint8", "int16", "int32", "uint64", "float16", "float32", "float64"] + COMPLEX
)
@pytest.mark.parametrize("dtype", COMPLEX)
def test_promotion_with_every_dtype_is_numpys(dtype, other):
    x = da.from_array(np.zeros(3, dtype))
    y = da.from_array(np.zeros(3, other))
    want = np.result_type(dtype, other)
    assert (x + y).dtype == want, (dtype, other)
    assert xp.result_type(dtype, other) == want
    assert xp.can_cast(other, dtype) == np.can_cast(other, dtype), (other, dtype)
    # A Python complex is weak (NEP 50): float32 keeps its precision.
    assert (da.ones(2, dtype="float32") + 1j).dtype == np.complex64
    assert (da.ones(2, dtype="int32") + 1j).dtype == np.complex128


@pytest.mark.parametrize("dtype", COMPLEX)
def test_reductions_and_scans_match_numpy(dtype):
    z = _values(dtype, (31, 12), seed=3)
    x = da.from_array(z, chunks=(8, 5))
    for name in ["sum", "mean", "var", "std"]:
        for axis in [None, 0, 1]:
            got = getattr(x, name)(axis=axis).compute()
            want = getattr(z, name)(axis=axis)
            assert got.dtype == want.dtype, (name, axis)
            np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == "complex64" else 1e-12, err_msg=name)
    for axis in [None, 0, 1]:
        got = (x / 3).prod(axis=axis).compute()
        want = (z / 3).prod(axis=axis)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == "complex64" else 1e-10, err_msg="prod")
    for name in ["cumsum", "cumprod"]:
        got = getattr(da, name)(x / 3, axis=1).compute()
        want = getattr(np, name)(z / 3, axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == "complex64" else 1e-10, err_msg=name)
    zn = z.copy()
    zn[3, 4] = complex(np.nan, 1)
    xn = da.from_array(zn, chunks=(8, 5))
    for name in ["nansum", "nanmean", "nanvar", "nanstd"]:
        got = getattr(da, name)(xn, axis=0).compute()
        want = getattr(np, name)(zn, axis=0)
        assert got.dtype == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == "complex64" else 1e-12, err_msg=name)


def test_array_api_namespace_and_protocols():
    z = np.array([1 + 2j, -3.5 - 0.5j, 0j])
    x = xp.asarray(z)
    assert x.dtype == xp.complex128
    assert xp.isdtype(x.dtype, "complex floating") and xp.isdtype(x.dtype, "numeric")
    assert not xp.isdtype(x.dtype, "real floating")
    assert xp.finfo(xp.complex64).dtype == xp.float32
    assert xp.finfo(xp.complex128).eps == np.finfo(np.float64).eps
    assert xp.__array_namespace_info__().default_dtypes()["complex floating"] == xp.complex128
    np.testing.assert_array_equal(np.asarray(xp.real(x)), z.real)
    np.testing.assert_array_equal(np.asarray(x.imag), z.imag)
    np.testing.assert_array_equal(np.asarray(xp.conj(x)), z.conj())
    assert complex(xp.asarray(2 - 1j)) == 2 - 1j
    assert bool(xp.asarray(1j))
    with pytest.raises(TypeError, match="complex128"):
        float(xp.asarray(2 - 1j))
    assert xp.asarray(1j).dtype == xp.complex128


def test_npy_round_trip_and_numpy_input(tmp_path):
    z = _values("complex64", (9, 7), seed=4)
    x = da.from_array(z, chunks=(4, 3))
    p = tmp_path / "z.npy"
    da.to_npy(x, str(p))
    back = np.load(p)
    assert back.dtype == np.complex64
    np.testing.assert_array_equal(back, z)
    # A big-endian NumPy array is read in native order.
    be = z.astype(">c8")
    np.testing.assert_array_equal(da.from_array(be).compute(), z)


def test_what_has_no_complex_meaning_is_refused_by_name():
    x = da.from_array(np.array([1 + 1j, 2 - 1j]))
    for f, name in [
        (lambda: da.floor(x), "floor"),
        (lambda: x < x, "less"),
        (lambda: da.maximum(x, x), "maximum"),
        (lambda: x.max(), "max"),
        (lambda: x % 2, "remainder"),
    ]:
        with pytest.raises(TypeError, match=name):
            f().compute()


def test_tanh_at_infinity_has_the_standards_signed_zero():
    # C99 gives the zero the sign of sin(2y); the array API standard says +0 for y > 0.
    z = np.array([complex(np.inf, 8.1757834761542755e152), complex(-np.inf, -2.0), complex(np.inf, 0.0)])
    got = da.tanh(da.from_array(z, chunks=2)).compute()
    np.testing.assert_array_equal(got.real, [1.0, -1.0, 1.0])
    np.testing.assert_array_equal(np.signbit(got.imag), [False, True, False])
    t = da.tan(da.from_array(np.array([complex(8.1757834761542755e152, np.inf)]), chunks=1)).compute()
    assert t[0] == 1j and not np.signbit(t[0].real)
