"""Rankings (/rankings): the universe in one fast grid — RS rating, returns, stage."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html

from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.grid_dense import dense_parts
from components.grids import RANKING_COLUMNS, ranking_column_defs
from dashapp.market import market_state, queries
from pages._common import (
    control_inputs,
    counted_line,
    poll_components,
    register_dense_grid,
    register_url_sync,
    render_view,
    view_params,
)

PAGE = "rankings"
GRID = "rankings-grid"
ALL_COLUMNS = list(RANKING_COLUMNS)
COLUMN_DEFS = ranking_column_defs(ALL_COLUMNS)
dash.register_page(
    __name__, path="/rankings", name="Rankings", order=10, title="TickStock — Rankings"
)


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    q: str = "",
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Rankings page: controls, then the dense grid and its toolbar."""
    hint = html.I(
        className="bi bi-info-circle text-body-secondary",
        title="Click a row to open the symbol. Sort and filter in the column "
        "headers; the URL keeps them, so the view can be bookmarked and shared.",
    )
    toolbar, grid = dense_parts(
        PAGE,
        COLUMN_DEFS,
        query=query,
        height="max(360px, calc(100vh - 172px))",
        search=q or "",
        tools=[hint],
    )
    return html.Div(
        [
            page_header("Rankings", PAGE),
            controls_bar(
                PAGE, universe, as_of, extra=[dbc.Col(toolbar, xs=12, md=True)]
            ),
            grid,
            poll_components(PAGE, poll_ms),
        ]
    )


def build_rankings(universe: str, as_of: str) -> tuple:
    """Render the status line, grid rows and CSV file name for one view."""
    state = market_state(universe, as_of)
    rankings = state.rankings
    if len(state.excluded) and "symbol" in rankings:
        rankings = rankings[~rankings["symbol"].isin(state.excluded["symbol"])]
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state, rs=True)]
    if rankings.empty:
        status = [*status, empty_state()]
    cols = [c for c in ALL_COLUMNS if c in rankings.columns]
    label = state.session.isoformat() if state.session else "empty"
    export = {"fileName": f"rankings-{universe}-{label}.csv", "allColumns": False}
    return status, frame_records(rankings[cols]), export


@callback(
    Output("rankings-status", "children"),
    Output(GRID, "rowData"),
    Output(GRID, "csvExportParams"),
    Output("rankings-version", "data"),
    Input("rankings-poll", "n_intervals"),
    *control_inputs(PAGE),
    State("rankings-version", "data"),
)
def refresh_rankings(_n, universe, session, time_, last):
    """Refill the grid when the data version (or universe / as-of) moved."""
    params = view_params(universe, session, time_)
    return render_view(PAGE, params, last, build_rankings, n_outputs=3)


register_dense_grid(PAGE, COLUMN_DEFS, search=True)
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "q"],
    [*control_inputs(PAGE), Input("rankings-search", "value")],
    {"universe": DEFAULT_UNIVERSE, "q": ""},
)
