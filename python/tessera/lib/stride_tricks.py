"""dask's ``da.lib.stride_tricks``."""

from .._windows import sliding_window_view

__all__ = ["sliding_window_view"]
