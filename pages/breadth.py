"""Breadth (/breadth): the 11-row panel, A/D line, % above MAs, NH-NL, McClellan."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, html

from components.breadth_figures import breadth_figure
from components.cards import empty_state, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.layout import card_col, graph
from components.theme import DOWN, UP
from dashapp.market import market_state, queries
from pages._common import (
    control_inputs,
    counted_line,
    poll_components,
    register_url_sync,
    render_view,
    view_params,
)

PAGE = "breadth"
PCT_MIDPOINT = 50.0
dash.register_page(
    __name__, path="/breadth", name="Breadth", order=40, title="TickStock — Breadth"
)

PANEL_LABELS = {
    "day": "Day — vs prior close",
    "open": "Today — vs open",
    "week": "Week — 5 sessions",
    "month": "Month — 21 sessions",
    "quarter": "Quarter — 63 sessions",
    "half": "Half — 126 sessions",
    "year": "Year — 252 sessions",
    "ema10": "Above EMA 10",
    "ema20": "Above EMA 20",
    "sma50": "Above SMA 50",
    "sma200": "Above SMA 200",
}


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    poll_ms: int | None = None,
    **_kwargs: Any,
) -> html.Div:
    """Return the Breadth page skeleton; the poll callback fills it."""
    return html.Div(
        [
            page_header(
                "Breadth",
                PAGE,
                "Counts of real symbols in the universe; every window is in "
                "trading sessions.",
            ),
            controls_bar(PAGE, universe, as_of),
            dbc.Row(
                [
                    card_col(
                        html.Div(id="breadth-panel"),
                        "Breadth panel (up / down / total)",
                        xs=12,
                        xl=4,
                    ),
                    card_col(
                        graph("breadth-chart", 860, {"displaylogo": False}),
                        xs=12,
                        xl=8,
                    ),
                ],
                className="g-2",
            ),
            poll_components(PAGE, poll_ms),
        ]
    )


def panel_table(panel: pd.DataFrame) -> Any:
    """Render the 11-row panel: label, up, down, unchanged, total and % up bar."""
    if panel is None or panel.empty or not panel["total"].astype(float).sum():
        return empty_state()
    head = html.Thead(
        html.Tr(
            [
                html.Th("Row"),
                html.Th("Up"),
                html.Th("Down"),
                html.Th("Unch"),
                html.Th("Total"),
                html.Th("% up", style={"width": "30%"}),
            ]
        )
    )
    rows = []
    for r in panel.itertuples(index=False):
        total = int(r.total)
        unch = total - int(r.up) - int(r.down)
        pct = None if pd.isna(r.pct_up) else float(r.pct_up)
        bar = html.Div(
            [
                html.Span(
                    "—" if pct is None else f"{pct:.0f}%",
                    style={"color": UP if (pct or 0) >= PCT_MIDPOINT else DOWN},
                    className="fw-semibold",
                ),
                dbc.Progress(
                    value=pct or 0,
                    color="success" if (pct or 0) >= PCT_MIDPOINT else "danger",
                    style={"height": "4px"},
                ),
            ]
        )
        rows.append(
            html.Tr(
                [
                    html.Td(PANEL_LABELS.get(r.label, r.label)),
                    html.Td(f"{int(r.up):,}", style={"color": UP}),
                    html.Td(f"{int(r.down):,}", style={"color": DOWN}),
                    html.Td(f"{unch:,}"),
                    html.Td(f"{total:,}"),
                    html.Td(bar),
                ]
            )
        )
    return dbc.Table(
        [head, html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="breadth-panel mb-0",
        id="breadth-panel-table",
    )


def build_breadth(universe: str, as_of: str) -> tuple:
    """Render the panel table and the breadth time series for one view."""
    state = market_state(universe, as_of)
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state)]
    if state.breadth.empty:
        status = [*status, empty_state()]
    return status, panel_table(state.breadth_panel), breadth_figure(state.breadth)


@callback(
    Output("breadth-status", "children"),
    Output("breadth-panel", "children"),
    Output("breadth-chart", "figure"),
    Output("breadth-version", "data"),
    Input("breadth-poll", "n_intervals"),
    *control_inputs(PAGE),
    State("breadth-version", "data"),
)
def refresh_breadth(_n, universe, session, time_, last):
    """Re-render the Breadth page when the data version (or a control) moved."""
    params = view_params(universe, session, time_)
    return render_view(PAGE, params, last, build_breadth, n_outputs=3)


register_url_sync(
    PAGE,
    ["universe", "as_of", "_time"],
    control_inputs(PAGE),
    {"universe": DEFAULT_UNIVERSE},
)
