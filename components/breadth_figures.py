"""Figure of the Breadth page: A/D line, % above MAs, NH-NL and McClellan panels.

A pure builder over the snapshot's breadth frame (see `components.figures`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.theme import (
    DOWN,
    MUTED,
    UP,
    Figure,
    axis_ref,
    date_labels,
    empty_figure,
    figure,
    stacked_axes,
    values,
)

BREADTH_SESSIONS = 252
BREADTH_TICKS = 8
BREADTH_PANELS = (
    "Advance/decline line",
    "% above moving average",
    "New 52-week highs − new lows",
    "McClellan oscillator (bars) and summation index (line)",
)


def _breadthdate_labels(breadth: pd.DataFrame) -> pd.DatetimeIndex:
    if "date" in breadth.columns:
        return pd.DatetimeIndex(pd.to_datetime(breadth["date"]))
    return pd.DatetimeIndex(breadth.index)


def _panel_title(text: str, domain: list[float]) -> dict:
    return {
        "text": f"<b>{text}</b>",
        "x": 0,
        "y": domain[1],
        "xref": "paper",
        "yref": "paper",
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": MUTED},
    }


def breadth_figure(
    breadth: pd.DataFrame | None, sessions: int = BREADTH_SESSIONS, height: int = 860
) -> Figure:
    """Return A/D line, % above MAs, NH-NL and McClellan as stacked panels."""
    if breadth is None or breadth.empty:
        return empty_figure(height=300)
    data = breadth.tail(sessions)
    x = date_labels(_breadthdate_labels(data))
    axes = stacked_axes(
        [0.25, 0.25, 0.2, 0.3],
        gap=0.05,
        secondary=[3],
        x_type="category",
        x_ticks=BREADTH_TICKS,
    )
    traces = [
        {
            "type": "scatter",
            "x": x,
            "y": values(data["ad_line"]),
            "name": "A/D line",
            "line": {"color": "#2c7be5"},
            **axis_ref(0),
        }
    ]
    for col, color in (
        ("pct_above_sma20", "#e0a100"),
        ("pct_above_sma50", "#2c7be5"),
        ("pct_above_sma200", "#6f42c1"),
    ):
        if col in data:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": values(data[col]),
                    "name": "% > SMA" + col.rsplit("sma", 1)[-1],
                    "line": {"color": color},
                    **axis_ref(1),
                }
            )
    highs, lows = values(data["new_highs"]), values(data["new_lows"])
    net = highs - lows
    osc = values(data["mcclellan_osc"])
    traces += [
        {
            "type": "bar",
            "x": x,
            "y": net,
            "name": "NH − NL",
            "marker": {"color": np.where(net >= 0, UP, DOWN)},
            "customdata": np.column_stack([highs, lows]),
            "hovertemplate": "%{y} (NH %{customdata[0]}, NL %{customdata[1]})",
            **axis_ref(2),
        },
        {
            "type": "bar",
            "x": x,
            "y": osc,
            "name": "Oscillator",
            "marker": {"color": np.where(np.nan_to_num(osc) >= 0, UP, DOWN)},
            **axis_ref(3),
        },
        {
            "type": "scatter",
            "x": x,
            "y": values(data["mcclellan_sum"]),
            "name": "Summation",
            "line": {"color": MUTED},
            **axis_ref(3, secondary=True, rows=4),
        },
    ]
    titles = [
        _panel_title(t, axes[f"yaxis{'' if i == 0 else i + 1}"]["domain"])
        for i, t in enumerate(BREADTH_PANELS)
    ]
    axes["yaxis2"].update({"range": [0, 100], "ticksuffix": "%"})
    return figure(
        traces,
        height,
        annotations=titles,
        legend={"orientation": "h", "y": -0.04},
        hovermode="x unified",
        bargap=0.1,
        margin={"l": 56, "r": 56, "t": 28, "b": 24},
        **axes,
    )
