"""Analytics read all the history they need: whole-run stages, warmed-up breadth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp import market
from dashapp.market import market_state, stage_cache

YEARS = 12
START = "2012-01-02"
PV_LIMIT, SLOPE_LIMIT, MA_WEEKS, SLOPE_LAG, CONFIRM = 2.0, 0.5, 30, 4, 2


def _paths(sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Return closes: a decade-long uptrend, cycles, random walks and SPY."""
    rng = np.random.default_rng(13)
    t = np.arange(len(sessions))
    noise = lambda scale: np.cumsum(rng.normal(0, scale, len(t)))  # noqa: E731
    return {
        "SPY": 100 * np.exp(0.0003 * t + noise(0.004)),
        "UPP": 20 * np.exp(0.0012 * t + 0.003 * np.sin(t / 5)),
        "CYC": 50 * np.exp(0.45 * np.sin(2 * np.pi * t / 700) + noise(0.002)),
        "RW1": 40 * np.exp(noise(0.015)),
        "RW2": 60 * np.exp(noise(0.02)),
        "DWN": 90 * np.exp(-0.0009 * t + noise(0.003)),
    }


def _bars(sessions: pd.DatetimeIndex) -> pd.DataFrame:
    frames = []
    for sym, close in _paths(sessions).items():
        frames.append(
            pd.DataFrame(
                {"symbol": sym, "date": sessions, "open": close, "high": close * 1.01,
                 "low": close * 0.99, "close": close, "volume": 1e6}
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _load(store, bars: pd.DataFrame) -> list[str]:
    members = sorted(set(bars["symbol"]) - {"SPY"})
    store.upsert_symbols([{"symbol": s, "kind": "stock"} for s in members])
    store.set_universe("long", members)
    store.upsert_daily_bars(bars, batch_size=50_000)
    market._engines.clear()
    stage_cache.clear()
    return members


def plain_stage(daily_close: pd.Series) -> tuple[int | None, int | None]:
    """Return (stage, weeks_in_stage) at the last week with one loop (pinned rule)."""
    iso = daily_close.index.isocalendar()
    weekly = daily_close.groupby([iso["year"].values, iso["week"].values]).last()
    closes = weekly.tolist()
    stage = last_trend = cand_prev = None
    run = run_start = stage_start = 0
    shown = None
    for i, c in enumerate(closes):
        if i < MA_WEEKS - 1 + SLOPE_LAG:
            cand_prev, shown = None, None
            continue
        ma = sum(closes[i - MA_WEEKS + 1 : i + 1]) / MA_WEEKS
        ma_lag = (
            sum(closes[i - SLOPE_LAG - MA_WEEKS + 1 : i - SLOPE_LAG + 1]) / MA_WEEKS
        )
        pv, slope = 100 * (c - ma) / ma, 100 * (ma / ma_lag - 1)
        if pv > PV_LIMIT and slope > SLOPE_LIMIT:
            cand = 2
        elif pv < -PV_LIMIT and slope < -SLOPE_LIMIT:
            cand = 4
        elif last_trend == 2:
            cand = 3
        elif last_trend == 4:
            cand = 1
        else:
            cand = 1 if pv < 0 else 3
        if cand == cand_prev:
            run += 1
        else:
            run, run_start = 1, i
        cand_prev = cand
        if run >= CONFIRM and cand != stage:
            stage, stage_start = cand, run_start
            if cand in (2, 4):
                last_trend = cand
        shown = stage
    if shown is None:
        return None, None
    return shown, len(closes) - 1 - stage_start + 1


def test_weeks_in_stage_counts_whole_run_through_market_state(store):
    sessions = pd.bdate_range(START, periods=YEARS * 261, name="date")
    bars = _bars(sessions)
    members = _load(store, bars)
    state = market_state("long", None, store=store, cache=None, live=None)
    stages = state.stages.set_index("symbol")
    close = bars.pivot(index="date", columns="symbol", values="close")
    for sym in members:
        want_stage, want_weeks = plain_stage(close[sym])
        assert stages.loc[sym, "stage"] == want_stage, sym
        assert stages.loc[sym, "weeks_in_stage"] == want_weeks, sym
    # The long uptrend has held stage 2 for far longer than the load window.
    assert stages.loc["UPP", "weeks_in_stage"] > 100 * 3
    # Past sessions (a Wednesday, a Monday) continue from the cached whole history.
    for as_of in (sessions[-300], sessions[-302]):
        past = market_state("long", as_of.date().isoformat(), store=store, cache=None)
        got = past.stages.set_index("symbol")
        for sym in members:
            want_stage, want_weeks = plain_stage(close[sym].loc[:as_of])
            assert got.loc[sym, "stage"] == want_stage, (sym, as_of)
            assert got.loc[sym, "weeks_in_stage"] == want_weeks, (sym, as_of)


def _first_valid(series: pd.Series) -> pd.Timestamp:
    return series.first_valid_index()


def test_breadth_series_start_at_first_session_with_enough_data(sqlite_store):
    sessions = pd.bdate_range("2023-01-02", periods=330, name="date")
    _load(sqlite_store, _bars(sessions))
    breadth = market_state("long", None, store=sqlite_store, cache=None).breadth
    assert breadth.index[0] == sessions[0]
    assert _first_valid(breadth["pct_above_sma200"]) == sessions[199]
    assert _first_valid(breadth["pct_above_sma50"]) == sessions[49]


def test_breadth_shown_window_is_warm_from_its_first_session(sqlite_store):
    sessions = pd.bdate_range(START, periods=6 * 261, name="date")
    _load(sqlite_store, _bars(sessions))
    breadth = market_state("long", None, store=sqlite_store, cache=None).breadth
    assert breadth.index[0] > sessions[260]  # a window, not the whole history
    assert breadth.index[-1] == sessions[-1]
    for column in ("pct_above_sma200", "new_highs", "mcclellan_osc"):
        assert breadth[column].notna().all(), column
    shown = len(breadth)
    assert shown >= 252 + 150, shown


@pytest.mark.parametrize("weeks", [1, 2, 35, 80])
def test_stage_history_matches_windowed_machine(weeks):
    from analytics.stage_history import build_stage_history
    from analytics.stages import weinstein_stages

    sessions = pd.bdate_range(START, periods=3 * 261, name="date")
    close = pd.DataFrame(_paths(sessions), index=sessions)
    weekly = close.groupby(close.index.to_period("W-SUN")).last()
    weekly.index = close.index.to_series().groupby(close.index.to_period("W-SUN")).max()
    part = weekly.iloc[: len(weekly) - 80 + weeks]
    history = build_stage_history(part)
    current, hist = weinstein_stages(part)
    np.testing.assert_array_equal(history.hist, hist.fillna(0).to_numpy())
    last = history.state_after(len(part) - 1, np.arange(part.shape[1]))
    np.testing.assert_array_equal(
        (last.week - last.stage_start + 1)[current["stage"].notna().to_numpy()],
        current["weeks_in_stage"].dropna().to_numpy(),
    )


def test_stage_history_table_is_warm_from_its_first_week(sqlite_store):
    sessions = pd.bdate_range(START, periods=6 * 261, name="date")
    bars = _bars(sessions)
    members = _load(sqlite_store, bars)
    dv = sqlite_store.data_version()
    end = sessions[-1].date()
    table = stage_cache.stage_history_table(
        sqlite_store, members, f"{dv.daily_seq}-{dv.newest_daily}", end, 80
    )
    assert len(table) == 80 and list(table.columns) == members
    close = bars.pivot(index="date", columns="symbol", values="close")
    for week in (table.index[0], table.index[40], table.index[-1]):
        for sym in members:
            want, _weeks = plain_stage(close[sym].loc[:week])
            assert table.loc[week, sym] == want, (sym, week)


def test_symbol_chart_stage_counts_the_whole_run(tmp_path):
    from dashapp.factory import create_app
    from dashapp.market import queries
    from dashapp.settings import load_settings

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    sessions = pd.bdate_range(START, periods=YEARS * 261, name="date")
    bars = _bars(sessions)
    _load(app.server.extensions["tickstock_store"], bars)
    close = bars.pivot(index="date", columns="symbol", values="close")
    with app.server.test_request_context():
        for sym in ("UPP", "CYC", "RW1"):
            figs = queries.symbol_chart(sym, "D").figures
            want_stage, want_weeks = plain_stage(close[sym])
            assert (figs["stage"], figs["weeks_in_stage"]) == (want_stage, want_weeks)
