import operator

import numpy as np
import pytest

import tessera as da

RNG = np.random.default_rng(7)
A = RNG.standard_normal((12, 10))
B = RNG.standard_normal((12, 10))


def x_(a=A, chunks=(5, 4)):
    return da.from_array(a, chunks=chunks)


@pytest.mark.parametrize(
    "op",
    [
        operator.add,
        operator.sub,
        operator.mul,
        operator.truediv,
        operator.lt,
        operator.le,
        operator.gt,
        operator.ge,
        operator.eq,
        operator.ne,
    ],
)
def test_binary_operators(op):
    np.testing.assert_allclose(op(x_(), x_(B, (3, 10))).compute(), op(A, B), rtol=1e-14)
    np.testing.assert_allclose(op(x_(), 2.5).compute(), op(A, 2.5), rtol=1e-14)
    np.testing.assert_allclose(op(2.5, x_()).compute(), op(2.5, A), rtol=1e-14)
    np.testing.assert_allclose(op(x_(), B[0]).compute(), op(A, B[0]), rtol=1e-14)


def test_power_and_unary():
    pos = np.abs(A) + 0.5
    np.testing.assert_allclose((x_(pos) ** 2.5).compute(), pos**2.5, rtol=1e-13)
    np.testing.assert_allclose((2.0 ** x_()).compute(), 2.0**A, rtol=1e-13)
    np.testing.assert_allclose((-x_()).compute(), -A)
    np.testing.assert_allclose((+x_()).compute(), A)
    np.testing.assert_allclose(abs(x_()).compute(), np.abs(A))
    for f in ["exp", "sin", "cos", "tanh", "floor", "ceil"]:
        np.testing.assert_allclose(getattr(da, f)(x_()).compute(), getattr(np, f)(A), rtol=1e-13, err_msg=f)
    np.testing.assert_allclose(da.sqrt(x_(pos)).compute(), np.sqrt(pos), rtol=1e-14)
    np.testing.assert_allclose(da.log(x_(pos)).compute(), np.log(pos), rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "bool"])
def test_float_predicates(dtype):
    a = (
        np.array([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, 7e4, -3.0]).astype(dtype)
        if dtype.startswith("f")
        else np.arange(8).astype(dtype)
    )
    x = da.from_array(a, chunks=3)
    for f in ("isnan", "isinf", "isfinite"):
        got = getattr(da, f)(x).compute()
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, getattr(np, f)(a), err_msg=f)


MATH = [
    ("tan", np.tan, [-1.2, -0.3, 0.0, 0.7, 1.3]),
    ("sinh", np.sinh, [-3.0, -0.5, -0.0, 2.5]),
    ("cosh", np.cosh, [-3.0, 0.0, 2.5]),
    ("arcsin", np.arcsin, [-1.0, -0.5, 0.25, 1.0, 1.5]),
    ("arccos", np.arccos, [-1.0, 0.0, 0.25, -1.5]),
    ("arctan", np.arctan, [-50.0, -0.0, 0.25, np.inf]),
    ("arcsinh", np.arcsinh, [-5.0, -0.0, 0.25, 3.0]),
    ("arccosh", np.arccosh, [1.0, 1.5, 40.0, 0.5]),
    ("arctanh", np.arctanh, [-0.9, -0.0, 0.75, 1.0, 2.0]),
    ("expm1", np.expm1, [-3.0, -1e-9, 0.0, 1e-7, 4.0]),
    ("log1p", np.log1p, [-0.5, -1e-9, 1e-7, 3.0, -1.0, -2.0]),
    ("log2", np.log2, [0.125, 1.0, 3.0, 0.0, -1.0]),
    ("log10", np.log10, [0.001, 1.0, 3.0, 0.0, -1.0]),
    ("trunc", np.trunc, [-2.7, -0.5, 0.5, 3.7]),
    ("rint", np.rint, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6]),
    ("fix", np.fix, [-2.7, -0.5, 0.5, 3.7]),
    ("deg2rad", np.deg2rad, [-180.0, 0.0, 90.0, 45.5]),
    ("rad2deg", np.rad2deg, [-3.0, 0.0, 1.0]),
    ("reciprocal", np.reciprocal, [-4.0, 0.5, 3.0, 0.0, -0.0]),
]


