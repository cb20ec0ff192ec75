#!/usr/bin/env python3
"""Writing and reading a .npy file: Tessera vs NumPy vs dask.array, in one run.

The workload: a random N x N f64 array (N = 20000: 3.2 GB) written to a .npy file, then
read back and summed. Tessera: `x.to_npy(path)` (each block written as it is made) and
`from_npy(path, chunks).sum()` (each task reads its block). NumPy: the array made in RAM,
`np.save`, then `np.load(mmap_mode="r").sum()`. dask: `da.store` into
`np.lib.format.open_memmap`, then `da.from_array(np.load(mmap_mode="r"), chunks).sum()`.
Each engine runs in its own process after the page cache is dropped (root only; said
when it could not be), and the disk's sequential bandwidth is measured with dd in the
same run, so every figure is also a fraction of what the disk can do.

Usage:  python3 benches/npy_numpy.py [--size 20000] [--chunk 2000] [--dir /tmp]
Needs:  pip install numpy dask   and   cargo build --release
"""
import argparse, json, os, re, subprocess, sys, time, datetime, platform

HERE = os.path.dirname(os.path.abspath(__file__))
TESSERA = os.path.join(os.path.dirname(HERE), "target", "release", "tessera")
sys.path.insert(0, HERE)
from spill_dask import drop_caches, disk_bandwidth  # noqa: E402


def child(engine, n, c, path):
    import numpy as np
    t = time.perf_counter()
    if engine == "numpy":
        x = np.random.default_rng(1).random((n, n))
        np.save(path, x)
        del x
    else:
        import dask, dask.array as da
        dask.config.set(scheduler="threads", num_workers=os.cpu_count())
        x = da.random.default_rng(1).random((n, n), chunks=c)
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, n))
        da.store(x, out)
        out.flush()
        del out
    write = time.perf_counter() - t
    drop_caches()
    t = time.perf_counter()
    m = np.load(path, mmap_mode="r")
    s = float(m.sum()) if engine == "numpy" else float(
        __import__("dask.array", fromlist=["x"]).from_array(m, chunks=c).sum().compute())
    read = time.perf_counter() - t
    print(json.dumps({"write": write, "read": read, "sum": s}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    path = os.path.join(a.dir, "tessera-npy-bench.npy")
    if a.child:
        return child(a.child[0], a.size, a.chunk, a.child[1])
    bw = disk_bandwidth(a.dir)
    gb = a.size * a.size * 8 / 1e9
    rows = {}
    for engine in ["tessera", "numpy", "dask"]:
        cached = drop_caches()
        if engine == "tessera":
            r = subprocess.run([TESSERA, "bench", "--only", "npy", "--json", "--size", str(a.size),
                                "--chunk", str(a.chunk), "--repeats", "1", "--spill-dir", a.dir],
                               capture_output=True, text=True)
            got = [json.loads(l) for l in r.stdout.splitlines() if '"key": "npy"' in l]
            if r.returncode != 0 or len(got) != 2:
                rows[engine] = {"error": r.stderr[-400:]}
                continue
            rows[engine] = {"write": got[0]["seconds"], "read": got[1]["seconds"]}
        else:
            r = subprocess.run([sys.executable, __file__, "--size", str(a.size), "--chunk",
                                str(a.chunk), "--child", engine, path], capture_output=True, text=True)
            if r.returncode != 0:
                rows[engine] = {"error": r.stderr[-400:]}
                continue
            rows[engine] = json.loads(r.stdout.strip().splitlines()[-1])
        rows[engine]["cache_dropped"] = cached
        if os.path.exists(path):
            os.remove(path)
    print(f"# {datetime.date.today()} {platform.machine()}, {os.cpu_count()} cores; disk (dd, direct I/O): "
          f"write {bw['write']:.2f} GB/s, read {bw['read']:.2f} GB/s")
    for k, v in rows.items():
        print(f"# {k}: {json.dumps(v)}")
    print(f"\n{a.size}² f64 ({gb:.1f} GB) to a .npy file and back; seconds, lower is better\n")
    print("| engine | write | GB/s | of disk write | read + sum | GB/s | of disk read |")
    print("|---|---|---|---|---|---|---|")
    for k, v in rows.items():
        if "error" in v:
            print(f"| {k} | failed: {v['error'][-120:]!r} |||||")
            continue
        w, r = v["write"], v["read"]
        print(f"| {k} | {w:.1f} s | {gb / w:.2f} | {gb / w / bw['write']:.0%} | {r:.1f} s | "
              f"{gb / r:.2f} | {gb / r / bw['read']:.0%} |")
    t = rows.get("tessera", {})
    for k in ["numpy", "dask"]:
        o = rows.get(k, {})
        if "write" in t and "write" in o:
            print(f"\n{k} / tessera: write {o['write'] / t['write']:.1f}×, read {o['read'] / t['read']:.1f}×")


if __name__ == "__main__":
    main()
