"""New 52-week highs and lows: two dense tables for the Market page."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.cards import frame_records
from components.grid_columns import num_col, symbol_col, text_col
from components.grid_dense import dense_grid

TITLES = {"new_highs": "New 52-week highs", "new_lows": "New 52-week lows"}
RULE_TEXT = (
    "High ≥ the max of the prior 251 sessions' highs (low ≤ the min of the prior "
    "251 lows): the rule the breadth counts use."
)
COLUMNS = ("symbol", "name", "close", "change_pct", "rs_rating")
COLUMN_DEFS: list[dict[str, Any]] = [
    symbol_col(84, lockVisible=True, tooltipField="name"),
    num_col(2, field="close", headerName="Close", width=84),
    num_col(1, "pp", signed=True, colour=True, field="change_pct",
            headerName="Chg", width=76),
    num_col(0, "int", field="rs_rating", headerName="RS", width=62),
    text_col(field="name", headerName="Name", width=170, hide=True),
]  # fmt: skip
GRID_HEIGHT = "300px"


def grid_prefix(name: str) -> str:
    """Return the dense-grid prefix of one list ("market-new_highs")."""
    return f"market-{name}"


def title_text(name: str, count: int | None, shown: int) -> str:
    """Return a list's title with the breadth count ("New 52-week highs (12)")."""
    return f"{TITLES[name]} ({shown if count is None else count})"


def highs_lows_outputs(
    lists: dict[str, pd.DataFrame], counts: dict[str, int | None]
) -> tuple:
    """Return (title, rows) of the highs, then of the lows, for the grids."""
    out: list[Any] = []
    for name in TITLES:
        frame = lists.get(name)
        if frame is None or frame.empty:
            rows: list[dict] = []
        else:
            rows = frame_records(frame[[c for c in COLUMNS if c in frame.columns]])
        out += [title_text(name, counts.get(name), len(rows)), rows]
    return tuple(out)


def _column(name: str) -> dbc.Col:
    return dbc.Col(
        [
            html.B(TITLES[name], id=f"{grid_prefix(name)}-title", className="mb-1"),
            dense_grid(
                grid_prefix(name),
                COLUMN_DEFS,
                height=GRID_HEIGHT,
                localeText={"noRowsToShow": "None in this session"},
            ),
        ],
        xs=12,
        md=6,
    )


def highs_lows_card() -> dbc.Card:
    """Return the card the Market page's highs/lows callback fills."""
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Span("New 52-week highs and lows", title=RULE_TEXT),
            ),
            dbc.CardBody(
                [
                    dbc.Row(
                        [_column(name) for name in TITLES],
                        className="g-2",
                        id="market-highs-lows",
                    ),
                    html.Small(RULE_TEXT, className="text-body-secondary d-block mt-1"),
                    dcc.Store(id="market-highs-lows-version"),
                ]
            ),
        ],
        className="mb-3",
    )
