"""Layout pieces shared by the pages: fixed-height graphs, their cards and columns."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc

NO_MODE_BAR = {"displayModeBar": False}


def graph(graph_id: str, height: int, config: dict | None = None) -> dcc.Graph:
    """Return a graph of a fixed height (without the mode bar unless `config` says)."""
    return dcc.Graph(
        id=graph_id,
        style={"height": f"{height}px"},
        config=NO_MODE_BAR if config is None else config,
    )


def padded_card(body: Any, header: str | None = None) -> dbc.Card:
    """Return a card with a tightly padded body and an optional header."""
    if header is None:
        return dbc.Card(dbc.CardBody(body, className="p-1"))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body, className="p-1")])


def card_col(body: Any, header: str | None = None, **widths: int) -> dbc.Col:
    """Return a grid column holding a padded card (`widths`: xs=12, xl=8...)."""
    return dbc.Col(padded_card(body, header), **widths, className="mb-2")