@pytest.mark.parametrize("name, ref, vals", MATH, ids=[m[0] for m in MATH])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_math_like_numpy(name, ref, vals, dtype):
    a = np.array(vals, dtype=dtype)
    with np.errstate(all="ignore"):
        want = ref(a)
    got = getattr(da, name)(da.from_array(a, chunks=2)).compute()
    assert got.dtype == want.dtype, name
    np.testing.assert_allclose(got, want, rtol=2e-7 if dtype == "float32" else 1e-14, atol=0, err_msg=name)
    np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]), err_msg=name)
    lazy = getattr(np, name)(da.from_array(a, chunks=2)) if hasattr(np, name) and name != "fix" else None
    if lazy is not None:
        assert isinstance(lazy, da.Array), f"np.{name} should stay lazy"


def test_binary_math_like_numpy():
    a = np.array([1.0, -1.0, 0.0, -0.0, 3.0, -2.5, np.inf, 1e200, np.nan])
    b = np.array([1.0, 1.0, -1.0, -0.0, -4.0, 0.0, 2.0, 1e200, 1.0])
    x, y = da.from_array(a, chunks=4), da.from_array(b, chunks=3)
    for name, ref in [("arctan2", np.arctan2), ("hypot", np.hypot), ("copysign", np.copysign)]:
        got = getattr(da, name)(x, y).compute()
        np.testing.assert_allclose(got, ref(a, b), rtol=1e-14, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref(a, b)), err_msg=name)
        assert isinstance(getattr(np, name)(x, y), da.Array)
    assert da.round(x).dtype == np.float64 and da.round(da.arange(3, chunks=2)).dtype == np.int64
    np.testing.assert_array_equal(np.round(x).compute(), np.round(a))
    np.testing.assert_array_equal(da.round(x, 2).compute(), np.round(a, 2))


def test_inplace_rebinds():
    x = x_()
    y = x
    y += 1
    y *= 2
    y -= x
    y /= 4
    assert y is not x
    np.testing.assert_allclose(y.compute(), ((A + 1) * 2 - A) / 4)
    np.testing.assert_array_equal(x.compute(), A)


def test_logical_operators():
    m1, m2 = A > 0, B > 0
    a, b = x_(m1), x_(m2)
    np.testing.assert_array_equal((a & b).compute(), m1 & m2)
    np.testing.assert_array_equal((a | b).compute(), m1 | m2)
    np.testing.assert_array_equal((~a).compute(), ~m1)


