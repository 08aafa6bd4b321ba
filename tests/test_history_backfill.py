"""REST backfill against the Massive simulator: grouped daily, minute pages, 429s."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashapp.store import DEMO_KEY
from ingest.demo import DemoUniverse, generate_demo
from ingest.eod import sessions_back
from ingest.history_backfill import (
    GROUPED_META_KEY,
    BackfillError,
    backfill,
    make_client,
    resolve_targets,
)
from ingest.simulator import Simulator

END = dt.date(2026, 11, 20)  # a Friday; 11-16 .. 11-20 are five sessions
# Minutes are emitted for an earlier week: the simulator's grouped daily prefers
# bars rolled up from emitted minutes over its daily history.
MINUTE_DAYS = [dt.date(2026, 11, 9), dt.date(2026, 11, 10)]
UNIVERSE = DemoUniverse(
    stocks=["AAA", "BBB", "CCC"],
    stock_sectors=["Energy", "Utilities", "Energy"],
    sectors=["Energy", "Utilities"],
    sector_etfs=["XLE", "XLU"],
    index_etfs=["SPY"],
)
TARGETS = "AAA,BBB,SPY,NEW"  # NEW lists on 11-19: absent from earlier responses


def daily_history() -> pd.DataFrame:
    days = sessions_back(END, 70)
    frame = generate_demo(days, seed=5, universe=UNIVERSE)
    new = frame[frame["symbol"] == "AAA"].copy()
    new["symbol"] = "NEW"
    new = new[new["date"] >= pd.Timestamp("2026-11-19")]
    history = pd.concat([frame, new], ignore_index=True)
    # With a vwap the simulator never has to fill one in (it mixes history rows
    # with minute roll-ups on days it emitted minutes).
    history["vwap"] = ((history["high"] + history["low"] + history["close"]) / 3).round(
        4
    )
    return history


@pytest.fixture(scope="module")
def sim():
    history = daily_history()
    server = Simulator(
        symbols=["AAA", "BBB"],
        seed=3,
        speed="fast",
        start="2026-11-09 14:30Z",
        hours="regular",
        daily=history,
    )
    server.start()
    server.advance(2 * 390)  # two full regular sessions of minutes
    server.history = history
    yield server
    server.stop()


def settings_for(sim, settings):
    return settings.replace(massive_api_key="test-key", massive_rest_url=sim.rest_url)


def statuses(sim, since: int) -> list[int]:
    # Split listings (ingest.splits, after every backfill) are not counted here.
    log = list(sim.rest_log)[since:]
    return [status for path, status in log if "/v3/reference/splits" not in path]


def test_bf01_grouped_daily_with_429_stores_exactly_the_bars(store, sim, settings):
    cfg = settings_for(sim, settings)
    store.upsert_daily_bars(
        pd.DataFrame({"symbol": ["ZZZ"], "date": [END], "open": 1.0, "high": 1.0,
                      "low": 1.0, "close": 1.0, "volume": 1.0}),
        source="demo",
    )  # fmt: skip
    store.set_meta(DEMO_KEY, "1")
    mark = len(sim.rest_log)
    sim.fail_rest(1, status=429)
    report = backfill(store, cfg, 5, symbols=TARGETS, end=END, first_delay=0.01)
    assert statuses(sim, mark) == [429, 200, 200, 200, 200, 200]
    assert (report.rate_limited, report.retries) == (1, 1)
    assert report.sessions == sessions_back(END, 5)
    expected = sim.history[
        sim.history["symbol"].isin(TARGETS.split(","))
        & sim.history["date"].between(pd.Timestamp("2026-11-16"), pd.Timestamp(END))
    ]
    stored = store.read_daily()
    assert report.daily_rows == len(stored) == len(expected) == 3 * 5 + 2
    merged = stored.merge(expected, on=["symbol", "date"], suffixes=("", "_want"))
    assert len(merged) == len(expected)
    for col in ("open", "high", "low", "close"):
        assert (merged[col] == merged[f"{col}_want"]).all(), col
    assert (merged["volume"] == merged["volume_want"].round()).all()
    assert set(stored["source"]) == {"massive"}
    assert report.demo_replaced == 1 and store.get_meta(DEMO_KEY) is None


def test_bf02_rerun_fetches_nothing(store, sim, settings):
    cfg = settings_for(sim, settings)
    backfill(store, cfg, 5, symbols=TARGETS, end=END, first_delay=0.01)
    before = store.read_daily()
    mark = len(sim.rest_log)
    again = backfill(store, cfg, 5, symbols=TARGETS, end=END, first_delay=0.01)
    assert statuses(sim, mark) == []
    assert (again.daily_fetched, again.daily_skipped, again.daily_rows) == (0, 5, 0)
    pd.testing.assert_frame_equal(before, store.read_daily())
    # NEW was absent from the 11-16..11-18 responses: recorded, not refetched.
    assert '"2026-11-16":["NEW"]' in store.get_meta(GROUPED_META_KEY)
    # A symbol never asked for before is fetched for every session.
    mark = len(sim.rest_log)
    wider = backfill(store, cfg, 5, symbols=TARGETS + ",XLE", end=END, first_delay=0.01)
    assert wider.daily_fetched == 5 and len(statuses(sim, mark)) == 5
    assert len(store.read_daily(["XLE"])) == 5


def test_bf03_minute_pages_and_429_store_exactly_the_ground_truth(store, sim, settings):
    cfg = settings_for(sim, settings)
    mark = len(sim.rest_log)
    sim.fail_rest(1, status=429)
    report = backfill(
        store, cfg, 2, symbols="AAA,BBB", end=MINUTE_DAYS[-1], minute=True,
        first_delay=0.01, page_limit=300,
    )  # fmt: skip
    paths = [path for path, _s in list(sim.rest_log)[mark:]]
    truth = sim.ground_truth()
    truth = truth[truth["symbol"].isin(["AAA", "BBB"])]
    per_symbol = truth.groupby("symbol").size()
    assert (per_symbol > 600).all()  # two sessions, quiet minutes have no bar
    # 429 once; then pages of 300 bars: the later pages come from next_url.
    assert statuses(sim, mark).count(429) == 1 and report.rate_limited == 1
    cursor_pages = sum("/range/1/minute/" in p and "cursor=" in p for p in paths)
    assert cursor_pages == int(((per_symbol + 299) // 300 - 1).sum()) >= 4
    stored = store.read_minute()
    assert report.minute_rows == len(stored) == len(truth)
    assert report.minute_symbol_days == 4
    merged = stored.merge(truth, on=["symbol", "ts"], suffixes=("", "_want"))
    assert len(merged) == len(truth)
    for col in ("open", "high", "low", "close", "volume", "vwap", "trades"):
        assert (merged[col].astype(float) == merged[f"{col}_want"].astype(float)).all()
    mark = len(sim.rest_log)
    again = backfill(
        store, cfg, 2, symbols="AAA,BBB", end=MINUTE_DAYS[-1], minute=True,
        page_limit=300,
    )  # fmt: skip
    assert statuses(sim, mark) == [] and again.minute_skipped == 4


def test_bf04_targets_and_errors(sqlite_store, sim, settings):
    from dashapp.store.reference import load_reference

    load_reference(sqlite_store)
    assert resolve_targets(sqlite_store, "aaa, bbb") == ["AAA", "BBB"]
    assert resolve_targets(sqlite_store, None, "INDEX") == [
        "DIA", "IWM", "QQQ", "RSP", "SPY",
    ]  # fmt: skip
    assert resolve_targets(sqlite_store, None, None, "SPY,QQQ") == ["QQQ", "SPY"]
    assert resolve_targets(sqlite_store, None, "*") is None
    with pytest.raises(BackfillError, match="unknown universe: nope"):
        resolve_targets(sqlite_store, None, "nope")
    with pytest.raises(BackfillError, match="MASSIVE_API_KEY is not set"):
        make_client(settings)
    cfg = settings_for(sim, settings)
    with pytest.raises(BackfillError, match="needs --symbols or --universe"):
        backfill(sqlite_store, cfg, 2, universe="*", minute=True, end=END)
    report = backfill(sqlite_store, cfg, 1, universe="*", end=END)
    assert set(sqlite_store.read_daily()["symbol"]) == set(
        sim.history.loc[sim.history["date"] == pd.Timestamp(END), "symbol"]
    )
    assert report.daily_fetched == 1


def test_bf05_failures_surface_after_retries(sqlite_store, sim, settings):
    cfg = settings_for(sim, settings)
    sim.fail_rest(3, status=503)
    with pytest.raises(BackfillError, match="503"):
        backfill(sqlite_store, cfg, 1, symbols="AAA", end=END, attempts=3,
                 first_delay=0.01)  # fmt: skip
    sim.fail_rest(1, status=401)
    with pytest.raises(BackfillError, match="Unknown API Key"):
        backfill(sqlite_store, cfg, 1, symbols="AAA", end=END, first_delay=0.01)
    assert sqlite_store.read_daily().empty
