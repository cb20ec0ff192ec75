#!/usr/bin/env python3
"""Graph building per block: Tessera against dask.array, in one run on one machine.

For each block count N, one Zarr v3 array of N one-element chunks is made (metadata
only: absent chunks are the fill value, so nothing is read), then:
- Tessera: `tessera bench --only graph --graph-blocks N --json` builds the graph of
  `from_zarr(a).sum()` (lowering and ordering: what runs before the first task);
- dask: `da.from_zarr(a).sum()` and its task graph materialised (`dict(y.__dask_graph__())`,
  which dask needs before its scheduler runs the first task; its optimisation passes are
  not counted, so dask's side is a lower bound).
Each side runs in its own subprocess; the median of --repeats is reported.

Usage:  python3 benches/graph_build.py [--blocks 100000,1000000] [--repeats 3]
Needs:  pip install dask 'zarr>=3.1'   and   cargo build --release
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
TESSERA = os.path.join(os.path.dirname(HERE), "target", "release", "tessera")


def dask_child(path, repeats):
    import dask.array as da

    times, tasks = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        y = da.from_zarr(path).sum()
        tasks = len(dict(y.__dask_graph__()))
        times.append(time.perf_counter() - t)
    print(json.dumps({"seconds": statistics.median(times), "tasks": tasks}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--blocks", default="100000,1000000")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", nargs=2)
    a = p.parse_args()
    if a.child:
        return dask_child(a.child[0], int(a.child[1]))
    import zarr

    rows = []
    for n in [int(b) for b in a.blocks.split(",")]:
        out = subprocess.run(
            [TESSERA, "bench", "--only", "graph", "--graph-blocks", str(n),
             "--repeats", str(a.repeats), "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
        ours = [json.loads(l) for l in out.splitlines() if '"key": "graph"' in l][0]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "a.zarr")
            zarr.create_array(store=path, shape=(n,), chunks=(1,), dtype="f8", fill_value=0.0)
            out = subprocess.run(
                [sys.executable, __file__, "--child", path, str(a.repeats)],
                check=True, capture_output=True, text=True,
            ).stdout
            theirs = json.loads(out.splitlines()[-1])
        rows.append((n, ours, theirs))
    print("| blocks | Tessera µs/block (tasks) | dask µs/block (tasks) | dask / Tessera |")
    print("|---|---|---|---|")
    for n, ours, theirs in rows:
        o, t = ours["seconds"] / n * 1e6, theirs["seconds"] / n * 1e6
        print(f"| {n:,} | {o:.2f} ({ours['tasks']:,}) | {t:.2f} ({theirs['tasks']:,}) | {t / o:.1f}x |")


if __name__ == "__main__":
    main()
