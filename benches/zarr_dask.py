#!/usr/bin/env python3
"""Writing and reading a Zarr array: Tessera vs zarr-python + dask.array, in one run.

The workload: a random N x N f64 array (N = 40000: 12.8 GB) written to a new Zarr v3
array in C x C chunks (C = 2000: 32 MB each), zstd (level 3) and uncompressed, then read
back and summed. Tessera: `x.to_zarr_with(path)` (each chunk written by the task that
made it) and `from_zarr(path).sum()`, via `tessera bench --only zarr`. zarr-python +
dask: `zarr.create_array` with the same chunks and codec, `da.store(x, z, lock=False)`,
then `da.from_zarr(path).sum()`, on dask's threaded scheduler with one thread per core.
Each engine runs in its own process after the page cache is dropped (root only; said
when it could not be), pages written are dropped again before each read, and the disk's
sequential bandwidth is measured with dd in the same run, so every figure is also a
fraction of what the disk can do. Generation is part of every write: the "to disk"
rate counts the compressed bytes stored.

Usage:  python3 benches/zarr_dask.py [--size 40000] [--chunk 2000] [--dir /tmp]
Needs:  pip install numpy dask 'zarr>=3.1'   and   cargo build --release
"""
import argparse, json, os, subprocess, sys, time, datetime, platform, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TESSERA = os.path.join(os.path.dirname(HERE), "target", "release", "tessera")
sys.path.insert(0, HERE)
from spill_dask import drop_caches, disk_bandwidth  # noqa: E402

CODECS = ["zstd", "none"]


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def child(n, c, d):
    import numpy as np, dask, dask.array as da, zarr
    from zarr.codecs import ZstdCodec
    dask.config.set(scheduler="threads", num_workers=os.cpu_count())
    out = {}
    for tag in CODECS:
        path = os.path.join(d, f"dask-bench-{tag}.zarr")
        shutil.rmtree(path, ignore_errors=True)
        t = time.perf_counter()
        x = da.random.default_rng(1).random((n, n), chunks=c)
        z = zarr.create_array(path, shape=(n, n), chunks=(c, c), dtype="float64",
                              compressors=[ZstdCodec(level=3)] if tag == "zstd" else None)
        da.store(x, z, lock=False)
        write = time.perf_counter() - t
        stored = dir_bytes(path)
        cached = drop_caches()
        t = time.perf_counter()
        s = float(da.from_zarr(path).sum().compute())
        read = time.perf_counter() - t
        shutil.rmtree(path)
        out[tag] = {"write": write, "read": read, "stored": stored, "sum": s, "cache_dropped": cached}
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        return child(a.size, a.chunk, a.dir)
    bw = disk_bandwidth(a.dir)
    gb = a.size * a.size * 8 / 1e9
    rows = {}
    drop_caches()
    r = subprocess.run([TESSERA, "bench", "--only", "zarr", "--json", "--size", str(a.size),
                        "--chunk", str(a.chunk), "--repeats", "1", "--spill-dir", a.dir],
                       capture_output=True, text=True)
    got = [json.loads(l) for l in r.stdout.splitlines() if '"key": "zarr"' in l]
    if r.returncode != 0 or len(got) != 4:
        rows["tessera"] = {"error": r.stderr[-400:]}
    else:
        rows["tessera"] = {}
        for i, tag in enumerate(CODECS):
            w, rd = got[2 * i], got[2 * i + 1]
            # "to disk" GB/s in the note gives the stored bytes back.
            disk = float(w["note"].split(", ")[1].split()[0])
            rows["tessera"][tag] = {"write": w["seconds"], "read": rd["seconds"],
                                    "stored": disk * 1e9 * w["seconds"]}
    drop_caches()
    r = subprocess.run([sys.executable, __file__, "--size", str(a.size), "--chunk", str(a.chunk),
                        "--dir", a.dir, "--child"], capture_output=True, text=True)
    rows["zarr-python + dask"] = (json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0
                                  else {"error": r.stderr[-400:]})
    import dask, zarr
    print(f"# {datetime.date.today()} {platform.machine()}, {os.cpu_count()} cores; zarr {zarr.__version__}, "
          f"dask {dask.__version__}; disk (dd, direct I/O): write {bw['write']:.2f} GB/s, read {bw['read']:.2f} GB/s")
    for k, v in rows.items():
        print(f"# {k}: {json.dumps(v)}")
    print(f"\n{a.size}² f64 ({gb:.1f} GB) to a Zarr v3 array in {a.chunk}² chunks and back; "
          f"seconds, lower is better\n")
    print("| engine | codec | write | GB/s of data | to disk, of dd write | read + sum | GB/s of data | from disk, of dd read |")
    print("|---|---|---|---|---|---|---|---|")
    for k, v in rows.items():
        if "error" in v:
            print(f"| {k} | failed: {v['error'][-120:]!r} |||||||")
            continue
        for tag in CODECS:
            x = v[tag]
            w, rd, st = x["write"], x["read"], x["stored"] / 1e9
            print(f"| {k} | {tag} | {w:.1f} s | {gb / w:.2f} | {st / w:.2f} GB/s, {st / w / bw['write']:.0%} "
                  f"| {rd:.1f} s | {gb / rd:.2f} | {st / rd:.2f} GB/s, {st / rd / bw['read']:.0%} |")
    t, o = rows.get("tessera", {}), rows.get("zarr-python + dask", {})
    if "error" not in t and "error" not in o:
        for tag in CODECS:
            print(f"\nzarr-python + dask / tessera, {tag}: write {o[tag]['write'] / t[tag]['write']:.1f}×, "
                  f"read {o[tag]['read'] / t[tag]['read']:.1f}×")


if __name__ == "__main__":
    main()
