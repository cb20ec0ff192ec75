#!/usr/bin/env python3
"""Side-by-side benchmark: Tessera vs NumPy vs dask.array, in one run on one machine.

Every (engine, workload) runs in its own subprocess so its peak RSS is its own.
Usage:  python3 benches/compare_dask.py [--size 20000] [--chunk 2000] [--tiny 10000]
Needs:  pip install numpy dask   and   cargo build --release
Prints a Markdown table of times, peak memory and the ratios dask/tessera and
numpy/tessera (> 1 means Tessera is faster).
"""
import argparse, json, os, platform, subprocess, sys, time, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESSERA = os.path.join(ROOT, "target", "release", "tessera")
WORKLOADS = ["seed", "axpy", "reductions", "tiny", "matmul", "tsqr", "svd", "svd_compressed"]
LINALG = {"matmul", "tsqr", "svd", "svd_compressed"}
TITLES = {
    "seed": "(x + x.T).sum(axis=0).mean()",
    "axpy": "(x * 2 + 1).sum()",
    "reductions": "sum(0), mean(1), std(), max() in one compute",
    "tiny": "sum over {tiny} chunks of 100 values",
    "matmul": "matmul 8192² f64, chunks 2048 (GFLOP/s in the note)",
    "tsqr": "qr 2,000,000 × 100, chunks 100,000 rows",
    "svd": "thin svd 2,000,000 × 100, chunks 100,000 rows",
    "svd_compressed": "svd_compressed k=10, 20000², chunks 2000",
}


