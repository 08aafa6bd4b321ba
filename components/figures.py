"""Pure figure builders for the market and sectors pages (stages, breadth: own modules).

Every function takes DataFrames shaped like the market-state snapshot frames
and returns a plotly figure dict (see `components.theme`); none does I/O, so
each one is unit-testable and its output can be cached per data version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.breadth_figures import breadth_figure
from components.stage_figures import (
    stage_by_sector_figure,
    stage_distribution_figure,
    stage_history_figure,
)
from components.theme import (
    DOWN,
    QUADRANT_COLORS,
    QUADRANT_TEXT,
    SECTOR_PALETTE,
    UP,
    WINDOW_LABELS,
    Figure,
    date_labels,
    empty_figure,
    figure,
    values,
)

TREEMAP_SCALE = [[0.0, DOWN], [0.5, "#3d4450"], [1.0, UP]]
# Colour range of the treemap per return window (a 3% day is a big day).
TREEMAP_RANGE = {
    "ret_1d": 0.03,
    "ret_5d": 0.06,
    "ret_21d": 0.10,
    "ret_63d": 0.20,
    "ret_126d": 0.30,
    "ret_252d": 0.40,
    "ret_ytd": 0.25,
}
DEFAULT_VISIBLE_WINDOWS = ("ret_5d", "ret_21d", "ret_63d", "ret_ytd")
RRG_MIN_SPAN = 2.0
RRG_PAD = 1.15


# ------------------------------------------------------------------ market
# Names drawn per sector, largest $ volume first: at least TREEMAP_MIN_NAMES, then
# more until they cover TREEMAP_COVER of the sector's $ volume, at most
# TREEMAP_MAX_NAMES; the rest of the sector is one "+N more" tile. A tile is a
# few DOM nodes and a text measurement in the browser: ~500 tiles took most of
# the Market page's drawing time. On the S&P 500 this draws ~210 names and
# leaves at most about a quarter of a sector in its "+N more" tile.
TREEMAP_MIN_NAMES = 10
TREEMAP_MAX_NAMES = 30
TREEMAP_COVER = 0.8
MORE_ID = "+more"


def _treemap_leaves(data: pd.DataFrame, low: int, high: int) -> pd.DataFrame:
    """Return each sector's largest names (see TREEMAP_COVER) plus one rest tile."""
    data = data.sort_values(["sector", "size"], ascending=[True, False], kind="stable")
    by_sector = data.groupby("sector")
    rank = by_sector.cumcount()
    total = by_sector["size"].transform("sum")
    before = (by_sector["size"].cumsum() - data["size"]) / total
    drawn = (rank < low) | ((before < TREEMAP_COVER) & (rank < high))
    top, rest = data[drawn], data[~drawn]
    if rest.empty:
        return top
    groups = rest.groupby("sector", sort=True)
    more = pd.DataFrame(
        {
            "symbol": "",
            "label": "+" + groups.size().astype(str) + " more",
            "leaf": MORE_ID,
            "size": groups["size"].sum(),
            "weighted": groups["weighted"].sum(),
        }
    ).rename_axis("sector")
    more["ret"] = more["weighted"] / more["size"]
    return pd.concat([top, more.reset_index()], ignore_index=True)


