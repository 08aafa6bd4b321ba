"""dash-ag-grid builders: the rankings grid, group rankings and stage lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag

from components.theme import WINDOW_LABELS

PCT = "params.value == null ? '' : d3.format('+.1%')(params.value)"
PCT_PLAIN = "params.value == null ? '' : d3.format('.0f')(params.value) + '%'"
NUM1 = "params.value == null ? '' : d3.format(',.1f')(params.value)"
NUM2 = "params.value == null ? '' : d3.format(',.2f')(params.value)"
# Rules are {"function": ...} so dash-ag-grid's own parser evaluates them: plain
# strings would go to AG Grid's `new Function`, which the app's CSP forbids.
SIGN_CLASSES = {
    "pos": {"function": "params.value > 0"},
    "neg": {"function": "params.value < 0"},
}
STAGE_CLASSES = {
    f"stage-{s}": {"function": f"params.value == {s}"} for s in (1, 2, 3, 4)
}
RETURN_COLUMNS = tuple(WINDOW_LABELS)

RANKING_COLUMNS: dict[str, dict[str, Any]] = {
    "symbol": {
        "headerName": "Symbol",
        "pinned": "left",
        "width": 96,
        "cellClass": "fw-semibold link-cell",
        "filter": "agTextColumnFilter",
    },
    "sector": {"headerName": "Sector", "width": 170, "filter": "agTextColumnFilter"},
    "sub_industry": {
        "headerName": "Sub-industry",
        "width": 190,
        "filter": "agTextColumnFilter",
    },
    "rs_rating": {
        "headerName": "RS",
        "headerTooltip": "IBD-style RS rating 1-99 within the universe",
        "width": 76,
        "filter": "agNumberColumnFilter",
        "cellClass": "rs-cell",
    },
    "rs_score": {
        "headerName": "RS score",
        "width": 96,
        "filter": "agNumberColumnFilter",
        "valueFormatter": {
            "function": "params.value == null ? '' : d3.format('.3f')(params.value)"
        },
    },
    **{
        col: {
            "headerName": label,
            "width": 82,
            "filter": "agNumberColumnFilter",
            "valueFormatter": {"function": PCT},
            "cellClassRules": SIGN_CLASSES,
        }
        for col, label in WINDOW_LABELS.items()
    },
    "stage": {
        "headerName": "Stage",
        "width": 78,
        "filter": "agNumberColumnFilter",
        "cellClassRules": STAGE_CLASSES,
    },
    "weeks_in_stage": {
        "headerName": "Wks",
        "headerTooltip": "Weeks in the current stage",
        "width": 70,
        "filter": "agNumberColumnFilter",
    },
    "rs_new_high": {
        "headerName": "RS new high",
        "width": 110,
        "cellRenderer": "agCheckboxCellRenderer",
        "filter": False,
    },
    "above_sma50": {
        "headerName": "> SMA50",
        "width": 92,
        "cellRenderer": "agCheckboxCellRenderer",
    },
    "above_sma200": {
        "headerName": "> SMA200",
        "width": 98,
        "cellRenderer": "agCheckboxCellRenderer",
    },
    "new_52w_high": {
        "headerName": "52w high",
        "width": 96,
        "cellRenderer": "agCheckboxCellRenderer",
    },
    "new_52w_low": {
        "headerName": "52w low",
        "width": 92,
        "cellRenderer": "agCheckboxCellRenderer",
    },
    "sessions": {
        "headerName": "Sessions",
        "width": 96,
        "filter": "agNumberColumnFilter",
    },
    "excluded_reason": {"headerName": "Not rated because", "width": 220},
}
DEFAULT_RANKING_COLUMNS = (
    "symbol",
    "sector",
    "rs_rating",
    *RETURN_COLUMNS,
    "stage",
    "weeks_in_stage",
    "rs_new_high",
)
DEFAULT_COL_DEF = {
    "sortable": True,
    "resizable": True,
    "filter": True,
    "floatingFilter": True,
    "suppressHeaderMenuButton": False,
}


def ranking_column_defs(
    columns: Sequence[str] = tuple(RANKING_COLUMNS),
    visible: Sequence[str] = DEFAULT_RANKING_COLUMNS,
) -> list[dict[str, Any]]:
    """Return AG Grid column definitions; columns not in `visible` start hidden."""
    shown = set(visible)
    defs = []
    for col in columns:
        spec = dict(RANKING_COLUMNS.get(col, {"headerName": col}))
        spec["field"] = col
        spec["hide"] = col not in shown
        defs.append(spec)
    return defs


def column_options(columns: Sequence[str] = tuple(RANKING_COLUMNS)) -> list[dict]:
    """Return column-chooser options (label = header name)."""
    return [
        {"label": RANKING_COLUMNS.get(c, {}).get("headerName", c), "value": c}
        for c in columns
        if c != "symbol"
    ]


def data_grid(
    grid_id: str,
    column_defs: list[dict[str, Any]],
    row_data: list[dict] | None = None,
    height: str = "70vh",
    row_id: str | None = "symbol",
    **grid_options: Any,
) -> dag.AgGrid:
    """Return a sortable, filterable AG Grid (rows keyed by `row_id`)."""
    options = {
        "animateRows": False,
        "tooltipShowDelay": 300,
        "enableCellTextSelection": True,
        "ensureDomOrder": True,
        "localeText": {"noRowsToShow": "No rows — no data yet for this view"},
        **grid_options,
    }
    extra = {"getRowId": f"params.data.{row_id}"} if row_id else {}
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs,
        rowData=row_data or [],
        defaultColDef=DEFAULT_COL_DEF,
        dashGridOptions=options,
        style={"height": height, "width": "100%"},
        className="tickstock-grid",
        **extra,
    )


def group_column_defs(by: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Return column definitions of a sector / industry-group ranking table."""
    label = "Sector" if by == "sector" else "Sub-industry"
    defs: list[dict[str, Any]] = [
        {"field": by, "headerName": label, "pinned": "left", "width": 210},
        {"field": "rank", "headerName": "Rank", "width": 76},
        {"field": "members", "headerName": "Members", "width": 96},
        {
            "field": "median_rs_rating",
            "headerName": "Median RS",
            "width": 108,
            "valueFormatter": {"function": NUM1},
        },
        {
            "field": "pct_stage2",
            "headerName": "% stage 2",
            "width": 100,
            "valueFormatter": {"function": PCT_PLAIN},
        },
    ]
    for col, name in WINDOW_LABELS.items():
        if f"median_{col}" in columns:
            defs.append(
                {
                    "field": f"median_{col}",
                    "headerName": f"Med {name}",
                    "width": 90,
                    "valueFormatter": {"function": PCT},
                    "cellClassRules": SIGN_CLASSES,
                }
            )
    for n in (50, 200):
        if f"pct_above_sma{n}" in columns:
            defs.append(
                {
                    "field": f"pct_above_sma{n}",
                    "headerName": f"% > SMA{n}",
                    "width": 104,
                    "valueFormatter": {"function": PCT_PLAIN},
                }
            )
    return defs


