"""xarray on Tessera (``chunked_array_type="tessera"``) against xarray on NumPy, on a
small climate-like dataset written with zarr-python: time x lat x lon, a real calendar,
NaNs, several variables. Every result is also checked to be Tessera-backed until
computed (no silent NumPy fallback)."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray", reason="xarray is not installed (pip install xarray)")
pd = pytest.importorskip("pandas")
pytest.importorskip("zarr")

import tessera  # noqa: E402

T, Y, X = 365 * 2, 12, 16


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(7)
    time = pd.date_range("2000-01-01", periods=T, freq="D")
    lat = np.linspace(-60, 60, Y)
    lon = np.linspace(0, 337.5, X)
    season = np.cos(2 * np.pi * np.arange(T) / 365.25)[:, None, None]
    t2m = 280 + 10 * season + rng.normal(0, 2, (T, Y, X))
    t2m[rng.random((T, Y, X)) < 0.05] = np.nan
    u = rng.normal(0, 5, (T, Y, X)).astype("float32")
    v = rng.normal(1, 3, (T, Y, X))
    return xr.Dataset(
        {
            "t2m": (("time", "lat", "lon"), t2m, {"units": "K"}),
            "u": (("time", "lat", "lon"), u),
            "v": (("time", "lat", "lon"), v),
            "mask": (("lat", "lon"), rng.random((Y, X)) < 0.8),
        },
        coords={"time": time, "lat": lat, "lon": lon},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("xr") / "data.zarr")
    ds = _dataset()
    enc = {v: {"chunks": (100, 6, 8)} for v in ("t2m", "u", "v")}
    ds.to_zarr(path, mode="w", consolidated=True, encoding=enc)
    return path


@pytest.fixture(scope="module")
def ref(store) -> xr.Dataset:
    return xr.open_zarr(store, chunks=None).load()


@pytest.fixture
def tds(store) -> xr.Dataset:
    return xr.open_zarr(store, chunked_array_type="tessera", chunks={"time": 73})


def _lazy(obj) -> None:
    """Every data variable of ``obj`` is still a Tessera array."""
    variables = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    for v in variables:
        assert isinstance(v.data, tessera.Array), type(v.data)


def _same(got, want, **kw) -> None:
    _lazy(got)
    xr.testing.assert_allclose(got.compute(), want, **kw)


def test_open_zarr_is_tessera(tds, ref):
    _lazy(tds)
    assert "tessera.Array<chunksize=(73, 6, 8)" in repr(tds)  # not computed to print
    assert "tessera" in tds._repr_html_()
    assert tds.t2m.chunks == ((73,) * 10, (6, 6), (8, 8))
    assert tds.t2m.attrs["units"] == "K"
    xr.testing.assert_identical(tds.compute(), ref)


def test_open_dataset_engine_zarr(store, ref):
    ds = xr.open_dataset(store, engine="zarr", chunked_array_type="tessera", chunks={})
    _lazy(ds)
    # chunks={}: the stored chunks.
    assert ds.u.chunks == ((100,) * 7 + (30,), (6, 6), (8, 8))
    xr.testing.assert_identical(ds.compute(), ref)


def test_chunk_a_numpy_dataset(ref):
    ds = ref.chunk({"time": 50}, chunked_array_type="tessera")
    _lazy(ds)
    assert ds.v.chunks[0][0] == 50
    _same(ds.v * 2 + ds.u, ref.v * 2 + ref.u)
    # As with Cubed, xarray picks dask unless told: name the manager (or set_options).
    re = ds.chunk({"time": 200}, chunked_array_type="tessera")
    assert re.v.chunks[0] == (200, 200, 200, 130)
    _same(re.v, ref.v)
    with xr.set_options(chunk_manager="tessera"):
        _same(ref.u.chunk({"time": 100}), ref.u)


def test_arithmetic_and_broadcasting(tds, ref):
    weights = np.cos(np.deg2rad(ref.lat))
    _same(tds.t2m * weights + tds.u, ref.t2m * weights + ref.u)
    _same(np.hypot(tds.u, tds.v), np.hypot(ref.u, ref.v))
    _same(tds.t2m - tds.t2m.mean("time"), ref.t2m - ref.t2m.mean("time"))
    _same(tds.where(tds.mask), ref.where(ref.mask))


@pytest.mark.parametrize("how", ["mean", "std", "max", "min", "sum", "var", "median"])
def test_reductions_over_named_dims(tds, ref, how):
    for dims in ("time", ("lat", "lon")):
        if how == "median" and dims == "time":
            # xarray needs a one-chunk core dimension for a median.
            _same(getattr(tds.t2m.chunk({"time": -1}, chunked_array_type="tessera"), how)(dims), getattr(ref.t2m, how)(dims))
            continue
        _same(getattr(tds.t2m, how)(dims), getattr(ref.t2m, how)(dims))
        _same(getattr(tds.t2m, how)(dims, skipna=False), getattr(ref.t2m, how)(dims, skipna=False))


def test_whole_dataset_reductions(tds, ref):
    _same(tds.mean(), ref.mean())
    _same(tds[["u", "v"]].std("time", ddof=1), ref[["u", "v"]].std("time", ddof=1))


def test_isnull_count_and_fillna(tds, ref):
    _same(tds.t2m.isnull().sum("time"), ref.t2m.isnull().sum("time"))
    _same(tds.t2m.count("time"), ref.t2m.count("time"))
    _same(tds.t2m.fillna(0.0), ref.t2m.fillna(0.0))
    _same(tds.t2m.notnull().any("lat"), ref.t2m.notnull().any("lat"))


def test_groupby_month_and_anomalies(tds, ref):
    clim = tds.t2m.groupby("time.month").mean()
    want = ref.t2m.groupby("time.month").mean()
    _same(clim, want)
    _same(tds.t2m.groupby("time.month") - clim, ref.t2m.groupby("time.month") - want)


def test_resample_monthly(tds, ref):
    _same(tds.t2m.resample(time="MS").mean(), ref.t2m.resample(time="MS").mean())
    _same(tds.u.resample(time="7D").max(), ref.u.resample(time="7D").max())


def test_rolling_mean(tds, ref):
    # u is float32: window sums carry ~1e-6 of rounding either way (bottleneck's running
    # sum, our sum of the window), so compare absolutely at that scale.
    _same(tds.u.rolling(time=5).mean(), ref.u.rolling(time=5).mean(), atol=1e-5)
    _same(tds.t2m.rolling(time=7, center=True, min_periods=1).mean(), ref.t2m.rolling(time=7, center=True, min_periods=1).mean())


def test_ffill_and_bfill(tds, ref):
    # xarray (2026.9) takes the lazy scan path of ffill/bfill for dask arrays only
    # (duck_array_ops.push); any other chunked array goes to bottleneck, which computes
    # it. Right answers, computed eagerly: README's xarray section says so.
    pytest.importorskip("bottleneck")
    for got, want in [
        (tds.t2m.ffill("time"), ref.t2m.ffill("time")),
        (tds.t2m.bfill("time"), ref.t2m.bfill("time")),
        (tds.t2m.ffill("time", limit=2), ref.t2m.ffill("time", limit=2)),
    ]:
        xr.testing.assert_allclose(got.compute(), want)


def test_cumulative(tds, ref):
    _same(tds.u.cumsum("time"), ref.u.cumsum("time"))


def test_weighted_mean(tds, ref):
    w = np.cos(np.deg2rad(ref.lat))
    _same(tds.t2m.weighted(w).mean(("lat", "lon")), ref.t2m.weighted(w).mean(("lat", "lon")))


@pytest.mark.parametrize("dask_present", [True, False])
def test_quantile(tds, ref, dask_present, monkeypatch):
    # Without dask, xarray takes apply_ufunc(dask="parallelized") and applies the array's
    # namespace to NumPy blocks; with it, dask="allowed" and the whole array.
    import xarray.core.variable as variable

    if not dask_present:
        monkeypatch.setattr(variable, "module_available", lambda *a, **k: False)
    got = tds.t2m.chunk({"time": -1}, chunked_array_type="tessera").quantile([0.1, 0.5, 0.9], dim="time")
    _same(got, ref.t2m.quantile([0.1, 0.5, 0.9], dim="time"))


def test_interp_along_an_unchunked_dim(tds, ref):
    pytest.importorskip("scipy")
    new_lat = np.linspace(-50, 50, 7)
    _same(tds.t2m.interp(lat=new_lat), ref.t2m.interp(lat=new_lat))


def test_compute_persist_load(tds, ref):
    p = tds.persist()
    _lazy(p)
    xr.testing.assert_identical(p.compute(), ref)
    loaded = tds.u.load()
    assert isinstance(loaded.data, np.ndarray)
    np.testing.assert_array_equal(loaded.values, ref.u.values)


def test_to_zarr_round_trip(tds, ref, tmp_path):
    out = str(tmp_path / "anom.zarr")
    anom = (tds.t2m - tds.t2m.mean("time")).to_dataset(name="anom")
    anom.to_zarr(out, mode="w")
    back = xr.open_zarr(out, chunks=None).load()
    xr.testing.assert_allclose(back.anom, ref.t2m - ref.t2m.mean("time"))


def test_chunk_manager_is_registered():
    from xarray.namedarray.parallelcompat import list_chunkmanagers

    assert "tessera" in list_chunkmanagers()


def test_auto_chunks_follow_the_stored_ones(store, ref):
    ds = xr.open_zarr(store, chunked_array_type="tessera", chunks="auto")
    _lazy(ds)
    time_chunks = ds.u.chunks[0]
    assert all(c % 100 == 0 for c in time_chunks[:-1]), time_chunks
    xr.testing.assert_identical(ds.u.compute(), ref.u)


def test_apply_ufunc_parallelized_and_unify_chunks(tds, ref):
    got = xr.apply_ufunc(
        lambda a: np.sort(a, axis=-1)[..., -1],
        tds.v.chunk({"lon": -1}, chunked_array_type="tessera"),
        input_core_dims=[["lon"]],
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    _same(got, ref.v.max("lon"))
    a = tds.u.chunk({"time": 100}, chunked_array_type="tessera")
    b = tds.v.chunk({"time": 150}, chunked_array_type="tessera")
    ua, ub = xr.unify_chunks(a, b)
    assert ua.chunks[0] == ub.chunks[0] and set(ua.chunks[0]) <= {50, 100, 30}
    _same(ua + ub, ref.u + ref.v)


def test_first_and_last_use_the_managers_reduction(tds, ref):
    _same(tds.t2m.resample(time="MS").first(), ref.t2m.resample(time="MS").first())
    _same(tds.u.groupby("time.month").last(), ref.u.groupby("time.month").last())


def test_manager_methods_directly():
    from tessera.xarray import TesseraManager

    m = TesseraManager()
    a = np.arange(24.0).reshape(6, 4)
    x = m.from_array(a, chunks=((2, 2, 2), (4,)))
    assert m.is_chunked_array(x) and not m.is_chunked_array(a)
    assert m.chunks(x) == ((2, 2, 2), (4,))
    assert m.normalize_chunks({0: 4}, shape=(6, 4)) == ((4, 2), (4,))
    assert m.normalize_chunks("auto", shape=(6, 4), dtype=np.float64, previous_chunks=((2, 2, 2), (4,)))[1] == (4,)
    assert m.get_auto_chunk_size() == 128 * 2**20
    (got,) = m.compute(m.reduction(x, np.sum, aggregate_func=np.sum, axis=0, dtype=np.float64))
    np.testing.assert_array_equal(got, a.sum(0))
    (got,) = m.compute(m.scan(np.cumsum, np.add, 0.0, x, axis=0, dtype=np.float64))
    np.testing.assert_array_equal(got, np.cumsum(a, 0))
    (got,) = m.compute(m.blockwise(np.add, "ij", x, "ij", x, "ij", dtype=np.float64))
    np.testing.assert_array_equal(got, a + a)
    (got,) = m.compute(m.map_blocks(lambda b: b * 2, x, dtype=np.float64))
    np.testing.assert_array_equal(got, a * 2)
    (got,) = m.compute(m.rechunk(x, {0: 3}))
    np.testing.assert_array_equal(got, a)
    assert m.rechunk(x, {0: 3}).chunks == ((3, 3), (4,))
    target = np.zeros_like(a)
    m.store([x], [target], lock=None, flush=True, regions=[None])
    np.testing.assert_array_equal(target, a)
    assert m.array_api.sum is not None


def test_shuffle_to_chunks_uses_the_managers_shuffle(tds, ref):
    got = tds.t2m.groupby("time.month").shuffle_to_chunks()
    _lazy(got)
    # One block per group along time (a month's days together).
    assert len(got.chunks[0]) == 12 and sum(got.chunks[0]) == T
    xr.testing.assert_identical(got.compute(), ref.t2m.groupby("time.month").shuffle_to_chunks())


def test_a_dtype_tessera_lacks_names_the_way_out(tmp_path):
    t = pd.date_range("2000-01-01", periods=10)
    bounds = np.stack([t, t + pd.Timedelta("1D")], 1)
    ds = xr.Dataset({"x": ("time", np.arange(10.0)), "time_bnds": (("time", "nv"), bounds)}, coords={"time": t})
    ds.to_zarr(str(tmp_path / "tb.zarr"), mode="w")
    with pytest.raises(TypeError, match="drop_variables"):
        xr.open_zarr(str(tmp_path / "tb.zarr"), chunked_array_type="tessera")
    ok = xr.open_zarr(str(tmp_path / "tb.zarr"), chunked_array_type="tessera", drop_variables=["time_bnds"])
    _same(ok.x * 2, ds.x * 2)
