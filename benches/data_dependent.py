#!/usr/bin/env python3
"""Data-dependent shapes, sorting and order statistics: Tessera against dask (and NumPy
where dask has no equivalent), in one run on one machine, each (library, workload) in its
own subprocess so its peak RSS is its own.

Usage:  python benches/data_dependent.py [--size 20000] [--chunk 2000] [--sort 100000000]
Needs:  numpy, dask and the tessera package in this interpreter.
Prints a Markdown table: median seconds (of --repeats), peak RSS, dask/tessera, and for
the percentile row the largest error of dask's approximate answer against the exact one.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap

# One source per (workload, library); `lib` is the module, N and C sizes, S the sort length.
WORKLOADS = {
    "mask": (
        "x[x > 0.5].sum(), N² f64, chunks C²",
        {
            "dask": "x = lib.random.random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = x[x > 0.5].sum().compute()",
            "tessera": "x = lib.random.default_rng(0).random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = x[x > 0.5].sum().compute()",
        },
    ),
    "unique": (
        "unique of an N² int64 array (1000 distinct values), chunks C²",
        {
            "dask": "x = (lib.random.random((N, N), chunks=(C, C)) * 1000).astype('int64')\nt = time.perf_counter()\nr = lib.unique(x).compute()",
            "tessera": "x = (lib.random.default_rng(0).random((N, N), chunks=(C, C)) * 1000).astype('int64')\nt = time.perf_counter()\nr = lib.unique(x).compute()",
        },
    ),
    "median": (
        "median(x, axis=0), N² f64, chunks C² (exact in both; dask rechunks the axis whole)",
        {
            "dask": "x = lib.random.random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = lib.median(x, axis=0).compute()",
            "tessera": "x = lib.random.default_rng(0).random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = lib.median(x, axis=0).compute()",
        },
    ),
    "percentile": (
        "percentile(x, [5, 50, 95]) of all N² f64 (dask: approximate, of x.ravel())",
        {
            "dask": "x = lib.random.random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = lib.percentile(x.ravel(), [5, 50, 95]).compute()",
            "tessera": "x = lib.random.default_rng(0).random((N, N), chunks=(C, C))\nt = time.perf_counter()\nr = lib.percentile(x, [5, 50, 95]).compute()",
        },
    ),
    "sort": (
        "sort of S f64 in 10 chunks (dask has no sort: NumPy's in-memory np.sort)",
        {
            "numpy": "x = np.random.default_rng(0).random(S)\nt = time.perf_counter()\nr = np.sort(x)",
            "tessera": "x = lib.random.default_rng(0).random((S,), chunks=(S // 10,))\nt = time.perf_counter()\nr = lib.sort(x).compute()",
        },
    ),
}

CHILD = """
import json, resource, sys, time
import numpy as np
which = sys.argv[1]
if which == "dask":
    import dask
    import dask.array as lib
    dask.config.set(scheduler="threads")
elif which == "tessera":
    import tessera as lib
N, C, S = {sizes}
times = []
for _ in range({repeats}):
{body}
    times.append(time.perf_counter() - t)
times.sort()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
extra = {{}}
if r.size <= 16:
    extra["values"] = [float(v) for v in np.ravel(r)]
print(json.dumps({{"seconds": times[len(times) // 2], "rss": rss, **extra}}))
"""


def run(which, key, sizes, repeats):
    body = textwrap.indent(WORKLOADS[key][1][which], "    ")
    src = CHILD.format(sizes=sizes, repeats=repeats, body=body)
    out = subprocess.run([sys.executable, "-c", src, which], capture_output=True, text=True)
    if out.returncode != 0:
        return {"failed": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--sort", type=int, default=100_000_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    sizes = (args.size, args.chunk, args.sort)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; median of {args.repeats}\n")
    print("| workload | other | other s | tessera s | other/tessera | other peak RSS | tessera peak RSS | note |")
    print("|---|---|---|---|---|---|---|---|")
    for key, (title, srcs) in WORKLOADS.items():
        if args.only and key not in args.only.split(","):
            continue
        other = "numpy" if "numpy" in srcs else "dask"
        o = run(other, key, sizes, args.repeats)
        t = run("tessera", key, sizes, args.repeats)
        title = title.replace("N²", f"{args.size}²").replace("C²", f"{args.chunk}²").replace("S ", f"{args.sort:,} ")
        note = ""
        if key == "percentile" and "values" in o and "values" in t:
            err = max(abs(a - b) for a, b in zip(o["values"], t["values"]))
            note = f"dask's largest error {err:.2e} (values in [0, 1))"
        if "failed" in o or "failed" in t:
            print(f"| {title} | {other} | {o.get('failed', o.get('seconds'))} | {t.get('failed', t.get('seconds'))} | failed | | | |", flush=True)
            continue
        print(
            f"| {title} | {other} | {o['seconds']:.3f} | {t['seconds']:.3f} | {o['seconds'] / t['seconds']:.2f}x | "
            f"{o['rss'] / 2**30:.2f} GiB | {t['rss'] / 2**30:.2f} GiB | {note} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
