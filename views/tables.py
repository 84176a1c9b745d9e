"""Small HTML tables for the screens: a header row and rows of text, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, id: str | None = None,
          numeric: Sequence[int] = ()) -> html.Table:
    """A plain table; the columns in ``numeric`` are right-aligned."""
    def cell(i: int, value: Any, tag=html.Td):
        return tag(value, className="num" if i in numeric else None)

    head = html.Thead(html.Tr([cell(i, h, html.Th) for i, h in enumerate(header)]))
    body = html.Tbody([html.Tr([cell(i, v) for i, v in enumerate(row)]) for row in rows])
    kwargs = {"id": id} if id else {}
    return html.Table([head, body], className="grid-table", **kwargs)
