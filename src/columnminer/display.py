"""Short text and HTML summaries of result objects, for the terminal and for Jupyter."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["array_summary", "html_summary", "text_summary"]


def array_summary(values: Any) -> str:
    """A few words about an array: shape and dtype, and the range of finite numbers.

    Example:
        >>> array_summary(np.array([[1.0, 2.0], [3.0, np.nan]]))
        'float64 [2, 2], 1 .. 3'
    """
    array = np.asarray(values)
    text = f"{array.dtype} [{', '.join(map(str, array.shape))}]"
    if array.size and array.dtype.kind in "fiu":
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        if finite.size:
            text += f", {finite.min():.4g} .. {finite.max():.4g}"
    return text


def text_summary(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """``title`` and one ``name: value`` line per row (values cut to one line of at most 100 characters).

    Example:
        >>> print(text_summary("LimitResult", [("mode", "ml"), ("grid", "121 points")]))
        LimitResult
          mode: ml
          grid: 121 points
    """
    lines = [title]
    for name, value in rows:
        value = " ".join(str(value).split())
        lines.append(f"  {name}: {value if len(value) <= 100 else value[:97] + '...'}")
    return "\n".join(lines)


def html_summary(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """The rows of :func:`text_summary` as a small HTML table (Jupyter's ``_repr_html_``).

    Example:
        >>> html_summary("S", [("a", 1)]).startswith("<div><strong>S</strong>")
        True
    """
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(name))}</th>"
        f"<td style='text-align:left'>{html.escape(' '.join(str(value).split()))}</td></tr>"
        for name, value in rows
    )
    return f"<div><strong>{html.escape(title)}</strong><table>{cells}</table></div>"
