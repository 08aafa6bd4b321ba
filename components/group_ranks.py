"""Group-rank grid (rank-change arrows) and the group drill-down card."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.grid_columns import num_col, text_col

ARROW = {"function": "fmtArrow(params.value)"}
GROUP_LABELS = {"sector": "Sector", "industry": "Sub-industry"}


def _change(field: str, header: str, tip: str) -> dict[str, Any]:
    return num_col(
        0,
        "int",
        colour=True,
        field=field,
        headerName=header,
        headerTooltip=tip,
        width=90,
        valueFormatter=ARROW,
    )


def group_column_defs(by: str) -> list[dict[str, Any]]:
    """Return the AG Grid columns of the group-rank table."""
    return [
        num_col(0, "int", field="rank", headerName="Rank", width=80, pinned="left"),
        text_col(
            field="group",
            headerName=GROUP_LABELS.get(by, "Group"),
            width=230,
            pinned="left",
            cellClass="fw-semibold link-cell",
            lockVisible=True,
        ),
        _change("change_week", "vs 1 wk", "Rank change since 5 sessions earlier"),
        _change("change_month", "vs 1 mo", "Rank change since 21 sessions earlier"),
        num_col(
            3,
            field="group_rs_score",
            headerName="Score",
            headerTooltip="Mean RS score S of the members with one",
            width=90,
        ),
        num_col(
            0, "int", field="rank_prev_week", headerName="Rank 1 wk ago", width=110
        ),
        num_col(
            0, "int", field="rank_prev_month", headerName="Rank 1 mo ago", width=112
        ),
        num_col(
            0,
            "int",
            field="members",
            headerName="Members",
            headerTooltip="Members with a price in the as-of session",
            width=96,
        ),
        num_col(
            0,
            "int",
            field="scored",
            headerName="Scored",
            headerTooltip="Members with an RS score (in the mean)",
            width=86,
        ),
        num_col(0, "pp", field="pct_stage2", headerName="% stage 2", width=100),
        num_col(
            1,
            "pct",
            signed=True,
            colour=True,
            field="median_ret_21d",
            headerName="Med 1M",
            width=90,
        ),
        text_col(field="leaders", headerName="Strongest members", width=200),
    ]


def group_rows(table: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Return grid rows with the rank changes and the leaders as text."""
    if table is None or table.empty:
        return []
    out = table.copy()
    rank = out["rank"].astype("Float64")
    out["change_week"] = (out["rank_prev_week"].astype("Float64") - rank).astype(
        "Int64"
    )
    out["change_month"] = (out["rank_prev_month"].astype("Float64") - rank).astype(
        "Int64"
    )
    out["leaders"] = out["top_members"].map(lambda s: ", ".join(s or []))
    out = out.drop(columns=["top_members"])
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def group_picker(by: str, group: str) -> dcc.Dropdown:
    """Return the drill-down group picker (filled by the page callback)."""
    options = [{"label": group, "value": group}] if group else []
    return dcc.Dropdown(
        id="groups-group",
        options=options,
        value=group or None,
        placeholder=f"Pick a {GROUP_LABELS.get(by, 'group').lower()} to drill down…",
        clearable=True,
        style={"minWidth": "18rem"},
    )


def drill_down_header(group: str | None, etf: str | None, members: int) -> list:
    """Return the drill-down card's title: the group, its members and the ETF."""
    if not group:
        return [html.Span("Pick a group (click a row) to see its members")]
    vs = f" · RRG vs {etf}" if etf else " · no sector ETF for the RRG"
    return [html.B(group), html.Span(f" · {members} members with data{vs}")]


def drill_down_card(members_grid: Any, rrg_graph: Any) -> dbc.Card:
    """Return the drill-down card: members (rankings) beside the RRG."""
    return dbc.Card(
        [
            dbc.CardHeader(html.Div(id="groups-detail-title")),
            dbc.CardBody(
                dbc.Row(
                    [
                        dbc.Col(members_grid, xs=12, xl=7),
                        dbc.Col(rrg_graph, xs=12, xl=5),
                    ],
                    className="g-2",
                ),
                className="p-1",
            ),
        ],
        className="mb-2",
    )