def linalg_child(engine, key, n, c):
    import numpy as np
    import dask
    import dask.array as da

    dask.config.set(scheduler="threads", num_workers=os.cpu_count())
    rng = np.random.default_rng(0)
    extra = ""
    if key == "matmul":
        m, mc = 8192 * n // 20000, 2048 * n // 20000
        if engine == "numpy":
            x, y = rng.random((m, m)), rng.random((m, m))
            t = time.perf_counter()
            (x @ y).sum()
        else:
            x, y = da.random.random((m, m), chunks=mc), da.random.random((m, m), chunks=mc)
            t = time.perf_counter()
            (x @ y).sum().compute()
        s = time.perf_counter() - t
        return s, f"{2 * m ** 3 / s / 1e9:.0f} GFLOP/s"
    if key in ("tsqr", "svd"):
        rows = 2_000_000 * n // 20000
        if engine == "numpy":
            x = rng.random((rows, 100))
            t = time.perf_counter()
            np.linalg.qr(x) if key == "tsqr" else np.linalg.svd(x, full_matrices=False)
        else:
            x = da.random.random((rows, 100), chunks=(rows // 20, 100))
            t = time.perf_counter()
            if key == "tsqr":
                q, r = da.linalg.qr(x)
                dask.compute(q.sum(axis=0), r)
            else:
                u, s_, v = da.linalg.svd(x)
                dask.compute(u.sum(axis=0), s_, v)
        return time.perf_counter() - t, extra
    # svd_compressed
    if engine == "numpy":
        x = rng.random((n, n))
        t = time.perf_counter()
        om = rng.standard_normal((n, 20))
        q, _ = np.linalg.qr(x @ om)
        ub, s_, vt = np.linalg.svd(q.T @ x, full_matrices=False)
        (q @ ub[:, :10]).sum(axis=0)
        return time.perf_counter() - t, "same algorithm in numpy"
    x = da.random.random((n, n), chunks=(c, c))
    t = time.perf_counter()
    u, s_, v = da.linalg.svd_compressed(x, k=10, seed=0)
    dask.compute(u.sum(axis=0), s_, v.sum(axis=1))
    return time.perf_counter() - t, extra


def child(engine, key, n, c, tiny, repeats):
    """Runs inside the subprocess: prints one JSON line {seconds, extra}."""
    import numpy as np
    import dask
    import dask.array as da

    dask.config.set(scheduler="threads", num_workers=os.cpu_count())
    times, extra = [], ""
    if key in LINALG:
        s, extra = linalg_child(engine, key, n, c)
        print(json.dumps({"seconds": s, "extra": extra}))
        return
    for _ in range(repeats):
        t = time.perf_counter()
        if engine == "numpy":
            if key == "tiny":
                x = np.random.default_rng(1).random(tiny * 100)
                t = time.perf_counter()
                x.sum()
            else:
                t0 = time.perf_counter()
                x = np.random.default_rng(42).random((n, n))
                gen = time.perf_counter() - t0
                t = time.perf_counter()
                if key == "seed":
                    (x + x.T).sum(axis=0).mean()
                elif key == "axpy":
                    (x * 2 + 1).sum()
                else:
                    (x.sum(axis=0), x.mean(axis=1), x.std(), x.max())
                extra = f"+ {gen:.2f} s to generate"
        else:
            if key == "tiny":
                x = da.random.random(tiny * 100, chunks=100)
                x.sum().compute()
            else:
                x = da.random.random((n, n), chunks=(c, c))
                if key == "seed":
                    (x + x.T).sum(axis=0).mean().compute()
                elif key == "axpy":
                    (x * 2 + 1).sum().compute()
                else:
                    dask.compute(x.sum(axis=0), x.mean(axis=1), x.std(), x.max())
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"seconds": times[len(times) // 2], "extra": extra}))


def run(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return out, ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--tiny", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--only", help="comma-separated workload keys")
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], a.size, a.chunk, a.tiny, a.repeats)
        return
    if not os.path.exists(TESSERA):
        sys.exit("build first: cargo build --release")
    env = dict(os.environ)
    # Faster BLAS kernel for numpy (see shared ANCHORS): unset only for this benchmark.
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    rows = []
    for key in (a.only.split(",") if a.only else WORKLOADS):
        res = {}
        reps = "1" if key in LINALG else str(a.repeats)
        out, rss = run([TESSERA, "bench", "--json", "--only", key, "--size", str(a.size), "--chunk", str(a.chunk),
                        "--tiny-chunks", str(a.tiny), "--repeats", reps])
        line = [json.loads(l) for l in out.splitlines() if '"key"' in l][0]
        # Tessera reads its peak RSS right after the workload (its triad runs after it).
        res["tessera"] = (line["seconds"], line.get("peak_rss_bytes") or rss, line["note"])
        res["of_limit"] = line.get("of_limit")
        for engine in ["dask", "numpy"]:
            out, rss = run([sys.executable, __file__, "--child", engine, key, "--size", str(a.size), "--chunk",
                            str(a.chunk), "--tiny", str(a.tiny), "--repeats", str(a.repeats)], env)
            d = json.loads(out.strip().splitlines()[-1])
            res[engine] = (d["seconds"], rss, d["extra"])
        rows.append((key, res))
        print(f"done {key}", file=sys.stderr)
    import numpy, dask
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"Measured {datetime.date.today()} on {platform.node()}: {os.cpu_count()} cores, "
          f"{cpu}; numpy {numpy.__version__}, dask {dask.__version__}; "
          f"{a.size}² float64 in {a.chunk}² chunks; median of {a.repeats} (linear algebra: one run).\n")
    print("| workload | Tessera s | dask s | numpy s (operate only) | dask / Tessera | numpy / Tessera | Tessera of its limit | peak RSS Tessera / dask / numpy |")
    print("|---|---|---|---|---|---|---|---|")
    for key, r in rows:
        (ts, trss, tnote), (ds, drss, _), (ns, nrss, nextra) = r["tessera"], r["dask"], r["numpy"]
        title = TITLES[key].format(tiny=a.tiny)
        mb = lambda b: f"{b / 1e6:.0f} MB" if b < 1e9 else f"{b / 1e9:.1f} GB"
        lim = "-" if r["of_limit"] is None else f"{r['of_limit']:.2f}"
        print(f"| {title} | {ts:.3f} | {ds:.3f} | {ns:.3f} {nextra} | **{ds / ts:.1f}×** | {ns / ts:.1f}× | {lim} | "
              f"{mb(trss)} / {mb(drss)} / {mb(nrss)} |" + (f" {tnote}" if tnote else ""))


if __name__ == "__main__":
    main()
