#!/usr/bin/env python3
"""Fourier transforms: Tessera against NumPy (pocketfft, in memory) and dask (which must
rechunk every transformed axis into one chunk first), in one run on one machine, each
(library, workload) in its own subprocess so its peak RSS is its own.

Usage:  python benches/fft.py [--n2 8192] [--chunk 1024] [--n1 20000] [--limit 2GiB] [--device cpu]
Needs:  numpy, dask and the tessera package in this interpreter.

Rows:
- fft2 of an n2² complex128 array in chunk² blocks (input made before the clock starts):
  NumPy's np.fft.fft2, dask's rechunk to one chunk + fft2, Tessera's fft2 (pencils).
  Each gets its rate in GFLOP/s (5 N log2 N for N = n2² points) and the fraction of the
  memory bound (two passes, each reading and writing the array, at the copy bandwidth
  NumPy measures in the same run).
- fft along axis 0 of an n1² f64 array in 2000² chunks, the complex128 result persisted
  under a host limit (Tessera spills what does not fit; peak spill bytes sampled from the
  spill directory), against NumPy's in-memory np.fft.fft(axis=0).
"""

import argparse
import json
import math
import subprocess
import sys
import textwrap

CHILD = r"""
import json, os, resource, sys, tempfile, threading, time
import numpy as np
which, job = sys.argv[1], sys.argv[2]
N2, C, N1, LIMIT, DEVICE = {sizes}
out = {{}}
if job == "fft2":
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N2, N2)) + 1j * rng.standard_normal((N2, N2))
    if which == "numpy":
        t = time.perf_counter(); b = a.copy(); out["copy_s"] = time.perf_counter() - t
        del b
        t = time.perf_counter(); r = np.fft.fft2(a)
    elif which == "dask":
        import dask, dask.array as da
        dask.config.set(scheduler="threads")
        x = da.from_array(a, chunks=(C, C))
        t = time.perf_counter(); r = da.fft.fft2(x.rechunk((N2, N2))).compute()
    else:
        import tessera as ts
        ts.config.set(device=DEVICE)
        x = ts.from_array(a, chunks=(C, C))
        t = time.perf_counter(); r = ts.fft.fft2(x).compute()
    out["seconds"] = time.perf_counter() - t
    out["probe"] = [float(abs(r[1, 2])), float(abs(r[-3, 5]))]
else:
    if which == "numpy":
        x = np.random.default_rng(0).random((N1, N1))
        t = time.perf_counter(); r = np.fft.fft(x, axis=0)
        out["seconds"] = time.perf_counter() - t
    else:
        import tessera as ts
        ts.config.set(device=DEVICE)
        spill = tempfile.mkdtemp(prefix="tessera-fft-bench-")
        peak = [0]
        done = threading.Event()
        def watch():
            while not done.is_set():
                total = 0
                for root, _, files in os.walk(spill):
                    for f in files:
                        try:
                            total += os.path.getsize(os.path.join(root, f))
                        except OSError:
                            pass
                peak[0] = max(peak[0], total)
                time.sleep(0.2)
        threading.Thread(target=watch, daemon=True).start()
        with ts.config.set(host_memory_limit=LIMIT, spill_dir=spill):
            x = ts.random.default_rng(0).random((N1, N1), chunks=(2000, 2000))
            t = time.perf_counter()
            p = ts.fft.fft(x, axis=0).persist()
            out["seconds"] = time.perf_counter() - t
            out["probe"] = [float(abs(p[5, 7].compute()))]
        done.set()
        out["spilled"] = peak[0]
out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def child(which, job, args):
    src = CHILD.format(sizes=(args.n2, args.chunk, args.n1, args.limit, args.device))
    p = subprocess.run([sys.executable, "-c", src, which, job], capture_output=True, text=True)
    if p.returncode != 0:
        return {"failed": (p.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def gib(b):
    return f"{b / 2**30:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n2", type=int, default=8192)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--n1", type=int, default=20000)
    ap.add_argument("--limit", default="2GiB")
    ap.add_argument("--device", default="cpu", help="Tessera's device (cpu, wgpu:0, ...)")
    args = ap.parse_args()

    n = args.n2 * args.n2
    flops = 5 * n * math.log2(n)
    nbytes = 16 * n
    res = {w: child(w, "fft2", args) for w in ("numpy", "dask", "tessera")}
    bw = 2 * nbytes / res["numpy"]["copy_s"]  # a copy reads and writes the array
    bound = 2 * 2 * nbytes / bw
    print(f"fft2 of {args.n2}² complex128 (chunks {args.chunk}²); copy bandwidth {bw / 1e9:.1f} GB/s\n")
    print("| library | seconds | GFLOP/s | fraction of the memory bound | peak RSS GiB | NumPy / it |")
    print("|---|---|---|---|---|---|")
    for w, r in res.items():
        if "failed" in r:
            print(f"| {w} | failed: {r['failed']} | | | | |")
            continue
        s = r["seconds"]
        print(f"| {w} | {s:.2f} | {flops / s / 1e9:.2f} | {bound / s:.2f} | {gib(r['rss'])} | {res['numpy']['seconds'] / s:.2f}x |")
    probes = [r.get("probe") for r in res.values() if "probe" in r]
    print(f"\nsame values at two probes: {all(abs(p[i] - probes[0][i]) <= 1e-9 * abs(probes[0][i]) for p in probes for i in range(2))}")

    m = args.n1 * args.n1
    res = {w: child(w, "axis", args) for w in ("numpy", "tessera")}
    print(f"\nfft(axis=0) of {args.n1}² f64 in 2000² chunks, result persisted (Tessera under a {args.limit} host limit)\n")
    print("| library | seconds | GFLOP/s | peak RSS GiB | peak spill GiB | disk-bound fraction | NumPy / it |")
    print("|---|---|---|---|---|---|---|")
    axis_flops = 5 * m * math.log2(args.n1)
    for w, r in res.items():
        if "failed" in r:
            print(f"| {w} | failed: {r['failed']} | | | | | |")
            continue
        s = r["seconds"]
        sp = r.get("spilled", 0)
        disk = f"{(sp / 1e9) / s:.2f} (at 1 GB/s)" if sp else "-"
        print(f"| {w} | {s:.2f} | {axis_flops / s / 1e9:.2f} | {gib(r['rss'])} | {gib(sp)} | {disk} | {res['numpy']['seconds'] / s:.2f}x |")


if __name__ == "__main__":
    main()
