"""Figures of the Stages page: stage distribution, stages by sector, stage history.

Pure builders over the snapshot's stage frames (see `components.figures`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.theme import (
    STAGE_COLORS,
    STAGE_NAMES,
    Figure,
    date_labels,
    empty_figure,
    figure,
    values,
)

STAGES = (1, 2, 3, 4)
STAGE_HISTORY_WEEKS = 104


def _stage_counts(stage: pd.Series) -> pd.Series:
    stages = pd.Series(values(stage)).dropna().astype(int)
    return stages.value_counts().reindex(STAGES, fill_value=0)


def _share_hover(label: str, share: str, stage: int) -> str:
    """Return the hover text "label: share (count)" of one stage's trace."""
    return (
        f"%{{{label}}}: %{{{share}:.0%}} (%{{customdata}})"
        f"<extra>{STAGE_NAMES[stage]}</extra>"
    )


def stage_distribution_figure(stages: pd.DataFrame | None, height: int = 300) -> Figure:
    """Return a bar chart of how many symbols are in each stage."""
    if stages is None or stages.empty or "stage" not in stages:
        return empty_figure(height=height)
    counts = _stage_counts(stages["stage"])
    total = int(counts.sum())
    if total == 0:
        return empty_figure("No symbol has enough history for a stage yet", height)
    trace = {
        "type": "bar",
        "x": [STAGE_NAMES[s].replace(" · ", "<br>") for s in STAGES],
        "y": counts.tolist(),
        "marker": {"color": [STAGE_COLORS[s] for s in STAGES]},
        "text": [f"{c} ({c / total:.0%})" for c in counts],
        "textposition": "outside",
        "textangle": 0,
        "cliponaxis": False,
        "hovertemplate": "%{x}: %{y}<extra></extra>",
    }
    return figure(
        [trace],
        height,
        showlegend=False,
        xaxis={"tickangle": 0},
        yaxis={"range": [0, max(counts) * 1.18]},
    )


def stage_by_sector_figure(
    stages: pd.DataFrame | None, sectors: pd.Series, height: int = 420
) -> Figure:
    """Return 100%-stacked horizontal bars of stage shares per sector."""
    if stages is None or stages.empty or "stage" not in stages:
        return empty_figure(height=height)
    frame = pd.DataFrame({"stage": values(stages["stage"])}, index=stages.index)
    frame["sector"] = sectors.reindex(frame.index)
    frame = frame.dropna()
    if frame.empty:
        return empty_figure("No sector has staged members yet", height)
    table = pd.crosstab(frame["sector"], frame["stage"].astype(int))
    table = table.reindex(columns=STAGES, fill_value=0)
    share = table.div(table.sum(axis=1), axis=0).sort_values(2, ascending=True)
    traces = [
        {
            "type": "bar",
            "y": share.index.tolist(),
            "x": share[s].to_numpy(),
            "name": STAGE_NAMES[s],
            "orientation": "h",
            "marker": {"color": STAGE_COLORS[s]},
            "customdata": table.loc[share.index, s].to_numpy(),
            "hovertemplate": _share_hover("y", "x", s),
        }
        for s in STAGES
    ]
    return figure(
        traces,
        height,
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.1},
        margin={"l": 170, "r": 16, "t": 40, "b": 32},
    )


def stage_history_figure(
    history: pd.DataFrame | None, weeks: int = STAGE_HISTORY_WEEKS, height: int = 320
) -> Figure:
    """Return the share of symbols in each stage per week (stacked areas)."""
    if history is None or history.empty:
        return empty_figure(height=height)
    recent = history.tail(weeks)
    grid = recent.to_numpy(dtype=np.float64, na_value=np.nan)
    counts = {s: (grid == s).sum(axis=1) for s in STAGES}
    total = sum(counts.values())
    keep = total > 0
    if not keep.any():
        return empty_figure("No stage history yet", height)
    x = date_labels(pd.DatetimeIndex(recent.index)[keep])
    traces = [
        {
            "type": "scatter",
            "x": x,
            "y": counts[s][keep] / total[keep],
            "name": STAGE_NAMES[s],
            "stackgroup": "stages",
            "mode": "lines",
            "line": {"width": 0.5, "color": STAGE_COLORS[s]},
            "customdata": counts[s][keep],
            "hovertemplate": _share_hover("x", "y", s),
        }
        for s in STAGES
    ]
    return figure(
        traces,
        height,
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.12},
        hovermode="x",
    )
