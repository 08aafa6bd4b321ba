"""New 52-week highs and lows: two clickable lists for the Market page."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

TITLES = {"new_highs": "New 52-week highs", "new_lows": "New 52-week lows"}
RULE_TEXT = (
    "High ≥ the max of the prior 251 sessions' highs (low ≤ the min of the prior "
    "251 lows): the rule the breadth counts use."
)
SHOWN = 25


def _item(row: dict[str, Any]) -> html.Li:
    change = row.get("change_pct")
    change_text = "" if change is None or pd.isna(change) else f"{change:+.1f}%"
    rating = row.get("rs_rating")
    rating_text = "" if rating is None or pd.isna(rating) else f"RS {int(rating)}"
    close = row.get("close")
    close_text = "" if close is None or pd.isna(close) else f"{close:,.2f}"
    return html.Li(
        [
            dcc.Link(
                row["symbol"], href=f"/symbol/{row['symbol']}", className="fw-bold"
            ),
            html.Span(f" {row.get('name') or ''}", className="text-body-secondary"),
            html.Span(
                f" {close_text} {change_text} {rating_text}".rstrip(),
                className="ms-1",
            ),
        ],
        className="small",
    )


def _column(name: str, frame: pd.DataFrame | None, count: int | None) -> dbc.Col:
    rows = [] if frame is None or frame.empty else frame.to_dict("records")
    n = len(rows) if count is None else count
    body: Any
    if rows:
        more = len(rows) - SHOWN
        items = [_item(r) for r in rows[:SHOWN]]
        if more > 0:
            items.append(html.Li(f"… and {more} more", className="small text-muted"))
        body = html.Ul(items, className="list-unstyled mb-0", id=f"market-{name}")
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
