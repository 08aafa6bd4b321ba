"""Small table builders shared by pages: the dense look of the grids, in HTML.

Numbers are right-aligned with fixed decimals per column (integers none,
other numbers `DEFAULT_DECIMALS` unless the caller says otherwise) and the
grids' rule: a value that rounds to zero shows as an unsigned zero.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from components.grid_columns import format_number

DEFAULT_DECIMALS = 2
MISSING = "—"


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def column_decimals(series: pd.Series) -> int | None:
    """Return the fixed decimals of a numeric column (None: not a number column)."""
    values = [v for v in series.tolist() if not _missing(v)]
    if not values or not all(_is_number(v) for v in values):
        return None
    if all(float(v).is_integer() for v in values):
        return 0
    return DEFAULT_DECIMALS


def _fmt(value, decimals: int | None = None) -> str:
    if _missing(value):
        return MISSING
    if _is_number(value):
        if decimals is None:
            decimals = 0 if float(value).is_integer() else DEFAULT_DECIMALS
        return format_number(value, decimals, "num")
    return str(value)


def simple_table(
    frame: pd.DataFrame | None = None,
    headers: dict | None = None,
    decimals: Mapping[str, int] | None = None,
    **kwargs,
) -> dbc.Table:
    """Render a DataFrame as a dense table: numbers right-aligned, fixed decimals."""
    frame = pd.DataFrame() if frame is None else frame
    headers = headers or {}
    decimals = decimals or {}
    fixed = [
        decimals.get(c, column_decimals(frame.iloc[:, i]))
        for i, c in enumerate(frame.columns)
    ]
    head = html.Thead(
        html.Tr(
            [
                html.Th(headers.get(c, c), className="num" if d is not None else None)
                for c, d in zip(frame.columns, fixed, strict=True)
            ]
        )
    )
    rows = []
    for row in frame.itertuples(False):
        cells = []
        for value, d in zip(row, fixed, strict=True):
            numeric = _is_number(value) and not _missing(value)
            cells.append(
                html.Td(
                    _fmt(value, d),
                    className="num" if numeric or d is not None else None,
                )
            )
        rows.append(html.Tr(cells))
    kwargs["className"] = f"dense-table {kwargs.get('className', '')}".strip()
    return dbc.Table(
        [head, html.Tbody(rows)],
        striped=True,
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        **kwargs,
    )
