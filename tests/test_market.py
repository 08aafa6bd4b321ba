"""Market-state snapshot: time machine, intraday consistency, staleness, live bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics
from dashapp.market import BadRequest, market_state, parse_as_of
from dashapp.market.cache import LocalCache
from dashapp.store.livebars import LiveBar, LiveBarStore

DATA = Path(__file__).parent / "data"
TZ = "America/New_York"
FRAMES_COMPARED = ("rankings", "stages", "breadth", "breadth_panel", "sectors")


@pytest.fixture(scope="module")
def slice_bars() -> pd.DataFrame:
    bars = pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])
    return bars[bars["date"] >= "2019-06-01"].reset_index(drop=True)


@pytest.fixture(scope="module")
def sectors() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv")


def load(store, bars, sectors):
    store.upsert_symbols(
        [{"symbol": r.symbol, "name": r.name, "kind": "stock", "sector": r.sector}
         for r in sectors.itertuples()]
    )  # fmt: skip
    store.set_universe("slice", sectors["symbol"])
    store.upsert_daily_bars(bars, batch_size=50_000)


def minutes_for(daily: pd.DataFrame, minutes: int = 390) -> pd.DataFrame:
    """Split each daily bar into regular-session minute bars that roll up to it."""
    rows = []
    for bar in daily.itertuples():
        start = pd.Timestamp(bar.date).tz_localize(TZ) + pd.Timedelta("9h30min")
        ts = pd.date_range(start, periods=minutes, freq="1min").tz_convert("UTC")
        path = np.linspace(bar.open, bar.close, minutes)
        high = path.copy()
        low = path.copy()
        high[minutes // 3] = bar.high
        low[2 * minutes // 3] = bar.low
        vol = np.full(minutes, bar.volume / minutes)
        opens = np.r_[bar.open, path[:-1]]
        rows.append(pd.DataFrame({
            "symbol": bar.symbol, "ts": ts, "open": opens,
            "high": np.maximum(high, np.maximum(opens, path)),
            "low": np.minimum(low, np.minimum(opens, path)),
            "close": path, "volume": vol,
        }))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def assert_same(a, b, frames=FRAMES_COMPARED):
    for name in frames:
        left = getattr(a, name).reset_index(drop=True)
        right = getattr(b, name).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9)


def test_mk01_matches_full_snapshot(store, slice_bars, sectors):
    load(store, slice_bars, sectors)
    state = market_state("SLICE", "2021-04-21", store=store)
    meta = store.symbols_frame(sectors["symbol"].tolist())
    panels = analytics.panels_from_bars(slice_bars[slice_bars.date >= "2019-07-21"])
    direct = analytics.market_snapshot(panels, meta)
    ours = state.rankings.set_index("symbol").sort_index()
    theirs = direct["rankings"].set_index("symbol").sort_index()
    pd.testing.assert_series_equal(ours["rs_rating"], theirs["rs_rating"])
    pd.testing.assert_series_equal(ours["stage"], theirs["stage"])
    assert state.session.isoformat() == "2021-04-21"
    assert not state.intraday


def test_mk02_last_minute_equals_end_of_day(tmp_path, slice_bars, sectors):
    from tests.conftest import make_store

    day = pd.Timestamp("2021-04-21")
    eod = make_store("sqlite", tmp_path / "a")
    load(eod, slice_bars, sectors)
    live = make_store("sqlite", tmp_path / "b")
    load(live, slice_bars[slice_bars.date < day], sectors)
    live.upsert_minute_bars(minutes_for(slice_bars[slice_bars.date == day]))
    at_close = market_state("slice", "2021-04-21T15:59", store=live)
    at_eod = market_state("slice", "2021-04-21", store=eod)
    assert at_close.intraday and not at_eod.intraday
    assert_same(at_close, at_eod)
    now = market_state("slice", None, store=live)
    assert now.intraday and now.session == day.date()
    assert_same(now, at_eod)


def test_mk03_time_machine_uses_only_minutes_up_to_as_of(tmp_path, slice_bars, sectors):
    from tests.conftest import make_store

    day = pd.Timestamp("2021-04-21")
    store = make_store("sqlite", tmp_path)
    load(store, slice_bars[slice_bars.date < day], sectors)
    minutes = minutes_for(slice_bars[slice_bars.date == day])
    store.upsert_minute_bars(minutes)
    state = market_state("slice", "2021-04-21T10:31", store=store)
    cut = pd.Timestamp("2021-04-21 10:31", tz=TZ).tz_convert("UTC")
    aapl = minutes[(minutes.symbol == "AAPL") & (minutes.ts <= cut)]
    prev = slice_bars[(slice_bars.symbol == "AAPL") & (slice_bars.date < day)]
    expected = aapl["close"].iloc[-1] / prev["close"].iloc[-1] - 1
    got = state.rankings.set_index("symbol").loc["AAPL", "ret_1d"]
    assert got == pytest.approx(expected, rel=1e-12)
    assert len(aapl) == 62  # 09:30 .. 10:31 inclusive


def test_mk04_stale_symbols_excluded_with_reason(sqlite_store, slice_bars, sectors):
    bars = slice_bars[
        ~((slice_bars.symbol == "KO") & (slice_bars.date == "2021-04-21"))
    ]
    load(sqlite_store, bars, sectors)
    state = market_state("slice", None, store=sqlite_store)
    reasons = dict(zip(state.excluded.symbol, state.excluded.reason, strict=True))
    assert reasons["KO"] == analytics.constants.REASON_STALE
    assert state.symbols == len(sectors) - len(state.excluded)
    assert state.summary()["excluded"] == len(state.excluded)


def test_mk05_live_bar_moves_now(tmp_path, slice_bars, sectors):
    from tests.conftest import make_store

    day = pd.Timestamp("2021-04-21")
    store = make_store("sqlite", tmp_path)
    load(store, slice_bars[slice_bars.date < day], sectors)
    minutes = minutes_for(slice_bars[slice_bars.date == day], minutes=30)
    store.upsert_minute_bars(minutes)
    bars = LiveBarStore()
    last = minutes[minutes.symbol == "MSFT"].iloc[-1]
    ts_ms = int((last.ts + pd.Timedelta(minutes=1)).value // 1_000_000)
    bars.publish([LiveBar("MSFT", ts_ms, 1.0, 999.0, 1.0, 500.0, 10.0, None, None,
                          False, ts_ms)])  # fmt: skip
    cache = LocalCache()
    state = market_state("slice", None, store=store, live=bars, cache=cache)
    prev = slice_bars[(slice_bars.symbol == "MSFT") & (slice_bars.date < day)]
    got = state.rankings.set_index("symbol").loc["MSFT", "ret_1d"]
    assert got == pytest.approx(500.0 / prev["close"].iloc[-1] - 1)
    again = market_state("slice", None, store=store, live=bars, cache=cache)
    assert again is state  # same data version: computed once
    bars.publish([bars.get("MSFT")._replace(close=510.0, updated=ts_ms + 1)])
    moved = market_state("slice", None, store=store, live=bars, cache=cache)
    assert moved is not state and moved.version != state.version


def test_mk06_bad_requests(sqlite_store):
    with pytest.raises(BadRequest, match="unknown universe"):
        market_state("nope", None, store=sqlite_store)
    with pytest.raises(BadRequest, match="not a date"):
        parse_as_of("yesterday-ish")
    assert parse_as_of("2024-03-05T10:31")[0] == "2024-03-05T10:31"
    assert parse_as_of(" now ")[0] == "now"


def test_mk07_empty_database_defined_result(sqlite_store):
    sqlite_store.set_universe("u", ["AAA", "BBB"])
    state = market_state("u", None, store=sqlite_store)
    assert state.session is None and state.symbols == 0
    assert set(state.excluded.symbol) == {"AAA", "BBB"}
    assert state.breadth.empty


def test_mk08_rotation_any_symbols_any_benchmark(sqlite_store, slice_bars, sectors):
    from dashapp.market.rotation import sector_rotation

    load(sqlite_store, slice_bars, sectors)
    got = sector_rotation(
        "weekly", 5, "2021-04-21", ["AAPL", "MSFT"], "JNJ", store=sqlite_store
    )
    close = analytics.panel_from_bars(
        slice_bars[
            slice_bars.date >= pd.Timestamp("2021-04-21") - pd.Timedelta(days=760)
        ]
    )
    want = analytics.rrg(close[["AAPL", "MSFT"]], close["JNJ"], "weekly", 5)
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    assert len(got) == 10 and set(got.quadrant) <= {
        "Leading", "Weakening", "Lagging", "Improving"
    }  # fmt: skip
    with pytest.raises(BadRequest):
        sector_rotation("monthly", store=sqlite_store)
