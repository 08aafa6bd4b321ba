"""Pure component builders: figures, grids, cards, controls, the live-chart patch.

Builders return plain figure dicts; every test loads them into `go.Figure`,
which validates each property, so an invalid one fails here.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import numpy as np
import pandas as pd
import plotly
import plotly.graph_objects as go
import pytest

from components import cards, controls, figures, grids, symbol_chart, theme


def _json(obj) -> dict:
    return json.loads(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder))


def _rankings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["AAA", "BBB", "CCC", "DDD"],
            "sector": ["Energy", "Energy", "Utilities", None],
            "ret_1d": [0.02, -0.01, 0.005, np.nan],
            "ret_21d": [0.1, 0.0, -0.2, 0.05],
        }
    )


def test_pc01_treemap_nests_stocks_in_sectors_sized_by_dollar_volume():
    dv = pd.Series({"AAA": 300.0, "BBB": 100.0, "CCC": 50.0, "DDD": 0.0})
    fig = go.Figure(figures.treemap_figure(_rankings(), dv, "ret_1d"))
    trace = fig.data[0]
    leaves = {
        label: (parent, value, custom)
        for label, parent, value, custom in zip(
            trace.labels, trace.parents, trace.values, trace.customdata, strict=True
        )
        if parent
    }
    assert leaves["AAA"][:2] == ("s:Energy", 300.0)
    assert leaves["DDD"][0] == "s:Other"  # no sector -> "Other"
    assert leaves["DDD"][1] == 100.0  # no $ volume -> median of the known ones
    sectors = dict(zip(trace.labels[:3], trace.values[:3], strict=True))
    assert sectors == {"Energy": 400.0, "Other": 100.0, "Utilities": 50.0}
    # Sector colour = $-volume-weighted return of its members.
    assert trace.marker.colors[0] == pytest.approx((0.02 * 300 - 0.01 * 100) / 400)
    assert leaves["AAA"][2][0] == "AAA" and trace.customdata[0][0] == ""
    assert trace.marker.cmid == 0 and trace.marker.cmax == -trace.marker.cmin


def test_pc02_treemap_and_gauges_show_empty_state_without_data():
    for fig in (
        go.Figure(figures.treemap_figure(pd.DataFrame())),
        go.Figure(figures.gauges_figure({})),
        go.Figure(figures.rrg_figure(pd.DataFrame())),
        go.Figure(figures.breadth_figure(pd.DataFrame())),
        go.Figure(figures.stage_history_figure(pd.DataFrame())),
    ):
        assert fig.data == ()
        assert fig.layout.annotations[0].text


def _points() -> pd.DataFrame:
    dates = pd.date_range("2025-01-03", periods=12, freq="W-FRI")
    rows = []
    for i, sym in enumerate(("XLK", "XLE")):
        for j, d in enumerate(dates):
            rows.append(
                {
                    "symbol": sym,
                    "date": d,
                    "rs_ratio": 100 + (j - 6) * (1 if i else -1) * 0.5,
                    "rs_momentum": 100 + np.sin(j) * (2 + i),
                    "quadrant": "Leading",
                }
            )
    return pd.DataFrame(rows)


def test_pc03_rrg_draws_one_tail_per_symbol_with_quadrants():
    points = _points()
    fig = go.Figure(figures.rrg_figure(points, {"XLK": "Information Technology"}, 5))
    assert [t.name for t in fig.data] == ["XLE", "XLK"]
    for trace in fig.data:
        assert len(trace.x) == 5
        assert trace.marker.size[-1] > max(trace.marker.size[:-1])
        assert trace.text[-1] == f"<b>{trace.name}</b>"
    xlk = fig.data[1]
    expected = points[points.symbol == "XLK"].tail(5)
    assert list(xlk.x) == expected["rs_ratio"].tolist()
    assert xlk.customdata[0][1] == "Information Technology"
    assert {s.fillcolor for s in fig.layout.shapes} == set(
        theme.QUADRANT_COLORS.values()
    )
    shown = points.groupby("symbol").tail(5)
    lo, hi = fig.layout.xaxis.range
    assert lo < shown.rs_ratio.min() and hi > shown.rs_ratio.max()
    assert 100 - lo == pytest.approx(hi - 100)  # centred on 100
    assert {a.text for a in fig.layout.annotations} == {
        f"<b>{q}</b>" for q in theme.QUADRANT_COLORS
    }


def test_pc04_sector_performance_bars_one_trace_per_window():
    rets = pd.DataFrame(
        {"ret_1d": [0.01, -0.02], "ret_21d": [0.05, 0.03], "ret_ytd": [0.1, -0.1]},
        index=["XLK", "XLE"],
    )
    fig = go.Figure(figures.sector_perf_figure(rets, {"XLK": "XLK · Tech"}))
    assert [t.name for t in fig.data] == ["1D", "1M", "YTD"]
    assert fig.data[0].visible == "legendonly" and fig.data[1].visible is True
    assert list(fig.data[1].y) == ["XLE", "XLK · Tech"]  # sorted by 1M, ascending


def _stages() -> pd.DataFrame:
    return pd.DataFrame(
        {"stage": pd.array([1, 2, 2, 4, None], dtype="Int64")},
        index=pd.Index(["A", "B", "C", "D", "E"], name="symbol"),
    )


def test_pc05_stage_figures_count_symbols_per_stage():
    stages = _stages()
    dist = go.Figure(figures.stage_distribution_figure(stages))
    assert list(dist.data[0].y) == [1, 2, 0, 1]
    sectors = pd.Series({"A": "X", "B": "X", "C": "Y", "D": "Y", "E": "Y"})
    by_sector = go.Figure(figures.stage_by_sector_figure(stages, sectors))
    shares = np.array([list(t.x) for t in by_sector.data])
    assert np.allclose(shares.sum(axis=0), 1.0)
    stage2 = dict(zip(by_sector.data[1].y, by_sector.data[1].x, strict=True))
    assert stage2 == {"X": 0.5, "Y": 0.5}
    history = pd.DataFrame(
        {"A": [1, 2, 2], "B": [None, 2, 3]},
        index=pd.date_range("2025-01-03", periods=3, freq="W-FRI"),
        dtype="Int64",
    )
    hist = go.Figure(figures.stage_history_figure(history))
    shares = {t.name: list(t.y) for t in hist.data}
    assert shares[theme.STAGE_NAMES[2]] == [0.0, 1.0, 0.5]
    assert shares[theme.STAGE_NAMES[1]] == [1.0, 0.0, 0.0]


def test_pc06_breadth_figure_panels_share_the_session_axis():
    dates = pd.bdate_range("2025-01-02", periods=30)
    breadth = pd.DataFrame(
        {
            "advancers": 10,
            "decliners": 5,
            "ad_line": np.arange(30) * 5,
            "pct_above_sma20": 60.0,
            "pct_above_sma50": 55.0,
            "pct_above_sma200": 40.0,
            "new_highs": np.arange(30) % 4,
            "new_lows": 1,
            "mcclellan_osc": np.linspace(-5, 5, 30),
            "mcclellan_sum": np.linspace(0, 50, 30),
        },
        index=pd.DatetimeIndex(dates, name="date"),
    )
    fig = go.Figure(figures.breadth_figure(breadth, sessions=20))
    assert all(len(t.x) == 20 for t in fig.data)
    assert fig.data[0].x[0] == dates[10].strftime("%Y-%m-%d")
    nh_nl = next(t for t in fig.data if t.name == "NH − NL")
    assert list(nh_nl.y) == list((np.arange(30) % 4 - 1)[10:])
    summation = next(t for t in fig.data if t.name == "Summation")
    assert summation.yaxis == "y8"  # right-hand axis of the 4th panel
    assert {fig.layout[f"xaxis{i}"].matches for i in (2, 3, 4)} == {"x"}


def _daily_bars(n: int = 40) -> pd.DataFrame:
    dates = pd.bdate_range("2025-01-02", periods=n)
    close = 100 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "x": dates,
            "open": close - 1,
            "high": close + 1,
            "low": close - 2,
            "close": close,
            "volume": 1e6,
        }
    )


def test_pc07_symbol_chart_daily_has_candles_volume_mas_rs_and_stage_bands():
    bars = _daily_bars()
    idx = pd.DatetimeIndex(bars["x"])
    mas = {"SMA 10": pd.Series(bars["close"].rolling(10).mean().values, index=idx)}
    rs = pd.Series(np.linspace(90, 110, len(bars)), index=idx)
    weeks = idx[idx.weekday == 4]
    mansfield = pd.Series(np.arange(len(weeks), dtype=float), index=weeks)
    runs = [(weeks[0], weeks[2], 1), (weeks[3], weeks[-1], 2)]
    fig = go.Figure(
        symbol_chart.symbol_figure("AAA", bars, "D", mas, runs, rs, mansfield)
    )
    kinds = [t.type for t in fig.data]
    assert kinds[:2] == ["candlestick", "bar"]
    drawn = [t for t in fig.data[2:] if t.legendgroup != "stages"]
    assert [t.name for t in drawn] == [
        "SMA 10",
        "RS line vs SPY",
        "Mansfield RS (weekly)",
    ]
    keys = [t.name for t in fig.data if t.legendgroup == "stages"]
    assert keys == [theme.STAGE_NAMES[1], theme.STAGE_NAMES[2]]  # legend, not a note
    assert fig.data[0].x[0] == "2025-01-02" and fig.layout.xaxis.type == "category"
    first, second = fig.layout.shapes
    # Run 1 spans from the Monday of its first week to the Friday of its third.
    assert (first.x0, first.x1) == (-0.5, idx.get_loc(weeks[2]) + 0.5)
    assert second.x0 == idx.get_loc(weeks[2]) + 0.5  # the next band starts after
    assert second.fillcolor == theme.STAGE_COLORS[2]


def test_pc08_symbol_chart_intraday_is_two_panels_and_empty_says_why():
    bars = _daily_bars(5).assign(x=[f"2025-03-28 09:3{i}" for i in range(5)])
    fig = go.Figure(symbol_chart.symbol_figure("AAA", bars, "1m"))
    assert [t.type for t in fig.data] == ["candlestick", "bar"]
    assert list(fig.data[0].x) == list(bars["x"])
    empty = go.Figure(symbol_chart.symbol_figure("AAA", pd.DataFrame(), "1m"))
    assert "No minute bars for AAA" in empty.layout.annotations[0].text


def _minutes(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [f"2025-03-28 10:{m:02d}" for m in range(start, start + n)],
            "open": 1.0,
            "high": 2.0,
            "low": 0.5,
            "close": [10.0 + i for i in range(n)],
            "volume": 100.0,
        }
    )


def test_pc09_intraday_patch_rewrites_last_candle_and_appends_new_ones():
    patch, count, last = symbol_chart.intraday_patch(
        _minutes(29, 3), 30, "2025-03-28 10:29"
    )
    ops = patch.to_plotly_json()["operations"]
    assigned = {
        tuple(o["location"]): o["params"]["value"]
        for o in ops
        if o["operation"] == "Assign"
    }
    assert assigned[("data", 0, "close", 29)] == 10.0
    assert assigned[("data", 1, "y", 29)] == 100.0
    extended = {
        tuple(o["location"]): o["params"]["value"]
        for o in ops
        if o["operation"] == "Extend"
    }
    assert extended[("data", 0, "x")] == ["2025-03-28 10:30", "2025-03-28 10:31"]
    assert extended[("data", 0, "close")] == [11.0, 12.0]
    assert (count, last) == (32, "2025-03-28 10:31")
    same, count2, last2 = symbol_chart.intraday_patch(pd.DataFrame(), 32, last)
    assert same.to_plotly_json()["operations"] == [] and (count2, last2) == (32, last)


def _walk(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def test_pc10_grid_definitions_never_hand_ag_grid_a_string_to_evaluate():
    defs = [
        *grids.ranking_column_defs(),
        *grids.group_column_defs("sector", ["median_ret_1d", "pct_above_sma50"]),
        *grids.STAGE_LIST_COLUMNS,
    ]
    for key, value in _walk(defs):
        if key in ("cellClassRules",):
            assert all(isinstance(v, dict) and "function" in v for v in value.values())
        if key in ("valueFormatter", "valueGetter", "cellStyle"):
            assert isinstance(value, dict) and "function" in value, (key, value)
    hidden = {d["field"] for d in grids.ranking_column_defs() if d["hide"]}
    assert "sub_industry" in hidden and "rs_rating" not in hidden
    grid = grids.data_grid("g", defs).to_plotly_json()["props"]
    assert "overlayNoRowsTemplate" not in grid["dashGridOptions"]  # blocked by the CSP
    assert grid["getRowId"] == "params.data.symbol"


def test_pc11_controls_round_trip_the_as_of_value():
    assert controls.split_as_of("2025-03-14T10:31") == ("2025-03-14", "10:31")
    assert controls.split_as_of("now") == ("now", "")
    assert controls.split_as_of("garbage") == ("now", "")
    assert controls.as_of_value("2025-03-14", "10:31") == "2025-03-14T10:31"
    assert controls.as_of_value("2025-03-14", "") == "2025-03-14"
    assert controls.as_of_value("now", "10:31") == "now"
    assert controls.clean_universe(" SP500 ") == "sp500"
    assert controls.clean_universe("<script>") == controls.DEFAULT_UNIVERSE
    bar = _json(controls.controls_bar("p", "sectors", "2025-03-14T10:31"))
    values = {
        json.dumps(p["id"], sort_keys=True): p.get("value")
        for _k, p in _walk(bar)
        if isinstance(p, dict) and isinstance(p.get("id"), dict)
    }
    assert (
        values[json.dumps(controls.cid("universe", "p"), sort_keys=True)] == "sectors"
    )
    assert values[json.dumps(controls.cid("asof", "p"), sort_keys=True)] == "2025-03-14"
    assert values[json.dumps(controls.cid("time", "p"), sort_keys=True)] == "10:31"


def test_pc12_sparkline_is_an_svg_polyline_coloured_by_direction():
    src = cards.sparkline_src([1, 2, 3, 2.5, 4])
    svg = unquote(src.removeprefix("data:image/svg+xml,"))
    points = svg.split("points='")[1].split("'")[0].split()
    assert len(points) == 5 and theme.UP in svg
    assert theme.DOWN in unquote(cards.sparkline_src([3, 1]))
    assert "polyline" not in unquote(cards.sparkline_src([1]))


def test_pc13_status_line_labels_demo_data_and_counts_exclusions():
    class State:
        universe, as_of, session, intraday, symbols, demo = (
            "sp500",
            "now",
            None,
            False,
            3,
            False,
        )
        excluded = pd.DataFrame(
            {"symbol": ["X", "Y"], "reason": ["no price data", "no price data"]}
        )

    text = json.dumps(_json(cards.snapshot_line(State(), demo=True)))
    assert "Demo data" in text and "2 excluded (2 no price data)" in text
    assert "Demo data" not in json.dumps(_json(cards.snapshot_line(State())))


def test_pc14_key_figures_format_missing_values_as_dashes():
    row = _json(cards.key_figures({"last": 12.5, "change": -0.5, "pct": -0.04}, None))
    text = json.dumps(row, ensure_ascii=False)
    assert "12.50" in text and "-4.00%" in text and "—" in text


def _texts(component) -> list:
    """Return every (className, text) of the Td cells below a component."""
    out = []
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
            continue
        if getattr(node, "_type", None) == "Td":
            kids = node.children
            text = kids.children if hasattr(kids, "children") else kids
            out.append((getattr(node, "className", None), text, kids))
        kids = getattr(node, "children", None)
        if kids is not None and not isinstance(kids, str):
            stack.append(kids)
    return out


def test_pc15_leaders_table_right_aligns_fixed_decimals_and_link_symbols():
    from components.leaders import leaders_table

    rows = pd.DataFrame(
        {
            "symbol": ["AAA", "BRK.B"],
            "sector": ["Tech", None],
            "rs_rating": [99.0, 98.0],
            "ret_1d": [-0.00001, 0.0123],
            "ret_21d": [np.nan, -0.2],
            "stage": [2.0, 4.0],
        }
    )
    for comp in (leaders_table(rows, 2),):
        cells = _texts(comp)
        texts = [t for _, t, _ in cells]
        assert not any(isinstance(t, str) and t.startswith("-0.0") for t in texts)
        nums = [(c, t) for c, t, _ in cells if isinstance(t, str) and t[-1:].isdigit()]
        assert nums and all(c == "num" for c, _ in nums)
        links = [k.href for _, _, k in cells if hasattr(k, "href")]
        assert links and all(h.startswith("/symbol/") for h in links)
    texts = [t for _, t, _ in _texts(leaders_table(rows, 2))]
    assert "0.0%" in texts and "+1.2%" in texts and "-20.0%" in texts
