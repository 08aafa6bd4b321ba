"""The Market page's leaders list: the highest RS ratings of the universe."""

from __future__ import annotations

from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.grid_columns import format_number
from components.theme import change_color, is_missing

LEADERS = 10
LEADER_COLUMNS = (
    ("symbol", "Symbol"),
    ("sector", "Sector"),
    ("rs_rating", "RS"),
    ("ret_1d", "1D"),
    ("ret_21d", "1M"),
    ("stage", "Stage"),
)
TEXT = ("symbol", "sector")


def top_leaders(rankings: pd.DataFrame | None, n: int = LEADERS) -> pd.DataFrame:
    """Return the `n` rows with the highest RS rating (ties: higher RS score)."""
    if rankings is None or rankings.empty or "rs_rating" not in rankings:
        return pd.DataFrame(columns=[c for c, _ in LEADER_COLUMNS])
    rated = rankings[rankings["rs_rating"].notna()]
    keys = ["rs_rating", "rs_score"] if "rs_score" in rated else ["rs_rating"]
    return rated.sort_values(keys, ascending=False, kind="stable").head(n)


def _cell(column: str, value: object) -> html.Td:
    if column == "symbol":
        sym = str(value)
        return html.Td(dcc.Link(sym, href=f"/symbol/{quote(sym)}"))
    if column == "sector":
        return html.Td("—" if is_missing(value) else str(value))
    if is_missing(value):
        return html.Td("—", className="num")
    if column.startswith("ret_"):
        text = format_number(value, 1, "pct", signed=True)
        return html.Td(text, className="num", style={"color": change_color(value)})
    return html.Td(format_number(value, 0, "int"), className="num")


def leaders_table(leaders: pd.DataFrame, ranked: int) -> html.Div:
    """Return the leaders table with a line saying how many names were ranked."""
    if leaders.empty:
        return html.Div("No RS ratings yet.", className="text-body-secondary small")
    cols = [(c, label) for c, label in LEADER_COLUMNS if c in leaders]
    head = html.Thead(
        html.Tr(
            [
                html.Th(label, className=None if c in TEXT else "num")
                for c, label in cols
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr([_cell(c, row[c]) for c, _ in cols])
            for row in leaders.to_dict("records")
        ]
    )
    table = dbc.Table(
        [head, body],
        size="sm",
        hover=True,
        responsive=True,
        className="dense-table",
    )
    note = html.Small(
        f"Top {len(leaders)} RS ratings of {ranked:,} ranked names",
        className="text-body-secondary",
    )
    return html.Div([table, note], id="market-leaders-table")
