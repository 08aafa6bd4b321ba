"""dash-ag-grid builders: the rankings grid, group rankings and stage lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag

from components.grid_columns import (
    DENSE_OPTIONS,
    densify,
    num_col,
    sign_classes,
    symbol_col,
    text_col,
)
from components.theme import WINDOW_LABELS

# Formatters and sign colours of assets/dashAgGridFunctions.js (CSP-safe).
PCT = "fmtNum(params.value, 1, 'pct', true)"
PCT_PLAIN = "fmtNum(params.value, 0, 'pp')"
NUM1 = "fmtNum(params.value, 1, 'num')"
NUM2 = "fmtNum(params.value, 2, 'num')"
SIGN_CLASSES = sign_classes(1, "pct")
STAGE_CLASSES = {
    f"stage-{s}": {"function": f"params.value == {s}"} for s in (1, 2, 3, 4)
}
RETURN_COLUMNS = tuple(WINDOW_LABELS)

BOOL = {"cellRenderer": "agCheckboxCellRenderer", "filter": False}
RANKING_COLUMNS: dict[str, dict[str, Any]] = {
    "symbol": text_col(
        headerName="Symbol",
        pinned="left",
        width=96,
        cellClass="fw-semibold link-cell",
        lockVisible=True,
    ),
    "sector": text_col(headerName="Sector", width=170),
    "sub_industry": text_col(headerName="Sub-industry", width=190),
    "rs_rating": num_col(
        0,
        "int",
        cell_class="rs-cell",
        headerName="RS",
        headerTooltip="IBD-style RS rating 1-99 within the universe",
        width=84,
    ),
    "rs_score": num_col(3, headerName="RS score", width=100),
    **{
        col: num_col(1, "pct", signed=True, colour=True, headerName=label, width=88)
        for col, label in WINDOW_LABELS.items()
    },
    "stage": num_col(
        0, "int", headerName="Stage", width=84, cellClassRules=STAGE_CLASSES
    ),
    "weeks_in_stage": num_col(
        0,
        "int",
        headerName="Wks",
        headerTooltip="Weeks in the current stage",
        width=80,
    ),
    "rs_new_high": {"headerName": "RS new high", "width": 110, **BOOL},
    "above_sma50": {"headerName": "> SMA50", "width": 92, **BOOL},
    "above_sma200": {"headerName": "> SMA200", "width": 98, **BOOL},
    "new_52w_high": {"headerName": "52w high", "width": 96, **BOOL},
    "new_52w_low": {"headerName": "52w low", "width": 92, **BOOL},
    "sessions": num_col(0, "int", headerName="Sessions", width=96),
    "excluded_reason": text_col(headerName="Not rated because", width=220),
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
    "minWidth": 70,
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
    """Return a dense, sortable, filterable AG Grid (rows keyed by `row_id`).

    Numeric columns are right-aligned with fixed decimals (`densify`); the
    header stays put while the rows scroll inside the grid's box.
    """
    # Props of the component itself, not grid options.
    props = {
        k: grid_options.pop(k)
        for k in ("filterModel", "rowClassRules", "getRowStyle")
        if grid_options.get(k)
    }
    csv = grid_options.pop("csvExportParams", None)
    options = {
        **DENSE_OPTIONS,
        "animateRows": False,
        "tooltipShowDelay": 300,
        "enableCellTextSelection": True,
        "ensureDomOrder": True,
        "localeText": {"noRowsToShow": "No rows — no data yet for this view"},
        **grid_options,
    }
    extra: dict[str, Any] = {"getRowId": f"params.data.{row_id}"} if row_id else {}
    extra.update(props)
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[densify(d) for d in column_defs],
        rowData=row_data or [],
        defaultColDef=DEFAULT_COL_DEF,
        dashGridOptions=options,
        csvExportParams=csv or {"fileName": f"{grid_id}.csv", "allColumns": False},
        style={"height": height, "width": "100%"},
        className="tickstock-grid dense-grid",
        **extra,
    )


def group_column_defs(by: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Return column definitions of a sector / industry-group ranking table."""
    label = "Sector" if by == "sector" else "Sub-industry"
    defs: list[dict[str, Any]] = [
        text_col(field=by, headerName=label, pinned="left", width=210),
        num_col(0, "int", field="rank", headerName="Rank", width=80),
        num_col(0, "int", field="members", headerName="Members", width=96),
        num_col(1, field="median_rs_rating", headerName="Median RS", width=108),
        num_col(0, "pp", field="pct_stage2", headerName="% stage 2", width=100),
    ]
    for col, name in WINDOW_LABELS.items():
        if f"median_{col}" in columns:
            defs.append(
                num_col(
                    1,
                    "pct",
                    signed=True,
                    colour=True,
                    field=f"median_{col}",
                    headerName=f"Med {name}",
                    width=92,
                )
            )
    for n in (50, 200):
        if f"pct_above_sma{n}" in columns:
            defs.append(
                num_col(
                    0,
                    "pp",
                    field=f"pct_above_sma{n}",
                    headerName=f"% > SMA{n}",
                    width=104,
                )
            )
    return defs


STAGE_LIST_COLUMNS: list[dict[str, Any]] = [
    symbol_col(96),
    text_col(field="sector", headerName="Sector", width=170),
    num_col(
        0,
        "int",
        field="stage",
        headerName="Stage",
        width=80,
        cellClassRules=STAGE_CLASSES,
    ),
    num_col(0, "int", field="weeks_in_stage", headerName="Wks", width=76),
    num_col(
        0,
        "int",
        field="prior_stage",
        headerName="From",
        width=76,
        cellClassRules=STAGE_CLASSES,
    ),
    text_col(
        field="candidate",
        headerName="Candidate",
        width=150,
        headerTooltip="This week's candidate stage and the weeks it has held; "
        "2 consecutive weeks confirm it",
    ),
    num_col(1, colour=True, field="pv", headerName="vs MA30 %", width=104),
    num_col(2, colour=True, field="slope", headerName="MA30 slope %", width=116),
    num_col(1, colour=True, field="mansfield_rs", headerName="Mansfield", width=100),
    num_col(2, field="volume_ratio", headerName="Vol ratio", width=96),
    num_col(0, "int", field="rs_rating", headerName="RS", width=76),
]
