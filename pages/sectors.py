"""Sectors (/sectors): RRG of the sector ETFs vs SPY, sector returns, group rankings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.figures import rrg_figure, sector_perf_figure
from components.grid_dense import dense_grid
from components.grids import group_column_defs
from components.layout import card_col, graph
from components.theme import WINDOW_LABELS
from dashapp.market import market_state, queries
from dashapp.market.context import current_store
from dashapp.market.counts import rotation_missing
from dashapp.market.rotation import sector_rotation
from dashapp.market.sectors import sector_names
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

PAGE = "sectors"
PERIODS = ("weekly", "daily")
DEFAULT_PERIOD = "weekly"
DEFAULT_TAIL = 10
MAX_TAIL = 26
# Every column a group table can have: the grids keep one set of columns so the
# URL's sort, filters and chosen columns survive each refresh.
GROUP_FIELDS = (
    "median_rs_rating", "pct_stage2", *(f"median_{c}" for c in WINDOW_LABELS),
    "pct_above_sma50", "pct_above_sma200",
)  # fmt: skip
SECTOR_DEFS = group_column_defs("sector", GROUP_FIELDS)
INDUSTRY_DEFS = group_column_defs("sub_industry", GROUP_FIELDS)
INDUSTRY_URL_KEY = "ind"  # the industry grid's sort / filters: ind_sort, ind_f, ...
dash.register_page(
    __name__, path="/sectors", name="Sectors", order=20, title="TickStock — Sectors"
)


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(value), lo), hi)
    except (TypeError, ValueError):
        return default


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    period: str = DEFAULT_PERIOD,
    tail: Any = DEFAULT_TAIL,
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Sectors page: RRG with tail controls, performance bars, tables."""
    period = period if period in PERIODS else DEFAULT_PERIOD
    tail = _int(tail, DEFAULT_TAIL, 1, MAX_TAIL)
    period_picker = dbc.RadioItems(
        id="sectors-period",
        options=[{"label": p.capitalize(), "value": p} for p in PERIODS],
        value=period,
        inline=True,
        className="small",
    )
    tail_slider = html.Div(
        [
            html.Small("Tail", className="me-2"),
            html.Div(
                dcc.Slider(
                    id="sectors-tail",
                    min=1,
                    max=MAX_TAIL,
                    step=1,
                    value=tail,
                    marks={1: "1", 5: "5", 10: "10", 15: "15", 20: "20", 26: "26"},
                    updatemode="mouseup",
                ),
                style={"width": "14rem"},
            ),
        ],
        className="d-flex align-items-center",
        title="Points of history per sector",
    )
    grids = dbc.Tabs(
        [
            dbc.Tab(
                dense_grid(
                    "sectors", SECTOR_DEFS, query=query, row_id="sector", height="420px"
                ),
                label="Sectors",
                tab_id="sectors",
            ),
            dbc.Tab(
                dense_grid(
                    "industries",
                    INDUSTRY_DEFS,
                    query=query,
                    url_key=INDUSTRY_URL_KEY,
                    row_id="sub_industry",
                    height="520px",
                ),
                label="Industry groups",
                tab_id="industries",
            ),
        ],
        active_tab="sectors",
        className="mb-2",
    )
    return html.Div(
        [
            page_header(
                "Sectors",
                PAGE,
                "Relative Rotation Graph of the 11 SPDR sector ETFs against SPY; "
                "tails turn clockwise: Improving → Leading → Weakening → Lagging. "
                "Click a sector (point, bar or row) or an industry group to see "
                "its members.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[period_picker, tail_slider]),
            dbc.Row(
                [
                    card_col(
                        graph("sectors-rrg", 560, {"displaylogo": False}), xs=12, xl=7
                    ),
                    card_col(
                        graph("sectors-perf", 460), "Sector ETF returns", xs=12, xl=5
                    ),
                ],
                className="g-2",
            ),
            html.H3("Sector and industry-group ranking", className="h6 mt-2"),
            html.P(
                "Groups of the chosen universe ranked by the median RS rating of "
                "their members.",
                className="small text-body-secondary mb-1",
            ),
            grids,
            poll_components(PAGE, poll_ms),
        ]
    )


def _group_rows(frame) -> list:
    return [] if frame is None or frame.empty else frame_records(frame)


def missing_line(points: pd.DataFrame, session: Any, period: str) -> list:
    """List every sector ETF left out of the RRG, with the reason."""
    missing = rotation_missing(current_store(), points, session, period)
    if not missing:
        return []
    text = "; ".join(f"{m['symbol']}: {m['reason']}" for m in missing)
    return [
        html.Small(
            f"· not in the RRG: {text}",
            className="text-warning-emphasis d-block rrg-missing",
        )
    ]


def build_sectors(universe: str, as_of: str, period: str, tail: int) -> tuple:
    """Render the RRG, sector returns and group tables for one view."""
    state = market_state(universe, as_of)
    names = sector_names()
    points = sector_rotation(period, tail, as_of)
    rets = queries.sector_returns(as_of)
    labels = {s: f"{s} · {n}" for s, n in names.items()}
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state)]
    status = [*status, *missing_line(points, state.session, period)]
    if points.empty and rets.empty:
        status = [*status, empty_state()]
    return (
        status,
        rrg_figure(points, names, tail),
        sector_perf_figure(rets, labels),
        _group_rows(state.sectors),
        _group_rows(state.industries),
    )