STAGE_LIST_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "symbol",
        "headerName": "Symbol",
        "pinned": "left",
        "width": 96,
        "cellClass": "fw-semibold link-cell",
    },
    {"field": "sector", "headerName": "Sector", "width": 170},
    {
        "field": "stage",
        "headerName": "Stage",
        "width": 76,
        "cellClassRules": STAGE_CLASSES,
    },
    {"field": "weeks_in_stage", "headerName": "Wks", "width": 70},
    {
        "field": "prior_stage",
        "headerName": "From",
        "width": 72,
        "cellClassRules": STAGE_CLASSES,
    },
    {
        "field": "candidate",
        "headerName": "Candidate",
        "width": 150,
        "headerTooltip": "This week's candidate stage and the weeks it has held; "
        "2 consecutive weeks confirm it",
    },
    {
        "field": "pv",
        "headerName": "vs MA30 %",
        "width": 104,
        "valueFormatter": {"function": NUM1},
        "cellClassRules": SIGN_CLASSES,
    },
    {
        "field": "slope",
        "headerName": "MA30 slope %",
        "width": 116,
        "valueFormatter": {"function": NUM2},
        "cellClassRules": SIGN_CLASSES,
    },
    {
        "field": "mansfield_rs",
        "headerName": "Mansfield",
        "width": 100,
        "valueFormatter": {"function": NUM1},
        "cellClassRules": SIGN_CLASSES,
    },
    {
        "field": "volume_ratio",
        "headerName": "Vol ratio",
        "width": 96,
        "valueFormatter": {"function": NUM2},
    },
    {"field": "rs_rating", "headerName": "RS", "width": 70},
]
