"""MPI ranks from Python: run ``mpirun -np 4 python script.py`` where every rank builds
the same arrays, and compute through a ``World``. Rank 0 gets the results, bit-identical
to one process. Needs the extension built with the ``mpi`` feature
(``pip install ./python --config-settings=build-args="--features mpi"``).

>>> import tessera as da                                      # doctest: +SKIP
>>> world = da.distributed.World()
>>> x = da.random.default_rng(0).random((4000, 4000), chunks=500)
>>> (s,) = world.compute(x.sum())     # on rank 0; None elsewhere
"""

from __future__ import annotations

from typing import Any

from . import _native, config
from ._array import Array, _result


def mpi_built() -> bool:
    """Whether this build of the extension has MPI."""
    return _native.mpi_built()


class World:
    """This process's MPI world (MPI is initialised once per process)."""

    def __init__(self) -> None:
        self._w = _native.World()

    @property
    def rank(self) -> int:
        return self._w.rank

    @property
    def size(self) -> int:
        return self._w.size

    def compute(self, *arrays: Array, everywhere: bool = False, **kwargs: Any) -> Any:
        """Computes over every rank: a tuple of NumPy arrays on rank 0 (every rank with
        ``everywhere=True``), None on the others."""
        out = self._w.compute([a._n for a in arrays], everywhere, config.merged(kwargs, "World.compute"))
        if out is None:
            return None
        return tuple(_result(o, a._n.dtype) for o, a in zip(out, arrays))

    def persist(self, array: Array, **kwargs: Any) -> Array:
        return Array(self._w.persist(array._n, config.merged(kwargs, "World.persist")))