def treemap_figure(
    rankings: pd.DataFrame | None,
    dollar_volume: pd.Series | None = None,
    window: str = "ret_1d",
    height: int = 520,
    per_sector: int | None = None,
) -> Figure:
    """Return a sector -> stock treemap coloured by return, sized by $ volume.

    Sectors hold all names (size and $-volume-weighted return); inside each,
    the largest names get a tile (exactly `per_sector` of them if given, else
    the TREEMAP_COVER rule) and the rest share one.
    """
    if rankings is None or rankings.empty or window not in rankings:
        return empty_figure(height=height)
    data = rankings[["symbol", "sector"]].copy()
    data["sector"] = data["sector"].fillna("Other").replace("", "Other")
    dv = dollar_volume if dollar_volume is not None else pd.Series(dtype=float)
    size = pd.to_numeric(data["symbol"].map(dv), errors="coerce")
    positive = size[size > 0]
    fill = float(positive.median()) if len(positive) else 1.0
    data["size"] = size.where(size > 0, fill).fillna(fill).astype(float)
    data["ret"] = values(rankings[window])
    data["weighted"] = data["ret"].fillna(0.0) * data["size"]
    data["label"] = data["leaf"] = data["symbol"]
    groups = data.groupby("sector", sort=True)
    sector_size = groups["size"].sum()
    sector_ret = groups["weighted"].sum() / sector_size
    sectors = sector_size.index.tolist()
    low, high = (
        (per_sector, per_sector)
        if per_sector
        else (TREEMAP_MIN_NAMES, TREEMAP_MAX_NAMES)
    )
    leaves = _treemap_leaves(data, low, high)
    rets = np.concatenate([sector_ret.to_numpy(), leaves["ret"].to_numpy()])
    rets = np.round(rets, 5)  # +0.01% resolution: fewer bytes to send
    custom = [["", r] for r in rets[: len(sectors)].tolist()] + [
        [s, r]
        for s, r in zip(leaves["symbol"], rets[len(sectors) :].tolist(), strict=True)
    ]
    span = TREEMAP_RANGE.get(window, 0.1)
    label = WINDOW_LABELS.get(window, window)
    trace = {
        "type": "treemap",
        "ids": [f"s:{s}" for s in sectors]
        + ("s:" + leaves["sector"] + "/" + leaves["leaf"]).tolist(),
        "labels": sectors + leaves["label"].tolist(),
        "parents": [""] * len(sectors) + ("s:" + leaves["sector"]).tolist(),
        "values": np.round(np.concatenate([sector_size, leaves["size"]])),
        "branchvalues": "total",
        "customdata": custom,
        "marker": {
            "colors": np.nan_to_num(rets, nan=0.0),
            "colorscale": TREEMAP_SCALE,
            "cmin": -span,
            "cmid": 0.0,
            "cmax": span,
            "line": {"width": 1, "color": "rgba(0,0,0,0.25)"},
        },
        "texttemplate": "<b>%{label}</b><br>%{customdata[1]:+.2%}",
        "hovertemplate": f"<b>%{{label}}</b><br>{label}: "
        "%{customdata[1]:+.2%}<extra></extra>",
        "textfont": {"color": "white"},
        "pathbar": {"visible": True},
        "maxdepth": 2,
    }
    # Hide a tile's label rather than cut it when the tile is too small for it.
    return figure(
        [trace],
        height,
        margin={"l": 4, "r": 4, "t": 28, "b": 4},
        uniformtext={"minsize": 9, "mode": "hide"},
    )


def gauges_figure(last: dict | None, height: int = 210) -> Figure:
    """Return two gauges: % of names above their 50- and 200-day SMAs."""
    last = last or {}
    keys = (
        ("pct_above_sma50", "% above 50-day"),
        ("pct_above_sma200", "% above 200-day"),
    )
    if all(pd.isna(last.get(k, np.nan)) for k, _ in keys):
        return empty_figure("No breadth yet", height=height)
    traces = []
    for i, (key, title) in enumerate(keys):
        value = last.get(key)
        traces.append(
            {
                "type": "indicator",
                "mode": "gauge+number",
                "value": None if pd.isna(value) else float(value),
                "number": {"suffix": "%", "valueformat": ".0f"},
                "title": {"text": title, "font": {"size": 13}},
                "domain": {"x": [i * 0.5 + 0.04, i * 0.5 + 0.46], "y": [0, 1]},
                "gauge": {
                    "axis": {"range": [0, 100], "tickvals": [0, 20, 50, 80, 100]},
                    "bar": {"color": "#2c7be5", "thickness": 0.3},
                    "steps": [
                        {"range": [0, 20], "color": "rgba(214,69,69,0.25)"},
                        {"range": [20, 80], "color": "rgba(128,128,128,0.10)"},
                        {"range": [80, 100], "color": "rgba(24,165,88,0.25)"},
                    ],
                },
            }
        )
    return figure(traces, height, margin={"l": 20, "r": 20, "t": 36, "b": 8})


# ----------------------------------------------------------------- sectors
def _axis_range(points: pd.Series, center: float = 100.0) -> list[float]:
    spread = float(np.nanmax(np.abs(values(points) - center)))
    spread = max(spread * RRG_PAD, RRG_MIN_SPAN)
    return [center - spread, center + spread]


def _quadrant_shapes(xr: list[float], yr: list[float]) -> tuple[list, list]:
    boxes = {
        "Leading": (100, xr[1], 100, yr[1]),
        "Weakening": (100, xr[1], yr[0], 100),
        "Lagging": (xr[0], 100, yr[0], 100),
        "Improving": (xr[0], 100, 100, yr[1]),
    }
    shapes, notes = [], []
    for name, (x0, x1, y0, y1) in boxes.items():
        shapes.append(
            {
                "type": "rect",
                "x0": x0,
                "x1": x1,
                "y0": y0,
                "y1": y1,
                "fillcolor": QUADRANT_COLORS[name],
                "line": {"width": 0},
                "layer": "below",
            }
        )
        notes.append(
            {
                "x": x1 if x1 > 100 else x0,
                "y": y1 if y1 > 100 else y0,
                "xanchor": "right" if x1 > 100 else "left",
                "yanchor": "top" if y1 > 100 else "bottom",
                "text": f"<b>{name}</b>",
                "showarrow": False,
                "font": {"color": QUADRANT_TEXT[name], "size": 13},
            }
        )
    return shapes, notes


