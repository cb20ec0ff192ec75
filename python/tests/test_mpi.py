"""MPI ranks from Python, as tests/mpi.rs tests the CLI: the same graphs over 1, 2 and
4 ranks give the bits one process gives, on rank 0 (and on every rank with
``everywhere=True``)."""

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tessera as da

pytestmark = pytest.mark.cpu_only

SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    import tessera as da
    w = da.distributed.World()
    x = da.random.default_rng(7).random((600, 400), chunks=(100, 100))
    # A user function too: every rank names it alike (its __name__), so the graphs agree.
    def shift(b):
        return np.roll(b, 1, 0) - b
    y = x.map_overlap(shift, depth=1, boundary="periodic").sum(axis=1)
    outs = w.compute((x + x.T[:400, :600].T).sum(axis=0), x.std(axis=1), (x @ x.T).max(), y, everywhere=sys.argv[1] == "all")
    if outs is not None:
        # One file per rank: mpirun may interleave the ranks' stdout mid-line.
        digest = hashlib.sha256(b"".join(o.tobytes() for o in outs)).hexdigest()
        with open(f"{sys.argv[2]}/rank{w.rank}.txt", "w") as f:
            f.write(f"RESULT {w.rank} {w.size} {digest}\\n")
    """
)


def _reference() -> str:
    x = da.random.default_rng(7).random((600, 400), chunks=(100, 100))

    def shift(b):
        return np.roll(b, 1, 0) - b

    y = x.map_overlap(shift, depth=1, boundary="periodic").sum(axis=1)
    outs = da.compute((x + x.T[:400, :600].T).sum(axis=0), x.std(axis=1), (x @ x.T).max(), y)
    return hashlib.sha256(b"".join(np.asarray(o).tobytes() for o in outs)).hexdigest()


def test_ranks_give_the_bits_of_one_process(tmp_path):
    if not da.distributed.mpi_built():
        if os.environ.get("TESSERA_REQUIRE_MPI") == "1":
            pytest.fail("TESSERA_REQUIRE_MPI=1 but the extension was built without the mpi feature")
        pytest.skip("the extension was built without the mpi feature")
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun not found (install openmpi-bin)")
    script = tmp_path / "ranks.py"
    script.write_text(SCRIPT)
    env = dict(
        os.environ,
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_btl="self,vader",
        OMPI_MCA_oob_tcp_if_include="lo",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    want = _reference()
    for np_, mode in [(1, "root"), (2, "root"), (4, "root"), (2, "all")]:
        outdir = tmp_path / f"{np_}-{mode}"
        outdir.mkdir()
        out = subprocess.run(
            ["timeout", "--kill-after=10", "120", "mpirun", "-np", str(np_), sys.executable, str(script), mode, str(outdir)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        lines = [f.read_text().split() for f in sorted(outdir.glob("rank*.txt"))]
        ranks = sorted(int(ln[1]) for ln in lines)
        assert ranks == ([0] if mode == "root" else list(range(np_))), (lines, out.stdout)
        assert all(ln[2] == str(np_) and ln[3] == want for ln in lines), (np_, mode, out.stdout, want)
