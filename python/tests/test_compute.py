import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import tessera as da


def test_compute_many_in_one_graph():
    x = da.random.default_rng(3).random((400, 300), chunks=100)
    xn = x.compute()
    s, m, mx, passthrough = da.compute(x.sum(), x.mean(axis=0), x.max(), 5)
    np.testing.assert_allclose(s, xn.sum(), rtol=1e-12)
    np.testing.assert_allclose(m, xn.mean(axis=0), rtol=1e-12)
    assert mx == xn.max() and passthrough == 5
    (lst,) = da.compute([x.min(), x.max()])
    assert lst[0] == xn.min() and lst[1] == xn.max()


def test_persist_keeps_values():
    x = da.random.default_rng(4).random((300, 300), chunks=100)
    p = x.persist()
    np.testing.assert_array_equal(p.compute(), x.compute())
    (q,) = da.persist(x + 1)
    np.testing.assert_array_equal(q.compute(), x.compute() + 1)


def test_random_is_deterministic_and_chunk_invariant():
    a = da.random.default_rng(42).random((300, 200), chunks=(100, 50)).compute()
    b = da.random.default_rng(42).random((300, 200), chunks=(77, 200)).compute()
    np.testing.assert_array_equal(a, b)
    g = da.random.default_rng(42)
    assert not np.array_equal(g.random(10).compute(), g.random(10).compute())
    n = da.random.default_rng(1).normal(2.0, 3.0, size=200_000, chunks=50_000).compute()
    assert abs(n.mean() - 2.0) < 0.05 and abs(n.std() - 3.0) < 0.05
    u = da.random.uniform(-1, 1, size=(1000,), chunks=300).compute()
    assert u.min() >= -1 and u.max() < 1


@pytest.mark.cpu_only
def test_config_and_keywords(tmp_path):
    x = da.ones((200, 200), chunks=50)
    with da.config.set(scheduler="sync"):
        assert da.config.get("scheduler") == "sync"
        assert float(x.sum()) == 40000
    assert da.config.get("scheduler") is None
    trace = tmp_path / "trace.json"
    assert float(x.sum().compute(trace=str(trace), spill_dir=str(tmp_path))) == 40000
    events = json.loads(trace.read_text())
    assert len(events["traceEvents"] if isinstance(events, dict) else events) > 0
    with da.config.set({"host_memory_limit": "1GiB"}):
        assert da.config.get("host_memory_limit") == "1GiB"


@pytest.mark.cpu_only
def test_progress_bar(capsys):
    from tessera.diagnostics import ProgressBar

    with ProgressBar(dt=0):
        da.ones((400, 400), chunks=50).sum().compute()
    out = capsys.readouterr().out
    assert "100% Completed" in out


@pytest.mark.cpu_only
def test_compute_releases_the_gil():
    x = da.random.default_rng(5).random((3000, 3000), chunks=500)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = len(ticks)
    for _ in range(3):
        ((x + x.T) ** 2).sum().compute()
    stop.set()
    t.join()
    assert len(ticks) - start > 10, "another Python thread should run while the engine computes"


@pytest.mark.cpu_only
def test_info(capsys):
    text = da.info()
    assert "cores:" in text and "cpu" in text and "Device::Auto picks" in text


@pytest.mark.cpu_only
def test_ctrl_c_cancels_and_cleans_up(tmp_path):
    """A real SIGINT mid-compute (a persist spilling gigabytes under a small limit):
    KeyboardInterrupt within a second, no spill file left while the interpreter lives on,
    and the interpreter still usable."""
    spill = tmp_path / "spill"
    spill.mkdir()
    # The persist is refused up front when the disk cannot hold what it would spill (2 GB).
    if shutil.disk_usage(spill).free < 3 << 30:
        pytest.skip("needs 3 GB free under the temp dir for the spill the Ctrl-C interrupts")
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        import tessera as da
        # Python leaves SIGINT ignored when it starts ignored (a background job of a
        # non-interactive shell, as CI may run); a terminal's Python has this handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        x = da.random.default_rng(0).random((16000, 16000), chunks=1000)
        print("start", flush=True)
        try:
            (x + 1).persist(host_memory_limit="128MiB", spill_dir={str(spill)!r}, num_workers=2)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        sys.stdin.readline()
        print("after", float(da.ones(10, chunks=5).sum()), flush=True)
        """
    )
    env = dict(os.environ, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", str(tmp_path)))
    p = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert p.stdout.readline().strip() == "start"
        deadline = time.monotonic() + 60
        while _bytes_in(spill) < 64 << 20:
            if time.monotonic() > deadline or p.poll() is not None:
                p.kill()
                pytest.fail(f"the compute never spilled: {p.communicate()[1][-3000:]}")
            time.sleep(0.05)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().strip()
        took = time.monotonic() - sent
        left = list(spill.rglob("*"))
        p.stdin.write("\n")
        p.stdin.flush()
        after = p.stdout.readline().strip()
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    err = p.stderr.read()
    assert line == "interrupted", (line, err)
    assert took < 1.0, f"cancel took {took:.2f}s"
    assert left == [], f"spill files left after the cancel: {left[:5]}"
    assert after == "after 10.0", err
    assert p.returncode == 0, err


def _bytes_in(d):
    total = 0
    for f in d.rglob("*"):
        try:
            total += f.stat().st_size
        except OSError:
            pass
    return total