def rrg_figure(
    points: pd.DataFrame | None,
    names: dict[str, str] | None = None,
    tail: int = 10,
    height: int = 560,
) -> Figure:
    """Return the Relative Rotation Graph: one tail per symbol, head labelled."""
    if points is None or points.empty:
        return empty_figure("Not enough history for the RRG yet", height=height)
    names = names or {}
    pts = points.sort_values(["symbol", "date"]).groupby("symbol").tail(tail)
    codes, symbols = pd.factorize(pts["symbol"], sort=True)
    ratio, momentum = values(pts["rs_ratio"]), values(pts["rs_momentum"])
    dates = np.asarray(date_labels(pts["date"]), dtype=object)
    quadrants = pts["quadrant"].astype(str).to_numpy(dtype=object)
    traces = []
    for i, sym in enumerate(symbols):
        rows = codes == i
        n = int(rows.sum())
        color = SECTOR_PALETTE[i % len(SECTOR_PALETTE)]
        sizes = np.linspace(4, 8, n)
        sizes[-1] = 13
        custom = np.column_stack(
            [
                np.full(n, sym, dtype=object),
                np.full(n, names.get(sym, sym), dtype=object),
                dates[rows],
                quadrants[rows],
            ]
        )
        traces.append(
            {
                "type": "scatter",
                "x": ratio[rows],
                "y": momentum[rows],
                "mode": "lines+markers+text",
                "name": sym,
                "line": {"color": color, "width": 2, "shape": "spline"},
                "marker": {"size": sizes, "color": color, "line": {"width": 0}},
                "text": [""] * (n - 1) + [f"<b>{sym}</b>"],
                "textposition": "top center",
                "textfont": {"color": color},
                "customdata": custom,
                "hovertemplate": "<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
                "%{customdata[2]}<br>RS-Ratio %{x:.2f}<br>RS-Momentum %{y:.2f}"
                "<br>%{customdata[3]}<extra></extra>",
            }
        )
    xr, yr = _axis_range(pts["rs_ratio"]), _axis_range(pts["rs_momentum"])
    shapes, notes = _quadrant_shapes(xr, yr)
    return figure(
        traces,
        height,
        shapes=shapes,
        annotations=notes,
        xaxis={"range": xr, "title": {"text": "RS-Ratio"}, "zeroline": False},
        yaxis={"range": yr, "title": {"text": "RS-Momentum"}, "zeroline": False},
        # Well below the axis title (ticks + title take ~60 px at any height).
        legend={"orientation": "h", "y": -0.25, "yanchor": "top"},
        uirevision="rrg",
    )


def sector_perf_figure(
    returns: pd.DataFrame | None,
    labels: dict[str, str] | None = None,
    height: int = 460,
) -> Figure:
    """Return grouped horizontal bars of sector returns across windows."""
    cols = [c for c in WINDOW_LABELS if returns is not None and c in returns]
    if returns is None or returns.empty or not cols:
        return empty_figure(height=height)
    labels = labels or {}
    order = "ret_21d" if "ret_21d" in returns else cols[0]
    data = returns.sort_values(order, ascending=True)
    y = [labels.get(s, s) for s in data.index]
    traces = [
        {
            "type": "bar",
            "y": y,
            "x": values(data[col]),
            "name": WINDOW_LABELS[col],
            "orientation": "h",
            "visible": True if col in DEFAULT_VISIBLE_WINDOWS else "legendonly",
            "hovertemplate": "%{y}: %{x:+.2%}<extra>" + WINDOW_LABELS[col] + "</extra>",
        }
        for col in cols
    ]
    return figure(
        traces,
        height,
        barmode="group",
        xaxis={"tickformat": "+.0%", "automargin": True},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": 1.08},
        margin={"l": 8, "r": 16, "t": 40, "b": 32},
    )


__all__ = [
    "breadth_figure",
    "gauges_figure",
    "rrg_figure",
    "sector_perf_figure",
    "stage_by_sector_figure",
    "stage_distribution_figure",
    "stage_history_figure",
    "treemap_figure",
]
