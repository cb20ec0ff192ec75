"""Compute settings as dask users set them: ``tessera.config.set(...)`` globally or as a
context manager, the same keywords on ``compute(**kw)`` and ``persist(**kw)``.

>>> import tessera
>>> with tessera.config.set(scheduler="sync", host_memory_limit="4GiB"):
...     tessera.config.get("scheduler")
'sync'
"""

from __future__ import annotations

import threading
from typing import Any

#: The keys Tessera understands, with what each means.
KEYS = {
    "device": "where chunks run: 'auto', 'cpu', 'wgpu:0', 'wgpu:llvmpipe', 'cuda:0', or several: 'cuda:*', 'cpu,wgpu:0'",
    "scheduler": "'threads' (default) or 'sync' (one thread, the caller's)",
    "num_workers": "worker threads (default: one per core)",
    "host_memory_limit": "bytes of chunks host memory may hold, e.g. '4GiB' (default: 0.8 of RAM)",
    "device_memory_limit": "bytes of chunks a device may hold (default: what it reports)",
    "disk_limit": "bytes of spill files allowed at once (default: no limit)",
    "spill_dir": "where spill files go (default: $TESSERA_SPILL_DIR, else the temp dir)",
    "trace": "write the task stream as Chrome-trace JSON to this file",
    "cpu_fallback": "run tasks a device declines on the CPU (default True)",
}

_global: dict[str, Any] = {}
_lock = threading.Lock()


def _check(kw: dict[str, Any], where: str) -> None:
    for k in kw:
        if k not in KEYS:
            raise TypeError(f"{where}: unknown setting {k!r}; Tessera takes " + ", ".join(sorted(KEYS)))


class set:  # noqa: N801 - dask's name
    """Sets compute options globally, or for a ``with`` block (restored on exit).

    Takes keywords or a dict (dask's ``config.set({"key": value})`` form; dotted dask keys
    such as ``"array.chunk-size"`` are not Tessera settings and raise TypeError).
    """

    def __init__(self, arg: dict[str, Any] | None = None, **kwargs: Any) -> None:
        kw = dict(arg or {}, **kwargs)
        _check(kw, "tessera.config.set")
        with _lock:
            self._old = {k: _global.get(k, _MISSING) for k in kw}
            _global.update(kw)
            _sync()

    def __enter__(self) -> set:
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            for k, v in self._old.items():
                if v is _MISSING:
                    _global.pop(k, None)
                else:
                    _global[k] = v
            _sync()


_MISSING = object()


def _sync() -> None:
    """The engine's defaults follow these settings: the computes it runs while building an
    operation (a mask's counting pass, a histogram's range) use the same device and limits."""
    from . import _native

    try:
        _native.set_default_options({k: v for k, v in _global.items() if k != "progress"})
    except (TypeError, ValueError):
        # A bad setting keeps the engine's defaults as they were; the compute that
        # uses it raises, naming it.
        pass


def get(key: str, default: Any = None) -> Any:
    """The current value of a setting (``default`` when unset)."""
    _check({key: None}, "tessera.config.get")
    return _global.get(key, default)


def merged(kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings a compute uses: the global ones, then the call's keywords."""
    _check(kwargs, where)
    out = dict(_global)
    out.update({k: v for k, v in kwargs.items() if v is not None})
    return out
