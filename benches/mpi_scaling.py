#!/usr/bin/env python3
"""Strong scaling over MPI ranks: Tessera under mpirun vs dask.distributed, in one run.

Four workloads of `tessera ranks`: `y` (the seed workload as the demo computes it,
(x + x.T).sum(0).mean(), a scalar), `seed` (y and x + x.T itself, gathered on rank 0:
bound by that gather), `matmul` (x @ y) and `tall` (TSQR of a tall-skinny
(50·size) × (size/20) array in (50·chunk)-row blocks: Q's column sums and R). Each runs on 1, 2 and 4 ranks with one worker
thread each (`mpirun -np N tessera ranks W --threads 1`, Open MPI on loopback); dask runs
the same expressions on LocalCluster(n_workers=N, threads_per_worker=1) processes. Times
are of the compute alone (MPI init and cluster start excluded), medians of --repeats.
Past the machine's cores the ranks are oversubscribed, and the table says so.

Bytes: what every Tessera rank sent, against the least any placement that spreads the
result's blocks evenly must move: the result blocks not made on rank 0, (N-1)/N of the
result, since they are gathered there (a matmul's operands never move: each product's
random operand blocks are generated where the product runs). For `tall`, the least is
one R factor (cols² values) from every rank but rank 0: each rank's rows must reach the
factorisation through at least that.

Usage:  python3 benches/mpi_scaling.py [--size 4000] [--chunk 500] [--repeats 3] [--only seed]
Needs:  cargo build --release --features mpi, Open MPI, pip install "dask[distributed]"
"""
import argparse, datetime, os, platform, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
TESSERA = os.environ.get("TESSERA", os.path.join(os.path.dirname(HERE), "target", "release", "tessera"))
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl="self,vader", OMPI_MCA_oob_tcp_if_include="lo",
               OMPI_MCA_rmaps_base_oversubscribe="1")


def tessera(workload, n, chunk, np_):
    r = subprocess.run(
        ["timeout", "--kill-after=10", "600", "mpirun", "-np", str(np_), TESSERA, "ranks", workload,
         "--size", str(n), "--chunk", str(chunk), "--threads", "1"],
        capture_output=True, text=True, env=MPI_ENV)
    if r.returncode != 0:
        sys.exit(f"tessera ranks {workload} on {np_} ranks failed:\n{r.stdout}{r.stderr}")
    m = re.search(r"^result \S+ digest (\S+) in ([\d.]+) s", r.stdout, re.M)
    sent = [float(x) for x in re.findall(r"sent \d+ chunks \(([\d.]+) MiB\)", r.stdout)]
    return float(m.group(2)), m.group(1), sent


def dask_run(workload, n, chunk, np_, repeats):
    import dask, dask.array as da
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=np_, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        x = da.random.default_rng(42).random((n, n), chunks=chunk)
        if workload == "y":
            work = lambda: (x + x.T).sum(axis=0).mean().compute()
        elif workload == "seed":
            z = x + x.T
            work = lambda: dask.compute(z.sum(axis=0).mean(), z)
        elif workload == "tall":
            cols = max(n // 20, 1)
            a = da.random.default_rng(3).random((n * 50, cols), chunks=(chunk * 50, cols))
            q, r = da.linalg.qr(a)
            work = lambda: dask.compute(q.sum(axis=0), r)
        else:
            y = da.random.default_rng(7).random((n, n), chunks=chunk) - 0.5
            work = lambda: (x @ y).compute()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            work()
            times.append(time.perf_counter() - t)
        return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=("y", "seed", "matmul", "tall"), help="one workload")
    args = ap.parse_args()
    cores = os.cpu_count()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    print(f"{datetime.date.today()}, {cpu}, {cores} cores; {args.size}² f64 in {args.chunk}² chunks; "
          f"median of {args.repeats}; one worker thread per rank / dask worker")
    result_bytes = args.size * args.size * 8
    print(f"{'workload':<8} {'ranks':>5} {'tessera s':>10} {'dask s':>8} {'dask/tess':>9} "
          f"{'speedup':>8} {'sent MiB':>9} {'least MiB':>9}  note")
    for workload in [args.only] if args.only else ("y", "seed", "matmul", "tall"):
        base = None
        digests = set()
        for np_ in (1, 2, 4):
            runs = [tessera(workload, args.size, args.chunk, np_) for _ in range(args.repeats)]
            t = statistics.median(r[0] for r in runs)
            digests.update(r[1] for r in runs)
            sent = sum(runs[0][2])
            if workload == "tall":
                least = max(args.size // 20, 1) ** 2 * 8 * (np_ - 1) / (1 << 20)
            else:
                least = (8 if workload == "y" else result_bytes) * (np_ - 1) / np_ / (1 << 20)
            d = dask_run(workload, args.size, args.chunk, np_, args.repeats)
            base = base or t
            note = "oversubscribed: more ranks than cores" if np_ > cores else ""
            print(f"{workload:<8} {np_:>5} {t:>10.3f} {d:>8.3f} {d / t:>9.2f} {base / t:>8.2f} "
                  f"{sent:>9.1f} {least:>9.1f}  {note}")
        print(f"{workload}: {'bit-identical on 1, 2 and 4 ranks' if len(digests) == 1 else 'RESULTS DIFFER: ' + str(digests)}")


if __name__ == "__main__":
    main()
