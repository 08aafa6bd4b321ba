"""Screener (/screener): numeric ranges, presets, saved screens per user, CSV.

The inputs become `FIELD OP VALUE` conditions, exactly those of
`GET /api/screener` (the CSV link is that endpoint with `format=csv`).
"""

from __future__ import annotations

import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from analytics.screener import FIELDS
from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, cid, controls_bar, page_header
from components.grids import NUM1, NUM2, RANKING_COLUMNS, data_grid
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
    link_grid_to_symbol,
    poll_components,
    register_url_sync,
    render_view,
    view_params,
)

PAGE = "screener"
SCREEN_NAME = re.compile(SCREEN_NAME_PATTERN)
GRID = "screener-grid"
dash.register_page(
    __name__, path="/screener", name="Screener", order=15, title="TickStock — Screener"
)
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
INT = "params.value == null ? '' : d3.format(',.0f')(params.value)"
INT_FORMAT = {"valueFormatter": {"function": INT}}
UNFORMATTED = ("symbol", "name", "sector", "industry", "rs_rating", "stage")
UNFORMATTED += ("weeks_in_stage",)
PERCENT = "params.value == null ? '' : d3.format('+.1f')(params.value) + '%'"
COLUMNS: dict[str, dict[str, Any]] = {
    "name": {"headerName": "Name", "width": 190},
    "industry": {"headerName": "Sub-industry", "width": 190},
    "close": {"headerName": "Close", "width": 92, "valueFormatter": {"function": NUM2}},
    "change_pct": {"headerName": "Chg %", "valueFormatter": {"function": PERCENT}},
    "volume": {"headerName": "Volume", **INT_FORMAT},
    "avg_volume_50d": {"headerName": "Avg vol 50d", "hide": True, **INT_FORMAT},
    "avg_dollar_volume_50d": {
        "headerName": "Avg $ vol 50d",
        "valueFormatter": {
            "function": "params.value == null ? '' : d3.format('$.3s')(params.value)"
        },
    },
    "rel_volume": {"headerName": "Rel vol", "valueFormatter": {"function": NUM2}},
    "pct_from_52w_high": {"headerName": "vs 52w high"},
    "pct_from_52w_low": {"headerName": "vs 52w low"},
    "pct_vs_sma50": {"headerName": "vs SMA50"},
    "pct_vs_sma200": {"headerName": "vs SMA200"},
}


def column_defs() -> list[dict[str, Any]]:
    """Return the grid columns: every screener field, in the API's order."""
    defs = []
    for field in FIELDS:
        spec = {"width": 104, "filter": "agNumberColumnFilter"}
        spec.update(RANKING_COLUMNS.get(field, {}))
        spec.update(COLUMNS.get(field, {}))
        if field.startswith("pct_") and "valueFormatter" not in spec:
            spec["valueFormatter"] = {"function": PERCENT}
        spec.setdefault("valueFormatter", {"function": NUM1})
        if field in UNFORMATTED:
            spec.pop("valueFormatter", None)
        defs.append({**spec, "field": field})
    return defs


def _range_row(field: str, label: str) -> dbc.Col:
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


def _filters() -> dbc.Card:
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
    ranges = [_range_row(f, label) for f, label in RANGES.items()]
    return dbc.Card(
        dbc.CardBody(dbc.Row([*picks, *ranges], className="g-2")), className="mb-2"
    )


def _saved_bar() -> dbc.Row:
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


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    poll_ms: int | None = None,
    **_kwargs: Any,
) -> html.Div:
    """Return the Screener page: controls, presets, ranges, saved screens, grid."""
    preset = dcc.Dropdown(
        id="screener-preset",
        options=list(PRESETS),
        placeholder="Presets…",
        style={"minWidth": "18rem"},
    )
    csv = html.A(
        [html.I(className="bi bi-download me-1"), "CSV"],
        id="screener-csv",
        href="/api/screener?format=csv",
        className="btn btn-sm btn-outline-secondary",
        download="screener.csv",
    )
    return html.Div(
        [
            page_header(
                "Screener",
                PAGE,
                "Every condition must hold (AND). Blank inputs are ignored.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[preset, csv]),
            _filters(),
            _saved_bar(),
            html.Div(id="screener-conditions", className="small mb-2"),
            data_grid(GRID, column_defs(), height="calc(100vh - 420px)"),
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


link_grid_to_symbol(GRID)
register_url_sync(PAGE, ["universe", "as_of", "_time"], control_inputs(PAGE), {
    "universe": DEFAULT_UNIVERSE
})  # fmt: skip
