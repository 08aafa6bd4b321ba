"""The symbol page chart: candles + volume (+ MAs, stage shading, RS / Mansfield).

Trace order is fixed so the live intraday chart can be patched in place:
`data[0]` is the candlestick, `data[1]` the volume bars.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dash import Patch

from components.theme import (
    DOWN,
    MUTED,
    STAGE_COLORS,
    STAGE_NAMES,
    STAGE_SHADE_OPACITY,
    UP,
    Figure,
    axis_ref,
    empty_figure,
    figure,
    stacked_axes,
    values,
)

OHLC = ("open", "high", "low", "close")
# Distinct from the candles (green / red) and from each other, light or dark theme.
MA_COLORS = ("#e69f00", "#9467bd", "#8c564b")
COMPARE_COLORS = ("#0072b2", "#e69f00", "#cc79a7", "#009e73", "#d55e00")
RS_COLOR = "#17becf"
LEGEND = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": 1,
    "yanchor": "top",
    "yref": "container",
}
VOLUME_COLOR = "rgba(128,128,128,0.45)"
WEEK_SPAN = pd.Timedelta(days=6)
CHART_TICKS = 10


def _x(values: pd.Series | pd.Index) -> list[str]:
    """Return category labels: dates as YYYY-MM-DD, minute bars as given."""
    values = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").tolist()
    return values.astype(str).tolist()


def stage_shapes(runs: Sequence[tuple], x: Sequence[str], weekly: bool) -> list[dict]:
    """Return one shaded band per stage run, in category positions of `x`.

    A run (first week, last week, stage) covers, on a daily chart, the sessions
    from the Monday of its first week to the end of its last week.
    """
    if not runs or not len(x):
        return []
    dates = pd.DatetimeIndex(pd.to_datetime(list(x)))
    shapes = []
    for start, end, stage in runs:
        if stage not in STAGE_COLORS:
            continue
        first = pd.Timestamp(start) - (pd.Timedelta(0) if weekly else WEEK_SPAN)
        lo = int(dates.searchsorted(first, side="left"))
        hi = int(dates.searchsorted(pd.Timestamp(end), side="right")) - 1
        if hi < lo:
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": lo - 0.5,
                "x1": hi + 0.5,
                "y0": 0,
                "y1": 1,
                "fillcolor": STAGE_COLORS[stage],
                "opacity": STAGE_SHADE_OPACITY,
                "line": {"width": 0},
                "layer": "below",
                "name": STAGE_NAMES[stage],
            }
        )
    return shapes


def candle_traces(bars: pd.DataFrame, name: str = "") -> list[dict]:
    """Return [candlestick, volume bars] for bars with x/open/high/low/close/volume."""
    x = _x(bars["x"])
    candle = {
        "type": "candlestick",
        "x": x,
        **{col: values(bars[col]) for col in OHLC},
        "name": name or "Price",
        "increasing": {"line": {"color": UP}, "fillcolor": UP},
        "decreasing": {"line": {"color": DOWN}, "fillcolor": DOWN},
        "showlegend": False,
        **axis_ref(0),
    }
    volume = {
        "type": "bar",
        "x": x,
        "y": values(bars["volume"]),
        "name": "Volume",
        "marker": {"color": VOLUME_COLOR},
        "showlegend": False,
        "hovertemplate": "Volume %{y:,.0f}<extra></extra>",
        **axis_ref(1),
    }
    return [candle, volume]


def stage_keys(stages: Sequence[int]) -> list[dict]:
    """Return legend-only entries (no points) naming the shaded stages."""
    return [
        {
            "type": "scatter",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "name": STAGE_NAMES[s],
            "marker": {"symbol": "square", "size": 11, "color": STAGE_COLORS[s]},
            "opacity": 0.6,
            "legendgroup": "stages",
            "hoverinfo": "skip",
            **axis_ref(0),
        }
        for s in sorted(set(stages))
        if s in STAGE_COLORS
    ]


def compare_traces(closes: pd.DataFrame) -> list[dict]:
    """Return one line per symbol of closes indexed to 100 (first common point)."""
    traces = []
    for i, sym in enumerate(closes.columns):
        series = closes[sym]
        if series.isna().all():
            continue  # no bar in the range: said in the status line
        color = COMPARE_COLORS[i % len(COMPARE_COLORS)]
        hover = f"{sym} " + "%{y:.1f}<extra></extra>"
        trace = _line(series, sym, color, hovertemplate=hover, **axis_ref(0))
        trace["line"]["width"] = 2.0 if i == 0 else 1.5
        traces.append(trace)
    return traces


def _line(series: pd.Series, name: str, color: str, **extra) -> dict:
    return {
        "type": "scatter",
        "x": _x(series.index),
        "y": values(series),
        "name": name,
        "mode": "lines",
        "line": {"width": 1.3, "color": color},
        **extra,
    }


def symbol_figure(
    symbol: str,
    bars: pd.DataFrame | None,
    interval: str = "D",
    mas: dict[str, pd.Series] | None = None,
    stage_runs: Sequence[tuple] = (),
    rs: pd.Series | None = None,
    mansfield: pd.Series | None = None,
    height: int = 640,
    compare: pd.DataFrame | None = None,
) -> Figure:
    """Return the symbol chart for interval "1m", "D" or "W".

    With `compare` (closes indexed to 100, the symbol first), the price panel
    draws one line per symbol instead of candles and moving averages.
    """
    if bars is None or bars.empty:
        text = (
            f"No minute bars for {symbol} in this session"
            if interval == "1m"
            else f"No daily bars for {symbol} yet"
        )
        return empty_figure(text, height=360)
    intraday = interval == "1m"
    heights = [0.75, 0.25] if intraday else [0.6, 0.15, 0.25]
    axes = stacked_axes(
        heights,
        secondary=[] if intraday else [2],
        x_type="category",
        x_ticks=CHART_TICKS,
    )
    x = _x(bars["x"])
    comparing = compare is not None and not compare.empty
    if comparing:
        traces = [*compare_traces(compare), candle_traces(bars, symbol)[1]]
        mas = {}
    else:
        traces = candle_traces(bars, symbol)
    for i, (label, series) in enumerate((mas or {}).items()):
        color = MA_COLORS[i % len(MA_COLORS)]
        hover = label + " %{y:.2f}<extra></extra>"
        traces.append(_line(series, label, color, hovertemplate=hover, **axis_ref(0)))
    layout: dict = {}
    if not intraday:
        traces += _rs_traces(rs, mansfield, set(x))
        axes["yaxis3"]["title"] = {"text": "RS"}
        axes["yaxis6"].update({"title": {"text": "Mansfield"}, "zeroline": True})
        shapes = stage_shapes(stage_runs, x, interval == "W")
        traces += stage_keys([r[2] for r in stage_runs] if shapes else [])
        layout = {"shapes": shapes}
    axes["xaxis"]["rangeslider"] = {"visible": False}
    price_title = "Indexed (first common close = 100)" if comparing else "Price"
    axes["yaxis"]["title"] = {"text": price_title}
    axes["yaxis2"].update({"title": {"text": "Vol"}, "showticklabels": False})
    return figure(
        traces,
        height,
        legend=LEGEND,
        hovermode="x",
        uirevision=f"{symbol}-{interval}-{x[0]}",
        margin={"l": 56, "r": 56, "t": 24, "b": 24},
        **axes,
        **layout,
    )


def _rs_traces(
    rs: pd.Series | None, mansfield: pd.Series | None, x: set[str]
) -> list[dict]:
    traces = []
    if rs is not None and len(rs):
        hover = "RS %{y:.2f}<extra></extra>"
        traces.append(
            _line(rs, "RS line vs SPY", RS_COLOR, hovertemplate=hover, **axis_ref(2))
        )
    if mansfield is not None and len(mansfield):
        shown = mansfield[[label in x for label in _x(mansfield.index)]]
        trace = _line(
            shown,
            "Mansfield RS (weekly)",
            MUTED,
            hovertemplate="Mansfield %{y:.1f}<extra></extra>",
            connectgaps=True,
            **axis_ref(2, secondary=True, rows=3),
        )
        trace["line"]["shape"] = "hv"
        traces.append(trace)
    return traces


def intraday_patch(
    new: pd.DataFrame, count: int, last_x: str | None
) -> tuple[Patch, int, str | None]:
    """Return a Patch that updates the last candle and appends newer ones.

    `new` holds minute bars from the last drawn bar (`last_x`) on; the figure
    has `count` candles. Returns (patch, new count, new last x).
    """
    patch = Patch()
    if new is None or new.empty:
        return patch, count, last_x
    new = new.reset_index(drop=True)
    if last_x is not None and count > 0 and new["x"].iloc[0] == last_x:
        i = count - 1
        for col in OHLC:
            patch["data"][0][col][i] = float(new[col].iloc[0])
        patch["data"][1]["y"][i] = float(new["volume"].iloc[0])
        new = new.iloc[1:]
    if len(new):
        xs = new["x"].astype(str).tolist()
        patch["data"][0]["x"].extend(xs)
        for col in OHLC:
            patch["data"][0][col].extend(new[col].astype(float).tolist())
        patch["data"][1]["x"].extend(xs)
        patch["data"][1]["y"].extend(new["volume"].astype(float).tolist())
        last_x = xs[-1]
    return patch, count + len(new), last_x
