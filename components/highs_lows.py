"""New 52-week highs and lows: two clickable lists for the Market page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.grid_columns import format_number
from components.theme import change_color

TITLES = {"new_highs": "New 52-week highs", "new_lows": "New 52-week lows"}
RULE_TEXT = (
    "High ≥ the max of the prior 251 sessions' highs (low ≤ the min of the prior "
    "251 lows): the rule the breadth counts use."
)
SHOWN = 25


def _row(row: dict[str, Any]) -> html.Tr:
    sym = str(row["symbol"])
    change = row.get("change_pct")
    return html.Tr(
        [
            html.Td(dcc.Link(sym, href=f"/symbol/{quote(sym)}", className="fw-bold")),
            html.Td(row.get("name") or "", className="text-body-secondary"),
            html.Td(format_number(row.get("close"), 2) or "—", className="num"),
            html.Td(
                format_number(change, 1, "pp", signed=True) or "—",
                className="num",
                style={"color": change_color(change)},
            ),
            html.Td(
                format_number(row.get("rs_rating"), 0, "int") or "—", className="num"
            ),
        ]
    )


def _table(rows: list[dict[str, Any]], name: str) -> dbc.Table:
    head = html.Thead(
        html.Tr(
            [
                html.Th("Symbol"),
                html.Th("Name"),
                html.Th("Close", className="num"),
                html.Th("1D", className="num"),
                html.Th("RS", className="num"),
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody([_row(r) for r in rows])],
        size="sm",
        hover=True,
        responsive=True,
        className="dense-table",
        id=f"market-{name}",
    )


def _column(name: str, frame: pd.DataFrame | None, count: int | None) -> dbc.Col:
    rows = [] if frame is None or frame.empty else frame.to_dict("records")
    n = len(rows) if count is None else count
    body: Any
    if rows:
        more = len(rows) - SHOWN
        body = [_table(rows[:SHOWN], name)]
        if more > 0:
            body.append(html.Small(f"… and {more} more", className="text-muted"))
    else:
        body = html.Small("None in this session", className="text-body-secondary")
    return dbc.Col(
        [html.Div(html.B(f"{TITLES[name]} ({n})"), className="mb-1"), body],
        xs=12,
        md=6,
    )


def highs_lows_body(
    lists: dict[str, pd.DataFrame], counts: dict[str, int | None]
) -> dbc.Row:
    """Return the two lists side by side with their breadth counts."""
    return dbc.Row(
        [_column(name, lists.get(name), counts.get(name)) for name in TITLES],
        className="g-2",
    )


def highs_lows_card() -> dbc.Card:
    """Return the (empty) card the Market page's highs/lows callback fills."""
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Span("New 52-week highs and lows", title=RULE_TEXT),
            ),
            dbc.CardBody(
                [
                    html.Div(id="market-highs-lows", children="Loading…"),
                    html.Small(RULE_TEXT, className="text-body-secondary d-block mt-1"),
                    dcc.Store(id="market-highs-lows-version"),
                ]
            ),
        ],
        className="mb-3",
    )
