"""Breadth (/breadth): the 11-row panel, A/D line, % above MAs, NH-NL, McClellan.

A sector picker restricts everything to the members of one GICS sector of the
universe; the sector x breadth table compares every sector on the as-of session.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from components.breadth_figures import breadth_figure
from components.cards import empty_state, error_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.grid_columns import num_col, text_col
from components.grid_dense import dense_grid
from components.layout import card_col, graph
from components.theme import DOWN, UP
from dashapp.market import market_state, queries
from dashapp.market.sector_breadth import UnknownSector, sector_breadth
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

PAGE = "breadth"
PCT_MIDPOINT = 50.0
ALL_SECTORS = ""
SECTORS_URL_KEY = "sec"  # the sector grid's sort / filters: sec_sort, sec_f
SECTORS_GRID = "breadth-sectors-grid"
HALF = {
    "pos": {"function": f"params.value >= {PCT_MIDPOINT}"},
    "neg": {"function": f"params.value < {PCT_MIDPOINT}"},
}
PICKED = {"sector-picked": {"function": "params.data.selected"}}
SECTOR_COLUMNS = [
    text_col(field="sector", headerName="Sector", width=200, pinned="left"),
    text_col(
        field="coverage",
        headerName="Members",
        headerTooltip="Members with data / all members",
        width=104,
        type="rightAligned",
        cellClass="ag-right-aligned-cell num-cell",
        headerClass="ag-right-aligned-header",
    ),
    *[
        num_col(
            0,
            "pp",
            field=f"pct_above_sma{n}",
            headerName=f"% > SMA{n}",
            width=108,
            cellClassRules=HALF,
        )
        for n in (20, 50, 200)
    ],
    num_col(0, "int", field="new_highs", headerName="NH", width=80),
    num_col(0, "int", field="new_lows", headerName="NL", width=80),
    num_col(0, "int", field="advancers", headerName="Adv", width=84, cellClass="pos"),
    num_col(0, "int", field="decliners", headerName="Dec", width=84, cellClass="neg"),
    num_col(0, "int", field="with_data", headerName="With data", hide=True),
    num_col(0, "int", field="members", headerName="All members", hide=True),
]
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
    sector: str = ALL_SECTORS,
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Breadth page skeleton; the poll callback fills it."""
    sector = str(sector or ALL_SECTORS)[:64]
    picker = dcc.Dropdown(
        id="breadth-sector",
        options=[{"label": "All sectors", "value": ALL_SECTORS}]
        + ([{"label": sector, "value": sector}] if sector else []),
        value=sector,
        clearable=False,
        searchable=True,
        style={"minWidth": "220px"},
        className="control-sector",
    )
    return html.Div(
        [
            page_header(
                "Breadth",
                PAGE,
                "Counts of real symbols in the universe; every window is in "
                "trading sessions.",
            ),
            controls_bar(PAGE, universe, as_of, extra=[picker]),
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
            card_col(
                dense_grid(
                    "breadth-sectors",
                    SECTOR_COLUMNS,
                    grid_id=SECTORS_GRID,
                    query=query,
                    url_key=SECTORS_URL_KEY,
                    height="380px",
                    row_id="sector",
                    rowClassRules=PICKED,
                ),
                "Sectors × breadth (as-of session; counts of members with data; "
                "click a sector to pick it)",
                xs=12,
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
                html.Th("Up", className="num"),
                html.Th("Down", className="num"),
                html.Th("Unch", className="num"),
                html.Th("Total", className="num"),
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
                    html.Td(f"{int(r.up):,}", style={"color": UP}, className="num"),
                    html.Td(f"{int(r.down):,}", style={"color": DOWN}, className="num"),
                    html.Td(f"{unch:,}", className="num"),
                    html.Td(f"{total:,}", className="num"),
                    html.Td(bar),
                ]
            )
        )
    return dbc.Table(
        [head, html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="breadth-panel dense-table mb-0",
        id="breadth-panel-table",
    )


def sector_table(table: pd.DataFrame, selected: str = ALL_SECTORS) -> list[dict]:
    """Return the sector x breadth grid's rows (the picked sector flagged)."""
    if table is None or table.empty:
        return []
    out = table.copy()
    out["coverage"] = [
        f"{_count(w)} / {_count(m)}"
        for w, m in zip(out["with_data"], out["members"], strict=True)
    ]
    out["selected"] = out["sector"] == selected
    cols = [c["field"] for c in SECTOR_COLUMNS if c["field"] in out] + ["selected"]
    return frame_records(out[cols])


def _count(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value):,}"


def build_breadth(universe: str, as_of: str, sector: str = ALL_SECTORS) -> tuple:
    """Render the panel table and the breadth time series for one view."""
    state = market_state(universe, as_of)
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state)]
    sectors = sector_breadth(universe, as_of)
    options = [{"label": "All sectors", "value": ALL_SECTORS}]
    options += [{"label": s, "value": s} for s in sectors.sectors]
    series, panel, name = state.breadth, state.breadth_panel, ALL_SECTORS
    if sector:
        try:
            name = sectors.resolve(sector)
        except UnknownSector as exc:
            allowed = ", ".join(exc.allowed) or "none"
            message = f"{exc}; the universe has: {allowed}"
            status = [*status, error_state(message, "Unknown sector")]
        else:
            series, panel = sectors.series[name], sectors.panels.get(name)
            row = sectors.table.set_index("sector").loc[name]
            status.append(
                html.Small(
                    f"· {name}: {int(row['with_data'])} / {int(row['members'])} "
                    "members with data",
                    className="me-2 counted-sector",
                )
            )
    if series is None or series.empty:
        status = [*status, empty_state()]
    return (
        status,
        panel_table(panel),
        breadth_figure(series),
        options,
        sector_table(sectors.table, name),
    )


@callback(
    Output("breadth-status", "children"),
    Output("breadth-panel", "children"),
    Output("breadth-chart", "figure"),
    Output("breadth-sector", "options"),
    Output(SECTORS_GRID, "rowData"),
    Output("breadth-version", "data"),
    Input("breadth-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("breadth-sector", "value"),
    State("breadth-version", "data"),
)
def refresh_breadth(_n, universe, session, time_, sector, last):
    """Re-render the Breadth page when the data version (or a control) moved."""
    params = view_params(universe, session, time_, sector=sector or ALL_SECTORS)
    return render_view(PAGE, params, last, build_breadth, n_outputs=5)


@callback(
    Output("breadth-sector", "value"),
    Input(SECTORS_GRID, "cellClicked"),
    prevent_initial_call=True,
)
def pick_sector(cell: dict | None) -> str:
    """Pick the clicked sector (the row id is the sector)."""
    if not cell or not cell.get("rowId"):
        raise PreventUpdate
    return cell["rowId"]


register_dense_grid(
    "breadth-sectors",
    SECTOR_COLUMNS,
    grid_id=SECTORS_GRID,
    url_key=SECTORS_URL_KEY,
    link_symbol=False,
)
register_csv_name("breadth-sectors", SECTORS_GRID, "breadth-version")
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "sector"],
    [*control_inputs(PAGE), Input("breadth-sector", "value")],
    {"universe": DEFAULT_UNIVERSE, "sector": ALL_SECTORS},
)
