"""tessera.random's distributions beyond uniform and normal, against SciPy: a
Kolmogorov-Smirnov test for each continuous one and a chi-square test for each discrete
one (fixed seeds, so each outcome is fixed; a p-value below 1e-4 fails), the moments,
the same values for any chunking and on every device, NumPy's argument rules."""

import numpy as np
import pytest
from scipy import stats

import tessera as ts

N = 40_000


def draw(method, *args, chunks=(7_001,), seed=3, **kw):
    rng = ts.random.default_rng(seed)
    return getattr(rng, method)(*args, size=N, chunks=chunks, **kw)


def chi2_ok(values, pmf, lo, hi):
    """Chi-square of the counts on [lo, hi] (the tails pooled into the end bins)."""
    ks = np.arange(lo, hi + 1)
    probs = pmf(ks)
    probs[0] += 1.0 - probs.sum()  # the rest of the mass, pooled
    observed = np.array([np.sum(np.clip(values, lo, hi) == k) for k in ks])
    expected = probs * len(values)
    keep = expected > 5
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    return stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue


@pytest.mark.parametrize(
    "method, args, cdf",
    [
        ("exponential", (2.5,), stats.expon(scale=2.5).cdf),
        ("gamma", (0.4, 2.0), stats.gamma(0.4, scale=2.0).cdf),
        ("gamma", (3.5, 1.5), stats.gamma(3.5, scale=1.5).cdf),
        ("beta", (0.5, 0.7), stats.beta(0.5, 0.7).cdf),
        ("beta", (2.0, 5.0), stats.beta(2.0, 5.0).cdf),
    ],
)
def test_continuous_distributions_pass_kolmogorov_smirnov(method, args, cdf):
    x = draw(method, *args).compute()
    assert x.dtype == np.float64 and x.shape == (N,)
    assert stats.kstest(x, cdf).pvalue > 1e-4


@pytest.mark.parametrize(
    "method, args, pmf, lo, hi",
    [
        ("poisson", (3.0,), stats.poisson(3.0).pmf, 0, 15),
        ("poisson", (250.0,), stats.poisson(250.0).pmf, 180, 320),
        ("binomial", (20, 0.3), stats.binom(20, 0.3).pmf, 0, 20),
        ("binomial", (1000, 0.6), stats.binom(1000, 0.6).pmf, 520, 680),
        ("integers", (-3, 9), lambda k: np.full(len(k), 1 / 12), -3, 8),
    ],
)
def test_discrete_distributions_pass_chi_square(method, args, pmf, lo, hi):
    x = draw(method, *args).compute()
    assert x.dtype == np.int64
    assert chi2_ok(x, pmf, lo, hi) > 1e-4


def test_moments():
    g = draw("gamma", 3.0, 2.0).compute()
    assert abs(g.mean() - 6.0) < 0.1 and abs(g.var() - 12.0) < 0.5
    p = draw("poisson", 40.0).compute()
    assert abs(p.mean() - 40.0) < 0.2 and abs(p.var() - 40.0) < 1.5
    b = draw("binomial", 50, 0.9).compute()
    assert abs(b.mean() - 45.0) < 0.1 and abs(b.var() - 4.5) < 0.3


@pytest.mark.parametrize(
    "method, args",
    [
        ("integers", (0, 100)),
        ("exponential", ()),
        ("gamma", (0.7,)),
        ("beta", (2, 3)),
        ("poisson", (12.0,)),
        ("binomial", (30, 0.2)),
    ],
)
def test_same_values_for_any_chunking(method, args):
    a = draw(method, *args, chunks=(N,)).compute()
    b = draw(method, *args, chunks=(977,)).compute()
    np.testing.assert_array_equal(a, b)
    # The CPU draws them for every device (GPUs decline with a reason): the same bits.
    np.testing.assert_array_equal(a, draw(method, *args, chunks=(977,)).compute(device="cpu"))


def test_integers_bounds_endpoint_and_dtype():
    rng = ts.random.default_rng(1)
    x = rng.integers(5, size=2000, chunks=300).compute()
    assert x.min() == 0 and x.max() == 4
    y = rng.integers(-2, 2, size=2000, endpoint=True, dtype="int16").compute()
    assert y.dtype == np.int16 and y.min() == -2 and y.max() == 2
    with pytest.raises(ValueError, match="below"):
        rng.integers(3, 3, size=4)
    with pytest.raises(TypeError, match="integers or floats"):
        rng.integers(0, 2, size=4, dtype="bool")


def test_permutation_and_choice():
    rng = ts.random.default_rng(8)
    p = rng.permutation(1000, chunks=170).compute()
    assert sorted(p.tolist()) == list(range(1000))
    assert not np.array_equal(p, np.arange(1000))
    x = ts.from_array(np.arange(12.0).reshape(4, 3), chunks=2)
    px = rng.permutation(x).compute()
    assert sorted(map(tuple, px.tolist())) == sorted(map(tuple, np.arange(12.0).reshape(4, 3).tolist()))
    # One chunk size for the draws and the candidates, whatever their lengths.
    assert rng.choice(1000, size=10, chunks=(30,)).compute().shape == (10,)
    c = rng.choice(50, size=(5, 4), replace=False).compute()
    assert c.shape == (5, 4) and len(set(c.ravel().tolist())) == 20
    w = np.array([0.0, 0.1, 0.0, 0.6, 0.3])
    cw = rng.choice(ts.from_array(np.arange(5)), size=30_000, p=w).compute()
    counts = np.bincount(cw, minlength=5)
    assert counts[0] == 0 and counts[2] == 0
    assert stats.chisquare(counts[[1, 3, 4]], w[[1, 3, 4]] * 30_000).pvalue > 1e-4
    # Without replacement, weighted: never a zero weight, never a repeat.
    cn = rng.choice(5, size=3, replace=False, p=w).compute()
    assert len(set(cn.tolist())) == 3 and 0 not in cn and 2 not in cn
    with pytest.raises(ValueError, match="without replacement"):
        rng.choice(3, size=4, replace=False).compute()
    with pytest.raises(TypeError, match="immutable"):
        rng.shuffle(x)


def test_a_seed_repeats_the_sequence_and_calls_differ():
    a, b = ts.random.default_rng(5), ts.random.default_rng(5)
    x1, x2 = a.poisson(4.0, size=100).compute(), a.poisson(4.0, size=100).compute()
    assert not np.array_equal(x1, x2)
    np.testing.assert_array_equal(x1, b.poisson(4.0, size=100).compute())


def test_bad_parameters_are_clear_errors():
    rng = ts.random.default_rng(0)
    with pytest.raises(ValueError, match="scale"):
        rng.exponential(-1.0, size=3)
    with pytest.raises(ValueError, match="lam"):
        rng.poisson(-1.0, size=3)
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        rng.binomial(10, 1.5, size=3)
    with pytest.raises(ValueError, match="shape"):
        rng.gamma(0.0, size=3)
