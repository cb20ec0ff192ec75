"""The notebook view of an array, laid out as dask's: a table (bytes, shape, chunk
shape, chunk count, tasks, dtype) beside an SVG of the chunk grid (1-d to 3-d; the
last three axes of higher-dimensional arrays)."""

from __future__ import annotations

import html as _html
import math
from typing import Any

_SIZE = 120  # pixels of the longest side
_MAX_LINES = 100  # grid lines drawn per axis before the axis is shaded instead


def _human(n: int) -> str:
    for unit in ("B", "kiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"


def _scale(lengths: list[int]) -> list[float]:
    """Pixel lengths: the longest axis gets _SIZE; the others shrink by log ratio so a
    very long axis does not squash the rest to nothing (dask's approach too)."""
    big = max(max(lengths), 1)
    out = []
    for n in lengths:
        r = max(n, 1) / big
        out.append(max(_SIZE * (1 + math.log10(r) / 3 if r < 1 else 1), 12))
    return out


def _ticks(chunks: tuple[int, ...], pixels: float) -> list[float]:
    total = sum(chunks) or 1
    pos, out = 0, [0.0]
    for c in chunks:
        pos += c
        out.append(pixels * pos / total)
    return out


def _lines(x0: float, y0: float, w: float, h: float, xs: list[float], ys: list[float], dx: float = 0, dy: float = 0) -> list[str]:
    """A rectangle with grid lines (a parallelogram when dx/dy skew it)."""
    out = []
    shade_x = len(xs) > _MAX_LINES
    shade_y = len(ys) > _MAX_LINES
    for t in ys if not shade_y else (ys[0], ys[-1]):
        out.append(
            f'<line x1="{x0 + t * dx / max(h, 1):.1f}" y1="{y0 + t:.1f}" x2="{x0 + w + t * dx / max(h, 1):.1f}" y2="{y0 + t + dy:.1f}" />'
        )
    for t in xs if not shade_x else (xs[0], xs[-1]):
        out.append(
            f'<line x1="{x0 + t:.1f}" y1="{y0 + t * dy / max(w, 1):.1f}" x2="{x0 + t + dx:.1f}" y2="{y0 + h + t * dy / max(w, 1):.1f}" />'
        )
    out.append(
        f'<polygon points="{x0:.1f},{y0:.1f} {x0 + w:.1f},{y0 + dy:.1f} {x0 + w + dx:.1f},{y0 + h + dy:.1f} {x0 + dx:.1f},{y0 + h:.1f}" '
        f'style="fill:#ECB172A0;stroke-width:0"/>'
    )
    return out


def svg(chunks: tuple[tuple[int, ...], ...]) -> str:
    """An SVG drawing of the chunk grid."""
    if not chunks:
        return ""
    chunks = chunks[-3:]
    shape = [sum(c) for c in chunks]
    parts: list[str] = []
    if len(chunks) == 1:
        (w,) = _scale(shape)
        h = 25.0
        parts += _lines(10, 10, w, h, _ticks(chunks[0], w), [0, h])
        labels = [f'<text x="{10 + w / 2:.1f}" y="{10 + h + 20:.1f}" text-anchor="middle">{shape[0]}</text>']
        width, height = w + 30, h + 40
    elif len(chunks) == 2:
        h, w = _scale(shape)
        parts += _lines(10, 10, w, h, _ticks(chunks[1], w), _ticks(chunks[0], h))
        labels = [
            f'<text x="{10 + w / 2:.1f}" y="{10 + h + 20:.1f}" text-anchor="middle">{shape[1]}</text>',
            f'<text x="{10 + w + 20:.1f}" y="{10 + h / 2:.1f}" text-anchor="middle" transform="rotate(-90,{10 + w + 20:.1f},{10 + h / 2:.1f})">{shape[0]}</text>',
        ]
        width, height = w + 40, h + 40
    else:
        d, h, w = _scale(shape)
        depth = d * 0.5  # the first axis recedes diagonally
        x0, y0 = 10.0, 10.0
        # Top face (axes 0 and 2), side face (axes 0 and 1), front face (axes 1 and 2).
        parts += _lines(x0, y0, w, depth, _ticks(chunks[2], w), _ticks(chunks[0], depth), dx=depth)
        parts += _lines(x0 + w, y0, depth, h, _ticks(chunks[0], depth), _ticks(chunks[1], h), dy=depth)
        parts += _lines(x0 + depth, y0 + depth, w, h, _ticks(chunks[2], w), _ticks(chunks[1], h))
        labels = [
            f'<text x="{x0 + depth + w / 2:.1f}" y="{y0 + depth + h + 20:.1f}" text-anchor="middle">{shape[2]}</text>',
            f'<text x="{x0 + depth + w + 20:.1f}" y="{y0 + depth + h / 2:.1f}" text-anchor="middle" transform="rotate(-90,{x0 + depth + w + 20:.1f},{y0 + depth + h / 2:.1f})">{shape[1]}</text>',
            f'<text x="{x0 + depth / 2 - 10:.1f}" y="{y0 + depth / 2 + h / 2 + 10:.1f}" text-anchor="middle" transform="rotate(45,{x0 + depth / 2 - 10:.1f},{y0 + depth / 2 + h / 2 + 10:.1f})">{shape[0]}</text>',
        ]
        width, height = w + depth + 45, h + depth + 40
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" style="stroke:rgb(0,0,0);stroke-width:1">'
        + "".join(parts)
        + '<g style="stroke-width:0;font-size:1.0rem;font-family:sans-serif">'
        + "".join(labels)
        + "</g></svg>"
    )


def html(x: Any) -> str:
    try:
        tasks = str(x._n.num_tasks())
    except Exception as e:  # a graph that cannot be built still shows its metadata
        tasks = f"({type(e).__name__})"
    chunk_bytes = math.prod(x.chunksize) * x.itemsize
    rows = [
        ("Bytes", _human(x.nbytes), _human(chunk_bytes)),
        ("Shape", str(x.shape), str(x.chunksize)),
        ("Graph", f"{x.npartitions} chunks in {tasks} tasks", ""),
        ("Data type", f"{x._n.dtype} numpy.ndarray", ""),
    ]
    body = "".join(
        f"<tr><th>{_html.escape(a)}</th><td>{_html.escape(b)}</td><td>{_html.escape(c)}</td></tr>"
        if c or a in ("Bytes", "Shape")
        else f'<tr><th>{_html.escape(a)}</th><td colspan="2">{_html.escape(b)}</td></tr>'
        for a, b, c in rows
    )
    table = f"<table><thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead><tbody>{body}</tbody></table>"
    note = "" if x.ndim <= 3 else f"<p>last 3 of {x.ndim} axes</p>"
    return "<table><tr><td>" + table + "</td><td>" + svg(x.chunks) + note + "</td></tr></table>"
