"""Pure figure builders for the market, sectors, stages and breadth pages.

Every function takes DataFrames shaped like the market-state snapshot frames
and returns a `plotly.graph_objects.Figure`; none does I/O, so each one is
unit-testable and its output can be cached per data version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.theme import (
    DOWN,
    MUTED,
    QUADRANT_COLORS,
    QUADRANT_TEXT,
    SECTOR_PALETTE,
    STAGE_COLORS,
    STAGE_NAMES,
    UP,
    WINDOW_LABELS,
    axis_ref,
    base_layout,
    empty_figure,
    new_figure,
    stacked_axes,
)

STAGES = (1, 2, 3, 4)
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
STAGE_HISTORY_WEEKS = 104
BREADTH_SESSIONS = 252


# ------------------------------------------------------------------ market
def treemap_figure(
    rankings: pd.DataFrame,
    dollar_volume: pd.Series | None = None,
    window: str = "ret_1d",
    height: int = 520,
) -> go.Figure:
    """Return a sector -> stock treemap coloured by return, sized by $ volume."""
    if rankings is None or rankings.empty or window not in rankings:
        return empty_figure(height=height)
    data = rankings[["symbol", "sector", window]].copy()
    data["sector"] = data["sector"].fillna("Other").replace("", "Other")
    dv = dollar_volume if dollar_volume is not None else pd.Series(dtype=float)
    size = pd.to_numeric(data["symbol"].map(dv), errors="coerce")
    positive = size[size > 0]
    data["size"] = size.where(size > 0, positive.median() if len(positive) else 1.0)
    data["size"] = data["size"].fillna(1.0)
    data["ret"] = pd.to_numeric(data[window], errors="coerce")
    sectors = data.groupby("sector", sort=True).apply(
        lambda g: pd.Series(
            {
                "size": g["size"].sum(),
                "ret": np.average(g["ret"].fillna(0.0), weights=g["size"]),
            }
        ),
        include_groups=False,
    )
    ids = [f"s:{s}" for s in sectors.index] + [
        f"s:{r.sector}/{r.symbol}" for r in data.itertuples()
    ]
    labels = list(sectors.index) + data["symbol"].tolist()
    parents = [""] * len(sectors) + [f"s:{s}" for s in data["sector"]]
    values = sectors["size"].tolist() + data["size"].tolist()
    rets = sectors["ret"].tolist() + data["ret"].tolist()
    custom = [["", r] for r in sectors["ret"]] + [
        [s, r] for s, r in zip(data["symbol"], data["ret"], strict=True)
    ]
    span = TREEMAP_RANGE.get(window, 0.1)
    fig = new_figure(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            customdata=custom,
            marker={
                "colors": [0.0 if pd.isna(r) else r for r in rets],
                "colorscale": TREEMAP_SCALE,
                "cmin": -span,
                "cmid": 0.0,
                "cmax": span,
                "line": {"width": 1, "color": "rgba(0,0,0,0.25)"},
            },
            texttemplate="<b>%{label}</b><br>%{customdata[1]:+.2%}",
            hovertemplate="<b>%{label}</b><br>"
            + f"{WINDOW_LABELS.get(window, window)}: "
            + "%{customdata[1]:+.2%}<extra></extra>",
            textfont={"color": "white"},
            pathbar={"visible": True},
            maxdepth=2,
        )
    )
    return base_layout(fig, height=height, margin={"l": 4, "r": 4, "t": 28, "b": 4})


def gauges_figure(last: dict | None, height: int = 210) -> go.Figure:
    """Return two gauges: % of names above their 50- and 200-day SMAs."""
    last = last or {}
    keys = (
        ("pct_above_sma50", "% above 50-day"),
        ("pct_above_sma200", "% above 200-day"),
    )
    if all(pd.isna(last.get(k, np.nan)) for k, _ in keys):
        return empty_figure("No breadth yet", height=height)
    fig = new_figure()
    for i, (key, title) in enumerate(keys):
        value = last.get(key)
        fig.add_trace(
            go.Indicator(
                mode="gauge+number",
                value=None if pd.isna(value) else float(value),
                number={"suffix": "%", "valueformat": ".0f"},
                title={"text": title, "font": {"size": 13}},
                domain={"x": [i * 0.5 + 0.04, i * 0.5 + 0.46], "y": [0, 1]},
                gauge={
                    "axis": {"range": [0, 100], "tickvals": [0, 20, 50, 80, 100]},
                    "bar": {"color": "#2c7be5", "thickness": 0.3},
                    "steps": [
                        {"range": [0, 20], "color": "rgba(214,69,69,0.25)"},
                        {"range": [20, 80], "color": "rgba(128,128,128,0.10)"},
                        {"range": [80, 100], "color": "rgba(24,165,88,0.25)"},
                    ],
                },
            )
        )
    return base_layout(fig, height=height, margin={"l": 20, "r": 20, "t": 36, "b": 8})


# ----------------------------------------------------------------- sectors
def _axis_range(values: pd.Series, center: float = 100.0) -> list[float]:
    spread = float(np.nanmax(np.abs(values.to_numpy(dtype=float) - center)))
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
    points: pd.DataFrame,
    names: dict[str, str] | None = None,
    tail: int = 10,
    height: int = 560,
) -> go.Figure:
    """Return the Relative Rotation Graph: one tail per symbol, head labelled."""
    if points is None or points.empty:
        return empty_figure("Not enough history for the RRG yet", height=height)
    names = names or {}
    pts = points.sort_values(["symbol", "date"]).groupby("symbol").tail(tail)
    fig = new_figure()
    for i, (sym, g) in enumerate(pts.groupby("symbol", sort=True)):
        color = SECTOR_PALETTE[i % len(SECTOR_PALETTE)]
        n = len(g)
        sizes = np.linspace(4, 8, n).tolist()
        sizes[-1] = 13
        dates = pd.to_datetime(g["date"]).dt.strftime("%Y-%m-%d")
        custom = np.column_stack(
            [
                np.full(n, sym),
                np.full(n, names.get(sym, sym)),
                dates,
                g["quadrant"].astype(str),
            ]
        )
        fig.add_trace(
            go.Scatter(
                x=g["rs_ratio"],
                y=g["rs_momentum"],
                mode="lines+markers+text",
                name=sym,
                line={"color": color, "width": 2, "shape": "spline"},
                marker={"size": sizes, "color": color, "line": {"width": 0}},
                text=[""] * (n - 1) + [f"<b>{sym}</b>"],
                textposition="top center",
                textfont={"color": color},
                customdata=custom,
                hovertemplate="<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
                "%{customdata[2]}<br>RS-Ratio %{x:.2f}<br>RS-Momentum %{y:.2f}"
                "<br>%{customdata[3]}<extra></extra>",
            )
        )
    xr, yr = _axis_range(pts["rs_ratio"]), _axis_range(pts["rs_momentum"])
    shapes, notes = _quadrant_shapes(xr, yr)
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_xaxes(range=xr, title="RS-Ratio", zeroline=False)
    fig.update_yaxes(range=yr, title="RS-Momentum", zeroline=False)
    return base_layout(
        fig, height=height, legend={"orientation": "h", "y": -0.12}, uirevision="rrg"
    )


def sector_perf_figure(
    returns: pd.DataFrame,
    labels: dict[str, str] | None = None,
    height: int = 460,
) -> go.Figure:
    """Return grouped horizontal bars of sector returns across windows."""
    cols = [c for c in WINDOW_LABELS if returns is not None and c in returns]
    if returns is None or returns.empty or not cols:
        return empty_figure(height=height)
    labels = labels or {}
    order = "ret_21d" if "ret_21d" in returns else cols[0]
    data = returns.sort_values(order, ascending=True)
    y = [labels.get(s, s) for s in data.index]
    fig = new_figure()
    for col in cols:
        fig.add_trace(
            go.Bar(
                y=y,
                x=data[col],
                name=WINDOW_LABELS[col],
                orientation="h",
                visible=True if col in DEFAULT_VISIBLE_WINDOWS else "legendonly",
                hovertemplate="%{y}: %{x:+.2%}<extra>"
                + WINDOW_LABELS[col]
                + "</extra>",
            )
        )
    fig.update_xaxes(tickformat="+.0%")
    return base_layout(
        fig,
        height=height,
        barmode="group",
        legend={"orientation": "h", "y": 1.08},
        margin={"l": 150, "r": 16, "t": 40, "b": 32},
    )


# ------------------------------------------------------------------ stages
def _stage_counts(stage: pd.Series) -> pd.Series:
    values = pd.to_numeric(stage, errors="coerce").dropna().astype(int)
    return values.value_counts().reindex(STAGES, fill_value=0)


def stage_distribution_figure(stages: pd.DataFrame, height: int = 300) -> go.Figure:
    """Return a bar chart of how many symbols are in each stage."""
    if stages is None or stages.empty or "stage" not in stages:
        return empty_figure(height=height)
    counts = _stage_counts(stages["stage"])
    if counts.sum() == 0:
        return empty_figure("No symbol has enough history for a stage yet", height)
    total = counts.sum()
    fig = new_figure(
        go.Bar(
            x=[STAGE_NAMES[s] for s in STAGES],
            y=counts.tolist(),
            marker_color=[STAGE_COLORS[s] for s in STAGES],
            text=[f"{c} ({c / total:.0%})" for c in counts],
            textposition="auto",
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    return base_layout(fig, height=height, showlegend=False)


def stage_by_sector_figure(
    stages: pd.DataFrame, sectors: pd.Series, height: int = 420
) -> go.Figure:
    """Return 100%-stacked horizontal bars of stage shares per sector."""
    if stages is None or stages.empty or "stage" not in stages:
        return empty_figure(height=height)
    frame = pd.DataFrame(
        {"stage": pd.to_numeric(stages["stage"], errors="coerce")}, index=stages.index
    )
    frame["sector"] = sectors.reindex(frame.index)
    frame = frame.dropna()
    if frame.empty:
        return empty_figure("No sector has staged members yet", height)
    table = pd.crosstab(frame["sector"], frame["stage"].astype(int))
    table = table.reindex(columns=STAGES, fill_value=0)
    share = table.div(table.sum(axis=1), axis=0)
    share = share.sort_values(2, ascending=True)
    fig = new_figure()
    for s in STAGES:
        fig.add_trace(
            go.Bar(
                y=share.index,
                x=share[s],
                name=STAGE_NAMES[s],
                orientation="h",
                marker_color=STAGE_COLORS[s],
                customdata=table.loc[share.index, s],
                hovertemplate="%{y}: %{x:.0%} (%{customdata})<extra>"
                + STAGE_NAMES[s]
                + "</extra>",
            )
        )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    return base_layout(
        fig,
        height=height,
        barmode="stack",
        legend={"orientation": "h", "y": 1.1},
        margin={"l": 170, "r": 16, "t": 40, "b": 32},
    )


def stage_history_figure(
    history: pd.DataFrame, weeks: int = STAGE_HISTORY_WEEKS, height: int = 320
) -> go.Figure:
    """Return the share of symbols in each stage per week (stacked areas)."""
    if history is None or history.empty:
        return empty_figure(height=height)
    recent = history.tail(weeks)
    values = recent.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    counts = {s: (values == s).sum(axis=1) for s in STAGES}
    total = sum(counts.values())
    keep = total > 0
    if not keep.any():
        return empty_figure("No stage history yet", height)
    x = pd.DatetimeIndex(recent.index)[keep]
    fig = new_figure()
    for s in STAGES:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=counts[s][keep] / total[keep],
                name=STAGE_NAMES[s],
                stackgroup="stages",
                mode="lines",
                line={"width": 0.5, "color": STAGE_COLORS[s]},
                customdata=counts[s][keep],
                hovertemplate="%{x|%Y-%m-%d}: %{y:.0%} (%{customdata})<extra>"
                + STAGE_NAMES[s]
                + "</extra>",
            )
        )
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return base_layout(
        fig, height=height, legend={"orientation": "h", "y": 1.12}, hovermode="x"
    )


# ----------------------------------------------------------------- breadth
def _breadth_dates(breadth: pd.DataFrame) -> pd.DatetimeIndex:
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
        "font": {"size": 12},
    }


BREADTH_PANELS = (
    "Advance/decline line",
    "% above moving average",
    "New 52-week highs − new lows",
    "McClellan oscillator (bars) and summation index (line)",
)


def breadth_figure(
    breadth: pd.DataFrame, sessions: int = BREADTH_SESSIONS, height: int = 860
) -> go.Figure:
    """Return A/D line, % above MAs, NH-NL and McClellan as stacked panels."""
    if breadth is None or breadth.empty:
        return empty_figure(height=300)
    data = breadth.tail(sessions)
    x = _breadth_dates(data).strftime("%Y-%m-%d").tolist()
    axes = stacked_axes(
        [0.25, 0.25, 0.2, 0.3], gap=0.05, secondary=[3], x_type="category"
    )
    fig = new_figure(**axes)
    fig.add_trace(
        go.Scatter(
            x=x, y=data["ad_line"], name="A/D line", line={"color": "#2c7be5"},
            **axis_ref(0),
        )
    )  # fmt: skip
    for col, color in (
        ("pct_above_sma20", "#e0a100"),
        ("pct_above_sma50", "#2c7be5"),
        ("pct_above_sma200", "#6f42c1"),
    ):
        if col in data:
            label = "% > SMA" + col.rsplit("sma", 1)[-1]
            fig.add_trace(
                go.Scatter(
                    x=x, y=data[col], name=label, line={"color": color}, **axis_ref(1)
                )
            )
    net = (data["new_highs"] - data["new_lows"]).astype(float)
    fig.add_trace(
        go.Bar(
            x=x,
            y=net,
            name="NH − NL",
            marker_color=np.where(net >= 0, UP, DOWN).tolist(),
            customdata=np.column_stack([data["new_highs"], data["new_lows"]]),
            hovertemplate="%{y} (NH %{customdata[0]}, NL %{customdata[1]})",
            **axis_ref(2),
        )
    )
    osc = data["mcclellan_osc"].astype(float)
    fig.add_trace(
        go.Bar(
            x=x,
            y=osc,
            name="Oscillator",
            marker_color=np.where(osc.fillna(0) >= 0, UP, DOWN).tolist(),
            **axis_ref(3),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["mcclellan_sum"],
            name="Summation",
            line={"color": MUTED},
            **axis_ref(3, secondary=True, rows=4),
        )
    )
    titles = [
        _panel_title(t, axes[f"yaxis{'' if i == 0 else i + 1}"]["domain"])
        for i, t in enumerate(BREADTH_PANELS)
    ]
    fig.update_layout(
        annotations=titles,
        yaxis2={"range": [0, 100], "ticksuffix": "%"},
        xaxis={"nticks": 8},
    )
    return base_layout(
        fig,
        height=height,
        legend={"orientation": "h", "y": -0.04},
        hovermode="x unified",
        bargap=0.1,
        margin={"l": 56, "r": 56, "t": 28, "b": 24},
    )
