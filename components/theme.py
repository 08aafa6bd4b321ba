"""Colours, labels and the base figure layout shared by every chart.

Figures are theme-neutral (transparent backgrounds); `assets/tickstock.css`
recolours axis text and grid lines in dark mode, so one cached figure serves
both themes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

UP = "#18a558"
DOWN = "#d64545"
FLAT = "#8a8f98"
ACCENT = "#2c7be5"
MUTED = "#6c757d"
GRID = "rgba(128,128,128,0.18)"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

STAGE_NAMES = {1: "Stage 1 · base", 2: "Stage 2 · advancing", 3: "Stage 3 · top"}
STAGE_NAMES[4] = "Stage 4 · declining"
STAGE_COLORS = {1: "#8a8f98", 2: "#18a558", 3: "#e0a100", 4: "#d64545"}
STAGE_SHADE_OPACITY = 0.10

QUADRANT_COLORS = {
    "Leading": "rgba(24,165,88,0.10)",
    "Weakening": "rgba(224,161,0,0.10)",
    "Lagging": "rgba(214,69,69,0.10)",
    "Improving": "rgba(44,123,229,0.10)",
}
QUADRANT_TEXT = {
    "Leading": "#18a558",
    "Weakening": "#b98500",
    "Lagging": "#d64545",
    "Improving": "#2c7be5",
}
# Qualitative palette for the 11 sector ETFs (stable by symbol).
SECTOR_PALETTE = (
    "#2c7be5", "#e0a100", "#18a558", "#d64545", "#6f42c1", "#20c997",
    "#fd7e14", "#e83e8c", "#6c757d", "#17a2b8", "#8d6e63",
)  # fmt: skip

WINDOW_LABELS = {
    "ret_1d": "1D",
    "ret_5d": "1W",
    "ret_21d": "1M",
    "ret_63d": "3M",
    "ret_126d": "6M",
    "ret_252d": "1Y",
    "ret_ytd": "YTD",
}
EMPTY_TEXT = "No data yet — run `tickstock import-daily` or wait for the demo history"


# Figures are plain dicts (`{"data": [...], "layout": {...}}`): building them
# through plotly's graph objects validates every value and costs 5-10x more per
# render. The unit tests load every builder's output into `go.Figure`, so an
# invalid property still fails a test.
Figure = dict[str, Any]
TEMPLATE: dict[str, Any] = {
    "layout": {
        "colorway": [
            "#2c7be5", "#e0a100", "#18a558", "#d64545", "#6f42c1",
            "#20c997", "#fd7e14", "#e83e8c", "#6c757d", "#17a2b8",
        ],
        "font": {"family": FONT, "size": 12},
        "hovermode": "closest",
        "xaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID},
    }
}  # fmt: skip
BASE_LAYOUT: dict[str, Any] = {
    "template": TEMPLATE,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": FONT, "size": 12},
    "margin": {"l": 48, "r": 16, "t": 32, "b": 32},
    "hoverlabel": {"font": {"family": FONT}},
}


def figure(
    data: list[dict[str, Any]] | None = None, height: int | None = None, **layout: Any
) -> Figure:
    """Return a figure dict with the shared look (transparent, compact, system font)."""
    merged = {**BASE_LAYOUT, **layout}
    if height:
        merged["height"] = height
    return {"data": list(data or []), "layout": merged}


def stacked_axes(
    heights: Sequence[float],
    gap: float = 0.03,
    secondary: Sequence[int] = (),
    x_type: str | None = None,
    x_ticks: int | None = None,
) -> dict[str, Any]:
    """Return layout axes for panels stacked top to bottom sharing one x axis.

    Panel i (0 = top) plots on x{i+1}/y{i+1}; panels listed in `secondary`
    also get a right-hand axis y{n+i+1}. Cheaper than `make_subplots`.
    """
    total = sum(heights)
    free = 1.0 - gap * (len(heights) - 1)
    layout: dict[str, Any] = {}
    top = 1.0
    n = len(heights)
    for i, h in enumerate(heights):
        size = free * h / total
        bottom = max(top - size, 0.0)
        suffix = "" if i == 0 else str(i + 1)
        xaxis: dict[str, Any] = {
            "anchor": f"y{suffix}",
            "domain": [0, 1],
            "showticklabels": i == n - 1,
        }
        if i:
            xaxis["matches"] = "x"
        if x_type:
            xaxis["type"] = x_type
        if x_ticks:
            xaxis["nticks"] = x_ticks
        layout[f"xaxis{suffix}"] = xaxis
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [bottom, top]}
        if i in secondary:
            layout[f"yaxis{n + i + 1}"] = {
                "anchor": f"x{suffix}",
                "overlaying": f"y{suffix}",
                "side": "right",
                "showgrid": False,
            }
        top = bottom - gap
    return layout


def axis_ref(row: int, secondary: bool = False, rows: int = 1) -> dict[str, str]:
    """Return the xaxis/yaxis references of a stacked panel (0 = top)."""
    suffix = "" if row == 0 else str(row + 1)
    y = f"y{rows + row + 1}" if secondary else f"y{suffix}"
    return {"xaxis": f"x{suffix}", "yaxis": y}


def empty_figure(message: str = EMPTY_TEXT, height: int | None = 260) -> Figure:
    """Return a blank figure that shows `message` in its centre."""
    note = {
        "text": message,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "font": {"size": 13, "color": MUTED},
    }
    hidden = {"visible": False}
    return figure([], height, annotations=[note], xaxis=hidden, yaxis=hidden)


def values(series: Any) -> np.ndarray:
    """Return a float array (NaN for missing) for a trace coordinate."""
    return np.asarray(pd.to_numeric(pd.Series(series), errors="coerce"), dtype=float)


def is_missing(value: Any) -> bool:
    """Return True for None, NaN and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_pct(value: Any, digits: int = 1, signed: bool = True) -> str:
    """Format a fraction (0.012) as a percentage string ("+1.2%")."""
    if is_missing(value):
        return "—"
    sign = "+" if signed else ""
    return f"{float(value) * 100:{sign}.{digits}f}%"


def fmt_num(value: Any, digits: int = 2) -> str:
    """Format a number with thousands separators, or an em dash when missing."""
    if is_missing(value):
        return "—"
    value = float(value)
    if math.isinf(value):
        return "—"
    return f"{value:,.{digits}f}"


def fmt_compact(value: Any) -> str:
    """Format a large number compactly: 13.4M, 2.1B, 950K."""
    if is_missing(value):
        return "—"
    value = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def change_color(value: Any) -> str:
    """Return the up/down/flat colour of a signed number."""
    if is_missing(value) or float(value) == 0:
        return FLAT
    return UP if float(value) > 0 else DOWN


def date_labels(index) -> list[str]:
    """Return dates as "YYYY-MM-DD" category labels."""
    return pd.DatetimeIndex(index).strftime("%Y-%m-%d").tolist()
