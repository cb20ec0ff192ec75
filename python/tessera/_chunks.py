"""dask's ``chunks=`` forms, turned into what the engine takes.

The engine resolves ints, per-axis ints, explicit chunk lengths, ``"auto"`` and byte
sizes (``"128 MiB"``); this module only spells dask's extras in those terms: ``-1`` or
``None`` for a whole axis, a dict of axis to chunks, ``"auto"`` on one axis.
"""

from __future__ import annotations

from typing import Any


def _blockdims(c: int, n: int) -> tuple[int, ...]:
    if n == 0:
        return (0,)
    full, rem = divmod(n, c)
    return (c,) * full + ((rem,) if rem else ())


def normalize(chunks: Any, shape: tuple[int, ...], auto: Any = None, current: Any = None) -> Any:
    """``chunks`` for ``shape`` in a form the engine accepts.

    ``auto`` is a callable giving the engine's automatic chunks for the shape (used only
    when one axis asks for ``"auto"`` and the others do not); ``current`` the array's
    present chunks (a dict leaves the axes it omits as they are, as dask's rechunk does).
    """
    if chunks is None:
        return "auto"
    if isinstance(chunks, bool):
        raise ValueError(f"chunks={chunks!r}: chunks are sizes, not booleans")
    if isinstance(chunks, int):
        if chunks == -1:
            return [n for n in shape] if shape else "auto"
        if chunks <= 0:
            raise ValueError(f"chunks={chunks}: chunk sizes must be positive (or -1 for the whole axis, or 'auto')")
        return chunks
    if isinstance(chunks, str):
        return chunks
    if isinstance(chunks, dict):
        per = []
        for ax in range(len(shape)):
            c = chunks.get(ax, chunks.get(ax - len(shape)))
            if c is None and current is not None and ax not in chunks:
                per.append(tuple(current[ax]))
            else:
                per.append(c if c is not None else -1)
        chunks = tuple(per)
    if not isinstance(chunks, (tuple, list)):
        raise ValueError(
            f"chunks={chunks!r}: give an int, a tuple (one entry per axis), a tuple of tuples, "
            "a dict, 'auto' or a size such as '128 MiB'"
        )
    if len(chunks) != len(shape):
        raise ValueError(
            f"chunks={tuple(chunks)!r} has {len(chunks)} entries for shape {shape} ({len(shape)} axes); give one entry per axis"
        )
    out: list[Any] = []
    autos = None
    for ax, (c, n) in enumerate(zip(chunks, shape)):
        if c is None or c == -1:
            out.append((n,) if n else (0,))
        elif isinstance(c, str):
            if c != "auto":
                raise ValueError(f"chunks on axis {ax}: {c!r}; per axis use an int, -1, None, 'auto' or a tuple")
            if autos is None:
                if auto is None:
                    raise ValueError("chunks: 'auto' on one axis is not supported here")
                autos = auto()
            out.append(tuple(autos[ax]))
        elif isinstance(c, bool):
            raise ValueError(f"chunks on axis {ax}: {c!r} is not a size")
        elif isinstance(c, int):
            if c <= 0:
                raise ValueError(f"chunks on axis {ax}: {c}; chunk sizes must be positive (or -1 for the whole axis)")
            out.append(_blockdims(c, n))
        elif isinstance(c, (tuple, list)):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in c):
                raise ValueError(f"chunks on axis {ax}: {c!r}; chunk lengths must be ints")
            if any(v < 0 for v in c):
                raise ValueError(f"chunks on axis {ax}: {c!r}; chunk lengths cannot be negative")
            out.append(tuple(c))
        else:
            raise ValueError(f"chunks on axis {ax}: {c!r} is not a chunk size")
    return [list(o) for o in out]
