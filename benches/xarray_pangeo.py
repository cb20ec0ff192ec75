#!/usr/bin/env python3
"""The Pangeo workloads through xarray: Tessera vs dask (threaded and distributed) vs
Cubed, in one run, on one machine, on one Zarr dataset larger than the memory limit.

Workloads (xarray code, the same for every engine; only the chunk manager differs):
  quadratic  ((u - u.mean("time")) * (v - v.mean("time"))).mean("time") and three more
             quadratic means over u, v, t, computed together
  anomaly    t.groupby("time.month") - t.groupby("time.month").mean(), written to Zarr
  rolling    t.rolling(time=7, center=True).mean(), written to Zarr

Engines, each given the same host memory limit (--limit):
  tessera          chunked_array_type="tessera", host_memory_limit=limit
  dask             threaded scheduler, 2 threads (dask has no limit there: measured only)
  dask-distributed LocalCluster(n_workers=1, threads_per_worker=2, memory_limit=limit)
  cubed            cubed-xarray, threads executor, Spec(allowed_mem=limit)

Each engine x workload runs in its own process under a wall-clock timeout; the parent
samples the process tree's resident memory (psutil) for the peak, and reads
/proc/<pid>/io for the bytes the tree wrote beyond the workload's output (spill for
Tessera and dask.distributed, intermediate Zarr arrays for Cubed). The page cache is
dropped before each run where the parent is root (said when it cannot).

The dataset (written once, reused when its parameters match): float32 u, v, t on
(time, lat, lon) = (N, 720, 1440), daily from 2000-01-01, chunks (24, 720, 1440) of
100 MB, uncompressed (random data does not compress; the engines' decompression is not
what is compared), written with zarr-python.

Usage:  python3 benches/xarray_pangeo.py [--size-gb 20] [--limit 4GiB] [--dir /tmp/pangeo]
        [--engines tessera,dask,dask-distributed,cubed] [--workloads quadratic,anomaly,rolling]
Needs:  the tessera Python package (pip install ./python), xarray, zarr, dask[distributed],
        cubed, cubed-xarray, psutil
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

LAT, LON, CHUNK_T = 720, 1440, 24
VARS = ("u", "v", "t")


def parse_bytes(s: str) -> int:
    units = {
        "kib": 1 << 10,
        "mib": 1 << 20,
        "gib": 1 << 30,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "b": 1,
    }
    t = s.strip().lower().replace(" ", "")
    for u, m in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(u):
            return int(float(t[: -len(u)]) * m)
    return int(t)


# --- the dataset ---------------------------------------------------------------------
def write_dataset(path: str, nt: int) -> None:
    import numpy as np
    import pandas as pd
    import xarray as xr
    import zarr

    marker = os.path.join(path, ".pangeo-bench")
    want = json.dumps({"nt": nt, "lat": LAT, "lon": LON, "chunk": CHUNK_T})
    if os.path.exists(marker):
        with open(marker) as f:
            if f.read() == want:
                return
    shutil.rmtree(path, ignore_errors=True)
    import dask.array as dsa

    time_ = pd.date_range("2000-01-01", periods=nt, freq="D")
    lat = np.linspace(-89.875, 89.875, LAT)
    lon = np.linspace(0.125, 359.875, LON)
    skeleton = xr.Dataset(
        {
            v: (
                ("time", "lat", "lon"),
                dsa.zeros((nt, LAT, LON), chunks=(CHUNK_T, LAT, LON), dtype="f4"),
            )
            for v in VARS
        },
        coords={"time": time_, "lat": lat, "lon": lon},
    )
    enc = {v: {"compressors": None, "chunks": (CHUNK_T, LAT, LON)} for v in VARS}
    skeleton.to_zarr(
        path, compute=False, encoding=enc, zarr_format=3, consolidated=True
    )
    g = zarr.open_group(path, mode="r+")
    rng = np.random.default_rng(0)
    season = np.cos(2 * np.pi * np.arange(nt) / 365.25).astype("f4")
    t0 = time.perf_counter()
    for s in range(0, nt, CHUNK_T):
        e = min(s + CHUNK_T, nt)
        for k, v in enumerate(VARS):
            block = rng.standard_normal((e - s, LAT, LON), dtype=np.float32)
            block += 10 * season[s:e, None, None] if v == "t" else k
            g[v][s:e] = block
    with open(marker, "w") as f:
        f.write(want)
    print(
        f"[pangeo] wrote {path}: {nt} days, {nt * LAT * LON * 4 * 3 / 1e9:.1f} GB in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )


# --- one engine x workload (runs in a child process) ---------------------------------
def open_ds(engine: str, path: str, limit: str, work: str):
    import xarray as xr

    chunks = {"time": CHUNK_T}
    if engine == "tessera":
        import tessera

        tessera.config.set(host_memory_limit=limit, spill_dir=work).__enter__()
        return xr.open_zarr(path, chunks=chunks, chunked_array_type="tessera"), None
    if engine == "dask":
        import dask

        dask.config.set(scheduler="threads", num_workers=2)
        return xr.open_zarr(path, chunks=chunks), None
    if engine == "dask-distributed":
        import dask

        from distributed import Client, LocalCluster

        dask.config.set({"temporary-directory": work})
        cluster = LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            memory_limit=limit,
            local_directory=work,
            dashboard_address=None,
        )
        client = Client(cluster)
        return xr.open_zarr(path, chunks=chunks), (client, cluster)
    if engine == "cubed":
        import cubed

        spec = cubed.Spec(
            work_dir=work, allowed_mem=parse_bytes(limit), executor_name="threads"
        )
        return xr.open_zarr(
            path,
            chunks=chunks,
            chunked_array_type="cubed",
            from_array_kwargs={"spec": spec},
        ), None
    raise SystemExit(f"unknown engine {engine}")


def run_workload(
    engine: str, workload: str, path: str, limit: str, work: str, out: str
) -> dict:
    import xarray as xr

    # The second value (a distributed client) must stay alive while the work runs.
    ds, _client = open_ds(engine, path, limit, work)
    t0 = time.perf_counter()
    if workload == "quadratic":
        up, vp, tp = (ds[v] - ds[v].mean("time") for v in VARS)
        res = xr.Dataset(
            {
                "uu": (up * up).mean("time"),
                "vv": (vp * vp).mean("time"),
                "uv": (up * vp).mean("time"),
                "ut": (up * tp).mean("time"),
            }
        ).compute()
        check = float(res.uu.mean())
        out_bytes = 0
    elif workload == "anomaly":
        t = ds.t
        clim = t.groupby("time.month").mean()
        anom = (t.groupby("time.month") - clim).drop_vars("month")
        anom.to_dataset(name="anom").to_zarr(out, mode="w", zarr_format=3)
        check = float(xr.open_zarr(out).anom[:5, :5, :5].mean())
        out_bytes = anom.nbytes
    elif workload == "rolling":
        r = ds.t.rolling(time=7, center=True).mean()
        # The padded edges leave irregular chunks (dask's: 27, 24, ..., 24, 3+...): Zarr
        # needs regular ones, so every engine writes the stored chunking.
        manager = {"tessera": "tessera", "cubed": "cubed"}.get(engine, "dask")
        r = r.chunk({"time": CHUNK_T}, chunked_array_type=manager)
        r.to_dataset(name="r").to_zarr(out, mode="w", zarr_format=3)
        check = float(xr.open_zarr(out).r[3:8, :5, :5].mean())
        out_bytes = r.nbytes
    else:
        raise SystemExit(f"unknown workload {workload}")
    return {
        "seconds": time.perf_counter() - t0,
        "check": check,
        "output_bytes": int(out_bytes),
    }


def child(args: argparse.Namespace) -> None:
    r = run_workload(
        args.engine, args.workload, args.path, args.limit, args.work, args.out
    )
    print("RESULT " + json.dumps(r), flush=True)


# --- the parent: isolation, memory and I/O sampling ----------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spill_dask import drop_caches


def measure(engine: str, workload: str, a: argparse.Namespace) -> dict:
    import psutil

    work = tempfile.mkdtemp(prefix=f"pangeo-{engine}-", dir=a.dir)
    out = os.path.join(a.dir, f"out-{engine}-{workload}.zarr")
    shutil.rmtree(out, ignore_errors=True)
    dropped = drop_caches()
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        "--engine",
        engine,
        "--workload",
        workload,
        "--path",
        a.path,
        "--limit",
        a.limit,
        "--work",
        work,
        "--out",
        out,
    ]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(p.pid)
    peak, written, seen = 0, 0, {}
    status = "ok"
    while p.poll() is None:
        try:
            tree = [proc] + proc.children(recursive=True)
            rss = 0
            for q in tree:
                try:
                    rss += q.memory_info().rss
                    seen[q.pid] = q.io_counters().write_bytes
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - t0 > a.timeout:
            for q in [proc] + proc.children(recursive=True):
                try:
                    q.kill()
                except psutil.Error:
                    pass
            status = f"timed out after {a.timeout} s"
            break
        time.sleep(0.2)
    stdout, stderr = p.communicate()
    written = sum(seen.values())
    res = {
        "engine": engine,
        "workload": workload,
        "peak_rss": peak,
        "caches_dropped": dropped,
    }
    line = next((ln for ln in stdout.splitlines() if ln.startswith("RESULT ")), None)
    if status == "ok" and line is None:
        last = (stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        status = "failed: " + (
            "killed (out of memory?)" if p.returncode in (-9, 137) else last[:200]
        )
    if line:
        r = json.loads(line[7:])
        res.update(r)
        res["spilled_bytes"] = max(written - r["output_bytes"], 0)
    res["status"] = status
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return res


def table(rows: list[dict], limit: int) -> str:
    lines = [
        "| workload | engine | time | vs Tessera | peak RSS | over limit | bytes spilled | finished |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = {
        r["workload"]: r.get("seconds")
        for r in rows
        if r["engine"] == "tessera" and r["status"] == "ok"
    }
    for r in rows:
        ok = r["status"] == "ok"
        secs = f"{r['seconds']:.1f} s" if ok else "—"
        ratio = (
            f"{r['seconds'] / base[r['workload']]:.2f}×"
            if ok and base.get(r["workload"])
            else "—"
        )
        over = "yes" if r["peak_rss"] > limit else "no"
        spill = f"{r.get('spilled_bytes', 0) / 1e9:.1f} GB" if ok else "—"
        lines.append(
            f"| {r['workload']} | {r['engine']} | {secs} | {ratio} | {r['peak_rss'] / 2**30:.2f} GiB | {over} | {spill} | {'yes' if ok else r['status']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-gb", type=float, default=20.0)
    ap.add_argument("--limit", default="4GiB")
    ap.add_argument("--dir", default="/tmp/pangeo")
    ap.add_argument("--engines", default="tessera,dask,dask-distributed,cubed")
    ap.add_argument("--workloads", default="quadratic,anomaly,rolling")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", default=None, help="write the rows here too")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a)
    os.makedirs(a.dir, exist_ok=True)
    nt = max(int(a.size_gb * 1e9 / (LAT * LON * 4 * len(VARS))), CHUNK_T)
    a.path = os.path.join(a.dir, "data.zarr")
    write_dataset(a.path, nt)
    limit = parse_bytes(a.limit)
    print(
        f"[pangeo] {platform.node()} {os.cpu_count()} cores, {datetime.datetime.now():%Y-%m-%d %H:%M}; dataset {nt * LAT * LON * 4 * 3 / 1e9:.1f} GB, limit {a.limit}",
        flush=True,
    )
    rows = []
    for w in a.workloads.split(","):
        for e in a.engines.split(","):
            r = measure(e, w, a)
            rows.append(r)
            print(
                f"[pangeo] {w:9} {e:17} {r['status']:10} {r.get('seconds', float('nan')):8.1f} s  peak {r['peak_rss'] / 2**30:.2f} GiB  spilled {r.get('spilled_bytes', 0) / 1e9:.2f} GB",
                flush=True,
            )
    print(table(rows, limit))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {"size_gb": nt * LAT * LON * 12 / 1e9, "limit": a.limit, "rows": rows},
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
