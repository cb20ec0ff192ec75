"""Progress of computes, as dask's ``ProgressBar`` shows it.

>>> import tessera
>>> from tessera.diagnostics import ProgressBar
>>> with ProgressBar():                                          # doctest: +SKIP
...     tessera.ones((1000, 1000), chunks=100).sum().compute()
[########################################] | 100% Completed | 0.1s
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

_active: list[Callable[[int, int], None]] = []


def callback() -> Callable[[int, int], None] | None:
    """The progress callback a compute starting now reports to (None when no bar is on)."""
    if not _active:
        return None
    bars = list(_active)

    def report(done: int, total: int) -> None:
        for b in bars:
            b(done, total)

    return report


class ProgressBar:
    """A text bar of tasks done, redrawn every ``dt`` seconds while a compute runs
    (terminal and Jupyter alike: it writes to ``out``, default ``sys.stdout``).

    Use as a context manager, or ``register()`` it for every compute.
    """

    def __init__(self, minimum: float = 0, width: int = 40, dt: float = 0.1, out: Any = None) -> None:
        self._minimum, self._width, self._dt = minimum, width, dt
        self._out = out
        self._start: float | None = None
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._start is None or (done == 0 and self._shown):
            self._start, self._shown = now, False
        elapsed = now - self._start
        finished = total > 0 and done >= total
        if elapsed < self._minimum and not finished:
            return
        if not finished and now - self._last < self._dt:
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(self._width * frac)
        out = self._out or sys.stdout
        out.write(f"\r[{bar:<{self._width}}] | {frac:4.0%} Completed | {elapsed:.1f}s")
        self._shown = True
        if finished:
            out.write("\n")
            self._start = None
        out.flush()

    def register(self) -> None:
        """Shows this bar for every compute until ``unregister()``."""
        _active.append(self)

    def unregister(self) -> None:
        """Stops showing this bar."""
        if self in _active:
            _active.remove(self)

    def __enter__(self) -> ProgressBar:
        self.register()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unregister()
