"""Exceptions by kind, with the engine's message; bad input from Python."""

import numpy as np
import pytest

import tessera as da

pytestmark = pytest.mark.cpu_only


def x_():
    return da.ones((6, 4), chunks=2)


def test_kinds():
    with pytest.raises(ValueError, match=r"shapes \[6, 4\] and \[3\]"):
        x_() + da.ones(3)
    with pytest.raises(np.exceptions.AxisError):
        x_().sum(axis=5)
    with pytest.raises(ValueError):
        x_().sum(axis=5)  # an AxisError is a ValueError too
    with pytest.raises(IndexError, match="out of bounds"):
        x_()[9]
    with pytest.raises(TypeError, match="longdouble|float128"):
        x_().astype("longdouble")
    with pytest.raises(OSError, match="no-such"):
        da.from_npy("/no-such/file.npy")
    with pytest.raises(ValueError, match="reshape"):
        x_().reshape(5, 5)


def test_out_of_memory_names_tier_and_limit():
    x = da.ones((4000, 4000), chunks=4000)
    with pytest.raises(da.OutOfMemoryError, match="host") as e:
        (x + 1).compute(host_memory_limit="1MiB")
    assert isinstance(e.value, MemoryError)
    assert "limit" in str(e.value)


def test_linalg_error():
    a = np.array([[1.0, 2.0], [2.0, 1.0]])  # not positive definite
    with pytest.raises(da.LinAlgError):
        da.linalg.cholesky(da.from_array(a, chunks=1)).compute()


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: da.ones((4, 4), chunks=0), ValueError),
        (lambda: da.ones((4, 4), chunks=-3), ValueError),
        (lambda: da.ones((4, 4), chunks="lots"), ValueError),
        (lambda: da.ones((4, 4), chunks=(2,)), ValueError),
        (lambda: da.ones((4, 4), chunks=((1, 1), (4,))), ValueError),
        (lambda: da.ones((4, 4), chunks=1.5), ValueError),
        (lambda: da.ones((-1, 4)), ValueError),
        (lambda: da.ones("big"), TypeError),
        (lambda: da.ones(None), TypeError),
        (lambda: da.from_array(np.array([object(), 1], dtype=object)), TypeError),
        (lambda: da.from_array(np.array(["a", "b"])), TypeError),
        (lambda: da.ones(4, chunks=2)[1.5], IndexError),
        (lambda: da.ones(4, chunks=2)["a"], IndexError),
        (lambda: da.ones(4, chunks=2)[1:3:0], IndexError),
        (lambda: da.ones(4, chunks=2)[0, 0], IndexError),
        (lambda: da.ones(4, chunks=2)[[True, False, True, False]], IndexError),
        (lambda: da.ones(4, chunks=2) + "a", TypeError),
        (lambda: da.ones(4, chunks=2) + None, TypeError),
        (lambda: da.ones(4, chunks=2) + [1, 2, 3], ValueError),
        (lambda: da.ones(4, chunks=2) << 2, TypeError),
        (lambda: da.ones(4, chunks=2).astype("no-such-dtype"), TypeError),
        (lambda: da.ones(4, chunks=2).sum(axis=1.5), TypeError),
        (lambda: da.ones(4, chunks=2).compute(device="tpu:0"), ValueError),
        (lambda: da.ones(4, chunks=2).compute(no_such_option=1), TypeError),
        (lambda: da.ones(4, chunks=2).compute(host_memory_limit="4 parsecs"), ValueError),
        (lambda: da.random.random((4,), chunks=2, dtype="int32"), TypeError),
        (lambda: da.arange(0, 10, 0), ValueError),
        (lambda: da.config.set(no_such_setting=1), TypeError),
        (lambda: da.concatenate([]), ValueError),
        (lambda: da.ones((2, 3)) @ da.ones((2, 3)), ValueError),
    ],
)
def test_bad_input_is_a_clear_exception(call, exc):
    with pytest.raises(exc) as e:
        call()
    assert len(str(e.value)) > 10, "the message should say what is wrong"
    assert "PanicException" not in type(e.value).__name__


def test_setitem_refused():
    x = da.ones(4, chunks=2)
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 2
