"""Groups (/groups): sector or sub-industry ranks, rank changes, and a drill-down.

Clicking a group opens its members (the rankings filtered to the group) and an
RRG of those stocks against the group's sector ETF.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html

from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.figures import rrg_figure
from components.grid_dense import dense_grid
from components.grids import ranking_column_defs
from components.group_ranks import (
    drill_down_card,
    drill_down_header,
    group_column_defs,
    group_picker,
    group_rows,
)
from components.layout import graph
from dashapp.market import market_state, queries
from dashapp.market.groups import GROUP_BY, group_members, group_rotation, rank_groups
from pages._common import (
    control_inputs,
    counted_line,
    link_plot_to_symbol,
    poll_components,
    register_csv_name,
    register_dense_grid,
    register_url_sync,
    render_view,
    view_params,
)

PAGE = "groups"
DETAIL = "groups-detail"
GRID = "groups-grid"
MEMBERS_GRID = "groups-members-grid"
RRG_GRAPH = "groups-rrg"
DEFAULT_BY = "sector"
RRG_TAIL = 8
MEMBER_COLUMNS = ("symbol", "sub_industry", "rs_rating", "ret_1d", "ret_21d", "stage")
MEMBER_DEFS = ranking_column_defs(MEMBER_COLUMNS, MEMBER_COLUMNS)
MEMBERS_URL_KEY = "m"  # the members grid's sort / filters: m_sort, m_f, m_cols
dash.register_page(
    __name__, path="/groups", name="Groups", order=25, title="TickStock — Groups"
)


def _by(value: Any) -> str:
    return value if value in GROUP_BY else DEFAULT_BY


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    by: str = DEFAULT_BY,
    group: str = "",
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Groups page: controls, the rank grid and the drill-down."""
    by = _by(by)
    by_picker = dbc.RadioItems(
        id="groups-by",
        options=[
            {"label": "Sectors", "value": "sector"},
            {"label": "Industries", "value": "industry"},
        ],
        value=by,
        inline=True,
        className="small",
    )
    members = dense_grid(
        "groups-members",
        MEMBER_DEFS,
        query=query,
        url_key=MEMBERS_URL_KEY,
        height="420px",
    )
    return html.Div(
        [
            page_header(
                "Groups",
                PAGE,
                "Groups ranked by the mean RS score of their members; arrows show "
                "the rank change since 5 and 21 sessions earlier. Click a group "
                "to drill down.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[by_picker]),
            dense_grid(
                PAGE, group_column_defs(by), query=query, height="420px", row_id="group"
            ),
            html.Div(group_picker(by, group), className="my-2"),
            drill_down_card(members, graph(RRG_GRAPH, 420)),
            dash.dcc.Store(id=f"{DETAIL}-version"),
            poll_components(PAGE, poll_ms),
        ]
    )


def build_groups(universe: str, as_of: str, by: str) -> tuple:
    """Render the status line, rank grid (columns + rows) and group options."""
    view = rank_groups(market_state(universe, as_of), by)
    state, table = view.state, view.table
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state, rs=True)]
    prior = view.prior_sessions
    status.append(
        html.Small(
            f"· {len(table)} groups · vs {prior.get('prev_week') or '—'} (1 wk), "
            f"{prior.get('prev_month') or '—'} (1 mo)",
            className="me-2 groups-counted",
        )
    )
    if table.empty:
        status = [*status, empty_state()]
    options = [{"label": g, "value": g} for g in sorted(table["group"])]
    return status, group_column_defs(by), group_rows(table), options


@callback(
    Output("groups-status", "children"),
    Output(GRID, "columnDefs"),
    Output(GRID, "rowData"),
    Output("groups-group", "options"),
    Output("groups-version", "data"),
    Input("groups-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("groups-by", "value"),
    State("groups-version", "data"),
)
def refresh_groups(_n, universe, session, time_, by, last):
    """Re-render the rank grid when the data version (or a control) moved."""
    params = view_params(universe, session, time_, by=_by(by))
    return render_view(PAGE, params, last, build_groups, n_outputs=4)


def build_detail(universe: str, as_of: str, by: str, group: str) -> tuple:
    """Render the drill-down: title, members' ranking rows, RRG vs the sector ETF."""
    state = market_state(universe, as_of)
    rows = group_members(state, by, group)
    points, etf = group_rotation(state, by, group, as_of, RRG_TAIL)
    cols = [c for c in MEMBER_COLUMNS if c in rows.columns]
    title = drill_down_header(group or None, etf, len(rows))
    return title, frame_records(rows[cols]), rrg_figure(points, None, RRG_TAIL, 420)


@callback(
    Output("groups-detail-title", "children"),
    Output(MEMBERS_GRID, "rowData"),
    Output(RRG_GRAPH, "figure"),
    Output(f"{DETAIL}-version", "data"),
    Input("groups-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("groups-by", "value"),
    Input("groups-group", "value"),
    State(f"{DETAIL}-version", "data"),
)
def refresh_detail(_n, universe, session, time_, by, group, last):
    """Re-render the drill-down when the group, a control or the data moved."""
    params = view_params(universe, session, time_, by=_by(by), group=group or "")
    return render_view(DETAIL, params, last, build_detail, n_outputs=3)


@callback(
    Output("groups-group", "value"),
    Input(GRID, "cellClicked"),
    Input("groups-by", "value"),
    State("groups-group", "value"),
    prevent_initial_call=True,
)
def pick_group(cell, _by_value, current):
    """Select the clicked group; a new grouping clears the selection."""
    return picked_group(dash.ctx.triggered_id, cell, current)


def picked_group(trigger: Any, cell: dict | None, current: str | None) -> str | None:
    """Return the group to show after `trigger` (the grid or the grouping picker)."""
    if trigger == "groups-by":
        return None
    if not cell or not cell.get("rowId"):
        return current
    return cell["rowId"]


register_dense_grid(PAGE, group_column_defs(DEFAULT_BY), link_symbol=False)
register_dense_grid("groups-members", MEMBER_DEFS, url_key=MEMBERS_URL_KEY)
register_csv_name(PAGE, GRID, "groups-version")
register_csv_name("groups-members", MEMBERS_GRID, f"{DETAIL}-version")
link_plot_to_symbol(RRG_GRAPH)
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "by", "group"],
    [
        *control_inputs(PAGE),
        Input("groups-by", "value"),
        Input("groups-group", "value"),
    ],
    {"universe": DEFAULT_UNIVERSE, "by": DEFAULT_BY, "group": ""},
)
