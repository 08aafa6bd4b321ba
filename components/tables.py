"""Small table builders shared by pages."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def simple_table(
    frame: pd.DataFrame | None = None, headers: dict | None = None, **kwargs
) -> dbc.Table:
    """Render a small DataFrame as a striped Bootstrap table."""
    frame = pd.DataFrame() if frame is None else frame
    headers = headers or {}
    head = html.Thead(html.Tr([html.Th(headers.get(c, c)) for c in frame.columns]))
    body = html.Tbody(
        [html.Tr([html.Td(_fmt(v)) for v in row]) for row in frame.itertuples(False)]
    )
    return dbc.Table(
        [head, body],
        striped=True,
        bordered=False,
        hover=True,
        size="sm",
        responsive=True,
        **kwargs,
    )
