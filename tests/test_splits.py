"""Splits from the simulator's `/v3/reference/splits` adjust stored history once.

The simulator's script has a 1-for-4 forward split of AAA on 2026-11-18 and
serves AAA's daily history before that date on the old basis (4x the prices,
1/4 the volume), so a backfill stores a split-sized jump until the split is
applied.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashapp.store.datahealth import data_health
from ingest.demo import DemoUniverse, generate_demo
from ingest.eod import sessions_back
from ingest.history_backfill import backfill, make_client
from ingest.simulator import Simulator
from ingest.splits import apply_splits, fetch_splits, nightly_hook, sync_splits
from tests.conftest import STORE_KINDS, make_store, pg_url

END = dt.date(2026, 11, 20)
SPLIT_DAY = dt.date(2026, 11, 18)
RATIO = 4.0
SCRIPT = [
    {"ticker": "AAA", "execution_date": "2026-11-18", "split_from": 1, "split_to": 4},
    {"ticker": "ZZZ", "execution_date": "2026-11-17", "split_from": 1, "split_to": 2},
    {"ticker": "AAA", "execution_date": "2099-06-01", "split_from": 1, "split_to": 3},
]
UNIVERSE = DemoUniverse(
    stocks=["AAA", "BBB"],
    stock_sectors=["Energy", "Utilities"],
    sectors=["Energy", "Utilities"],
    sector_etfs=["XLE", "XLU"],
    index_etfs=["SPY"],
)


@pytest.fixture(scope="module")
def sim():
    history = generate_demo(sessions_back(END, 60), seed=7, universe=UNIVERSE)
    server = Simulator(
        symbols=["AAA", "BBB"],
        seed=3,
        speed="fast",
        start="2026-11-23 14:30Z",
        hours="regular",
        daily=history,
        splits=SCRIPT,
    )
    server.start()
    server.history = history
    yield server
    server.stop()


@pytest.fixture(params=STORE_KINDS)
def db(request, tmp_path):
    """Yield (URL, store) of an empty database: SQLite file or PostgreSQL schema."""
    store = make_store(request.param, tmp_path)
    url = f"sqlite:///{tmp_path / 'test.db'}" if request.param == "sqlite" else None
    yield url or pg_url(), store
    store.dispose()


def cfg_for(sim, settings):
    return settings.replace(massive_api_key="k", massive_rest_url=sim.rest_url)


def test_sp01_endpoint_pages_filters_and_serves_the_old_basis(sim, settings):
    client = make_client(cfg_for(sim, settings))
    mark = len(sim.rest_log)
    listed = list(client.list_splits(limit=1))
    pages = [p for p, _s in list(sim.rest_log)[mark:] if "/v3/reference/splits" in p]
    assert len(pages) == len(SCRIPT)  # one split per page, next_url followed
    assert [s.execution_date for s in listed] == sorted(
        s["execution_date"] for s in SCRIPT
    )
    assert {s.ticker for s in client.list_splits(ticker="AAA")} == {"AAA"}
    since = fetch_splits(client, dt.date(2026, 11, 18))
    assert [(s.symbol, str(s.execution_date)) for s in since] == [
        ("AAA", "2026-11-18"),
        ("AAA", "2099-06-01"),
    ]
    assert since[0].ratio == RATIO and len({s.id for s in listed}) == len(SCRIPT)
    history = sim.history.set_index(["symbol", "date"])
    for day, factor in (("2026-11-17", RATIO), ("2026-11-18", 1.0)):
        (bar,) = [r for r in client.get_grouped_daily_aggs(day) if r.ticker == "AAA"]
        want = history.loc[("AAA", pd.Timestamp(day))]
        assert bar.close == pytest.approx(want["close"] * factor, abs=1e-4)
        assert bar.volume == pytest.approx(want["volume"] / factor, abs=1)


def seed_minutes(store) -> pd.DataFrame:
    """Store AAA minute bars on the old basis the day before and on the split day."""
    stamps = pd.to_datetime(
        ["2026-11-17 15:00Z", "2026-11-17 20:59Z", "2026-11-18 14:30Z"]
    )
    bars = pd.DataFrame(
        {"symbol": "AAA", "ts": stamps, "open": [400.0, 404.0, 101.0],
         "high": [402.0, 406.0, 102.0], "low": [398.0, 402.0, 100.0],
         "close": [401.0, 405.0, 101.5], "volume": [1000.0, 2000.0, 4000.0],
         "vwap": [400.5, 404.5, 101.2], "trades": [10, 20, 30]}
    )  # fmt: skip
    store.upsert_minute_bars(bars)
    return bars


def test_sp02_backfill_applies_the_split_once(db, sim, settings, monkeypatch, capsys):
    url, store = db
    minutes = seed_minutes(store)
    report = backfill(store, cfg_for(sim, settings), 5, symbols="AAA,BBB", end=END)
    assert not report.failed
    (applied,) = report.splits.applied
    assert applied[0].symbol == "AAA" and applied[1:] == (2, 2)  # 11-16, 11-17
    assert report.splits.pending == 1  # the 2099 split has not executed
    stored = store.read_daily(["AAA", "BBB"]).set_index(["symbol", "date"])
    truth = sim.history.set_index(["symbol", "date"]).loc[stored.index]
    # Back on the adjusted basis: equal to the simulator's history, no jump.
    np.testing.assert_allclose(stored["close"], truth["close"], rtol=1e-5)
    np.testing.assert_allclose(stored["volume"], truth["volume"], rtol=1e-5)
    aaa = stored.loc["AAA", "close"]
    assert (aaa.pct_change().abs().dropna() < 0.35).all()
    got = store.read_minute(["AAA"]).set_index("ts")
    before = got.index < pd.Timestamp(SPLIT_DAY).tz_localize("America/New_York")
    assert before.sum() == 2
    old = minutes.set_index("ts")
    for col in ("open", "high", "low", "close", "vwap"):
        np.testing.assert_allclose(got[col], old[col] / np.where(before, RATIO, 1))
    np.testing.assert_allclose(
        got["volume"], old["volume"] * np.where(before, RATIO, 1)
    )
    (split_id,) = store.applied_split_ids()
    assert split_id == applied[0].id
    adj = store.list_adjustments().iloc[0]
    assert adj["kind"] == "split" and adj["factor"] == pytest.approx(1 / RATIO)
    assert str(adj["applied_to_end"])[:10] == "2026-11-17" and adj["sessions"] == 2
    row = next(r for r in data_health(store)["rows"] if r["symbol"] == "AAA")
    assert row["rescalings"].startswith("split x0.25")

    # Again, from the CLI: nothing changes.
    daily_before, minute_before = store.read_daily(), store.read_minute()
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MASSIVE_API_KEY", "k")
    monkeypatch.setenv("MASSIVE_REST_URL", sim.rest_url)
    with pytest.raises(SystemExit) as done:
        main(["splits", "--since", "2026-11-01"])
    assert done.value.code == 0
    assert "0 applied, 1 already applied" in capsys.readouterr().out
    pd.testing.assert_frame_equal(daily_before, store.read_daily())
    pd.testing.assert_frame_equal(minute_before, store.read_minute())
    assert len(store.list_adjustments()) == 1
    # Applying the same split object directly is refused too.
    again = apply_splits(store, [applied[0]])
    assert again.already == 1 and not again.applied


def test_sp03_sync_skips_unstored_symbols(sqlite_store, sim, settings):
    report = sync_splits(sqlite_store, make_client(cfg_for(sim, settings)), END)
    assert report.fetched == 0 and not report.applied  # nothing stored yet


def test_sp04_nightly_hook_runs_after_an_eod_rollup(sqlite_store, sim, settings):
    import threading

    from ingest.eod import EodScheduler

    calls = []
    ran = threading.Event()
    hook = nightly_hook(
        cfg_for(sim, settings), sqlite_store, today=lambda: dt.date(2026, 11, 25)
    )

    def after() -> None:
        calls.append(1)
        hook()
        ran.set()

    history = sim.history[sim.history["symbol"] == "AAA"].copy()
    history["close"] = history["close"].where(
        history["date"] >= pd.Timestamp(SPLIT_DAY), history["close"] * RATIO
    )
    sqlite_store.upsert_daily_bars(history, source="import")
    scheduler = EodScheduler(sqlite_store, interval_s=0.05, after=after).start()
    try:
        assert ran.wait(10)
        for _ in range(5):  # later rounds roll nothing up: no second run
            scheduler._stop.wait(0.05)
    finally:
        scheduler.stop()
    assert calls == [1]
    assert len(sqlite_store.applied_split_ids()) == 1
    stored = sqlite_store.read_daily(["AAA"])
    adjusted = sim.history.loc[sim.history["symbol"] == "AAA", "close"]
    np.testing.assert_allclose(stored["close"], adjusted.to_numpy(), rtol=1e-12)


def test_sp05_history_already_adjusted_is_not_adjusted_again(db, sim, settings):
    _url, store = db
    adjusted = sim.history[sim.history["symbol"] == "AAA"]
    store.upsert_daily_bars(adjusted, source="import")  # a vendor-adjusted file
    minutes = seed_minutes(store)  # live bars stored before the split
    since = dt.date(2026, 11, 1)
    report = sync_splits(store, make_client(cfg_for(sim, settings)), since)
    assert [(s.symbol, d, m) for s, d, m in report.applied] == [("AAA", 0, 2)]
    stored = store.read_daily(["AAA"])
    np.testing.assert_allclose(stored["close"], adjusted["close"].to_numpy())
    got = store.read_minute(["AAA"])
    np.testing.assert_allclose(
        got["close"], minutes["close"] / np.array([RATIO, RATIO, 1.0])
    )
    (adj,) = store.list_adjustments().itertuples()
    assert adj.kind == "split" and "0 daily and 2 minute bars" in adj.reason
    again = sync_splits(store, make_client(cfg_for(sim, settings)), since)
    assert again.already == 1 and not again.applied


def test_sp06_simulate_cli_takes_a_split_script():
    from dashapp.cli import build_parser
    from ingest.simulator import simulator_from_args

    args = build_parser().parse_args(
        ["simulate", "--speed", "fast", "--split", "aaa:2026-11-18:1:4"]
    )
    sim = simulator_from_args(args)
    (split,) = sim.splits
    assert split["ticker"] == "AAA" and split["execution_date"] == "2026-11-18"
    assert (split["split_from"], split["split_to"]) == (1, 4)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["simulate", "--split", "AAA:18-11-2026:1:4"])
