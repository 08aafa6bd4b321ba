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

from components.breadth_figures import breadth_figure
from components.cards import empty_state, error_state, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.layout import card_col, graph
from components.theme import DOWN, UP
from dashapp.market import market_state, queries
from dashapp.market.sector_breadth import UnknownSector, sector_breadth
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
ALL_SECTORS = ""
SECTOR_HEADERS = (
    ("sector", "Sector"),
    ("members", "Members"),
    ("pct_above_sma20", "% > SMA20"),
    ("pct_above_sma50", "% > SMA50"),
    ("pct_above_sma200", "% > SMA200"),
    ("new_highs", "NH"),
    ("new_lows", "NL"),
    ("advancers", "Adv"),
    ("decliners", "Dec"),
)
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
    **_kwargs: Any,
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
                html.Div(id="breadth-sectors"),
                "Sectors × breadth (as-of session; counts of members with data)",
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


def _count(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value):,}"


def _pct_cell(value: Any) -> html.Td:
    if value is None or pd.isna(value):
        return html.Td("—")
    color = UP if value >= PCT_MIDPOINT else DOWN
    return html.Td(f"{float(value):.0f}%", style={"color": color})


def sector_table(table: pd.DataFrame, selected: str = ALL_SECTORS) -> Any:
    """Render one row per sector: % above SMAs, NH / NL, A / D, member counts."""
    if table is None or table.empty:
        return empty_state("No sectors: the universe's stocks have no GICS sector")
    head = html.Thead(html.Tr([html.Th(label) for _, label in SECTOR_HEADERS]))
    rows = []
    for r in table.itertuples(index=False):
        cells = [
            html.Td(r.sector),
            html.Td(f"{_count(r.with_data)} / {_count(r.members)}"),
            *[_pct_cell(getattr(r, f"pct_above_sma{n}")) for n in (20, 50, 200)],
            *[html.Td(_count(getattr(r, c))) for c in ("new_highs", "new_lows")],
            html.Td(_count(r.advancers), style={"color": UP}),
            html.Td(_count(r.decliners), style={"color": DOWN}),
        ]
        active = "table-active" if r.sector == selected else None
        rows.append(html.Tr(cells, className=active))
    return dbc.Table(
        [head, html.Tbody(rows)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
        id="breadth-sectors-table",
    )


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
    Output("breadth-sectors", "children"),
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


register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "sector"],
    [*control_inputs(PAGE), Input("breadth-sector", "value")],
    {"universe": DEFAULT_UNIVERSE, "sector": ALL_SECTORS},
)
