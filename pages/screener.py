"""Screener (/screener): numeric ranges, presets, saved screens per user, CSV.

The inputs become `FIELD OP VALUE` conditions, exactly those of
`GET /api/screener` (the CSV link is that endpoint with `format=csv`).
"""

from __future__ import annotations

import re
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from analytics.screener import FIELDS
from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, cid, controls_bar, page_header
from components.grid_dense import dense_grid
from dashapp.market import queries
from dashapp.market.context import current_store
from dashapp.market.screen_query import ScreenerError, parse_condition
from dashapp.market.screener import (
    SCREEN_NAME_PATTERN,
    ScreenLimitError,
    api_query,
    conditions_from_inputs,
    delete_my_screen,
    inputs_from_conditions,
    my_screens,
    save_my_screen,
    sector_names,
)
from dashapp.market.screener import screener as screen_table
from pages._common import (
    control_inputs,
    counted_line,
    poll_components,
    register_csv_name,
    register_dense_grid,
    register_url_sync,
    render_view,
    view_params,
)
from pages._screener_form import (
    PRESETS,
    column_defs,
    filters_card,
    saved_bar,
)
from pages._screener_form import (
    RANGES as RANGES,  # the page's range inputs (tests read them here)
)

PAGE = "screener"
SCREEN_NAME = re.compile(SCREEN_NAME_PATTERN)
GRID = "screener-grid"
COLUMN_DEFS = column_defs()
dash.register_page(
    __name__, path="/screener", name="Screener", order=15, title="TickStock — Screener"
)


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Screener page: controls, presets, ranges, saved screens, grid."""
    preset = dcc.Dropdown(
        id="screener-preset",
        options=list(PRESETS),
        placeholder="Presets…",
        style={"minWidth": "18rem"},
    )
    csv = html.A(
        [html.I(className="bi bi-link-45deg me-1"), "API CSV"],
        id="screener-csv",
        href="/api/screener?format=csv",
        className="btn btn-sm btn-outline-secondary",
        download="screener.csv",
        title="Every field of the matching rows, from GET /api/screener",
    )
    return html.Div(
        [
            page_header(
                "Screener",
                PAGE,
                "Every condition must hold (AND). Blank inputs are ignored.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[preset]),
            filters_card(),
            saved_bar(),
            html.Div(id="screener-conditions", className="small mb-2"),
            dense_grid(
                PAGE,
                COLUMN_DEFS,
                query=query,
                height="max(360px, calc(100vh - 420px))",
                tools=[csv],
            ),
            dcc.Store(id="screener-where", data=[]),
            dcc.Store(id="screener-extra", data=[]),
            dcc.Store(id="screener-saved-data", data={}),
            poll_components(PAGE, poll_ms),
        ]
    )


# ------------------------------------------------------------ conditions
@callback(
    Output({"type": "screener-min", "field": ALL}, "value"),
    Output({"type": "screener-max", "field": ALL}, "value"),
    Output("screener-sector", "value"),
    Output("screener-stage", "value"),
    Output("screener-extra", "data"),
    Output("screener-name", "value"),
    Input("screener-preset", "value"),
    Input("screener-saved", "value"),
    State("screener-saved-data", "data"),
    State({"type": "screener-min", "field": ALL}, "id"),
    prevent_initial_call=True,
)
def load_screen(preset, saved, saved_data, ids):
    """Fill the inputs from a preset or from one of my saved screens."""
    fields = [i["field"] for i in ids]
    return screen_inputs(ctx.triggered_id, preset, saved, saved_data, fields)


def screen_inputs(
    trigger: Any, preset: Any, saved: Any, saved_data: dict | None, fields: list
) -> tuple:
    """Return the input values of a preset or saved screen (then the screen name)."""
    name = no_update
    if trigger == "screener-saved":
        found = (saved_data or {}).get(str(saved))
        if found is None:
            return (no_update,) * 6
        where, name = found["where"], found["name"]
    else:
        where = PRESETS.get(preset, [])
    try:
        mins, maxs, sector, stage, rest = inputs_from_conditions(where, fields)
    except ScreenerError:
        return (no_update,) * 6
    return mins, maxs, sector, stage, rest, name


@callback(
    Output("screener-where", "data"),
    Output("screener-conditions", "children"),
    Output("screener-csv", "href"),
    Input({"type": "screener-min", "field": ALL}, "value"),
    Input({"type": "screener-max", "field": ALL}, "value"),
    Input("screener-sector", "value"),
    Input("screener-stage", "value"),
    Input("screener-extra", "data"),
    *control_inputs(PAGE),
    State({"type": "screener-min", "field": ALL}, "id"),
)
def build_conditions(mins, maxs, sector, stage, extra, universe, session, time_, ids):
    """Turn the inputs into conditions, the line that shows them and the CSV link."""
    fields = [i["field"] for i in ids]
    where, problems = conditions_from_inputs(fields, mins, maxs, sector, stage, extra)
    as_of = view_params(universe, session, time_)["as_of"]
    shown = " AND ".join(where) if where else "no conditions: every symbol"
    line = [html.Code(shown)]
    if problems:
        line.append(html.Span(" · " + "; ".join(problems), className="text-danger"))
    csv = api_query(view_params(universe, session, time_)["universe"], as_of, where)
    return where, line, csv + "&format=csv"


def build_screener(universe: str, as_of: str, where: str) -> tuple:
    """Render the status line and rows of one screen."""
    from analytics.screener import apply_conditions, sort_rows

    state, table = screen_table(universe, as_of)
    conditions = [parse_condition(w) for w in where.split("\n") if w]
    rows = sort_rows(apply_conditions(table, conditions), "rs_rating", "desc")
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state, rs=True)]
    status.append(
        html.Small(
            f"· {len(rows):,} of {len(table):,} screened names match",
            className="me-2 screener-count",
        )
    )
    if rows.empty:
        status.append(empty_state("No symbol meets every condition."))
    return status, frame_records(rows.reindex(columns=list(FIELDS)))


@callback(
    Output("screener-status", "children"),
    Output(GRID, "rowData"),
    Output("screener-version", "data"),
    Input("screener-poll", "n_intervals"),
    Input("screener-where", "data"),
    *control_inputs(PAGE),
    State("screener-version", "data"),
)
def refresh_screener(_n, where, universe, session, time_, last):
    """Re-screen when the conditions or the data version moved."""
    params = view_params(universe, session, time_, where="\n".join(where or []))
    return render_view(PAGE, params, last, build_screener, n_outputs=2)


# ------------------------------------------------------------ saved screens
@callback(
    Output("screener-saved", "options"),
    Output("screener-saved-data", "data"),
    Output("screener-saved-msg", "children"),
    Output("screener-sector", "options"),
    Input("screener-save", "n_clicks"),
    Input("screener-delete", "n_clicks"),
    State("screener-name", "value"),
    State("screener-saved", "value"),
    State("screener-where", "data"),
    State(cid("universe", PAGE), "value"),
)
def saved_screens(_save, _delete, name, saved_id, where, universe):
    """Save or delete one of my screens, then list them (and the sectors)."""
    return saved_screens_view(ctx.triggered_id, name, saved_id, where, universe)


def saved_screens_view(
    trigger: Any, name: Any, saved_id: Any, where: list | None, universe: Any
) -> tuple:
    """Run the save / delete `trigger` asked for; return options, data, message."""
    message = ""
    store = current_store()
    try:
        if trigger == "screener-save":
            message = _save(store, name, where, universe)
        elif trigger == "screener-delete" and saved_id is not None:
            ok = delete_my_screen(store, int(saved_id))
            message = "Deleted." if ok else "Not one of your screens."
        screens = my_screens(store)
    except PermissionError as exc:
        return [], {}, str(exc), _sector_options()
    options = [{"label": s["name"], "value": s["id"]} for s in screens]
    data = {
        str(s["id"]): {"name": s["name"], "where": s["definition"].get("where", [])}
        for s in screens
    }
    return options, data, message, _sector_options()


def _save(store, name: Any, where: list[str], universe: Any) -> str:
    name = (name or "").strip()
    if not SCREEN_NAME.fullmatch(name):
        return "Name the screen: letters, digits, spaces and &,.'/()-_ (up to 64)."
    try:
        save_my_screen(store, name, {"where": where or [], "universe": universe})
    except ScreenLimitError as exc:
        return str(exc)
    return f"Saved “{name}”."


def _sector_options() -> list[dict[str, str]]:
    return [{"label": s, "value": s} for s in sector_names()]


register_dense_grid(PAGE, COLUMN_DEFS)
register_csv_name(PAGE, GRID, "screener-version")
register_url_sync(PAGE, ["universe", "as_of", "_time"], control_inputs(PAGE), {
    "universe": DEFAULT_UNIVERSE
})  # fmt: skip
