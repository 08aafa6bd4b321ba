"""Stages (/stages): stage distribution, per sector, history, lists, changes."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, html

from components.cards import empty_state, frame_records, snapshot_line
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.grid_dense import dense_grid
from components.grids import STAGE_LIST_COLUMNS
from components.layout import card_col, graph
from components.stage_figures import (
    stage_by_sector_figure,
    stage_distribution_figure,
    stage_history_figure,
)
from components.theme import STAGE_NAMES
from dashapp.market import market_state, queries
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

PAGE = "stages"
DEFAULT_STAGE = 2
CHANGES_URL_KEY = "chg"  # the changes grid's sort / filters: chg_sort, chg_f
LIST_FIELDS = [c["field"] for c in STAGE_LIST_COLUMNS]
dash.register_page(
    __name__, path="/stages", name="Stages", order=30, title="TickStock — Stages"
)


def _stage(value: Any) -> int:
    try:
        stage = int(value)
    except (TypeError, ValueError):
        return DEFAULT_STAGE
    return stage if stage in STAGE_NAMES else DEFAULT_STAGE


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    stage: Any = DEFAULT_STAGE,
    poll_ms: int | None = None,
    **query: Any,
) -> html.Div:
    """Return the Stages page skeleton; the poll callback fills it."""
    picker = dbc.RadioItems(
        id="stages-pick",
        options=[{"label": STAGE_NAMES[s], "value": s} for s in STAGE_NAMES],
        value=_stage(stage),
        inline=True,
        className="small mb-1",
    )
    return html.Div(
        [
            page_header(
                "Stages",
                PAGE,
                "Weinstein stages on weekly bars: 1 base, 2 advancing, 3 top, "
                "4 declining.",
            ),
            controls_bar(PAGE, universe, as_of),
            dbc.Row(
                [
                    card_col(graph("stages-dist", 300), "Universe", xs=12, lg=4),
                    card_col(graph("stages-sectors", 420), "By sector", xs=12, lg=8),
                ],
                className="g-2",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Stage mix over time"),
                    dbc.CardBody(graph("stages-history", 320), className="p-1"),
                ],
                className="mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.H3("Symbols per stage", className="h6"),
                            picker,
                            dense_grid(
                                "stages-list",
                                STAGE_LIST_COLUMNS,
                                grid_id="stages-list",
                                query=query,
                                height="460px",
                            ),
                        ],
                        xs=12,
                        xl=7,
                        className="mb-2",
                    ),
                    dbc.Col(
                        [
                            html.H3("Stage changes this week", className="h6"),
                            html.P(
                                "Confirmed after holding two consecutive weeks.",
                                className="small text-body-secondary mb-1",
                            ),
                            dense_grid(
                                "stages-changes",
                                STAGE_LIST_COLUMNS,
                                grid_id="stages-changes",
                                query=query,
                                url_key=CHANGES_URL_KEY,
                                height="460px",
                            ),
                        ],
                        xs=12,
                        xl=5,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
            poll_components(PAGE, poll_ms),
        ]
    )


def candidate_labels(frame: pd.DataFrame) -> list[str | None]:
    """Return "Stage 4 candidate · 1 wk" where a pending candidate differs."""
    if "candidate_stage" not in frame or "candidate_weeks" not in frame:
        return [None] * len(frame)
    out = []
    for stage, cand, weeks in zip(
        frame["stage"], frame["candidate_stage"], frame["candidate_weeks"], strict=True
    ):
        if pd.isna(cand) or (not pd.isna(stage) and int(cand) == int(stage)):
            out.append(None)
        else:
            out.append(f"Stage {int(cand)} candidate · {int(weeks)} wk")
    return out


def stage_table(state: Any) -> pd.DataFrame:
    """Return one row per staged symbol: stage fields, sector and RS rating."""
    columns = [*LIST_FIELDS, "stage_changed_this_week"]
    stages = state.stages
    if stages is None or stages.empty:
        return pd.DataFrame(columns=columns)
    frame = stages.reset_index() if "symbol" not in stages.columns else stages.copy()
    rankings = state.rankings
    if rankings is not None and len(rankings):
        wanted = [c for c in ("sector", "rs_rating") if c not in frame]
        extra = rankings.drop_duplicates("symbol").set_index("symbol")[wanted]
        frame = frame.join(extra, on="symbol")
    if len(state.excluded):
        frame = frame[~frame["symbol"].isin(state.excluded["symbol"])]
    frame["candidate"] = candidate_labels(frame)
    for col in columns:
        if col not in frame:
            frame[col] = None
    return frame[columns].reset_index(drop=True)


def stage_history_frame(state: Any, universe: str, as_of: str) -> pd.DataFrame:
    """Return weeks x symbols stages: settled weeks, then the as-of week's stages."""
    history = queries.stage_history(universe, as_of)
    stages = state.stages
    if state.session is None or stages is None or stages.empty:
        return history
    frame = stages.set_index("symbol") if "symbol" in stages else stages
    current = pd.to_numeric(frame["stage"], errors="coerce").astype(float)
    when = pd.Timestamp(state.session)
    if history is None or history.empty:
        return current.to_frame(when).T
    past = history
    if pd.Timestamp(past.index[-1]).isocalendar()[:2] == when.isocalendar()[:2]:
        past = past.iloc[:-1]  # the week in progress: the snapshot is newer
    row = current.reindex(past.columns).to_numpy(dtype=float)[None, :]
    values = np.vstack([past.to_numpy(dtype=float), row])
    index = pd.DatetimeIndex([*past.index, when], name=past.index.name)
    return pd.DataFrame(values, index=index, columns=past.columns)


def build_stages(universe: str, as_of: str, stage: int) -> tuple:
    """Render distribution, sector mix, history, stage list and this week's changes."""
    state = market_state(universe, as_of)
    table = stage_table(state)
    staged = table.set_index("symbol")
    history = stage_history_frame(state, universe, as_of) if len(table) else None
    listed = table[pd.to_numeric(table["stage"], errors="coerce") == stage]
    listed = listed.sort_values("rs_rating", ascending=False, na_position="last")
    changed = table[table["stage_changed_this_week"].fillna(False).astype(bool)]
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state)]
    if table.empty:
        status = [*status, empty_state()]
    return (
        status,
        stage_distribution_figure(staged),
        stage_by_sector_figure(staged, staged["sector"]),
        stage_history_figure(history),
        frame_records(listed[LIST_FIELDS]),
        frame_records(changed[LIST_FIELDS]),
    )


@callback(
    Output("stages-status", "children"),
    Output("stages-dist", "figure"),
    Output("stages-sectors", "figure"),
    Output("stages-history", "figure"),
    Output("stages-list", "rowData"),
    Output("stages-changes", "rowData"),
    Output("stages-version", "data"),
    Input("stages-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("stages-pick", "value"),
    State("stages-version", "data"),
)
def refresh_stages(_n, universe, session, time_, stage, last):
    """Re-render the Stages page when the data version (or a control) moved."""
    params = view_params(universe, session, time_, stage=_stage(stage))
    return render_view(PAGE, params, last, build_stages, n_outputs=6)


for _grid, _key in (("stages-list", ""), ("stages-changes", CHANGES_URL_KEY)):
    register_dense_grid(_grid, STAGE_LIST_COLUMNS, grid_id=_grid, url_key=_key)
    register_csv_name(_grid, _grid, "stages-version")
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "stage"],
    [*control_inputs(PAGE), Input("stages-pick", "value")],
    {"universe": DEFAULT_UNIVERSE, "stage": DEFAULT_STAGE},
)
