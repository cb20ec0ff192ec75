#!/usr/bin/env python3
"""The same Python source run with ``import dask.array as da`` and with
``import tessera as da``, in one run on one machine; and the Python layer's cost next to
the Rust bench (``tessera bench --json``) on the same workloads.

Each (library, workload) runs in its own subprocess, so its peak RSS is its own.
Usage:  python benches/python_vs_dask.py [--size 20000] [--chunk 2000] [--repeats 3]
Needs:  numpy, dask, the tessera package (pip install ./python) in this interpreter, and
        target/release/tessera (cargo build --release) for the Rust column.
Prints a Markdown table: median seconds and peak RSS of each, dask/tessera, and
Python/Rust (the Rust bench reports the median of its repeats too).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUST = os.path.join(ROOT, "target", "release", "tessera")

# One source per workload: `da` is dask.array or tessera; N, C, M, MC, R, RC are sizes.
WORKLOADS = {
    "seed": (
        "(x + x.T).sum(axis=0).mean(), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        (x + x.T).sum(axis=0).mean().compute()
        """,
    ),
    "axpy": (
        "(x * 2 + 1).sum(), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        (x * 2 + 1).sum().compute()
        """,
    ),
    "reductions": (
        "sum(0), mean(1), std(), max() in one compute",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        dask_or_tessera.compute(x.sum(axis=0), x.mean(axis=1), x.std(), x.max())
        """,
    ),
    "generate": (
        "x.sum(): the generator's own rate, the limit of the rows below, N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        x.sum().compute()
        """,
    ),
    "transcendental": (
        "(log1p(abs(x)) * cos(y)).sum(), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C)) - 0.5
        y = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        (da.log1p(abs(x)) * da.cos(y)).sum().compute()
        """,
    ),
    "complex": (
        "(z * z / (z + 1.5)).real.sum() of z = x + 1j*y (complex128), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        y = da.random.random((N, N), chunks=(C, C))
        z = x + 1j * y
        t = time.perf_counter()
        (z * z / (z + 1.5)).real.sum().compute()
        """,
    ),
    "nanmean": (
        "nanmean(x, axis=0) with 10% NaN, N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        x = da.where(x < 0.1, float("nan"), x)
        t = time.perf_counter()
        da.nanmean(x, axis=0).compute()
        """,
    ),
    "cumsum0": (
        "cumsum(x, axis=0).sum(axis=1), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        da.cumsum(x, axis=0).sum(axis=1).compute()
        """,
    ),
    "cumsum1": (
        "cumsum(x, axis=1).sum(axis=0), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        t = time.perf_counter()
        da.cumsum(x, axis=1).sum(axis=0).compute()
        """,
    ),
    "matmul": (
        "(a @ b).sum(), M², chunks MC²",
        """
        a = da.random.random((M, M), chunks=(MC, MC))
        b = da.random.random((M, M), chunks=(MC, MC))
        t = time.perf_counter()
        (a @ b).sum().compute()
        """,
    ),
    "tsqr": (
        "q, r = qr(x), R × 100, chunks RC rows",
        """
        x = da.random.random((R, 100), chunks=(RC, 100))
        q, r = da.linalg.qr(x)
        t = time.perf_counter()
        dask_or_tessera.compute(q.sum(axis=0), r)
        """,
    ),
    "laplacian": (
        "map_overlap: 5-point Laplacian (depth 1, periodic), then .sum(), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        def lap(b):
            return np.roll(b, 1, 0) + np.roll(b, -1, 0) + np.roll(b, 1, 1) + np.roll(b, -1, 1) - 4 * b
        r = x.map_overlap(lap, depth=1, boundary="periodic", dtype=x.dtype).sum()
        t = time.perf_counter()
        r.compute()
        """,
    ),
    "movavg": (
        "map_overlap: 31-sample moving average along axis 0 (depth 15, nearest), then .sum(), N², chunks C²",
        """
        x = da.random.random((N, N), chunks=(C, C))
        def avg(b):
            c = np.cumsum(b, axis=0)
            out = np.zeros_like(b)
            out[16:-15] = (c[31:] - c[:-31]) / 31
            out[15] = c[30] / 31
            return out
        r = x.map_overlap(avg, depth={0: 15, 1: 0}, boundary="nearest", dtype=x.dtype).sum()
        t = time.perf_counter()
        r.compute()
        """,
    ),
}

CHILD = """
import json, resource, sys, time
import numpy as np
lib = sys.argv[1]
if lib == "dask":
    import dask
    import dask.array as da
    dask.config.set(scheduler="threads")
    dask_or_tessera = dask
else:
    import tessera as da
    dask_or_tessera = da
N, C, M, MC, R, RC = {sizes}
times = []
for _ in range({repeats}):
{body}
    times.append(time.perf_counter() - t)
times.sort()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# Bytes materialised (workloads that name their result `r`), in one more untimed run:
# every task output that owns its memory (dask: NumPy results that are not views;
# Tessera: every task's output chunk, from the compute trace).
made = None
if "r" in globals():
    if lib == "dask":
        from dask.callbacks import Callback
        class Count(Callback):
            total = 0
            def _posttask(self, key, result, dsk, state, id):
                if isinstance(result, np.ndarray) and result.base is None:
                    Count.total += result.nbytes
        with Count():
            r.compute()
        made = Count.total
    else:
        import os, tempfile
        path = os.path.join(tempfile.mkdtemp(), "trace.json")
        r.compute(trace=path)
        with open(path) as f:
            made = sum(e["args"]["bytes"] for e in json.load(f)["traceEvents"] if e.get("cat") == "compute")
        os.remove(path)
print(json.dumps({{"seconds": times[len(times) // 2], "rss": rss, "made": made}}))
"""

GRAPH = """
import sys, time
lib = sys.argv[1]
if lib == "dask":
    import dask.array as da
else:
    import tessera as da
x = da.ones((1000, 1000), chunks=100)
y = x
t = time.perf_counter()
for i in range(10000):
    y = y + 1 if i % 2 else y * 1.0001
s = time.perf_counter() - t
print(s / 10000 * 1e6)
"""


def run_child(lib, key, sizes, repeats):
    body = textwrap.indent(textwrap.dedent(WORKLOADS[key][1]).strip(), "    ")
    src = CHILD.format(sizes=sizes, repeats=repeats, body=body)
    out = subprocess.run([sys.executable, "-c", src, lib], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {key} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rust_row(key, size, chunk, repeats):
    if not os.path.exists(RUST):
        return None
    out = subprocess.run(
        [RUST, "bench", "--only", key, "--json", "--size", str(size), "--chunk", str(chunk), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
    )
    for line in out.stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("key") == key:
            return row["seconds"]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    n, c = args.size, args.chunk
    scale = n / 20000
    m = max(64, int(8192 * scale))
    mc = max(1, m // 4)
    r = max(1000, int(2_000_000 * scale))
    rc = max(100, r // 20)
    sizes = (n, c, m, mc, r, rc)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; median of {args.repeats}\n")
    print("| workload | dask s | tessera s | dask/tessera | dask peak RSS | tessera peak RSS | Rust bench s | Python/Rust | of its limit | bytes made dask / tessera |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    gen = None
    for key, (title, _) in WORKLOADS.items():
        if args.only and key not in args.only.split(","):
            continue
        d = run_child("dask", key, sizes, args.repeats)
        t = run_child("tessera", key, sizes, args.repeats)
        rs = rust_row(key, n, c, args.repeats)
        title = title.replace("MC²", f"{mc}²").replace("M²", f"{m}²").replace("N²", f"{n}²").replace("C²", f"{c}²")
        title = title.replace("R ×", f"{r:,} ×").replace("RC rows", f"{rc:,} rows")
        ratio = f"{t['seconds'] / rs:.3f}" if rs else "n/a"
        # The rows after `generate` read random arrays: their limit is generating them
        # (transcendental reads two) at the rate measured in this run.
        if key == "generate":
            gen = t["seconds"]
        arrays = {"transcendental": 2, "complex": 2, "nanmean": 1, "cumsum0": 1, "cumsum1": 1}.get(key)
        limit = f"{arrays * gen / t['seconds']:.0%} of the generator" if gen and arrays else ""
        made = f"{d['made'] / 2**30:.2f} / {t['made'] / 2**30:.2f} GiB" if d.get("made") is not None and t.get("made") is not None else ""
        print(
            f"| {title} | {d['seconds']:.3f} | {t['seconds']:.3f} | {d['seconds'] / t['seconds']:.1f}x | "
            f"{d['rss'] / 2**30:.2f} GiB | {t['rss'] / 2**30:.2f} GiB | {rs if rs is None else f'{rs:.3f}'} | {ratio} | {limit} | {made} |",
            flush=True,
        )
    g = {lib: float(subprocess.run([sys.executable, "-c", GRAPH, lib], capture_output=True, text=True).stdout) for lib in ("dask", "tessera")}
    print(f"\ngraph building from Python, µs per lazy op over 10,000 ops: dask {g['dask']:.1f}, tessera {g['tessera']:.1f} ({g['dask'] / g['tessera']:.1f}x)")


if __name__ == "__main__":
    main()
