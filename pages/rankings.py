"""Rankings (/rankings): the universe in one fast grid — RS rating, returns, stage."""

from __future__ import annotations

import json
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.grids import (
    DEFAULT_RANKING_COLUMNS,
    RANKING_COLUMNS,
    column_options,
    data_grid,
    ranking_column_defs,
)
from dashapp.market import market_state, queries
from pages._common import (
    control_inputs,
    counted_line,
    link_grid_to_symbol,
    poll_components,
    register_url_sync,
    render_view,
    view_params,
)

PAGE = "rankings"
GRID = "rankings-grid"
ALL_COLUMNS = list(RANKING_COLUMNS)
dash.register_page(
    __name__, path="/rankings", name="Rankings", order=10, title="TickStock — Rankings"
)


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    q: str = "",
    poll_ms: int | None = None,
    **_kwargs: Any,
) -> html.Div:
    """Return the Rankings page: controls, column chooser, export, grid."""
    search = dbc.Input(
        id="rankings-search",
        type="search",
        placeholder="Search symbol, sector…",
        value=q,
        debounce=False,
        size="sm",
        style={"width": "14rem"},
    )
    chooser = dcc.Dropdown(
        id="rankings-columns",
        options=column_options(ALL_COLUMNS),
        value=[c for c in DEFAULT_RANKING_COLUMNS if c != "symbol"],
        multi=True,
        clearable=False,
        placeholder="Columns",
        className="rankings-columns",
        style={"minWidth": "16rem", "maxWidth": "36rem"},
    )
    export = dbc.Button(
        [html.I(className="bi bi-download me-1"), "CSV"],
        id="rankings-export",
        size="sm",
        color="secondary",
        outline=True,
    )
    return html.Div(
        [
            page_header(
                "Rankings",
                PAGE,
                "Click a row to open the symbol. Sort and filter in the column "
                "headers.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[search, export]),
            html.Div(chooser, className="mb-2", title="Columns shown"),
            data_grid(
                GRID,
                ranking_column_defs(ALL_COLUMNS),
                height="calc(100vh - 260px)",
                quickFilterText=q or "",
            ),
            dcc.Store(id="rankings-columns-sink"),
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


link_grid_to_symbol(GRID)
clientside_callback(
    "function(text, options){"
    " return window.dash_clientside.tickstock.quickFilter(text, options); }",
    Output(GRID, "dashGridOptions"),
    Input("rankings-search", "value"),
    State(GRID, "dashGridOptions"),
    prevent_initial_call=True,
)
clientside_callback(
    "function(n){ return window.dash_clientside.tickstock.exportCsv(n); }",
    Output(GRID, "exportDataAsCsv"),
    Input("rankings-export", "n_clicks"),
    prevent_initial_call=True,
)
clientside_callback(
    "function(visible){ return window.dash_clientside.tickstock.chooseColumns("
    f"visible, '{GRID}', {json.dumps(ALL_COLUMNS)}); }}",
    Output("rankings-columns-sink", "data"),
    Input("rankings-columns", "value"),
    prevent_initial_call=True,
)
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "q"],
    [*control_inputs(PAGE), Input("rankings-search", "value")],
    {"universe": DEFAULT_UNIVERSE, "q": ""},
)
