"""Symbol page queries: range presets, minute bars across sessions, compare, search.

Real data: committed minute slices (tests/data) and, when shared/ is there, the
SPY + sector ETF minute file over 16 sessions; daily closes from the committed
S&P 500 slice. Each result is checked against a plain per-symbol recalculation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder

from dashapp.factory import create_app

DATA = Path(__file__).parent / "data"
SHARED = Path(
    os.environ.get(
        "TICKSTOCK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
SHARED_MINUTES = SHARED / "minute" / "spy_sector_etfs_1min_2019-12-16_2020-01-09.csv.gz"
NY = "America/New_York"


def _minute_csv(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    ts = pd.to_datetime(raw["datetime"], utc=True)
    return pd.DataFrame(
        {
            "symbol": raw["symbol"],
            "ts": ts,
            **{c: raw[c].astype(float) for c in ("open", "high", "low", "close")},
            "volume": raw["volume"].astype(float),
        }
    )


def _daily_slice() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])
    return frame


@pytest.fixture
def app(settings):
    return create_app(settings, ingest=False)


def _store(app):
    return app.server.extensions["tickstock_store"]


def _sessions(bars: pd.DataFrame) -> list:
    return sorted(set(pd.to_datetime(bars["ts"], utc=True).dt.tz_convert(NY).dt.date))


def test_sr01_1d_and_5d_read_minute_bars_across_sessions(app):
    from dashapp.market.symbol_chart import chart_for_range

    bars = pd.concat(
        [
            _minute_csv(DATA / "spy_dia_1min_2019-12-23_24.csv.gz"),
            _minute_csv(DATA / "minute_bars_spy_xlk_xlf_2019-12-18.csv"),
        ]
    )
    _store(app).upsert_minute_bars(bars)
    spy = bars[bars["symbol"] == "SPY"].sort_values("ts")
    days = _sessions(spy)  # 12-18, 12-23, 12-24 (half day): 12-19/20 have none
    with app.server.test_request_context():
        one = chart_for_range("SPY", "1D", "2019-12-24")
        five = chart_for_range("SPY", "5D", "2019-12-24")
        before = chart_for_range("SPY", "5D", "2019-12-23")
    last = spy[spy["ts"].dt.tz_convert(NY).dt.date == days[-1]]
    assert one.bars["close"].tolist() == last["close"].tolist()
    expected = spy["ts"].dt.tz_convert(NY).dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert five.bars["x"].tolist() == expected  # every session, oldest first
    assert five.bars["close"].tolist() == spy["close"].tolist()
    assert before.bars["x"].str[:10].unique().tolist() == [
        d.isoformat() for d in days[:2]
    ]


@pytest.mark.skipif(not SHARED_MINUTES.exists(), reason="shared/ minute file absent")
def test_sr02_5d_keeps_the_last_five_sessions_with_minutes(app):
    from dashapp.market.symbol_chart import chart_for_range

    bars = _minute_csv(SHARED_MINUTES)
    bars = bars[bars["symbol"].isin(["SPY", "XLK"])]
    _store(app).upsert_minute_bars(bars)
    spy = bars[bars["symbol"] == "SPY"]
    days = _sessions(spy)
    as_of = days[-3]  # look back from inside the file, past the holidays
    with app.server.test_request_context():
        five = chart_for_range("SPY", "5D", as_of.isoformat())
    local = spy["ts"].dt.tz_convert(NY)
    want_days = [d for d in days if d <= as_of][-5:]
    want = spy[local.dt.date.isin(want_days)].sort_values("ts")
    assert five.bars["x"].str[:10].unique().tolist() == [
        d.isoformat() for d in want_days
    ]
    assert five.bars["close"].tolist() == want["close"].tolist()


def test_sr03_compare_is_100_at_the_first_common_close(app):
    from dashapp.market.compare import compare_closes

    daily = _daily_slice()
    picked = daily[daily["symbol"].isin(["AAPL", "CARR", "MSFT"])]
    _store(app).upsert_daily_bars(picked)
    with app.server.test_request_context():
        closes = compare_closes(["AAPL", "CARR", "MSFT"], "2Y", "2021-04-21")
    wide = picked.pivot(index="date", columns="symbol", values="close")
    carr_first = wide["CARR"].first_valid_index()  # CARR listed in April 2020
    assert closes.index[0] == carr_first.strftime("%Y-%m-%d")
    assert closes.iloc[0].tolist() == [100.0, 100.0, 100.0]
    for sym in ("AAPL", "CARR", "MSFT"):
        plain = wide.loc[carr_first:, sym]
        plain = 100 * plain / plain.iloc[0]
        got = closes[sym].set_axis(pd.to_datetime(closes.index))
        pd.testing.assert_series_equal(
            got, plain.loc[got.index], check_names=False, check_freq=False
        )
    assert closes.index[-1] == "2021-04-21"
    with app.server.test_request_context():
        unknown = compare_closes(["AAPL", "NOPE", "MSFT"], "1M", "2021-04-21")
    assert list(unknown.columns) == ["AAPL", "NOPE", "MSFT"]
    assert unknown["NOPE"].isna().all() and (unknown.iloc[0, [0, 2]] == 100).all()


def test_sr04_compare_on_minute_bars_indexes_each_symbol_at_the_same_minute(app):
    from dashapp.market.compare import compare_closes

    bars = _minute_csv(DATA / "spy_dia_1min_2019-12-23_24.csv.gz")
    late = bars[
        ~(
            (bars["symbol"] == "DIA")
            & (bars["ts"] < bars["ts"].min() + pd.Timedelta(minutes=5))
        )
    ]
    _store(app).upsert_minute_bars(late)
    with app.server.test_request_context():
        closes = compare_closes(["SPY", "DIA"], "5D", "2019-12-24")
    dia = late[late["symbol"] == "DIA"].sort_values("ts")
    spy = late[late["symbol"] == "SPY"].set_index("ts")["close"]
    first_ts = dia["ts"].iloc[0]  # DIA starts 5 minutes later: the first common bar
    assert closes.index[0] == first_ts.tz_convert(NY).strftime("%Y-%m-%d %H:%M")
    assert closes["SPY"].iloc[-1] == pytest.approx(
        100 * spy.iloc[-1] / spy.loc[first_ts]
    )
    assert closes["DIA"].iloc[-1] == pytest.approx(
        100 * dia["close"].iloc[-1] / dia["close"].iloc[0]
    )


def test_sr05_normalise_drops_rows_before_the_first_common_point():
    from dashapp.market.compare import normalise_to_first_common

    wide = _daily_slice().pivot(index="date", columns="symbol", values="close")
    frame = wide[["AAPL", "VTRS"]].tail(150)
    out = normalise_to_first_common(frame)
    first = frame["VTRS"].first_valid_index()
    assert out.index[0] == first and (out.iloc[0] == 100).all()
    assert out["AAPL"].iloc[-1] == pytest.approx(
        100 * frame["AAPL"].iloc[-1] / frame.loc[first, "AAPL"]
    )
    assert normalise_to_first_common(frame.iloc[0:0]).empty
    apart = pd.DataFrame({"A": [1.0, None], "B": [None, 2.0]})
    assert normalise_to_first_common(apart).empty  # never on the same row


def test_sr06_range_presets_and_former_intervals():
    from dashapp.market.symbol_chart import RANGES, history_days, range_spec

    assert list(RANGES) == ["1D", "5D", "1M", "3M", "6M", "1Y", "2Y", "5Y", "MAX"]
    assert range_spec("5d") == ("1m", 5) and range_spec("max") == ("W", None)
    assert range_spec("W") == ("W", 156) and range_spec("junk") == RANGES["1Y"]
    # SMA 200 needs 200 sessions before the first of the 504 shown (2Y).
    assert history_days("D", 504) >= (504 + 200) * 7 / 5


def test_sr07_search_suggests_by_ticker_then_company_name(app):
    from dashapp.market.search import symbol_suggestions

    store = _store(app)
    with app.server.test_request_context():
        by_name = symbol_suggestions("apple")
        by_ticker = symbol_suggestions("msf")
        unknown = symbol_suggestions("zzzq")
        nothing = symbol_suggestions("  ")
    names = store.symbols_frame()
    apple = names[names["name"].str.lower().str.contains("apple", na=False)]
    assert {o["value"] for o in by_name} >= set(apple["symbol"].head(10))
    assert by_name[0]["value"] == "AAPL" and "Apple" in by_name[0]["label"]
    assert by_ticker[0]["value"] == "MSFT"
    assert unknown == [{"label": "ZZZQ (go to)", "value": "ZZZQ"}]
    assert nothing == []


def test_sr08_ingest_health_renders_as_rows_not_dicts():
    from dashapp.market.admin import health_rows

    rows = health_rows(
        {"state": "open", "events": {"AM": 12, "A": 3}, "rejected": {}, "syms": [1, 2]}
    )
    assert rows.to_dict("records") == [
        {"what": "state", "value": "open"},
        {"what": "events › AM", "value": "12"},
        {"what": "events › A", "value": "3"},
        {"what": "rejected", "value": "—"},
        {"what": "syms", "value": "1, 2"},
    ]
    assert not any("{" in v for v in rows["value"])


def test_sr09_symbol_page_draws_minute_ranges_as_two_panels(settings):
    from tests.test_pages_data import MINUTES, build_app

    app = build_app(settings)
    with app.server.test_request_context():
        import pages.symbol as page

        out = page.refresh_symbol(1, "sp500", "now", "", "5D", "AAPL", None)
        daily = page.refresh_symbol(1, "sp500", "now", "", "6M", "AAPL", None, ["QQQ"])
    figure, status = out[3], json.dumps(out[0], cls=PlotlyJSONEncoder)
    assert sorted(k for k in figure["layout"] if k.startswith("xaxis")) == [
        "xaxis",
        "xaxis2",
    ]
    assert len(figure["data"][0]["x"]) == MINUTES  # the test market: one session
    assert f"{MINUTES} minute bars over 1 session" in status
    names = [t["name"] for t in daily[3]["data"] if t.get("legendgroup") != "stages"]
    assert names[:2] == ["AAPL", "QQQ"] and daily[3]["data"][0]["y"][0] == 100.0
    assert "first common close" in json.dumps(daily[0], cls=PlotlyJSONEncoder)


def test_sr10_as_of_now_says_live_only_while_the_session_is_open(app):
    from dashapp.market.asof import fixed_clock
    from pages.symbol import _as_of_label  # importable once an app exists

    bars = pd.DataFrame({"x": pd.to_datetime(["2024-06-06", "2024-06-07"])})
    with fixed_clock("2024-06-08 12:00"):  # a Saturday
        assert _as_of_label("now", bars) == "last session 2024-06-07 (closed)"
    with fixed_clock("2024-06-10 10:00"):  # Monday, market open
        assert _as_of_label("now", bars) == "live"
    assert _as_of_label("2024-06-07", bars) == "2024-06-07"
    assert _as_of_label("now", bars.iloc[:0]) == "live"
