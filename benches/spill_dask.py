#!/usr/bin/env python3
"""Larger than the memory limit: Tessera vs dask.distributed, in one run on one machine.

The workload of `tessera demo --persist`: persist x = random((N, N)) f64 in 2000² chunks
under a 4 GiB memory limit, then compute (x + x.T).sum(axis=0).mean() from the stored
chunks (x.T reads them in another order). dask runs it on
LocalCluster(n_workers=1, threads_per_worker=2, memory_limit="4GiB"), which spills to its
worker directory. The disk's direct-I/O sequential bandwidth is measured in the same run
with dd, so spill throughput can be given as a fraction of it, and the page cache is
dropped before each engine starts (root only; said when it could not be).

Usage:  python3 benches/spill_dask.py [--size 40000] [--limit 4GiB] [--dir /tmp]
Needs:  pip install "dask[distributed]" numpy   and   cargo build --release
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, tempfile, time, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
TESSERA = os.path.join(os.path.dirname(HERE), "target", "release", "tessera")


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def disk_bandwidth(d, gib=2):
    path = os.path.join(d, "tessera-dd-probe")
    out = {}
    for name, args in (
        ("write", ["if=/dev/zero", f"of={path}", "oflag=direct"]),
        ("read", [f"if={path}", "of=/dev/null", "iflag=direct"]),
    ):
        r = subprocess.run(
            ["dd", "bs=16M", f"count={gib * 64}"] + args if name == "write" else ["dd", "bs=16M"] + args,
            capture_output=True, text=True)
        m = re.search(r"copied, ([\d.]+) s", r.stderr)
        out[name] = gib * (1 << 30) / float(m.group(1)) / 1e9
    os.remove(path)
    return out


def io_bytes(pid="self"):
    vals = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            vals[k] = int(v)
    return vals


def tessera(n, limit, d):
    t = time.perf_counter()
    r = subprocess.run(
        [TESSERA, "demo", "--persist", "--size", str(n), "--host-memory-limit", limit,
         "--quiet", "--spill-dir", d],
        capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-500:]}
    o = r.stdout
    grab = lambda pat: float(re.search(pat, o).group(1))
    return {
        "wall": wall,
        "persist": grab(r"persisted in ([\d.]+) s"),
        "compute": grab(r"\(([\d.]+) s for y"),
        "cleanup": grab(r"cleanup: ([\d.]+) s"),
        "result": grab(r"result: ([-\d.e+]+)"),
        "rss_gib": grab(r"peak process RSS: ([\d.]+) MiB") / 1024,
        "spilled_gib": grab(r"([\d.]+) GiB written while persisting")
        + grab(r"persisting, ([\d.]+) GiB written"),
        "read_gib": grab(r"([\d.]+) GiB read back"),
        "disk_read_gib": grab(r"disk: ([\d.]+) GiB read"),
        "disk_write_gib": grab(r"read, ([\d.]+) GiB written"),
        "left": os.listdir(d),
    }


def dask_child(n, limit, d):
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait

    cluster = LocalCluster(n_workers=1, threads_per_worker=2, memory_limit=limit,
                           local_directory=d, dashboard_address=None)
    client = Client(cluster)
    t0 = time.perf_counter()
    x = da.random.random((n, n), chunks=2000).persist()
    wait(x)
    t1 = time.perf_counter()
    v = float((x + x.T).sum(axis=0).mean().compute())
    t2 = time.perf_counter()

    def worker_stats():
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    rss = max(client.run(worker_stats).values())
    out = {"persist": t1 - t0, "compute": t2 - t1, "result": v, "rss_gib": rss / (1 << 30)}
    print(json.dumps(out), flush=True)
    t3 = time.perf_counter()
    del x
    try:
        client.close()
        cluster.close(timeout=600)
        out["close"] = "ok"
    except Exception as e:  # a slow worker shutdown is reported, not fatal
        out["close"] = f"{type(e).__name__} (worker shutdown slower than its timeout)"
    out["cleanup"] = time.perf_counter() - t3
    print(json.dumps(out), flush=True)


def dask_run(n, limit, d, timeout):
    t = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, __file__, "--child", "--size", str(n),
                            "--limit", limit, "--dir", d],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout} s"}
    if not r.stdout.strip():
        return {"error": (r.stderr.strip() or "no output")[-800:]}
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out.setdefault("cleanup", time.perf_counter() - t - out["persist"] - out["compute"])
    out["killed"] = "KilledWorker" in r.stderr or "restarting" in r.stderr.lower()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--limit", default="4GiB")
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        return dask_child(a.size, a.limit.replace("GiB", " GiB"), a.dir)
    bw = disk_bandwidth(a.dir)
    print(f"# {datetime.date.today()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; disk (dd, direct I/O, 2 GiB): write {bw['write']:.2f} GB/s, "
          f"read {bw['read']:.2f} GB/s", flush=True)
    gb = a.size * a.size * 8 / 1e9
    rows = {}
    for name, fn in (("tessera", lambda d: tessera(a.size, a.limit, d)),
                     ("dask", lambda d: dask_run(a.size, a.limit, d, a.timeout))):
        dropped = drop_caches()
        d = tempfile.mkdtemp(dir=a.dir)
        rows[name] = fn(d)
        t = time.perf_counter()
        shutil.rmtree(d)
        if "error" not in rows[name]:
            # What the engine left in its directory is removed here, and counted.
            rows[name]["cleanup"] += time.perf_counter() - t
            rows[name]["total"] = rows[name]["persist"] + rows[name]["compute"] + rows[name]["cleanup"]
        rows[name]["cache_dropped"] = dropped
        print(f"# {name}: {json.dumps(rows[name])}", flush=True)
    t, k = rows["tessera"], rows["dask"]
    print(f"\n{gb:.1f} GB of f64 ({a.size}²) under a {a.limit} limit; seconds, lower is better\n")
    print("| engine | persist | compute from stored | cleanup | total | peak RSS | result |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        if "error" in r:
            print(f"| {name} | failed: {r['error'][:200]} | | | | | |")
        else:
            print(f"| {name} | {r['persist']:.1f} s | {r['compute']:.1f} s | {r['cleanup']:.1f} s | "
                  f"{r['total']:.1f} s | {r['rss_gib']:.2f} GiB | {r['result']:.6f} |")
    if "error" not in t and "error" not in k:
        print(f"\ndask / tessera: persist {k['persist'] / t['persist']:.1f}×, "
              f"compute {k['compute'] / t['compute']:.1f}×, total {k['total'] / t['total']:.1f}×")
    if "error" not in t:
        w = t["spilled_gib"] * (1 << 30) / 1e9
        print(f"tessera spill: {w:.1f} GB written during the persist ({w / t['persist']:.2f} GB/s, "
              f"{w / t['persist'] / bw['write']:.0%} of the direct write bandwidth), "
              f"{t['read_gib'] * (1 << 30) / 1e9:.1f} GB read back in the compute; the block device "
              f"saw {t['disk_write_gib']:.1f} GiB written and {t['disk_read_gib']:.1f} GiB read "
              f"(the rest came from the page cache); spill files left: {len(t['left'])}")


if __name__ == "__main__":
    main()
