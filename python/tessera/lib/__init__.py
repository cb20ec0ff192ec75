"""dask's ``da.lib`` namespace: ``stride_tricks.sliding_window_view``."""

from . import stride_tricks

__all__ = ["stride_tricks"]
