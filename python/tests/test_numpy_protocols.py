import numpy as np
import pytest

import tessera as da

A = np.arange(24.0).reshape(4, 6) / 7


def x_():
    return da.from_array(A, chunks=(2, 4))


def test_asarray_computes():
    out = np.asarray(x_())
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, A)
    assert np.asarray(x_(), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("f", [np.exp, np.sin, np.sqrt, np.negative, np.absolute, np.square])
def test_ufuncs_stay_lazy(f):
    y = f(x_())
    assert isinstance(y, da.Array)
    np.testing.assert_allclose(y.compute(), f(A), rtol=1e-14)


def test_binary_ufuncs_and_mixed_operands():
    assert isinstance(np.add(x_(), 1), da.Array)
    np.testing.assert_allclose(np.add(x_(), 1).compute(), A + 1)
    np.testing.assert_allclose(np.multiply(A, x_()).compute(), A * A)
    np.testing.assert_allclose((A + x_()).compute(), A + A)
    np.testing.assert_allclose(np.maximum(x_(), 1.0).compute(), np.maximum(A, 1.0))


def test_array_function():
    x = x_()
    for f, kw in [(np.sum, {}), (np.sum, {"axis": 0}), (np.mean, {"axis": 1}), (np.max, {}), (np.std, {"ddof": 1})]:
        y = f(x, **kw)
        assert isinstance(y, da.Array), f
        np.testing.assert_allclose(y.compute(), f(A, **kw), rtol=1e-13)
    np.testing.assert_array_equal(np.concatenate([x, x]).compute(), np.concatenate([A, A]))
    np.testing.assert_array_equal(np.stack([x, x], axis=1).compute(), np.stack([A, A], axis=1))
    np.testing.assert_array_equal(np.where(x > 1, x, -1).compute(), np.where(A > 1, A, -1))
    np.testing.assert_array_equal(np.transpose(x).compute(), A.T)
    np.testing.assert_allclose(np.tensordot(x, x.T, axes=1).compute(), np.tensordot(A, A.T, axes=1), rtol=1e-13)
    q, r = np.linalg.qr(da.from_array(A, chunks=(2, 6)))
    np.testing.assert_allclose((q @ r).compute(), A, atol=1e-12)
    assert np.shape(x) == A.shape and np.ndim(x) == 2


def test_unsupported_numpy_function_is_numpy_type_error():
    with pytest.raises(TypeError, match="no implementation found"):
        np.linalg.cond(x_())
    with pytest.raises(TypeError):
        np.convolve(x_(), x_())


def test_dtype_tessera_lacks_names_it():
    with pytest.raises(TypeError, match=r"float128.*nearest.*float64"):
        da.from_array(np.arange(4, dtype=np.longdouble))
    with pytest.raises(TypeError, match=r"complex256.*nearest.*complex128"):
        da.from_array(np.arange(4, dtype=np.clongdouble))


def test_dlpack_round_trip():
    y = np.from_dlpack(x_())
    np.testing.assert_array_equal(y, A)
    back = da.from_dlpack(np.arange(5.0))
    np.testing.assert_array_equal(back.compute(), np.arange(5.0))
    assert x_().__dlpack_device__() == (1, 0)


def test_array_namespace():
    import tessera.array_api as xp

    assert x_().__array_namespace__() is xp
    assert xp.__array_api_version__ == "2025.12"
    y = xp.permute_dims(xp.concat([x_(), x_()], axis=0), (1, 0))
    np.testing.assert_array_equal(y.compute(), np.concatenate([A, A]).T)
    assert xp.result_type(xp.int32, xp.float32) == np.float64
    assert xp.isdtype(xp.float32, "real floating") and not xp.isdtype(xp.int32, "real floating")
    np.testing.assert_allclose(xp.std(x_(), correction=1).compute(), A.std(ddof=1))
