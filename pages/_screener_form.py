"""Screener page parts: range inputs, presets, saved-screen bar, grid columns."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from analytics.screener import FIELDS
from components.grid_columns import num_col, text_col
from components.grids import RANKING_COLUMNS

# field -> label of the numeric range inputs (min <= field <= max).
RANGES = {
    "rs_rating": "RS rating (1-99)",
    "close": "Close ($)",
    "change_pct": "Change today (%)",
    "rel_volume": "Volume / 50-day avg",
    "avg_dollar_volume_50d": "Avg $ volume 50d ($)",
    "ret_63d": "3-month return (0.10 = 10%)",
    "pct_from_52w_high": "% from 52-week high",
    "pct_from_52w_low": "% from 52-week low",
    "pct_vs_sma50": "% vs SMA50",
    "pct_vs_sma200": "% vs SMA200",
    "weeks_in_stage": "Weeks in stage",
}
PRESETS: dict[str, list[str]] = {
    "RS ≥ 90 in stage 2": ["rs_rating>=90", "stage=2"],
    "Near 52-week high on volume": ["pct_from_52w_high>=-5", "rel_volume>=1.5"],
    "Above SMA50 and SMA200, RS ≥ 70": [
        "pct_vs_sma50>=0",
        "pct_vs_sma200>=0",
        "rs_rating>=70",
    ],
    "Liquid leaders ($100M+ a day, RS ≥ 80)": [
        "avg_dollar_volume_50d>=100000000",
        "rs_rating>=80",
    ],
    "Near 52-week low": ["pct_from_52w_low<=5"],
}
TEXT = ("symbol", "name", "sector", "industry")
COLUMNS: dict[str, dict[str, Any]] = {
    "name": text_col(headerName="Name", width=190),
    "industry": text_col(headerName="Sub-industry", width=190),
    "close": num_col(2, headerName="Close", width=92),
    "change_pct": num_col(1, "pp", signed=True, colour=True, headerName="Chg %"),
    "volume": num_col(0, "int", headerName="Volume", width=112),
    "avg_volume_50d": num_col(0, "int", headerName="Avg vol 50d", hide=True),
    "avg_dollar_volume_50d": num_col(
        0,
        headerName="Avg $ vol 50d",
        width=112,
        valueFormatter={
            "function": "params.value == null ? '' : d3.format('$.3s')(params.value)"
        },
    ),
    "rel_volume": num_col(2, headerName="Rel vol"),
    "pct_from_52w_high": num_col(1, "pp", colour=True, headerName="vs 52w high"),
    "pct_from_52w_low": num_col(1, "pp", colour=True, headerName="vs 52w low"),
    "pct_vs_sma50": num_col(1, "pp", colour=True, headerName="vs SMA50"),
    "pct_vs_sma200": num_col(1, "pp", colour=True, headerName="vs SMA200"),
}


def column_defs() -> list[dict[str, Any]]:
    """Return the grid columns: every screener field, in the API's order."""
    defs = []
    for field in FIELDS:
        spec = dict(RANKING_COLUMNS.get(field) or {})
        spec.update(COLUMNS.get(field, {}))
        if not spec:
            spec = text_col() if field in TEXT else num_col(1)
        spec.setdefault("width", 104)
        defs.append({**spec, "field": field})
    return defs


def range_row(field: str, label: str) -> dbc.Col:
    """Return the min / max inputs of one numeric field."""

    def box(kind: str) -> dbc.Input:
        return dbc.Input(
            id={"type": f"screener-{kind}", "field": field},
            type="number",
            placeholder=kind,
            size="sm",
            debounce=True,
        )

    return dbc.Col(
        [
            dbc.Label(label, className="small mb-0"),
            dbc.InputGroup([box("min"), box("max")], size="sm"),
        ],
        xs=6,
        md=4,
        lg=3,
        xl=2,
    )


def filters_card() -> dbc.Card:
    """Return the sector, stage and range inputs."""
    sector = dcc.Dropdown(id="screener-sector", placeholder="Any sector")
    stage = dcc.Dropdown(
        id="screener-stage",
        options=[{"label": f"Stage {s}", "value": s} for s in (1, 2, 3, 4)],
        placeholder="Any stage",
    )
    picks = [
        dbc.Col([dbc.Label("Sector", className="small mb-0"), sector], xs=6, md=4),
        dbc.Col([dbc.Label("Stage", className="small mb-0"), stage], xs=6, md=2),
    ]
    ranges = [range_row(f, label) for f, label in RANGES.items()]
    return dbc.Card(
        dbc.CardBody(dbc.Row([*picks, *ranges], className="g-2")), className="mb-2"
    )


def saved_bar() -> dbc.Row:
    """Return the saved-screen picker, name, Save and Delete."""
    return dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(id="screener-saved", placeholder="My saved screens"),
                xs=12,
                md=3,
            ),
            dbc.Col(
                dbc.Input(
                    id="screener-name",
                    placeholder="Screen name",
                    size="sm",
                    maxLength=64,
                ),
                xs=6,
                md=2,
            ),
            dbc.Col(dbc.Button("Save", id="screener-save", size="sm"), xs="auto"),
            dbc.Col(
                dbc.Button(
                    "Delete",
                    id="screener-delete",
                    size="sm",
                    color="danger",
                    outline=True,
                ),
                xs="auto",
            ),
            dbc.Col(html.Small(id="screener-saved-msg"), xs="auto"),
        ],
        className="g-2 align-items-center mb-2",
    )