def test_promotion_like_numpy():
    i = da.arange(6, chunks=4).astype("int32")
    f = da.ones(6, dtype="float32", chunks=4)
    assert (i + 1).dtype == np.int32
    assert (f * 2.0).dtype == np.float32
    assert (i + f).dtype == np.float64
    assert (i + 1.5).dtype == np.float64
    assert (f + np.float64(1)).dtype == np.float64
    assert (i / 2).dtype == np.float64
    assert (i > 2).dtype == np.bool_


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims):
    x = x_()
    for name in ["sum", "prod", "mean", "min", "max"]:
        got = getattr(x, name)(axis=axis, keepdims=keepdims).compute()
        np.testing.assert_allclose(got, getattr(A, name)(axis=axis, keepdims=keepdims), rtol=1e-12, err_msg=name)
    for ddof in (0, 1):
        np.testing.assert_allclose(
            x.var(axis=axis, ddof=ddof, keepdims=keepdims).compute(), A.var(axis=axis, ddof=ddof, keepdims=keepdims), rtol=1e-12
        )
        np.testing.assert_allclose(
            x.std(axis=axis, ddof=ddof, keepdims=keepdims).compute(), A.std(axis=axis, ddof=ddof, keepdims=keepdims), rtol=1e-12
        )
    m = x > 0
    np.testing.assert_array_equal(m.any(axis=axis, keepdims=keepdims).compute(), (A > 0).any(axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(m.all(axis=axis, keepdims=keepdims).compute(), (A > 0).all(axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_arg_reductions(axis):
    np.testing.assert_array_equal(x_().argmin(axis=axis).compute(), A.argmin(axis=axis))
    np.testing.assert_array_equal(x_().argmax(axis=axis).compute(), A.argmax(axis=axis))
    np.testing.assert_array_equal(da.argmax(x_(), axis=axis, keepdims=True).compute(), np.argmax(A, axis=axis, keepdims=True))


def test_integer_sum_dtype():
    a = np.arange(100, dtype=np.int32)
    assert da.from_array(a, chunks=7).sum().compute() == a.sum()
    assert da.from_array(a, chunks=7).sum().dtype == a.sum().dtype


def test_manipulation():
    x = x_()
    np.testing.assert_array_equal(x.T.compute(), A.T)
    np.testing.assert_array_equal(x.reshape(10, 12).compute(), A.reshape(10, 12))
    np.testing.assert_array_equal(x.reshape((-1,)).compute(), A.reshape(-1))
    np.testing.assert_array_equal(x.transpose(1, 0).compute(), A.transpose(1, 0))
    np.testing.assert_array_equal(x.swapaxes(0, 1).compute(), A.swapaxes(0, 1))
    np.testing.assert_array_equal(x[None].squeeze(0).compute(), A)
    np.testing.assert_array_equal(x.rechunk((6, 5)).compute(), A)
    assert x.rechunk((6, 5)).chunks == ((6, 6), (5, 5))
    assert x.rechunk({1: 10}).chunks == ((5, 5, 2), (10,))
    np.testing.assert_array_equal(x.astype("float32").compute(), A.astype(np.float32))
    np.testing.assert_array_equal(da.concatenate([x, x_(B)], axis=1).compute(), np.concatenate([A, B], axis=1))
    np.testing.assert_array_equal(da.stack([x, x_(B)], axis=0).compute(), np.stack([A, B]))
    np.testing.assert_array_equal(da.where(x > 0, x, 0).compute(), np.where(A > 0, A, 0))
    np.testing.assert_array_equal(da.moveaxis(x[None], 0, -1).compute(), np.moveaxis(A[None], 0, -1))
    np.testing.assert_array_equal(da.broadcast_to(x_(A[0], 4), (3, 10)).compute(), np.broadcast_to(A[0], (3, 10)))


def test_matmul_dot():
    c = RNG.standard_normal((10, 7))
    np.testing.assert_allclose((x_() @ da.from_array(c, chunks=4)).compute(), A @ c, rtol=1e-12)
    np.testing.assert_allclose(x_().dot(da.from_array(c, chunks=4)).compute(), A.dot(c), rtol=1e-12)
    np.testing.assert_allclose((x_() @ c).compute(), A @ c, rtol=1e-12)
    np.testing.assert_allclose((A.T @ x_()).compute(), A.T @ A, rtol=1e-12)


INDICES = [
    (slice(2, 9),),
    (slice(None, None, 3), slice(1, None)),
    (slice(None, None, -1),),
    (slice(10, 1, -3), slice(-2, None)),
    (3,),
    (-1, 4),
    (Ellipsis, 2),
    (None, slice(1, 3), None),
    (slice(None), [7, 1, 1, -2]),
    ([0, 11, 3],),
    (np.array([2, 0]), slice(2, 4)),
    (2, [3, 1]),
    (None, [5, 2], None),
    (Ellipsis,),
    (),
    (slice(50, 60),),
]


@pytest.mark.parametrize("key", INDICES, ids=[repr(k) for k in INDICES])
def test_getitem(key):
    np.testing.assert_array_equal(x_()[key].compute(), A[key])


def test_blocks_and_metadata():
    x = x_()
    assert x.chunks == ((5, 5, 2), (4, 4, 2))
    assert x.chunksize == (5, 4) and x.numblocks == (3, 3) and x.npartitions == 9
    assert x.ndim == 2 and x.size == 120 and x.nbytes == 960 and x.itemsize == 8
    np.testing.assert_array_equal(x.blocks[1, 2].compute(), A[5:10, 8:10])
    np.testing.assert_array_equal(x.blocks[:2].compute(), A[:10])
    np.testing.assert_array_equal(x.blocks[[2, 0], 0].compute(), np.concatenate([A[10:], A[:5]])[:, :4])
    assert x.mT.shape == (10, 12)
    assert len(x) == 12
    assert float(x[0, 0]) == A[0, 0]
    assert [r.shape for r in x_()[:2]] == [(10,), (10,)]