@callback(
    Output("sectors-status", "children"),
    Output("sectors-rrg", "figure"),
    Output("sectors-perf", "figure"),
    Output("sectors-grid", "rowData"),
    Output("industries-grid", "rowData"),
    Output("sectors-version", "data"),
    Input("sectors-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("sectors-period", "value"),
    Input("sectors-tail", "value"),
    State("sectors-version", "data"),
)
def refresh_sectors(_n, universe, session, time_, period, tail, last):
    """Re-render the Sectors page when the data version (or a control) moved."""
    period = period if period in PERIODS else DEFAULT_PERIOD
    tail = _int(tail, DEFAULT_TAIL, 1, MAX_TAIL)
    params = view_params(universe, session, time_, period=period, tail=tail)
    return render_view(PAGE, params, last, build_sectors, n_outputs=5)


def drill_href(
    trigger: Any, clicked: Any, universe: Any, session: Any, time_: Any
) -> str | None:
    """Return the Groups drill-down link of a clicked sector or industry group."""
    by, group = "sector", None
    if trigger in ("sectors-grid", "industries-grid"):
        group = (clicked or {}).get("rowId")
        by = "industry" if trigger == "industries-grid" else "sector"
    elif trigger in ("sectors-rrg", "sectors-perf"):
        points = (clicked or {}).get("points") or [{}]
        point = points[0]
        data = point.get("customdata")
        etf = data[0] if isinstance(data, list) and data else data
        if trigger == "sectors-perf":
            etf = str(point.get("y") or "").split(" · ")[0]
        group = sector_names().get(str(etf or ""))
    if not group:
        return None
    params = view_params(universe, session, time_)
    query = {"by": by, "group": group}
    if params["universe"] != DEFAULT_UNIVERSE:
        query["universe"] = params["universe"]
    if params["as_of"] != NOW:
        query["as_of"] = params["as_of"]
    return "/groups?" + urlencode(query)


@callback(
    Output("nav-location", "href", allow_duplicate=True),
    Input("sectors-grid", "cellClicked"),
    Input("industries-grid", "cellClicked"),
    Input("sectors-rrg", "clickData"),
    Input("sectors-perf", "clickData"),
    *[State(i.component_id, i.component_property) for i in control_inputs(PAGE)],
    prevent_initial_call=True,
)
def open_group(sector_cell, industry_cell, rrg_click, perf_click, *controls):
    """Open the Groups drill-down of the clicked sector or industry group."""
    trigger = dash.ctx.triggered_id
    clicked = {
        "sectors-grid": sector_cell,
        "industries-grid": industry_cell,
        "sectors-rrg": rrg_click,
        "sectors-perf": perf_click,
    }.get(trigger)
    href = drill_href(trigger, clicked, *controls)
    return href if href else dash.no_update


register_dense_grid("sectors", SECTOR_DEFS, link_symbol=False)
register_dense_grid(
    "industries", INDUSTRY_DEFS, url_key=INDUSTRY_URL_KEY, link_symbol=False
)
register_csv_name("sectors", "sectors-grid", "sectors-version")
register_csv_name("industries", "industries-grid", "sectors-version")
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "period", "tail"],
    [
        *control_inputs(PAGE),
        Input("sectors-period", "value"),
        Input("sectors-tail", "value"),
    ],
    {"universe": DEFAULT_UNIVERSE, "period": DEFAULT_PERIOD, "tail": DEFAULT_TAIL},
)
