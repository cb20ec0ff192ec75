"""tessera.fft and tessera.array_api.fft against numpy.fft: every function and norm,
odd, prime and power-of-two lengths, real and complex input, n/s cutting and padding,
transformed axes spanning many (uneven) chunks, round trips and dtypes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts
import tessera.array_api as xp

RNG = np.random.default_rng(11)
NORMS = [None, "backward", "ortho", "forward"]


def cdata(shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def close(got, want, rtol=1e-10):
    got = np.asarray(got)
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("length", [1, 2, 7, 16, 30, 97])
@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "ihfft"])
@pytest.mark.parametrize("norm", NORMS)
def test_one_axis_forward_forms_match_numpy(name, length, norm):
    a = cdata((5, length)) if name in ("fft", "ifft") else RNG.standard_normal((5, length))
    x = ts.from_array(a, chunks=(2, max(1, length // 3)))
    for axis in (-1, 0):
        want = getattr(np.fft, name)(a, axis=axis, norm=norm)
        close(getattr(ts.fft, name)(x, axis=axis, norm=norm).compute(), want)


@pytest.mark.parametrize("n", [1, 5, 8, 13, 40])
@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
def test_n_cuts_and_pads(name, n):
    real = name in ("rfft", "ihfft")
    a = RNG.standard_normal((3, 12)) if real else cdata((3, 12))
    x = ts.from_array(a, chunks=(2, 5))
    for norm in NORMS:
        close(getattr(ts.fft, name)(x, n=n, norm=norm).compute(), getattr(np.fft, name)(a, n=n, norm=norm))


@pytest.mark.parametrize("m", [1, 2, 5, 9])
def test_inverse_real_forms_default_length(m):
    a = cdata((4, m))
    x = ts.from_array(a, chunks=(3, 2))
    for name in ("irfft", "hfft"):
        if m == 1:
            with pytest.raises(ValueError, match="n >= 1"):
                getattr(ts.fft, name)(x).compute()
            continue
        close(getattr(ts.fft, name)(x).compute(), getattr(np.fft, name)(a))


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2"])
@pytest.mark.parametrize("norm", NORMS)
def test_n_axis_forms_match_numpy(name, norm):
    a = RNG.standard_normal((6, 5, 8)) if name.startswith("rfft") else cdata((6, 5, 8))
    x = ts.from_array(a, chunks=(4, 2, 3))
    f, g = getattr(ts.fft, name), getattr(np.fft, name)
    close(f(x, norm=norm).compute(), g(a, norm=norm))
    close(f(x, axes=(0, 2), norm=norm).compute(), g(a, axes=(0, 2), norm=norm))
    close(f(x, s=(4, 10), axes=(2, 0), norm=norm).compute(), g(a, s=(4, 10), axes=(2, 0), norm=norm))


def test_round_trips_over_chunked_axes():
    a = cdata((40, 30))
    x = ts.from_array(a, chunks=(7, 9))
    close(ts.fft.ifft2(ts.fft.fft2(x)).compute(), a)
    r = RNG.standard_normal((40, 31))
    y = ts.from_array(r, chunks=(9, 7))
    close(ts.fft.irfftn(ts.fft.rfftn(y), s=r.shape).compute(), r)
    close(ts.fft.hfft(ts.fft.ihfft(y), n=31).compute(), r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int8, np.bool_])
def test_dtypes_follow_numpy(dtype):
    a = (RNG.standard_normal((4, 12)) * 3).astype(dtype)
    x = ts.from_array(a, chunks=(2, 5))
    want = np.fft.fft(a)
    got = ts.fft.fft(x).compute()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * max(1.0, np.abs(want).max()))
    if not np.iscomplexobj(a):
        want = np.fft.rfft(a)
        got = ts.fft.rfft(x).compute()
        assert got.dtype == want.dtype
        back = ts.fft.irfft(ts.fft.rfft(x), n=12).compute()
        assert back.dtype == np.fft.irfft(want, n=12).dtype


def test_frequencies_and_shifts():
    for n in (1, 4, 7):
        for d in (1.0, 0.25):
            close(ts.fft.fftfreq(n, d).compute(), np.fft.fftfreq(n, d))
            close(ts.fft.rfftfreq(n, d, chunks=2).compute(), np.fft.rfftfreq(n, d))
    a = np.arange(35.0).reshape(5, 7)
    x = ts.from_array(a, chunks=(2, 3))
    for axes in (None, 0, (1,), (0, 1), -1):
        close(ts.fft.fftshift(x, axes=axes).compute(), np.fft.fftshift(a, axes=axes))
        close(ts.fft.ifftshift(x, axes=axes).compute(), np.fft.ifftshift(a, axes=axes))
    assert xp.fft.fftfreq(8, d=0.5, dtype=xp.float32).dtype == np.float32


def test_array_api_names_and_negative_lengths():
    a = cdata((6, 9))
    x = ts.from_array(a, chunks=(4, 4))
    close(xp.fft.fftn(x, s=(-1, 12), axes=(0, 1)).compute(), np.fft.fftn(a, s=(6, 12), axes=(0, 1)))
    close(xp.fft.fft(x, n=4, axis=0, norm="ortho").compute(), np.fft.fft(a, n=4, axis=0, norm="ortho"))
    r = RNG.standard_normal((6, 9))
    y = ts.from_array(r, chunks=(5, 2))
    close(xp.fft.irfftn(xp.fft.rfftn(y), s=(-1, 9)).compute(), r)
    close(xp.fft.ihfft(y, axis=0).compute(), np.fft.ihfft(r, axis=0))


def test_errors_name_the_fix():
    x = ts.from_array(cdata((4, 4)), chunks=2)
    with pytest.raises(ValueError, match="norm"):
        ts.fft.fft(x, norm="unitary")
    with pytest.raises(ValueError, match="n >= 1"):
        ts.fft.fft(x, n=0).compute()
    with pytest.raises(Exception, match="real input"):
        ts.fft.rfft(x).compute()
    with pytest.raises(Exception, match="one length per axis"):
        ts.fft.fftn(x, s=(2, 2, 2), axes=(0, 1)).compute()
    with pytest.raises(TypeError, match="out="):
        ts.fft.fft(x, out=np.empty((4, 4), complex))
    with pytest.raises(ValueError, match="spacing"):
        ts.fft.fftfreq(4, 0.0)


@pytest.mark.cpu_only
@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 5),
    length=st.integers(1, 40),
    c0=st.integers(1, 5),
    c1=st.integers(1, 40),
)
def test_results_do_not_depend_on_the_chunking(rows, length, c0, c1):
    a = np.random.default_rng(length).standard_normal((rows, length))
    one = ts.fft.fft2(ts.from_array(a, chunks=(rows, length))).compute()
    many = ts.fft.fft2(ts.from_array(a, chunks=(c0, c1))).compute()
    np.testing.assert_array_equal(one, many)
